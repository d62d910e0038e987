import { connectJetStream, runService, ServiceMetrics } from '@profiles/shared/runtime';
import { start } from './start.ts';

await runService('watcher', async ({ config, log }) => {
  const { nc, js, jsm } = await connectJetStream(config.natsServers, log, 'watcher', undefined, {
    streamReplicas: config.natsStreamReplicas,
  });
  const metrics = new ServiceMetrics('watcher');
  const watcher = await start({ config, js, jsm, nc, log, metrics });
  return {
    checks: { nats: () => !nc.isClosed(), published: () => watcher.publisher.backlog < 1000 },
    metrics,
    stop: async () => {
      await watcher.stop();
      await nc.drain();
    },
  };
});
