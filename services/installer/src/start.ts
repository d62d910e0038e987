import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openWorkDir } from './work-dir.ts';
import {
  CONSUMERS,
  INSTALLER_SUBJECTS,
  describeError,
  installationKeys,
  installMessage,
  type InstallRequest,
  scanReply,
  scanRequest,
  type RepositoryScan,
  type UrlPolicy,
} from '@profiles/shared';
import {
  ack,
  retryAfter,
  runConsumer,
  terminate,
  type Verdict,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type Logger,
  type NatsConnection,
  type Redis,
  ServiceMetrics,
  contextFromHeaders,
  inSpan,
  SpanKind,
} from '@profiles/shared/runtime';
import { GitAccess, folderSecrets, rewriteConfig, type SecretProvider } from '@profiles/shared/git';
import { FluxValidator } from './flux-schemas.ts';
import { InstallMetrics } from './metrics.ts';
import { Processor } from './processor.ts';
import { ProfileRepos } from './profile-repos.ts';
import { TargetRepos } from './target-repo.ts';
import { ObjectNameIndex } from './object-names.ts';
import { findInstallations } from './find-installations.ts';

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
 * Through the shared consumer runner: a message is acked once the request's status is final, naked when
 * another replica holds its lease or Redis failed, and kept in progress while git works, so the ack wait is
 * short and a crashed replica's request is redelivered within seconds.
 */
/** Handles one install message: the request it names (or carries), worked on by the processor. */
function installHandler(
  deps: InstallerDeps,
  processor: Processor,
  metrics: InstallMetrics,
): (m: JsMsg) => Promise<Verdict> {
  const docKey = installationKeys(deps.redisPrefix).doc;
  return async (m) => {
    const started = performance.now();
    let id: string;
    let carried: InstallRequest | undefined;
    try {
      const msg = installMessage.decode(m.data);
      id = msg.id;
      carried = msg.request as InstallRequest | undefined;
    } catch (err) {
      deps.log.error({ seq: m.seq, err: describeError(err) }, 'dropping a malformed install message');
      return terminate;
    }
    const span = {
      kind: SpanKind.CONSUMER,
      parent: contextFromHeaders(m.headers),
      attributes: { 'profiles.installation.id': id },
    };
    try {
      const outcome = await inSpan('installer handle install request', span, () =>
        processor.handle(id, carried),
      );
      // Another replica holds the id's lease: ask again soon (its work ends or its lease runs out).
      if (outcome === 'busy') return retryAfter(5_000);
      const doc = await deps.redis.get(docKey(id)).catch(() => null);
      const status = (JSON.parse(doc ?? '{}') as { status?: string }).status;
      metrics.finished(status ?? 'unknown', (performance.now() - started) / 1000);
      return ack;
    } catch (err) {
      deps.log.warn({ id, err: describeError(err) }, 'install request failed, will be redelivered');
      throw err;
    }
  };
}

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
    objectNames: new ObjectNameIndex(),
    log: deps.log,
    owner,
    // As long as the ack wait: a crashed replica's request is taken by another one as soon as it is redelivered.
    leaseMs: deps.leaseMs ?? CONSUMERS.installer.ackWaitMs,
  });

  const concurrency = Math.max(1, deps.concurrency ?? 4);
  const metrics = new InstallMetrics(deps.metrics ?? new ServiceMetrics('installer'), deps.jsm);

  const handle = installHandler(deps, processor, metrics);
  // Up to `concurrency` requests at once; the runner keeps each in progress while git works.
  const consumer = runConsumer({
    js: deps.js,
    jsm: deps.jsm,
    consumer: 'installer',
    log: deps.log,
    concurrency,
    maxMessages: concurrency,
    metrics: metrics.consumer,
    handle,
  });
  const scanSub = deps.nc?.subscribe(INSTALLER_SUBJECTS.scan, {
    queue: INSTALLER_SUBJECTS.queueGroup,
    callback: (err, msg) => {
      if (err) return;
      void (async () => {
        let reply: RepositoryScan;
        try {
          reply = await findInstallations(targets, repos, scanRequest.decode(msg.data));
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
    handled: consumer.handled,
    stop: async () => {
      scanSub?.unsubscribe();
      await consumer.stop();
      await work.close();
    },
  };
}
