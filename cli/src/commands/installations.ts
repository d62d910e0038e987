import type { Command } from 'commander';
import type { FoundInstallation } from '@profiles/shared';
import { contextOf } from '../context.ts';
import { color, printDocument, say, table } from '../output.ts';
import { parseObjectRef } from '../refs.ts';

/** How far an update goes, as the API's updates endpoint says it: patch, minor, major, pre…; `other` if not semver. */
export function classify(
  semver: { valid(v: string): string | null; diff(a: string, b: string): string | null },
  from: string,
  to: string,
): string {
  if (!semver.valid(from) || !semver.valid(to)) return 'other';
  return semver.diff(from, to) ?? 'none';
}

export function installationsCommand(program: Command): void {
  program
    .command('installations')
    .description('what is installed in a GitOps repository, with the updates available (patch/minor/major)')
    .requiredOption('--repo <url>', 'the GitOps repository (git URL)')
    .option('--branch <branch>', 'its branch', 'main')
    .option('--path <path>', 'only under this folder', '.')
    .option('--secret-ref <secret>', '[NAMESPACE/]NAME of the Secret with its git credentials')
    .addHelpText(
      'after',
      `
Examples:
  profiles installations --repo file:///srv/gitops.git
  profiles installations --repo https://github.com/me/fleet --path clusters/prod -o json

-o json|yaml prints the API's document with "updates" added to each item: [{version, change}].`,
    )
    .action(
      async (opts: { repo: string; branch: string; path: string; secretRef?: string }, cmd: Command) => {
        const ctx = contextOf(cmd);
        const secret = opts.secretRef ? parseObjectRef(opts.secretRef, '--secret-ref') : undefined;
        const doc = await ctx.api.get<{ items: FoundInstallation[] }>('/v1/repositories/installations', {
          url: opts.repo,
          branch: opts.branch,
          path: opts.path,
          secret: secret?.name,
          secretNamespace: secret?.namespace,
        });
        const semver = (await import('semver')).default;
        const items = doc.items.map((i) => ({
          ...i,
          updates: i.availableUpdates.map((v) => ({
            version: v,
            change: classify(semver, i.profile.version, v),
          })),
        }));
        if (ctx.format !== 'table') return printDocument(ctx.format, { ...doc, items });
        if (items.length === 0) {
          say(
            `No installations found in ${opts.repo} ${opts.branch}${opts.path === '.' ? '' : ` under ${opts.path}`}.`,
          );
          return;
        }
        const paint = (c: string, s: string) =>
          c === 'major' ? color.red(s) : c === 'minor' ? color.yellow(s) : c === 'patch' ? color.green(s) : s;
        const rows = items.map((i) => [
          i.namespace,
          i.name,
          i.path,
          `${i.profile.path === '.' ? i.profile.url : i.profile.path}`,
          i.profile.version,
          i.updates.length
            ? i.updates.map((u) => paint(u.change, `${u.version} (${u.change})`)).join(', ')
            : '-',
        ]);
        say(await table(['NAMESPACE', 'NAME', 'PATH', 'PROFILE', 'VERSION', 'AVAILABLE UPDATES'], rows));
      },
    );
}
