import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AppError } from './errors.ts';

/**
 * The messages between the API and the installer, checked at runtime on both ends like the events of
 * `events.ts`: the install request on JetStream (`profiles.installs.requests`: the id and the request, which the
 * API stored in Redis before publishing) and the repository scan over core NATS
 * request/reply (`profiles.installer.scan`).
 */
const SecretRefSchema = Type.Object({
  name: Type.String({ minLength: 1 }),
  namespace: Type.Optional(Type.String()),
});

/**
 * Payload of `profiles.installs.requests`; the JetStream message id is the installation id. `request` is the
 * accepted request itself (checked by the API), so that a Redis that lost it (wiped, or a replica promoted
 * before it had it) loses no install: the installer stores it again. Messages of older APIs hold only the id.
 */
export const InstallMessageSchema = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  request: Type.Optional(Type.Object({ id: Type.String() }, { additionalProperties: true })),
});

/**
 * Payload of `profiles.install-status.<id>` (STREAMS.installStatus): an installation's final status document
 * as the installer wrote it to Redis, and where it wrote (the normalized repository URL, without credentials,
 * and the path), so that the write policy can still decide who may read it once Redis lost the request.
 */
export const InstallStatusMessageSchema = Type.Object({
  doc: Type.Object(
    { id: Type.String({ minLength: 1 }), status: Type.String(), requestedBy: Type.Optional(Type.String()) },
    { additionalProperties: true },
  ),
  target: Type.Optional(Type.Object({ url: Type.String(), path: Type.String() })),
});

/** Request of `profiles.installer.scan`: the GitOps repository, branch and folder to list. */
export const ScanRequestSchema = Type.Object({
  url: Type.String({ minLength: 1 }),
  branch: Type.String({ minLength: 1 }),
  path: Type.String({ minLength: 1 }),
  secretRef: Type.Optional(SecretRefSchema),
});

/** An installation found in a GitOps repository, with the newer versions its profile repository offers. */
export const FoundInstallationSchema = Type.Object({
  name: Type.String(),
  namespace: Type.String(),
  path: Type.String(),
  installationId: Type.Optional(Type.String()),
  profile: Type.Object({
    url: Type.String(),
    ref: Type.String(),
    path: Type.String(),
    version: Type.String(),
  }),
  availableUpdates: Type.Array(Type.String()),
});

/** Reply of `profiles.installer.scan`: the installations found, or the error that stopped the scan. */
export const ScanReplySchema = Type.Union([
  Type.Object({ items: Type.Array(FoundInstallationSchema) }),
  Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String() }) }),
]);

export type InstallMessage = Static<typeof InstallMessageSchema>;
export type InstallStatusMessage = Static<typeof InstallStatusMessageSchema>;
export type ScanRequest = Static<typeof ScanRequestSchema>;
export type FoundInstallation = Static<typeof FoundInstallationSchema>;
export type RepositoryScan = Static<typeof ScanReplySchema>;

/** Encodes and decodes one message type, refusing (MESSAGE_INVALID, naming the field) what its schema does not. */
export interface MessageCodec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

function codec<S extends TSchema>(what: string, schema: S): MessageCodec<Static<S>> {
  const check = TypeCompiler.Compile(schema);
  const assert = (value: unknown): Static<S> => {
    if (check.Check(value)) return value;
    const e = check.Errors(value).First();
    throw new AppError('MESSAGE_INVALID', `bad ${what} at ${e ? `${e.path || '/'}: ${e.message}` : '/'}`);
  };
  return {
    encode: (value) => new TextEncoder().encode(JSON.stringify(assert(value))),
    decode: (bytes) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(new TextDecoder().decode(bytes));
      } catch (err) {
        throw new AppError('MESSAGE_INVALID', `${what} is not JSON`, { cause: err });
      }
      return assert(parsed);
    },
  };
}

export const installMessage = codec('install message', InstallMessageSchema);
export const installStatusMessage = codec('install status message', InstallStatusMessageSchema);
export const scanRequest = codec('repository scan request', ScanRequestSchema);
export const scanReply = codec('repository scan reply', ScanReplySchema);
