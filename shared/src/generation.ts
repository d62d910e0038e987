import type { ChainableCommander } from 'ioredis';
import type { CatalogKeys } from './keys.ts';

// INCR and PUBLISH in one script: a subscriber learns the new value without a round trip, and on a replica the
// message arrives through the replication stream after the writes it announces.
// Redis's Lua 5.1 writes a number with 14 significant digits (`g .. ''` of 1764640338123457 is
// "1.7646403381235e+15"): the announcement is formatted as an integer explicitly.
const BUMP = `local g = redis.call('INCR', KEYS[1])
local text = string.format('%d', g)
if ARGV[2] ~= '' then
  redis.call('PUBLISH', ARGV[1], text .. ' ' .. ARGV[2])
else
  redis.call('PUBLISH', ARGV[1], text)
end
return g`;

/** Announced instead of a source id when the whole catalog may have changed (a rebuild): reload everything. */
export const ALL_SOURCES = '*';

/**
 * Queues, at the end of a catalog change's transaction, the bump of the catalog generation and its announcement
 * on `keys.generationChannel()`: `{generation} {source id}` (or just `{generation}` when no one source changed).
 * API replicas subscribe, so they know the generation (ETags, cached pages) and which source to reload into
 * their in-memory search without asking Redis on every request.
 */
export function bumpGeneration(tx: ChainableCommander, keys: CatalogKeys, sourceId = ''): ChainableCommander {
  return tx.eval(BUMP, 1, keys.generation(), keys.generationChannel(), sourceId);
}

/** The same bump as a command (name and arguments), for writers that plan their commands before sending them. */
export function bumpGenerationCommand(keys: CatalogKeys, sourceId = ''): [string, ...(string | number)[]] {
  return ['eval', BUMP, 1, keys.generation(), keys.generationChannel(), sourceId];
}

/** Parses an announcement of bumpGeneration. */
export function parseGenerationMessage(message: string): { generation: string; sourceId?: string } {
  const space = message.indexOf(' ');
  return space < 0
    ? { generation: message }
    : { generation: message.slice(0, space), sourceId: message.slice(space + 1) };
}
