/**
 * Exit statuses of `profiles`, for scripts. Every failure prints one line on stderr and exits with one of
 * these; the API's HTTP status decides which.
 */
export const EXIT = {
  ok: 0,
  /** The operation ran and failed: an installation failed, an upgrade conflicts, a dry run has findings. */
  failed: 1,
  /** Bad command line or input the API refused (400, 409, 413, 422). */
  usage: 2,
  /** Unknown catalog, profile, version, source or installation (404). */
  notFound: 3,
  /** Refused: missing or wrong token, or not allowed (401, 403). */
  refused: 4,
  /** The API cannot be reached or is unavailable (connection refused, 5xx, timeout). */
  unavailable: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure with the one line to print and the exit status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function exitCodeForStatus(status: number): ExitCode {
  if (status === 404) return EXIT.notFound;
  if (status === 401 || status === 403) return EXIT.refused;
  if (status >= 500 || status === 429) return EXIT.unavailable;
  return EXIT.usage;
}
