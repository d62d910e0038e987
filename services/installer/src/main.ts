import {
  connectJetStream,
  createLogger,
  exitOnStartError,
  loadConfig,
  onShutdown,
  startHealthServer,
} from '@profiles/shared';
import { start } from './start.ts';

const log = createLogger('installer');
try {
  const config = loadConfig();
  log.level = config.logLevel;
  const { nc, js, jsm } = await connectJetStream(config.natsServers, log, 'installer');
  const installer = await start({ js, jsm, log });
  const health = await startHealthServer({
    host: config.healthHost,
    port: config.healthPort,
    checks: { nats: () => !nc.isClosed() },
  });
  log.info({ healthPort: health.port }, 'installer started');
  onShutdown(log, async () => {
    await installer.stop();
    await health.close();
    await nc.drain();
  });
} catch (err) {
  exitOnStartError(log, err);
}
