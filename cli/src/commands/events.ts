import type { Command } from 'commander';
import type { EventSourceMessage } from 'eventsource-parser';
import type { CloudEvent } from '@profiles/shared';
import { contextOf, type Context } from '../context.ts';
import { CliError, EXIT } from '../exit.ts';
import { problemError } from '../http.ts';
import { color, out, say } from '../output.ts';

interface EventsOpts {
  catalog?: string;
  profile?: string;
  since?: string;
  max?: string;
}

/**
 * The catalog's live change feed. Each event's id is its stream sequence: when the connection drops, the
 * command reconnects with Last-Event-ID and the API resumes right after the last event printed (nothing lost,
 * nothing twice); `--since ID` resumes across runs the same way.
 */
export function eventsCommand(program: Command): void {
  program
    .command('events')
    .description('follow the catalog change feed (resumes after a dropped connection)')
    .option('--catalog <catalog>', 'only this catalog (NAME or NAMESPACE/NAME)')
    .option('--profile <profile>', 'only this profile')
    .option('--since <id>', 'start after this event id (the first column; resume a previous run)')
    .option('--max <n>', 'stop after n events')
    .addHelpText(
      'after',
      `
Examples:
  profiles events
  profiles events --catalog examples --profile weaveworks-nginx
  profiles events --since 1042 -o json          (one JSON event per line, with its "id")`,
    )
    .action(async (opts: EventsOpts, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (opts.since !== undefined && !/^\d+$/.test(opts.since))
        throw new CliError(`--since ${opts.since}: an event id (a number)`, EXIT.usage);
      const max = opts.max === undefined ? Infinity : Number(opts.max);
      if (!(max > 0)) throw new CliError(`--max ${opts.max}: a number above 0`, EXIT.usage);
      await stream(ctx, opts, max);
    });
}

async function stream(ctx: Context, opts: EventsOpts, max: number): Promise<void> {
  const { createParser } = await import('eventsource-parser');
  let last = opts.since;
  let seen = 0;
  let failures = 0;
  const ac = new AbortController();
  for (;;) {
    let connected = false;
    try {
      const res = await ctx.api.stream(
        '/v1/events',
        { catalog: opts.catalog, profile: opts.profile },
        last ? { 'last-event-id': last } : {},
        ac.signal,
      );
      if ((res.statusCode ?? 0) >= 400) {
        const chunks: Buffer[] = [];
        for await (const c of res) chunks.push(c as Buffer);
        const text = Buffer.concat(chunks).toString('utf8');
        let doc: unknown = text;
        try {
          doc = JSON.parse(text);
        } catch {
          /* plain text */
        }
        throw problemError(res.statusCode!, doc);
      }
      connected = true;
      failures = 0;
      if (ctx.format === 'table')
        console.error(
          color.dim(last ? `connected; resuming after event ${last}` : 'connected; waiting for events'),
        );
      const parser = createParser({
        onEvent: (m: EventSourceMessage) => {
          if (seen >= max) return;
          if (m.id) last = m.id;
          print(ctx, m);
          if (++seen >= max) ac.abort();
        },
      });
      for await (const chunk of res) parser.feed((chunk as Buffer).toString('utf8'));
    } catch (err) {
      if (seen >= max) return;
      // Refusals are final; a dropped or refused connection is retried.
      if (err instanceof CliError && err.exitCode !== EXIT.unavailable) throw err;
      if (!connected && ++failures > 30) throw err;
    }
    if (seen >= max) return;
    const wait = Math.min(5_000, 250 * 2 ** Math.min(failures, 5));
    if (ctx.format === 'table')
      console.error(color.dim(`disconnected; reconnecting in ${(wait / 1000).toFixed(1)} s`));
    await new Promise((r) => setTimeout(r, wait));
  }
}

function print(ctx: Context, m: EventSourceMessage): void {
  let ev: CloudEvent | undefined;
  try {
    ev = JSON.parse(m.data) as CloudEvent;
  } catch {
    /* not JSON */
  }
  if (ctx.format === 'json') return void out(`${JSON.stringify({ id: m.id, event: ev ?? m.data })}\n`);
  if (ctx.format === 'yaml')
    return void out(`---\nid: ${JSON.stringify(m.id)}\nevent: ${JSON.stringify(ev ?? m.data)}\n`);
  const d = (ev?.data ?? {}) as {
    catalog?: { namespace: string; name: string };
    ref?: { namespace: string; name: string };
    profile?: string;
    version?: string;
  };
  const of = d.catalog ?? d.ref;
  const what = [of ? `${of.namespace}/${of.name}` : '', d.profile ?? '', d.version ?? '']
    .filter(Boolean)
    .join(' ');
  say(`${m.id ?? '-'}  ${ev?.time ?? ''}  ${color.bold(m.event ?? ev?.type ?? 'message')}  ${what}`);
}
