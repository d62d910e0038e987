import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * One logger factory for every service, so every line carries `service` and redacts credentials
 * wherever they might appear in a logged object.
 */
export function createLogger(
  service: string,
  opts: { level?: string; destination?: NodeJS.WritableStream } = {},
): Logger {
  const options: LoggerOptions = {
    name: service,
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service },
    redact: {
      paths: [
        'password',
        'token',
        '*.password',
        '*.token',
        '*.authorization',
        'headers.authorization',
        'secret',
      ],
      censor: '[redacted]',
    },
  };
  return opts.destination ? pino(options, opts.destination as pino.DestinationStream) : pino(options);
}

/** A logger that writes nothing: for tests and library callers that pass no logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
