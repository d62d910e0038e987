/**
 * Following an installation to its end: a spinner naming the stage on a terminal, one plain line per stage
 * otherwise (both on stderr, so stdout holds only the result), then the result: the commit, the pull request,
 * the dry run's tree, diff and findings, or why it failed.
 */
import { TERMINAL_STATUSES, type InstallationDoc } from '@profiles/shared';
import { conflictList, hasConflicts } from './conflicts.ts';
import type { Context } from './context.ts';
import { CliError, EXIT, type ExitCode } from './exit.ts';
import { color, printDocument, say } from './output.ts';
import { resolvedTree } from './tree.ts';

const STAGE: Record<InstallationDoc['status'], string> = {
  queued: 'queued: waiting for an installer',
  rendering: 'rendering: reading the profile, rendering and validating the manifests',
  committed: 'committed',
  'pr-opened': 'pull request opened',
  failed: 'failed',
  rendered: 'rendered (dry run: nothing written)',
  unchanged: 'unchanged: the repository already holds this version with these values',
};

export async function follow(ctx: Context, id: string, timeoutSeconds: number): Promise<InstallationDoc> {
  const path = `/v1/installations/${encodeURIComponent(id)}`;
  const deadline = Date.now() + timeoutSeconds * 1000;
  const tty = Boolean(process.stderr.isTTY);
  const spinner = tty
    ? (await import('ora'))
        .default({ stream: process.stderr })
        .start(`${STAGE.queued}  ${color.dim(id.slice(0, 8))}`)
    : undefined;
  let last = '';
  try {
    for (;;) {
      const doc = await ctx.api.get<InstallationDoc>(path);
      if (doc.status !== last) {
        last = doc.status;
        if (spinner) spinner.text = `${STAGE[doc.status]}  ${color.dim(id.slice(0, 8))}`;
        else if (!TERMINAL_STATUSES.includes(doc.status)) console.error(`${id} ${STAGE[doc.status]}`);
      }
      if (TERMINAL_STATUSES.includes(doc.status)) {
        // The result is printed next (report), once: the spinner only goes away.
        spinner?.stop();
        return doc;
      }
      if (Date.now() > deadline) {
        spinner?.stop();
        throw new CliError(
          `installation ${id} is still ${doc.status} after ${timeoutSeconds} s; follow it with: profiles status ${id} --watch`,
          EXIT.unavailable,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    spinner?.stop();
    throw err;
  }
}

/** Prints a finished installation and returns the exit status it stands for. */
export async function report(
  ctx: Context,
  doc: InstallationDoc,
  target?: { url: string; branch: string },
): Promise<ExitCode> {
  const failed =
    doc.status === 'failed' ||
    hasConflicts(doc) ||
    doc.dryRun?.applies === false ||
    (doc.dryRun?.findings.length ?? 0) > 0;
  const code = failed ? EXIT.failed : EXIT.ok;
  if (ctx.format !== 'table') {
    await printDocument(ctx.format, doc);
    return code;
  }
  const p = doc.profile ? `${doc.profile.name} ${doc.profile.version}` : 'profile';
  if (doc.status === 'committed') {
    if (doc.commit)
      say(
        `${color.green('✔')} ${p}: commit ${doc.commit}${target ? ` on ${target.url} ${target.branch}` : ''} (${doc.files?.length ?? 0} files${doc.removed?.length ? `, ${doc.removed.length} removed` : ''})`,
      );
    else say(`${color.green('✔')} ${p}: ${doc.reason ?? 'no changes'}`);
  } else if (doc.status === 'pr-opened') {
    say(`${color.green('✔')} ${p}: pull request ${doc.pullRequest?.url} (branch ${doc.pullRequest?.branch})`);
  } else if (doc.status === 'rendered' && doc.dryRun) {
    say(color.bold('Profile tree'));
    say(resolvedTree(doc.dryRun.tree));
    say(`\n${color.bold(`Changes against ${target ? `${target.url} ${target.branch}` : 'the branch'}`)}`);
    say(doc.dryRun.diff.trim() === '' ? 'none' : colorDiff(doc.dryRun.diff.trimEnd()));
    say(`\n${color.bold('Findings')}`);
    say(
      doc.dryRun.findings.length === 0
        ? 'none: every generated object validates against the Flux schemas'
        : doc.dryRun.findings.map((f) => `${color.red('✗')} ${f.file}: ${f.object} ${f.message}`).join('\n'),
    );
    if (doc.dryRun.applies === false)
      say(`\n${color.red('✗')} it would not apply as shown (see the conflicts and findings)`);
    say(`\n${color.dim('dry run: nothing was written')}`);
  } else if (doc.status === 'failed') {
    console.error(
      `${color.red('✗')} ${doc.profile ? `${p}: ` : ''}failed: ${doc.reason ?? 'no reason given'}${doc.code ? ` [${doc.code}]` : ''}`,
    );
    for (const f of doc.findings ?? []) console.error(`  ${f.file}: ${f.object} ${f.message}`);
  }
  if (hasConflicts(doc)) {
    console.error(
      `${color.red('✗')} conflicts with edits in the repository (nothing was written):\n${conflictList(doc, color)}`,
    );
  }
  return code;
}

function colorDiff(diff: string): string {
  return diff
    .split('\n')
    .map((l) =>
      l.startsWith('+++') || l.startsWith('---')
        ? color.bold(l)
        : l.startsWith('+')
          ? color.green(l)
          : l.startsWith('-')
            ? color.red(l)
            : l.startsWith('@@')
              ? color.cyan(l)
              : l,
    )
    .join('\n');
}
