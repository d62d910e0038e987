import {
  connectJetStream,
  connectRedis,
  createLogger,
  exitOnStartError,
  loadConfig,
  onShutdown,
} from '@profiles/shared';
import { buildApp } from './app.ts';

const log = createLogger('api');
try {
  const config = loadConfig();
  log.level = config.logLevel;
  const redis = connectRedis(config.redisReadUrl ?? config.redisUrl, log, 'api', { failFast: true });
  // Install requests and their status live on the primary; catalog reads may go to a replica.
  const writer = connectRedis(config.redisUrl, log, 'api-writer', { failFast: true });
  const nats = await connectJetStream(config.natsServers, log, 'api');
  const app = await buildApp({
    redis,
    redisWriter: writer,
    redisPrefix: config.redisPrefix,
    log,
    nats,
    webhookSecret: config.webhookSecret,
  });
  await app.listen({ host: config.apiHost, port: config.apiPort });
  log.info({ url: `http://${config.apiHost}:${config.apiPort}` }, 'api listening');
  onShutdown(log, async () => {
    await app.close();
    await nats.nc.drain();
    redis.disconnect();
    writer.disconnect();
  });
} catch (err) {
  exitOnStartError(log, err);
}
