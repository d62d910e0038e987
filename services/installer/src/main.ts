import { urlPolicyOf } from '@profiles/shared';
import { connectJetStream, connectRedis, runService, ServiceMetrics } from '@profiles/shared/runtime';
import { secretProvider } from '@profiles/shared/git';
import { start } from './start.ts';

await runService('installer', async ({ config, log }) => {
  const { nc, js, jsm } = await connectJetStream(config.natsServers, log, 'installer', undefined, {
    streamReplicas: config.natsStreamReplicas,
  });
  const redis = connectRedis(config.redisUrl, log, 'installer', { autoPipelining: false });
  const metrics = new ServiceMetrics('installer');
  const installer = await start({
    js,
    jsm,
    nc,
    redis,
    redisPrefix: config.redisPrefix,
    log,
    workDir: config.installerWorkDir,
    concurrency: config.installerConcurrency,
    secrets: await secretProvider(config, log),
    knownHostsFile: config.gitSshKnownHosts,
    fluxSchemasDir: config.fluxSchemasDir,
    gitUrlRewrites: config.gitUrlRewrites,
    urlPolicy: urlPolicyOf(config),
    metrics,
  });
  return {
    checks: { nats: () => !nc.isClosed(), redis: () => redis.status === 'ready' },
    metrics,
    stop: async () => {
      await installer.stop();
      await nc.drain();
      redis.disconnect();
    },
  };
});
