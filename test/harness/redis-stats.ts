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
  const info = await client.info('commandstats');
  let n = 0;
  for (const line of info.split('\n')) {
    const m = /^cmdstat_(\w+):calls=(\d+)/.exec(line.trim());
    if (m && WRITES.has(m[1]!)) n += Number(m[2]);
  }
  return n;
}
