/**
 * `--set artifact.key=value` typed like Helm's `--set`: `true`/`false` are booleans, `null` is null, an integer
 * without a leading zero is a number, anything else a string (`--set-string` keeps every value a string).
 * `a=1,b=2` sets two keys, `list={x,y}` a list, `list[1]=y` one element, `\` escapes `.`, `,`, `=`, `[`, `{`.
 * The first key is the artifact (`nested-profile/nginx-server` for a nested one): values are keyed by artifact
 * as the install API takes them.
 */
import { CliError, EXIT } from './exit.ts';

export type Values = Record<string, Record<string, unknown>>;

function typed(raw: string, asString: boolean): unknown {
  if (asString) return raw;
  const l = raw.toLowerCase();
  if (l === 'true') return true;
  if (l === 'false') return false;
  if (l === 'null') return null;
  if (raw === '0') return 0;
  if (/^-?[1-9]\d*$/.test(raw) && Number.isSafeInteger(Number(raw))) return Number(raw);
  return raw;
}

type Segment = { key: string } | { index: number };

/** Splits at `sep` outside of `{}` and not escaped; keeps escapes for the next stage. */
function splitTop(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[++i];
      continue;
    }
    if (c === '{') depth++;
    if (c === '}') depth = Math.max(0, depth - 1);
    if (c === sep && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  out.push(cur);
  return out;
}

const unescape = (s: string) => s.replace(/\\(.)/g, '$1');

function parsePath(path: string, whole: string): Segment[] {
  const segs: Segment[] = [];
  for (const part of splitTop(path, '.')) {
    const m = /^((?:\\.|[^[\\])*)((?:\[\d+\])*)$/.exec(part);
    if (!m || (m[1] === '' && segs.length === 0))
      throw new CliError(`--set ${JSON.stringify(whole)}: bad key ${JSON.stringify(part)}`, EXIT.usage);
    if (m[1] !== '') segs.push({ key: unescape(m[1]!) });
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) segs.push({ index: Number(idx[1]) });
  }
  return segs;
}

function assign(root: Record<string, unknown>, segs: Segment[], value: unknown, whole: string): void {
  let cur: any = root;
  segs.forEach((seg, i) => {
    const last = i === segs.length - 1;
    const next = segs[i + 1];
    const key = 'key' in seg ? seg.key : seg.index;
    if ('index' in seg && !Array.isArray(cur))
      throw new CliError(
        `--set ${JSON.stringify(whole)}: ${key} indexes a value that is not a list`,
        EXIT.usage,
      );
    if (last) {
      cur[key] = value;
      return;
    }
    const want = next && 'index' in next ? 'list' : 'map';
    const have = cur[key];
    if (want === 'list' && !Array.isArray(have)) cur[key] = [];
    else if (want === 'map' && (have === null || typeof have !== 'object' || Array.isArray(have)))
      cur[key] = {};
    cur = cur[key];
  });
}

/** Applies one `--set` argument onto `values` (later arguments win, like Helm). */
export function applySet(values: Values, arg: string, asString = false): Values {
  for (const pair of splitTop(arg, ',')) {
    if (pair === '') continue;
    const eq = splitTop(pair, '=');
    if (eq.length < 2)
      throw new CliError(`--set ${JSON.stringify(arg)}: expected artifact.key=value`, EXIT.usage);
    const path = eq[0]!;
    const rawValue = eq.slice(1).join('=');
    const segs = parsePath(path, arg);
    const first = segs[0];
    if (!first || !('key' in first) || segs.length < 2) {
      throw new CliError(
        `--set ${JSON.stringify(arg)}: the first key is the artifact, then the value's key (nginx-chart.replicaCount=2)`,
        EXIT.usage,
      );
    }
    let value: unknown;
    const list = /^\{(.*)\}$/s.exec(rawValue);
    if (list) value = list[1] === '' ? [] : splitTop(list[1]!, ',').map((v) => typed(unescape(v), asString));
    else value = typed(unescape(rawValue), asString);
    values[first.key] ??= {};
    assign(values[first.key]!, segs.slice(1), value, arg);
  }
  return values;
}

/** Merges `b` into `a` deeply (maps merge, anything else replaces), as Helm layers values files and --set. */
export function mergeValues(a: Values, b: Values): Values {
  const merge = (x: any, y: any): any => {
    if (x && y && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x) && !Array.isArray(y)) {
      const out = { ...x };
      for (const [k, v] of Object.entries(y)) out[k] = k in x ? merge(x[k], v) : v;
      return out;
    }
    return y;
  };
  return merge(a, b) as Values;
}
