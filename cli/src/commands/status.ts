import type { Command } from 'commander';
import type { InstallationDoc } from '@profiles/shared';
import { conflictList, hasConflicts } from '../conflicts.ts';
import { contextOf } from '../context.ts';
import { EXIT } from '../exit.ts';
import { follow, report } from '../follow.ts';
import { ago, color, fields, printDocument, say } from '../output.ts';

export function statusCommand(program: Command): void {
  program
    .command('status')
    .description('the status of an installation or upgrade')
    .argument('<id>', 'the installation id (install and upgrade print it)')
    .option('-w, --watch', 'follow it until it ends')
    .option('--timeout <seconds>', 'with --watch: how long to follow', '300')
    .addHelpText(
      'after',
      `
Examples:
  profiles status 3f0c…
  profiles status 3f0c… --watch -o json`,
    )
    .action(async (id: string, opts: { watch?: boolean; timeout: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (opts.watch) {
        const doc = await follow(ctx, id, Number(opts.timeout) || 300);
        process.exitCode = await report(ctx, doc);
        return;
      }
      const doc = await ctx.api.get<InstallationDoc>(`/v1/installations/${encodeURIComponent(id)}`);
      if (ctx.format !== 'table') return printDocument(ctx.format, doc);
      const state =
        doc.status === 'failed'
          ? color.red(doc.status)
          : doc.status === 'committed' || doc.status === 'pr-opened'
            ? color.green(doc.status)
            : doc.status;
      say(
        fields([
          ['Id', doc.id],
          ['Status', state],
          ['Reason', doc.reason ? `${doc.reason}${doc.code ? ` [${doc.code}]` : ''}` : undefined],
          [
            'Profile',
            doc.profile
              ? `${doc.profile.name} ${doc.profile.version} (${doc.profile.url} ${doc.profile.ref})`
              : undefined,
          ],
          ['Commit', doc.commit],
          ['Pull request', doc.pullRequest?.url],
          ['Files', doc.files ? String(doc.files.length) : undefined],
          ['Updated', `${ago(doc.updatedAt)} (${doc.updatedAt})`],
        ]),
      );
      if (hasConflicts(doc)) say(`${color.bold('Conflicts:')}\n${conflictList(doc, color)}`);
      process.exitCode = EXIT.ok;
    });
}
