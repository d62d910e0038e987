import type { Command } from 'commander';
import type { SourceView } from '@profiles/shared';
import { contextOf } from '../context.ts';
import { ago, color, printDocument, say, table, terminalWidth } from '../output.ts';
import { parseObjectRef } from '../refs.ts';

export function sourcesCommands(program: Command): void {
  program
    .command('sources')
    .description('catalog sources: health, counts, scanned repositories, last error')
    .addHelpText('after', '\nExamples:\n  profiles sources\n  profiles sources -o yaml')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const doc = await ctx.api.get<{ items: SourceView[] }>('/v1/sources');
      if (ctx.format !== 'table') return printDocument(ctx.format, doc);
      if (doc.items.length === 0) return say('No catalog sources.');
      const rows = doc.items.map((s) => [
        s.namespace,
        s.name,
        s.ready ? color.green('True') : color.red('False'),
        String(s.profiles),
        String(s.versions),
        String(s.scannedRepositories.length),
        ago(s.indexedAt),
        s.lastError ??
          (s.entryErrors.length
            ? `${s.entryErrors.length} entry errors`
            : (s.scannedRepositories.find((r) => r.error)?.error ?? '')),
      ]);
      say(
        await table(
          ['NAMESPACE', 'NAME', 'READY', 'PROFILES', 'VERSIONS', 'REPOS', 'INDEXED', 'LAST ERROR'],
          rows,
          {
            flexible: 7,
            width: terminalWidth(),
          },
        ),
      );
    });

  program
    .command('refresh')
    .description("rescan a catalog source's repositories now")
    .argument('<source>', '[NAMESPACE/]NAME of the catalog source (namespace default: default)')
    .addHelpText('after', '\nExamples:\n  profiles refresh examples\n  profiles refresh team-a/platform')
    .action(async (arg: string, _opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const ref = parseObjectRef(arg, 'source');
      const ns = ref.namespace ?? 'default';
      const doc = await ctx.api.post<unknown>(
        `/v1/sources/${encodeURIComponent(ns)}/${encodeURIComponent(ref.name)}/refresh`,
        {},
      );
      if (ctx.format !== 'table') return printDocument(ctx.format, doc);
      say(`refresh of ${ns}/${ref.name} requested; see it with: profiles sources`);
    });
}
