/**
 * What commands print: `-o json|yaml` prints the API's document as it came (stable for scripts), `-o table`
 * (the default) prints for people: borderless tables cut to the terminal's width, colours unless NO_COLOR or
 * not a terminal.
 */
import { fstatSync, writeSync } from 'node:fs';
import pc from 'picocolors';
import type * as YamlModule from 'yaml';
import { CliError, EXIT } from './exit.ts';

export type Format = 'table' | 'json' | 'yaml';

export function parseFormat(v: string): Format {
  if (v === 'table' || v === 'json' || v === 'yaml') return v;
  throw new CliError(`-o ${JSON.stringify(v)}: choose table, json or yaml`, EXIT.usage);
}

type YamlLib = typeof YamlModule;

/** The YAML library, loaded only when YAML is read or written: it is most of what a bare start would parse. */
export async function yaml(): Promise<YamlLib> {
  const m = (await import('yaml')) as YamlLib & { default?: YamlLib };
  return m.default ?? m; // bundled, the CommonJS module arrives as `default`
}

export async function printDocument(format: Exclude<Format, 'table'>, doc: unknown): Promise<void> {
  if (format === 'json') out(`${JSON.stringify(doc, null, 2)}\n`);
  else out((await yaml()).stringify(doc));
}

let viaStream = false;

/**
 * Writes to stdout with write(2) instead of through process.stdout: creating that stream for a pipe loads
 * node:net and node:stream, a good part of a short command's start. A closed pipe (`| head`) ends the command
 * quietly; a pipe that would block hands the rest (and every later write, to keep the order) to the stream.
 */
export function out(text: string): void {
  if (viaStream) return void process.stdout.write(text);
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') process.exit(process.exitCode ?? 0);
      if (code !== 'EAGAIN') throw err;
      viaStream = true;
      process.stdout.write(buf.subarray(off));
      return;
    }
  }
}

/** One line on stdout (console.log without the stream). */
export const say = (line = ''): void => out(`${line}\n`);

/** Whether fd is a terminal, without loading node:tty (a character device: a terminal, or /dev/null). */
function isTerminal(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice();
  } catch {
    return false;
  }
}

/**
 * Colours: on a terminal only (or with FORCE_COLOR), never with NO_COLOR (any value). Unlike picocolors' own
 * default, CI=true alone does not colour piped output, which scripts read.
 */
export function colorsWanted(env: NodeJS.ProcessEnv = process.env, tty = isTerminal(1)): boolean {
  if ('NO_COLOR' in env) return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0';
  return tty && env.TERM !== 'dumb';
}

export const color = pc.createColors(colorsWanted());

/** Columns of the terminal; COLUMNS when not a terminal; undefined (no cutting) when neither is known. */
export function terminalWidth(): number | undefined {
  if (isTerminal(1) && process.stdout.isTTY && process.stdout.columns) return process.stdout.columns;
  const env = Number(process.env.COLUMNS);
  return Number.isFinite(env) && env > 20 ? env : undefined;
}

const plain = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex

/**
 * A kubectl-style table. `flexible` names the column cut (with …) so the table fits `width`; every other
 * column keeps its full width.
 */
export async function table(
  head: string[],
  rows: string[][],
  opts: { flexible?: number; width?: number } = {},
): Promise<string> {
  // Loaded when a table is printed: `-o json` never pays for it.
  const { default: Table } = await import('cli-table3');
  const widths = head.map((h, i) =>
    Math.max(visible(h).length, ...rows.map((r) => visible(r[i] ?? '').length)),
  );
  const gap = 2;
  if (opts.flexible !== undefined && opts.width) {
    const others =
      widths.reduce((s, w, i) => (i === opts.flexible ? s : s + w), 0) + gap * (widths.length - 1);
    widths[opts.flexible] = Math.max(10, Math.min(widths[opts.flexible]!, opts.width - others));
  }
  const t = new Table({
    head: head.map((h) => color.bold(h)),
    chars: plain,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    colWidths: widths,
    truncate: '…',
    wordWrap: false,
  });
  for (const r of rows) t.push(r);
  return t
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}

/** `key: value` lines with the keys aligned. */
export function fields(pairs: [string, string | undefined][]): string {
  const shown = pairs.filter(([, v]) => v !== undefined && v !== '');
  const w = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${color.bold(`${k}:`.padEnd(w + 1))} ${v}`).join('\n');
}

/** `3m ago`, `2h ago`, `5d ago`. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (!Number.isFinite(s)) return '';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}
