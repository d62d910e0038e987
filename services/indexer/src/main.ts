import { resolve } from 'node:path';
import { secretProvider } from '@profiles/shared/git';
import {
  connectJetStream,
  connectRedis,
  createLogger,
  exitOnStartError,
  loadConfig,
  onShutdown,
  startTracing,
  ServiceMetrics,
  startHealthServer,
} from '@profiles/shared';
import { ScanMetrics } from './metrics.ts';
import { start } from './start.ts';

const log = createLogger('indexer');
// Before anything that makes spans; export only when the OTEL_* variables ask for it.
const stopTracing = startTracing('indexer');
try {
  const config = loadConfig();
  log.level = config.logLevel;
  const secrets = await secretProvider({ ...config, secretsDir: resolve(config.secretsDir) }, log);
  const metrics = new ServiceMetrics('indexer');
  const redis = connectRedis(config.redisUrl, log, 'indexer', { autoPipelining: false });
  const { nc, js, jsm } = await connectJetStream(config.natsServers, log, 'indexer');
  const indexer = await start({
    js,
    jsm,
    redis,
    redisPrefix: config.redisPrefix,
    log,
    pollIntervalSeconds: config.repoPollIntervalSeconds,
    metrics,
    scanner: {
      cacheDir: resolve(config.repoCacheDir),
      timeoutMs: config.repoGitTimeoutSeconds * 1000,
      maxTags: config.repoMaxTags,
      maxProfileBytes: config.repoMaxProfileBytes,
      urlPolicy: { allowFile: config.repoAllowFile, denyHosts: config.repoDenyHosts },
      secrets,
      knownHostsFile: config.gitSshKnownHosts,
      log,
      metrics: new ScanMetrics(metrics),
    },
  });
  const health = await startHealthServer({
    host: config.healthHost,
    port: config.healthPort,
    checks: {
      nats: () => !nc.isClosed(),
      redis: () => redis.status === 'ready',
      catalog: () => indexer.repair.ready(),
    },
    metrics,
  });
  log.info({ healthPort: health.port }, 'indexer started');
  onShutdown(log, async () => {
    await indexer.stop();
    await health.close();
    await nc.drain();
    redis.disconnect();
    await stopTracing();
  });
} catch (err) {
  exitOnStartError(log, err);
}
