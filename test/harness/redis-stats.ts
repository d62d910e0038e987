/** Write commands a Redis server has executed so far (INFO commandstats): tests and benchmarks count writes. */
const WRITES = new Set([
  'set',
  'del',
  'hset',
  'hdel',
  'sadd',
  'srem',
  'zadd',
  'zrem',
  'rpush',
  'lpop',
  'ltrim',
  'incr',
  'expire',
  'persist',
  'pexpire',
  'hmset',
  'multi',
]);

export async function redisWriteCount(client: {
  info: (section: string) => Promise<string>;
}): Promise<number> {
  let n = 0;
  for (const calls of Object.values(await redisWritesByCommand(client))) n += calls;
  return n;
}

/** The same, per command (to say which writes happened when a test expected none). */
export async function redisWritesByCommand(client: {
  info: (section: string) => Promise<string>;
}): Promise<Record<string, number>> {
  const info = await client.info('commandstats');
  const out: Record<string, number> = {};
  for (const line of info.split('\n')) {
    const m = /^cmdstat_(\w+):calls=(\d+)/.exec(line.trim());
    if (m && WRITES.has(m[1]!)) out[m[1]!] = Number(m[2]);
  }
  return out;
}
