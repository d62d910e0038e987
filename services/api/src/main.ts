import { connectJetStream, connectRedis, runService } from '@profiles/shared/runtime';
import { buildApp } from './app.ts';
import { KubeAccessReviewer, KubeTokenReviewer, kubeConfig } from './auth/kubernetes.ts';
import { authFromConfig } from './auth/setup.ts';
import { tuneV8ForServing } from './v8-tuning.ts';

tuneV8ForServing();

await runService('api', async ({ config, log }) => {
  const redis = connectRedis(config.redisReadUrl ?? config.redisUrl, log, 'api', { failFast: true });
  // Search results and rate-limit counters are written: with a read replica they go to the primary.
  const writeRedis = config.redisReadUrl
    ? connectRedis(config.redisUrl, log, 'api-write', { failFast: true })
    : redis;
  const nats = await connectJetStream(config.natsServers, log, 'api', undefined, {
    streamReplicas: config.natsStreamReplicas,
  });
  const needsKube = config.auth.kubernetes || config.auth.accessMode === 'rbac';
  const kc = needsKube ? kubeConfig(config.kubeconfig) : undefined;
  const auth = authFromConfig(config.auth, {
    ...(kc ? { tokenReview: new KubeTokenReviewer(kc), rbac: new KubeAccessReviewer(kc) } : {}),
  });
  log.info(
    {
      anonymous: config.auth.anonymous,
      oidc: config.auth.oidc?.issuer ?? null,
      kubernetes: config.auth.kubernetes,
      tokensFile: config.auth.tokensFile ?? null,
      access: config.auth.accessMode,
    },
    'authentication',
  );
  const app = await buildApp({
    redis,
    writeRedis,
    redisPrefix: config.redisPrefix,
    log,
    nats,
    webhookSecret: config.webhookSecret,
    corsOrigins: config.corsOrigins,
    rateLimitPerMinute: config.rateLimitPerMinute,
    auth,
  });
  await app.listen({ host: config.apiHost, port: config.apiPort });
  log.info({ url: `http://${config.apiHost}:${config.apiPort}` }, 'api listening');
  // The API answers /healthz and /readyz itself, on its own port.
  return {
    stop: async () => {
      await app.close();
      await nats.nc.drain();
      redis.disconnect();
      if (writeRedis !== redis) writeRedis.disconnect();
    },
  };
});
