import { createHash } from 'node:crypto';
import {
  checkCatalogSourceDocument,
  EVENT_TYPES,
  isEventOf,
  parseSourceId,
  sourceId,
  type CloudEvent,
  type Logger,
  type SourceStatus,
} from '@profiles/shared';
import type { CatalogWriter } from './catalog-writer.ts';
import { resolveInline, type Resolution } from './resolve-source.ts';

/**
 * Applies one event of the sources stream to the catalog. `seq` is the event's JetStream stream sequence: it
 * orders all events of a source, so applying is idempotent and a stale event changes nothing.
 */
export interface ApplyDeps {
  writer: CatalogWriter;
  log: Logger;
  now?: () => string;
}

export async function applyEvent(deps: ApplyDeps, ev: CloudEvent, seq: number): Promise<void> {
  const now = deps.now ?? (() => new Date().toISOString());
  if (isEventOf(ev, EVENT_TYPES.sourceUpserted)) {
    const d = ev.data;
    const specHash = createHash('sha256').update(JSON.stringify(d.object)).digest('hex');
    const check = checkCatalogSourceDocument(d.object);
    let status: SourceStatus;
    let resolution: Resolution | undefined;
    if (!check.ok) {
      status = {
        ready: false,
        reason: 'InvalidSource',
        message: check.reason,
        profiles: 0,
        versions: 0,
        entryErrors: [],
      };
    } else {
      resolution = resolveInline(check.ref, check.document, now());
      status = statusOf(resolution);
    }
    if (d.generation !== undefined) status.observedGeneration = d.generation;
    const out = await deps.writer.upsert({
      ref: d.ref,
      seq,
      origin: d.origin,
      uid: d.uid,
      generation: d.generation,
      specHash,
      entries: resolution?.entries,
      status,
    });
    const log = status.ready ? deps.log.info.bind(deps.log) : deps.log.warn.bind(deps.log);
    if (out.applied && out.changed) {
      log(
        {
          source: sourceId(d.ref),
          seq,
          profiles: status.profiles,
          versions: status.versions,
          entryErrors: status.entryErrors,
        },
        `source ${sourceId(d.ref)}: ${status.message}`,
      );
    } else {
      deps.log.debug(
        { source: sourceId(d.ref), seq, outcome: out.applied ? 'unchanged' : out.reason },
        'source event changed nothing',
      );
    }
    return;
  }
  if (isEventOf(ev, EVENT_TYPES.sourceDeleted)) {
    const out = await deps.writer.delete(ev.data.ref, seq, ev.data.uid);
    if (out.applied && out.changed)
      deps.log.info({ source: sourceId(ev.data.ref), seq }, `source ${sourceId(ev.data.ref)} removed`);
    return;
  }
  if (isEventOf(ev, EVENT_TYPES.sourcesSnapshot)) {
    // Sources of this origin that the snapshot no longer lists were deleted while nobody watched.
    const listed = new Set(ev.data.refs.map(sourceId));
    for (const { id, seq: stored } of await deps.writer.sourcesOf(ev.data.origin)) {
      if (listed.has(id) || stored > seq) continue;
      const ref = parseSourceId(id);
      if (!ref) continue;
      const out = await deps.writer.delete(ref, seq);
      if (out.applied && out.changed)
        deps.log.info(
          { source: id, seq },
          `source ${id} removed: absent from the ${ev.data.origin} snapshot`,
        );
    }
    return;
  }
  deps.log.warn({ type: ev.type, id: ev.id }, 'ignoring an event type the indexer does not handle');
}

export function statusOf(r: Resolution): SourceStatus {
  const profiles = new Set(r.entries.map((e) => e.name)).size;
  const versions = r.entries.length;
  const indexed = `indexed ${versions} version${versions === 1 ? '' : 's'} of ${profiles} profile${profiles === 1 ? '' : 's'}`;
  if (r.entryErrors.length === 0)
    return { ready: true, reason: 'Indexed', message: indexed, profiles, versions, entryErrors: [] };
  const first = r.entryErrors[0]!;
  const more = r.entryErrors.length > 1 ? ` (and ${r.entryErrors.length - 1} more)` : '';
  return {
    ready: false,
    reason: 'InvalidEntries',
    message: `${indexed}; ${r.entryErrors.length} invalid: ${first.entry}: ${first.reason}${more}`,
    profiles,
    versions,
    entryErrors: r.entryErrors,
  };
}
