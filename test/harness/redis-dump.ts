import type { Redis } from '@profiles/shared/runtime';

/** One key's content, in a form two catalogs can be compared by (sets and sorted sets in a stable order). */
export type KeyContent =
  | { type: 'string'; value: string }
  | { type: 'hash'; value: Record<string, string> }
  | { type: 'set'; value: string[] }
  | { type: 'zset'; value: [member: string, score: string][] }
  | { type: 'list'; value: string[] };

/** Every key matching `pattern` with its content, read with SCAN and pipelines. */
export async function dumpKeys(redis: Redis, pattern: string): Promise<Map<string, KeyContent>> {
  const names: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    names.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  names.sort();
  const out = new Map<string, KeyContent>();
  for (let i = 0; i < names.length; i += 1000) {
    const chunk = names.slice(i, i + 1000);
    const types = (await redis.pipeline(chunk.map((k) => ['type', k])).exec())!.map((r) => r[1] as string);
    const reads = chunk.map((k, j): string[] => {
      switch (types[j]) {
        case 'hash':
          return ['hgetall', k];
        case 'set':
          return ['smembers', k];
        case 'zset':
          return ['zrange', k, '0', '-1', 'WITHSCORES'];
        case 'list':
          return ['lrange', k, '0', '-1'];
        default:
          return ['get', k];
      }
    });
    const values = (await redis.pipeline(reads).exec())!.map((r) => r[1]);
    chunk.forEach((k, j) => out.set(k, content(types[j]!, values[j])));
  }
  return out;
}

function content(type: string, v: unknown): KeyContent {
  if (type === 'hash') return { type, value: v as Record<string, string> };
  if (type === 'set') return { type, value: [...(v as string[])].sort() };
  if (type === 'list') return { type, value: v as string[] };
  if (type === 'zset') {
    const flat = v as string[];
    const pairs: [string, string][] = [];
    for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
    return { type, value: pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)) };
  }
  return { type: 'string', value: v as string };
}

/** Members per command: a key of more (the typo index is one sorted set) is written in several. */
const MAX_MEMBERS = 1000;

/**
 * The plain commands that write `dump` again (one per key, or one per 1,000 members of a larger key: ioredis
 * cannot send a command of hundreds of thousands of arguments), e.g. into an empty database.
 */
export function writeCommands(dump: Map<string, KeyContent>): (string | number)[][] {
  const out: (string | number)[][] = [];
  const each = (cmd: string, k: string, members: (string | number)[][]) => {
    for (let i = 0; i < members.length; i += MAX_MEMBERS)
      out.push([cmd, k, ...members.slice(i, i + MAX_MEMBERS).flat()]);
  };
  const single = (xs: string[]) => xs.map((m) => [m]);
  for (const [k, c] of dump) {
    if (c.type === 'string') out.push(['set', k, c.value]);
    else if (c.type === 'hash') each('hset', k, Object.entries(c.value));
    else if (c.type === 'set') each('sadd', k, single(c.value));
    else if (c.type === 'list') each('rpush', k, single(c.value));
    else
      each(
        'zadd',
        k,
        c.value.map(([m, s]) => [s, m]),
      );
  }
  return out;
}
