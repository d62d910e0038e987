import type { Command } from 'commander';
import { contextOf } from '../context.ts';
import { CliError, EXIT } from '../exit.ts';
import { parseObjectRef } from '../refs.ts';
import {
  addTargetOptions,
  afterAccepted,
  pullRequestOf,
  targetOf,
  timeoutOf,
  type TargetOpts,
} from './target-input.ts';

export function upgradeCommand(program: Command): void {
  const cmd = program
    .command('upgrade')
    .description(
      "upgrade an installation in a GitOps repository to another version, merging the user's own edits",
    )
    .argument('[version]', 'the version to go to (or --latest)')
    .requiredOption('--path <path>', 'the installation folder, e.g. clusters/dev/pprof')
    .option('--latest', 'the newest version');
  addTargetOptions(cmd);
  cmd
    .option('--profile-secret-ref <secret>', '[NAMESPACE/]NAME of the profile repository credentials Secret')
    .addHelpText(
      'after',
      `
Examples:
  profiles upgrade --repo file:///srv/gitops.git --path clusters/dev/pprof --latest --dry-run
  profiles upgrade --repo file:///srv/gitops.git --path clusters/dev/pprof 0.1.1

Edits made in the repository since the installation are kept; an edit the new version also changes is a
conflict: each file is listed with its clashing hunks (the repository's lines, the installed version's, the
upgrade's), nothing is written, and the exit status is 1 (with --dry-run too).`,
    )
    .action(
      async (
        version: string | undefined,
        opts: TargetOpts & { path: string; latest?: boolean; profileSecretRef?: string },
        c: Command,
      ) => {
        const ctx = contextOf(c);
        if (Boolean(version) === Boolean(opts.latest))
          throw new CliError('give the version to upgrade to, or --latest (one of them)', EXIT.usage);
        timeoutOf(opts);
        const pr = pullRequestOf(opts);
        const { fluxSource } = targetOf(opts, opts.path);
        const accepted = await ctx.api.post<{ id: string; status: string }>(
          '/v1/repositories/installations/upgrade',
          {
            url: opts.repo,
            branch: opts.branch,
            path: opts.path.replace(/\/+$/, ''),
            version: version ?? 'latest',
            dryRun: Boolean(opts.dryRun),
            mode: pr ? 'pull-request' : 'commit',
            ...(pr ? { pullRequest: pr } : {}),
            ...(fluxSource ? { fluxSource } : {}),
            ...(opts.secretRef ? { secretRef: parseObjectRef(opts.secretRef, '--secret-ref') } : {}),
            ...(opts.profileSecretRef
              ? { profileSecretRef: parseObjectRef(opts.profileSecretRef, '--profile-secret-ref') }
              : {}),
          },
          opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {},
        );
        process.exitCode = await afterAccepted(ctx, accepted, opts);
      },
    );
}
