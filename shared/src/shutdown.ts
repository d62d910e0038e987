import type { Logger } from 'pino';
import { loadConfig, type Config } from './config.ts';
import { startHealthServer, type ReadinessCheck } from './health.ts';
import { createLogger } from './log.ts';
import type { ServiceMetrics } from './metrics.ts';
import { startTracing } from './tracing.ts';

/**
 * Registers graceful shutdown: on SIGINT/SIGTERM run `stop` once (it drains work and closes connections);
 * a second signal, or `stop` taking longer than `timeoutMs`, exits at once.
 */
export function onShutdown(log: Logger, stop: () => Promise<void>, timeoutMs = 10_000): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown took too long, exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** Logs a fatal start-up error in one clear line and exits non-zero. */
export function exitOnStartError(log: Logger, err: unknown): never {
  const e = err as { code?: string; message?: string };
  log.fatal({ code: e.code, err: e.message ?? String(err) }, `failed to start: ${e.message ?? String(err)}`);
  process.exit(1);
}

export interface RunningService {
  /** Readiness checks served on HEALTH_HOST:HEALTH_PORT (`/healthz`, `/readyz`); none: no health server. */
  checks?: Record<string, ReadinessCheck>;
  /** Served as `/metrics` beside the checks. */
  metrics?: ServiceMetrics;
  /** Drains work and closes connections, in the order the service needs. */
  stop: () => Promise<void>;
}

/**
 * The body of every service's main.ts: tracing (before anything makes spans; exported only when the OTEL_*
 * variables ask for it), a logger named for the service, the configuration, `main` to build the clients and
 * start, a health server for its checks and metrics, graceful shutdown on SIGTERM (spans flushed last), and one
 * clear line and a non-zero exit when start-up fails.
 */
export async function runService(
  name: string,
  main: (ctx: { config: Config; log: Logger }) => Promise<RunningService>,
): Promise<void> {
  const log = createLogger(name);
  const stopTracing = startTracing(name);
  try {
    const config = loadConfig();
    log.level = config.logLevel;
    const service = await main({ config, log });
    const health = service.checks
      ? await startHealthServer({
          host: config.healthHost,
          port: config.healthPort,
          checks: service.checks,
          ...(service.metrics ? { metrics: service.metrics } : {}),
        })
      : undefined;
    log.info(health ? { healthPort: health.port } : {}, `${name} started`);
    onShutdown(log, async () => {
      await service.stop();
      await health?.close();
      await stopTracing();
    });
  } catch (err) {
    exitOnStartError(log, err);
  }
}
