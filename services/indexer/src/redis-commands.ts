/** One Redis command as planned by the catalog writer: its name, then its arguments. */
export type RedisCommand = [command: string, ...args: (string | number)[]];

/** HSET's arguments for a record of fields: field, value, field, value... */
export function fieldArgs(fields: Record<string, string>): string[] {
  return Object.entries(fields).flat();
}

/** Commands whose arguments after the key are a list that one command can carry for several calls. */
const VARIADIC = new Set(['sadd', 'srem', 'zadd', 'zrem', 'hset', 'rpush']);

/** How many of a command's arguments (after its name) are keys, for the commands the writer plans. */
function keyCount(c: RedisCommand): number {
  if (c[0] === 'eval') return Number(c[2]);
  if (c[0] === 'del') return c.length - 1;
  return 1;
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
  /** The last command in `out` that touched each key. */
  const last = new Map<string, RedisCommand>();
  for (const c of commands) {
    const name = c[0];
    const key = String(c[1]);
    if (VARIADIC.has(name)) {
      const prev = last.get(key);
      if (prev !== undefined && prev[0] === name) {
        // A loop, not push(...): spreading a long argument list is slower and bounded by the stack.
        for (let i = 2; i < c.length; i++) prev.push(c[i]!);
        continue;
      }
    }
    const copy = c.slice() as RedisCommand;
    out.push(copy);
    if (name === 'eval') {
      for (let i = 3; i < 3 + Number(c[2]); i++) last.set(String(c[i]), copy);
    } else if (name === 'del') {
      for (let i = 1; i < c.length; i++) last.set(String(c[i]), copy);
    } else last.set(key, copy);
  }
  return out;
}

/**
 * Runs a list of commands given as KEYS and ARGV: for each command its name, its number of keys (taken in order
 * from KEYS) and its number of arguments, then the arguments. Each command runs as if sent alone; one call
 * carries thousands, which saves the client and server their per-command work (the typo index of a catalog is
 * thousands of SADDs on distinct keys that coalescing cannot join).
 */
export const APPLY_SCRIPT = `local k, a = 1, 1
while a <= #ARGV do
  local name, nk, na = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 3
  local args = {}
  for i = 1, nk do args[i] = KEYS[k]; k = k + 1 end
  for i = 1, na do args[nk + i] = ARGV[a]; a = a + 1 end
  redis.call(name, unpack(args))
end
return k - 1`;

/** Arguments per script call (and per command inside one: Lua's unpack is bounded). */
const SCRIPT_ARGS = 4000;

/**
 * The same commands, in the same order, with runs of them carried by calls of `APPLY_SCRIPT`. Scripts (EVAL)
 * and commands too long for one call are sent as they are.
 */
export function scripted(commands: readonly RedisCommand[]): RedisCommand[] {
  const out: RedisCommand[] = [];
  let keys: (string | number)[] = [];
  let argv: (string | number)[] = [];
  const flush = () => {
    if (keys.length > 0) out.push(['eval', APPLY_SCRIPT, keys.length, ...keys, ...argv]);
    keys = [];
    argv = [];
  };
  for (const c of commands) {
    const nk = keyCount(c);
    if (c[0] === 'eval' || c.length > SCRIPT_ARGS) {
      flush();
      out.push(c);
      continue;
    }
    if (keys.length + argv.length + c.length + 2 > SCRIPT_ARGS) flush();
    for (let i = 1; i <= nk; i++) keys.push(c[i]!);
    argv.push(c[0], nk, c.length - 1 - nk);
    for (let i = 1 + nk; i < c.length; i++) argv.push(c[i]!);
  }
  flush();
  return out;
}
