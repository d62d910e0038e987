/**
 * The one error catalogue of the system. Every error a user can see carries a stable code, the HTTP status
 * the API answers with, and a message template. Services throw `AppError`s; the API maps them to bodies.
 */
export const ERRORS = {
  CONFIG_INVALID: { status: 500, title: 'Invalid configuration' },
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  UNAUTHORIZED: { status: 401, title: 'Unauthorized' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  INVALID_VERSION: { status: 400, title: 'Invalid version' },
  CATALOG_NOT_FOUND: { status: 404, title: 'Catalog not found' },
  CATALOG_AMBIGUOUS: { status: 409, title: 'Catalog name is ambiguous' },
  PROFILE_NOT_FOUND: { status: 404, title: 'Profile not found' },
  VERSION_NOT_FOUND: { status: 404, title: 'Version not found' },
  ROUTE_NOT_FOUND: { status: 404, title: 'Not found' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request header fields too large' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  YAML_MALFORMED: { status: 400, title: 'Malformed YAML' },
  SOURCE_INVALID: { status: 422, title: 'Invalid catalog source' },
  ENTRY_INVALID: { status: 422, title: 'Invalid catalog entry' },
  EVENT_INVALID: { status: 422, title: 'Invalid event' },
  MESSAGE_INVALID: { status: 422, title: 'Invalid message' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency key reused with a different request' },
  UNAVAILABLE: { status: 503, title: 'Service unavailable' },
  INSTALLATION_NOT_FOUND: { status: 404, title: 'Installation not found' },
  PROFILE_INVALID: { status: 422, title: 'Invalid profile' },
  PROFILE_CYCLE: { status: 422, title: 'Nested profiles form a cycle' },
  VALUES_INVALID: { status: 422, title: 'Invalid values' },
  RENDER_INVALID: { status: 422, title: 'Rendered objects are invalid' },
  GIT_FAILED: { status: 502, title: 'Git operation failed' },
  INSTALL_CONFLICT: { status: 409, title: 'Installation conflicts with the repository' },
  PROVIDER_FAILED: { status: 502, title: 'Pull-request provider failed' },
  REQUEST_FIELD_INVALID: { status: 400, title: 'A request field is invalid' },
  TARGET_PATH_INVALID: { status: 400, title: 'Invalid target path' },
  VALUES_TOO_DEEP: { status: 400, title: 'Values are nested too deep' },
  PROFILE_NO_ARTIFACTS: { status: 422, title: 'Profile has no artifacts' },
  PROFILE_SOURCE_AMBIGUOUS: { status: 422, title: 'Nested profile source names both tag and branch' },
  CHART_SOURCE_AMBIGUOUS: { status: 422, title: 'Chart names both a path and a url' },
  PATCH_INVALID: { status: 422, title: 'Invalid kustomize patch' },
  INSTALLATION_NAME_TAKEN: { status: 409, title: 'Installation name and namespace already used' },
  OBJECT_NAME_TAKEN: { status: 409, title: 'A generated object name is used by another installation' },
  INTERNAL: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = opts.details;
  }

  /** JSON body for the API and for statuses: never includes the cause chain (it may hold internals). */
  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

const STORE_FAILURE =
  /ECONNREFUSED|ECONNRESET|Stream isn't writeable|max retries|Connection is closed|redis/i;

/**
 * Whether an error (not one of ours) says Redis or the network failed, rather than the input: the API answers
 * 503 instead of 500, the installer lets the request be redelivered instead of failing it.
 */
export function isStoreFailure(err: unknown): boolean {
  return !isAppError(err) && STORE_FAILURE.test(describeError(err));
}

/** A short, single-line description of any thrown value, for logs and status messages. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err);
}
