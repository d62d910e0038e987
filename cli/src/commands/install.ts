import type { Command } from 'commander';
import { contextOf } from '../context.ts';
import { addProfileOptions, profileInput, type ProfileOpts } from '../profile-input.ts';
import { addTargetOptions, afterAccepted, targetOf, timeoutOf, type TargetOpts } from './target-input.ts';

export function installCommand(program: Command): void {
  const cmd = program
    .command('install')
    .alias('add')
    .description(
      'install a profile: commit its Flux manifests to a GitOps repository (or open a pull request)',
    );
  addProfileOptions(cmd);
  addTargetOptions(cmd);
  cmd
    .option('--path <path>', 'folder in the repository the installation folder goes under', '.')
    .addHelpText(
      'after',
      `
Examples:
  profiles install examples/weaveworks-nginx@0.1.1 --repo file:///srv/gitops.git --path clusters/dev --name pprof
  profiles install examples/weaveworks-nginx --repo https://github.com/me/fleet --set nginx-chart.replicaCount=2 \\
      --pull-request --pr-repository me/fleet --pr-secret-ref github-token
  profiles install --profile-url https://github.com/weaveworks/profiles-examples \\
      --profile-tag weaveworks-nginx/v0.1.1 --repo file:///srv/gitops.git --dry-run
  profiles add examples/weaveworks-nginx --repo file:///srv/gitops.git --no-wait -o json

It follows the installation until it is committed, its pull request opened, or it failed (exit status 1);
--dry-run prints the profile tree, the diff against the branch and the schema findings and writes nothing.`,
    )
    .action(
      async (arg: string | undefined, opts: ProfileOpts & TargetOpts & { path: string }, c: Command) => {
        const ctx = contextOf(c);
        const input = await profileInput(arg, opts);
        const target = targetOf(opts, opts.path);
        timeoutOf(opts);
        const accepted = await ctx.api.post<{ id: string; status: string }>(
          '/v1/installations',
          {
            name: input.name,
            namespace: opts.namespace,
            profile: input.ref,
            target,
            values: input.values,
            mode: target.pullRequest ? 'pull-request' : 'commit',
            dryRun: Boolean(opts.dryRun),
          },
          opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {},
        );
        process.exitCode = await afterAccepted(ctx, accepted, opts);
      },
    );
}
