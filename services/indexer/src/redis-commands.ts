/** One Redis command as planned by the catalog writer: its name, then its arguments. */
export type RedisCommand = [command: string, ...args: (string | number)[]];

/** HSET's arguments for a record of fields: field, value, field, value... */
export function fieldArgs(fields: Record<string, string>): string[] {
  return Object.entries(fields).flat();
}

/** Commands whose arguments after the key are a list that one command can carry for several calls. */
const VARIADIC = new Set(['sadd', 'srem', 'zadd', 'zrem', 'hset', 'rpush']);

/** The keys a command touches (for the commands the writer plans). */
function keysOf(c: RedisCommand): string[] {
  if (c[0] === 'eval') return c.slice(3, 3 + Number(c[2])).map(String);
  if (c[0] === 'del') return c.slice(1).map(String);
  return [String(c[1])];
}

/**
 * The same changes in fewer commands: a variadic command on a key joins the previous command on that key when
 * that one has the same name (`SADD k a` … `SADD k b` becomes `SADD k a b`). Only commands on other keys can
 * lie between the two, and a MULTI/EXEC applies all at once, so no reader can tell the difference; the order of
 * the commands on each key is kept. A catalog of a thousand versions shares most of its search keys (terms,
 * typo variants, facet values) between its profiles, so this takes most of the commands away.
 */
export function coalesce(commands: readonly RedisCommand[]): RedisCommand[] {
  const out: RedisCommand[] = [];
  /** Index in `out` of the last command that touched each key. */
  const last = new Map<string, number>();
  for (const c of commands) {
    const key = String(c[1]);
    const at = VARIADIC.has(c[0]) ? last.get(key) : undefined;
    if (at !== undefined && out[at]![0] === c[0]) {
      out[at]!.push(...c.slice(2));
      continue;
    }
    const copy: RedisCommand = [...c];
    out.push(copy);
    for (const k of keysOf(copy)) last.set(k, out.length - 1);
  }
  return out;
}
