import type { SourceRef } from './catalog-source.ts';
import type { CatalogKeys } from './keys.ts';
import type { Redis } from './redis.ts';

/**
 * Fields of `{p}source:{ns/name}`, the hash holding the state of one source. Everything is a string in Redis
 * (JSON where noted); a field that was never written is absent. This is the only place that names them: read
 * them with `readSourceState`, write them with `sourceFields`.
 */
export interface SourceState {
  namespace: string;
  name: string;
  /** Who observed the source (the watcher's origin: a folder or a cluster). */
  origin: string;
  /** JetStream sequence of the last applied event: an event with a lower one is stale. */
  seq: string;
  /** Kubernetes identity of the object ('' in folder mode). */
  uid: string;
  generation: string;
  /** Hash of the object last indexed. */
  specHash: string;
  /** JSON: SourceStatus. */
  status: string;
  indexedAt: string;
  /** '1' on a tombstone (the source was deleted; the hash expires), '0' otherwise. */
  deleted: string;
  /** Time of the last upsert event (when the watcher saw the change). */
  observedAt: string;
  /** JSON list of the uids of earlier incarnations of this name (deleted, then created again). */
  retiredUids: string;
  /** JSON of the object as last received, so rescans need no new event. */
  object: string;
  /** JSON list of the repository URLs of the source. */
  repos: string;
  /** Rescan period of the source's repositories, in seconds. */
  pollSeconds: string;
  /** JSON of the source's `spec.access` (`null`: none given): who may see it (read by the API). */
  access: string;
}

export type SourceField = keyof SourceState;

/** Reads some fields of a source's hash; absent fields are left out of the answer. */
export async function readSourceState<F extends SourceField>(
  redis: Pick<Redis, 'hmget'>,
  keys: CatalogKeys,
  ref: SourceRef | string,
  fields: readonly F[],
): Promise<Partial<Pick<SourceState, F>>> {
  return sourceStateOf(fields, await redis.hmget(keys.source(ref), ...fields));
}

/** The answer of `HMGET source fields...` as a SourceState (for pipelines). */
export function sourceStateOf<F extends SourceField>(
  fields: readonly F[],
  values: readonly (string | null)[],
): Partial<Pick<SourceState, F>> {
  const out: Partial<Pick<SourceState, F>> = {};
  fields.forEach((f, i) => {
    const v = values[i];
    if (v !== null && v !== undefined) out[f] = v;
  });
  return out;
}

/** Fields to write with HSET, typed: a misspelt field name does not compile. */
export function sourceFields(fields: Partial<SourceState>): Record<string, string> {
  return fields as Record<string, string>;
}

/** The repository URLs stored with a source (`repos`, JSON). */
export function sourceRepos(state: Partial<Pick<SourceState, 'repos'>>): string[] {
  return JSON.parse(state.repos || '[]') as string[];
}
