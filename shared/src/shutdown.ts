import type { Logger } from 'pino';

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
