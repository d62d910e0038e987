import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openWorkDir } from './work-dir.ts';
import { INSTALL_CONSUMERS, INSTALL_PARTITIONS, installationKeys, type UrlPolicy } from '@profiles/shared';
import type { Logger, Redis } from '@profiles/shared/runtime';
import {
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  ServiceMetrics,
} from '@profiles/shared/runtime';
import { GitAccess, folderSecrets, rewriteConfig, type SecretProvider } from '@profiles/shared/git';
import { FluxValidator } from './flux-schemas.ts';
import { InstallMetrics } from './metrics.ts';
import { Processor } from './processor.ts';
import { ProfileRepos } from './profile-repos.ts';
import { SlotReleasingTargets } from './commit-slot.ts';
import { ObjectNameIndex } from './object-names.ts';
import { serveScans } from './find-installations.ts';
import { installHandler } from './install-handler.ts';
import { dropUnfilteredConsumer, PartitionConsumers } from './partition-consumers.ts';
import { PartitionLeases } from './partition-leases.ts';
import { RepositoryGate } from './repository-gate.ts';

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
  /** Of `concurrency`, how many may be installs into one repository (default: half, at least 1). */
  perRepository?: number;
  /** Lease on each install partition this replica consumes: a dead replica's partitions move after it. */
  partitionLeaseMs?: number;
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
  /** The install partitions this replica consumes now. */
  partitions: () => number[];
  /** Pushes redone because another writer moved the branch first, since start. */
  pushRetries: () => number;
  stop: () => Promise<void>;
}

/** Git access for profile and target repositories, with the operator's secrets, URL policy and rewrites. */
function gitAccess(deps: InstallerDeps): GitAccess {
  return new GitAccess({
    secrets: deps.secrets ?? folderSecrets(deps.secretsDir ?? '', deps.log),
    policy: deps.urlPolicy ?? { allowFile: false, denyHosts: [] },
    base: { config: rewriteConfig(deps.gitUrlRewrites ?? []) },
    knownHostsFile: deps.knownHostsFile,
    code: 'BAD_REQUEST',
  });
}

/**
 * Claims this replica's share of the install partitions and consumes each one it holds; a partition whose lease
 * is lost (or handed over) stops being consumed here. The unfiltered consumer of older releases is dropped first:
 * on the work-queue stream it overlaps the partitions' consumers, which the server would refuse.
 */
async function consumePartitions(
  deps: InstallerDeps,
  parts: {
    owner: string;
    gate: RepositoryGate;
    handle: ReturnType<typeof installHandler>;
    metrics: InstallMetrics;
    /** Told before a partition is consumed here: what this replica knew of its repositories may be stale. */
    gained: () => void;
  },
): Promise<{ consumers: PartitionConsumers; leases: PartitionLeases }> {
  await dropUnfilteredConsumer(deps.jsm, deps.log);
  const consumers = new PartitionConsumers({
    js: deps.js,
    jsm: deps.jsm,
    log: deps.log,
    gate: parts.gate,
    handle: parts.handle,
    metrics: parts.metrics.consumer,
  });
  const leases = new PartitionLeases({
    redis: deps.redis,
    keys: installationKeys(deps.redisPrefix),
    owner: parts.owner,
    log: deps.log,
    partitions: INSTALL_PARTITIONS,
    leaseMs: deps.partitionLeaseMs ?? 6_000,
    acquire: (p) => {
      parts.gained();
      consumers.acquire(p);
    },
    release: (p) => consumers.release(p),
  });
  await leases.start();
  return { consumers, leases };
}

/**
 * Consumes the install work queue, partitioned by target repository: the replica claims its share of the
 * partitions (leases in Redis, see PartitionLeases) and consumes each through its own durable consumer, so one
 * replica at a time writes to a repository and pushes do not race. Up to `concurrency` requests run at once,
 * shared fairly between repositories (RepositoryGate). Through the shared consumer runner: a message is acked
 * once the request's status is final, naked when another replica holds its lease, Redis failed or its
 * partition was handed over before it started, and kept in progress while git works, so the ack wait is short
 * (30 s): a crashed replica's partitions are claimed by another once its leases run out (6 s), and the requests
 * it had in hand are redelivered after the ack wait.
 */
export async function start(deps: InstallerDeps): Promise<Installer> {
  const owner = randomUUID();
  const work = await openWorkDir(deps.workDir);
  const workDir = work.dir;
  await mkdir(join(workDir, 'profiles'), { recursive: true });
  await mkdir(join(workDir, 'targets'), { recursive: true });
  const access = gitAccess(deps);
  const validator = await FluxValidator.load(deps.fluxSchemasDir || undefined);
  const repos = new ProfileRepos(join(workDir, 'profiles'), access);
  const concurrency = Math.max(1, deps.concurrency ?? 4);
  const metrics = new InstallMetrics(deps.metrics ?? new ServiceMetrics('installer'), deps.jsm);
  const targets = new SlotReleasingTargets(join(workDir, 'targets'), access, deps.log, () =>
    metrics.pushRetried(),
  );
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
    leaseMs: deps.leaseMs ?? INSTALL_CONSUMERS.unpartitioned.ackWaitMs,
    js: deps.js,
  });
  const gate = new RepositoryGate(
    concurrency,
    deps.perRepository ?? Math.max(1, Math.floor(concurrency / 2)),
  );
  const handle = installHandler({
    processor,
    gate,
    metrics,
    redis: deps.redis,
    docKey: installationKeys(deps.redisPrefix).doc,
    log: deps.log,
  });
  const { consumers, leases } = await consumePartitions(deps, {
    owner,
    gate,
    handle,
    metrics,
    gained: () => targets.forgetSync(),
  });
  const scanSub = deps.nc ? serveScans(deps.nc, targets, repos) : undefined;
  deps.log.info({ concurrency, workDir, partitions: leases.owned() }, 'installer consuming install requests');

  return {
    processor,
    handled: () => consumers.handled(),
    partitions: () => leases.owned(),
    pushRetries: () => metrics.pushRetriesSoFar(),
    stop: async () => {
      scanSub?.unsubscribe();
      await leases.stop();
      await work.close();
    },
  };
}
