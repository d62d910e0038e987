/** The GitOps repository options install and upgrade share, and how they follow what they started. */
import { Option, type Command } from 'commander';
import type { InstallationDoc, InstallTarget, PullRequestTarget } from '@profiles/shared';
import type { Context } from '../context.ts';
import { CliError, EXIT } from '../exit.ts';
import { follow, report } from '../follow.ts';
import { printDocument, say } from '../output.ts';
import { parseObjectRef } from '../refs.ts';

export interface TargetOpts {
  repo: string;
  branch: string;
  secretRef?: string;
  fluxSource?: string;
  pullRequest?: boolean;
  prProvider?: PullRequestTarget['provider'];
  prApiUrl?: string;
  prRepository?: string;
  prSecretRef?: string;
  dryRun?: boolean;
  idempotencyKey?: string;
  wait: boolean;
  timeout: string;
}

export function addTargetOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--repo <url>', 'the GitOps repository (git URL)')
    .option('--branch <branch>', 'its branch', 'main')
    .option('--secret-ref <secret>', '[NAMESPACE/]NAME of the Secret with its git credentials')
    .option(
      '--flux-source <ref>',
      'NAMESPACE/NAME of its Flux GitRepository (default flux-system/flux-system)',
    )
    .option('--pull-request', 'open a pull request instead of committing to the branch')
    .addOption(
      new Option('--pr-provider <provider>', 'pull-request provider').choices(['github', 'gitlab', 'gitea']),
    )
    .option('--pr-api-url <url>', 'REST API base (https://api.github.com, https://gitlab.example/api/v4, …)')
    .option('--pr-repository <repo>', 'owner/repo (GitHub, Gitea) or the project path (GitLab)')
    .option('--pr-secret-ref <secret>', '[NAMESPACE/]NAME of the Secret holding the provider token')
    .option('--dry-run', 'render, validate and diff against the branch; write nothing')
    .option('--idempotency-key <key>', 'the same key returns the same installation instead of a second one')
    .option('--no-wait', 'print the installation id and return at once')
    .option('--timeout <seconds>', 'how long to follow the installation', '300');
}

const DEFAULT_PROVIDER_API: Record<string, string> = { github: 'https://api.github.com' };

export function pullRequestOf(o: TargetOpts): PullRequestTarget | undefined {
  if (!o.pullRequest) {
    if (o.prProvider || o.prRepository || o.prApiUrl)
      throw new CliError('--pr-provider, --pr-repository and --pr-api-url need --pull-request', EXIT.usage);
    return undefined;
  }
  const provider = o.prProvider ?? 'github';
  const apiUrl = o.prApiUrl ?? DEFAULT_PROVIDER_API[provider];
  if (!o.prRepository || !apiUrl)
    throw new CliError(
      `--pull-request needs --pr-repository${apiUrl ? '' : ` and --pr-api-url (no default for ${provider})`}`,
      EXIT.usage,
    );
  return {
    provider,
    apiUrl,
    repository: o.prRepository,
    ...(o.prSecretRef ? { secretRef: parseObjectRef(o.prSecretRef, '--pr-secret-ref') } : {}),
  };
}

export function targetOf(
  o: TargetOpts,
  path: string,
): Omit<InstallTarget, 'pullRequest'> & {
  pullRequest?: PullRequestTarget;
} {
  const pr = pullRequestOf(o);
  let fluxSource: InstallTarget['fluxSource'];
  if (o.fluxSource) {
    const f = parseObjectRef(o.fluxSource, '--flux-source');
    fluxSource = { name: f.name, namespace: f.namespace ?? 'flux-system' };
  }
  return {
    url: o.repo,
    branch: o.branch,
    path,
    ...(o.secretRef ? { secretRef: parseObjectRef(o.secretRef, '--secret-ref') } : {}),
    ...(fluxSource ? { fluxSource } : {}),
    ...(pr ? { pullRequest: pr } : {}),
  };
}

export function timeoutOf(o: TargetOpts): number {
  const t = Number(o.timeout);
  if (!Number.isFinite(t) || t <= 0)
    throw new CliError(`--timeout ${o.timeout}: seconds, more than 0`, EXIT.usage);
  return t;
}

/** After a 202: print the id (--no-wait), or follow to the end and report. Returns the exit status. */
export async function afterAccepted(
  ctx: Context,
  accepted: { id: string; status: string },
  o: TargetOpts,
): Promise<number> {
  if (!o.wait) {
    if (ctx.format !== 'table') await printDocument(ctx.format, accepted);
    else say(`${accepted.id} ${accepted.status}; follow it with: profiles status ${accepted.id} --watch`);
    return EXIT.ok;
  }
  const doc: InstallationDoc = await follow(ctx, accepted.id, timeoutOf(o));
  return await report(ctx, doc, { url: o.repo, branch: o.branch });
}
