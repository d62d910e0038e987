import {
  connectJetStream,
  connectRedis,
  createLogger,
  exitOnStartError,
  loadConfig,
  onShutdown,
  startHealthServer,
} from '@profiles/shared';
import { start } from './start.ts';

const log = createLogger('indexer');
try {
  const config = loadConfig();
  log.level = config.logLevel;
  const redis = connectRedis(config.redisUrl, log, 'indexer', { autoPipelining: false });
  const { nc, js, jsm } = await connectJetStream(config.natsServers, log, 'indexer');
  const indexer = await start({ js, jsm, redis, redisPrefix: config.redisPrefix, log });
  const health = await startHealthServer({
    host: config.healthHost,
    port: config.healthPort,
    checks: { nats: () => !nc.isClosed(), redis: () => redis.status === 'ready' },
  });
  log.info({ healthPort: health.port }, 'indexer started');
  onShutdown(log, async () => {
    await indexer.stop();
    await health.close();
    await nc.drain();
    redis.disconnect();
  });
} catch (err) {
  exitOnStartError(log, err);
}
