import { resolve } from 'node:path';
import { urlPolicyOf } from '@profiles/shared';
import { connectJetStream, connectRedis, runService, ServiceMetrics } from '@profiles/shared/runtime';
import { secretProvider } from '@profiles/shared/git';
import { ScanMetrics } from './metrics.ts';
import { start } from './start.ts';

await runService('indexer', async ({ config, log }) => {
  const secrets = await secretProvider({ ...config, secretsDir: resolve(config.secretsDir) }, log);
  const metrics = new ServiceMetrics('indexer');
  const redis = connectRedis(config.redisUrl, log, 'indexer', { autoPipelining: false });
  const { nc, js, jsm } = await connectJetStream(config.natsServers, log, 'indexer', undefined, {
    streamReplicas: config.natsStreamReplicas,
  });
  const indexer = await start({
    js,
    jsm,
    redis,
    redisPrefix: config.redisPrefix,
    log,
    pollIntervalSeconds: config.repoPollIntervalSeconds,
    rebuildLanes: config.indexerRebuildLanes,
    metrics,
    scanner: {
      cacheDir: resolve(config.repoCacheDir),
      timeoutMs: config.repoGitTimeoutSeconds * 1000,
      maxTags: config.repoMaxTags,
      maxProfileBytes: config.repoMaxProfileBytes,
      urlPolicy: urlPolicyOf(config),
      secrets,
      knownHostsFile: config.gitSshKnownHosts,
      log,
      metrics: new ScanMetrics(metrics),
    },
  });
  return {
    checks: {
      nats: () => !nc.isClosed(),
      redis: () => redis.status === 'ready',
      catalog: () => indexer.repair.ready(),
    },
    metrics,
    stop: async () => {
      await indexer.stop();
      await nc.drain();
      redis.disconnect();
    },
  };
});
