import type { CatalogKeys, FileError } from '@profiles/shared';
import type { Redis } from '@profiles/shared/runtime';

// Written only by a snapshot newer (stream sequence) than the one stored: a redelivered older snapshot never
// brings back errors that were fixed since.
const STORE = `local stored = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if stored >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'errors', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return 1`;

/** Stores the file errors an origin's snapshot reported (GET /v1/sources lists them). */
export async function storeFileErrors(
  redis: Redis,
  keys: CatalogKeys,
  origin: string,
  errors: FileError[],
  seq: number,
): Promise<void> {
  await redis.eval(
    STORE,
    2,
    keys.fileErrors(origin),
    keys.fileErrorOrigins(),
    String(seq),
    JSON.stringify(errors),
    origin,
  );
}
