import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openWorkDir } from './work-dir.ts';
import {
  CONSUMERS,
  INSTALLER_SUBJECTS,
  describeError,
  ensureConsumer,
  installationKeys,
  installMessage,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type Logger,
  type NatsConnection,
  type Redis,
  scanReply,
  scanRequest,
  type RepositoryScan,
  ServiceMetrics,
  contextFromHeaders,
  inSpan,
  SpanKind,
  type UrlPolicy,
} from '@profiles/shared';
import { GitAccess, folderSecrets, rewriteConfig, type SecretProvider } from '@profiles/shared/git';
import { FluxValidator } from './flux-schemas.ts';
import { InstallMetrics } from './metrics.ts';
import { Processor } from './processor.ts';
import { ProfileRepos } from './profile-repos.ts';
import { TargetRepos } from './target-repo.ts';
import { scanRepository } from './scan.ts';

export interface InstallerDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Core NATS, for the repository-scan request/reply service. */
  nc?: NatsConnection;
  redis: Redis;
  redisPrefix: string;
  log: Logger;
  /** Scratch folder for clones; a fresh temp folder when empty. */
  workDir?: string;
  concurrency?: number;
  /** Where secretRefs are read (SECRETS_SOURCE); default: the folder `secretsDir`. */
  secrets?: SecretProvider;
  secretsDir?: string;
  /** The operator's known_hosts file for ssh repositories (GIT_SSH_KNOWN_HOSTS). */
  knownHostsFile?: string | undefined;
  fluxSchemasDir?: string;
  /** `from=to` URL rewrites (GIT_URL_REWRITES). */
  gitUrlRewrites?: string[];
  /** URLs the installer may reach (REPO_ALLOW_FILE, REPO_DENY_HOSTS); default: no file://, no deny list. */
  urlPolicy?: UrlPolicy;
  /** Lease on one request id; also how long a crashed replica blocks a redelivery. */
  leaseMs?: number;
  /** Where the installer's series are recorded (served at /metrics by main.ts). */
  metrics?: ServiceMetrics;
}

export interface Installer {
  processor: Processor;
  handled: () => number;
  stop: () => Promise<void>;
}

/**
 * Consumes the install work queue through the durable `installer` consumer. Up to `concurrency` requests run
 * at once (installs into one repository take turns inside a replica; replicas race at `git push` and retry).
 * A message is acked once the request's status is final, naked when another replica holds its lease or Redis
 * failed, and heartbeated while git works so JetStream does not redeliver it meanwhile.
 */
export async function start(deps: InstallerDeps): Promise<Installer> {
  const owner = randomUUID();
  const work = await openWorkDir(deps.workDir);
  const workDir = work.dir;
  await mkdir(join(workDir, 'profiles'), { recursive: true });
  await mkdir(join(workDir, 'targets'), { recursive: true });
  const access = new GitAccess({
    secrets: deps.secrets ?? folderSecrets(deps.secretsDir ?? '', deps.log),
    policy: deps.urlPolicy ?? { allowFile: false, denyHosts: [] },
    base: { config: rewriteConfig(deps.gitUrlRewrites ?? []) },
    knownHostsFile: deps.knownHostsFile,
    code: 'BAD_REQUEST',
  });
  const validator = await FluxValidator.load(deps.fluxSchemasDir || undefined);
  const repos = new ProfileRepos(join(workDir, 'profiles'), access);
  const targets = new TargetRepos(join(workDir, 'targets'), access, deps.log);
  const processor = new Processor({
    redis: deps.redis,
    keys: installationKeys(deps.redisPrefix),
    repos,
    targets,
    validator,
    access,
    log: deps.log,
    owner,
    leaseMs: deps.leaseMs ?? 60_000,
  });

  await ensureConsumer(deps.jsm, 'installer');
  const c = CONSUMERS.installer;
  const consumer = await deps.js.consumers.get(c.stream, c.durable);
  const concurrency = Math.max(1, deps.concurrency ?? 4);
  const messages = await consumer.consume({ max_messages: concurrency });
  let handled = 0;
  const running = new Set<Promise<void>>();
  const metrics = new InstallMetrics(deps.metrics ?? new ServiceMetrics('installer'), deps.jsm);
  const docKey = installationKeys(deps.redisPrefix).doc;

  const handle = async (m: JsMsg) => {
    metrics.consumer.received(m);
    const started = performance.now();
    let id: string;
    try {
      id = installMessage.decode(m.data).id;
    } catch (err) {
      metrics.consumer.failed();
      deps.log.error({ seq: m.seq, err: describeError(err) }, 'dropping a malformed install message');
      m.term();
      return;
    }
    const beat = setInterval(() => m.working(), Math.max(1_000, c.ackWaitMs / 4));
    const span = {
      kind: SpanKind.CONSUMER,
      parent: contextFromHeaders(m.headers),
      attributes: { 'profiles.installation.id': id },
    };
    try {
      const outcome = await inSpan('installer handle install request', span, () => processor.handle(id));
      if (outcome === 'busy') m.nak(2_000);
      else {
        m.ack();
        const status = (JSON.parse((await deps.redis.get(docKey(id))) ?? '{}') as { status?: string }).status;
        metrics.finished(status ?? 'unknown', (performance.now() - started) / 1000);
      }
    } catch (err) {
      metrics.consumer.failed();
      const delay = Math.min(30_000, 500 * 2 ** Math.min(m.info.deliveryCount, 6));
      deps.log.warn(
        { id, err: describeError(err), retryInMs: delay },
        'install request failed, will be redelivered',
      );
      m.nak(delay);
    } finally {
      clearInterval(beat);
      handled++;
    }
  };

  const loop = (async () => {
    for await (const m of messages) {
      const p = handle(m).finally(() => running.delete(p));
      running.add(p);
      if (running.size >= concurrency) await Promise.race(running);
    }
  })();
  const scanSub = deps.nc?.subscribe(INSTALLER_SUBJECTS.scan, {
    queue: INSTALLER_SUBJECTS.queueGroup,
    callback: (err, msg) => {
      if (err) return;
      void (async () => {
        let reply: RepositoryScan;
        try {
          reply = await scanRepository(targets, repos, scanRequest.decode(msg.data));
        } catch (e) {
          reply = { error: { code: 'BAD_REQUEST', message: describeError(e) } };
        }
        msg.respond(scanReply.encode(reply));
      })();
    },
  });
  deps.log.info({ concurrency, workDir }, 'installer consuming install requests');

  return {
    processor,
    handled: () => handled,
    stop: async () => {
      scanSub?.unsubscribe();
      await messages.close();
      await loop.catch(() => undefined);
      await Promise.allSettled([...running]);
      await work.close();
    },
  };
}
