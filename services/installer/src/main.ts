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
import { secretProvider } from '@profiles/shared/git';
import { start } from './start.ts';

const log = createLogger('installer');
// Before anything that makes spans; export only when the OTEL_* variables ask for it.
const stopTracing = startTracing('installer');
try {
  const config = loadConfig();
  log.level = config.logLevel;
  const { nc, js, jsm } = await connectJetStream(config.natsServers, log, 'installer');
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
    urlPolicy: { allowFile: config.repoAllowFile, denyHosts: config.repoDenyHosts },
    metrics,
  });
  const health = await startHealthServer({
    host: config.healthHost,
    port: config.healthPort,
    checks: { nats: () => !nc.isClosed(), redis: () => redis.status === 'ready' },
    metrics,
  });
  log.info({ healthPort: health.port }, 'installer started');
  onShutdown(log, async () => {
    await installer.stop();
    await health.close();
    await nc.drain();
    redis.disconnect();
    await stopTracing();
  });
} catch (err) {
  exitOnStartError(log, err);
}
