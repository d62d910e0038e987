import type { SourceUpdate } from './catalog-plan.ts';

/** The data of a source's indexed/failed event: what the update says of the source and its status. */
export function sourceResult(u: SourceUpdate) {
  return {
    ref: u.ref,
    origin: u.origin,
    ...(u.uid ? { uid: u.uid } : {}),
    ...(u.generation !== undefined ? { generation: u.generation } : {}),
    profiles: u.status.profiles,
    versions: u.status.versions,
    entryErrors: u.status.entryErrors,
    message: u.status.message,
    ready: u.status.ready,
    reason: u.status.reason,
    ...(u.status.scannedRepositories
      ? { scannedRepositories: u.status.scannedRepositories as unknown as Record<string, unknown>[] }
      : {}),
  };
}
