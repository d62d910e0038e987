import {
  connectJetStream,
  createLogger,
  exitOnStartError,
  loadConfig,
  onShutdown,
  startTracing,
  ServiceMetrics,
  startHealthServer,
} from '@profiles/shared';
import { start } from './start.ts';

const log = createLogger('watcher');
// Before anything that makes spans; export only when the OTEL_* variables ask for it.
const stopTracing = startTracing('watcher');
try {
  const config = loadConfig();
  log.level = config.logLevel;
  const { nc, js, jsm } = await connectJetStream(config.natsServers, log, 'watcher');
  const metrics = new ServiceMetrics('watcher');
  const watcher = await start({ config, js, jsm, nc, log, metrics });
  const health = await startHealthServer({
    host: config.healthHost,
    port: config.healthPort,
    checks: { nats: () => !nc.isClosed(), published: () => watcher.publisher.backlog < 1000 },
    metrics,
  });
  log.info({ healthPort: health.port }, 'watcher started');
  onShutdown(log, async () => {
    await watcher.stop();
    await health.close();
    await nc.drain();
    await stopTracing();
  });
} catch (err) {
  exitOnStartError(log, err);
}
