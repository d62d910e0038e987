/**
 * The installer's rendering with no server: resolve a profile through git and render it exactly as an install
 * would, for `profiles render --out DIR` (the CLI), the way `pctl add --out` worked. It is an explicit entry of
 * this package (`@profiles/installer/render-local`) so the CLI imports the one renderer instead of a copy.
 *
 * Git runs as the user: their credential helpers and ssh agent apply (no Secrets are read), and `file://`
 * repositories are allowed, since the only repositories reached are the ones the user named.
 */
import { randomUUID } from 'node:crypto';
import type { InstallLayout, InstallRequest, ProfileSource, ProfileTreeNode } from '@profiles/shared';
import { FluxValidator } from './flux-schemas.ts';
import { GitAccess, noSecrets, rewriteConfig } from '@profiles/shared/git';
import { ProfileRepos } from './profile-repos.ts';
import { renderInstallation, type Rendered } from './render.ts';
import { resolveProfile, treeOf } from './resolve-tree.ts';

export type { Rendered } from './render.ts';

export interface RenderLocalOptions {
  profile: ProfileSource;
  name: string;
  namespace: string;
  /** Folder of the installation inside the GitOps repository (the install's `target.path`). */
  path: string;
  values: InstallRequest['values'];
  fluxSource?: { name: string; namespace: string };
  /** Where bare copies of profile repositories are kept between runs. */
  cacheDir: string;
  /** Flux CRD schemas; the installer's bundled ones when not given. */
  fluxSchemasDir?: string;
  /** `from=to` git URL rewrites, as GIT_URL_REWRITES. */
  gitUrlRewrites?: string[];
  /** The installation id written in profile-installation.yaml; a new one when not given. */
  id?: string;
  /** Names and paths (`pctl`: the original CLI's, as `pctl add --out` wrote them); the default when not given. */
  layout?: InstallLayout;
}

export async function renderLocal(o: RenderLocalOptions): Promise<Rendered & { tree: ProfileTreeNode }> {
  const repos = new ProfileRepos(
    o.cacheDir,
    new GitAccess({
      secrets: noSecrets,
      policy: { allowFile: true, denyHosts: [] },
      base: { config: rewriteConfig(o.gitUrlRewrites ?? []), asUser: true },
      code: 'BAD_REQUEST',
    }),
  );
  const [validator, profile] = await Promise.all([
    FluxValidator.load(o.fluxSchemasDir),
    resolveProfile(repos, o.profile),
  ]);
  const rendered = renderInstallation(
    profile,
    {
      id: o.id ?? randomUUID(),
      name: o.name,
      namespace: o.namespace,
      profile: o.profile,
      values: o.values,
      ...(o.layout ? { layout: o.layout } : {}),
      target: { url: '', branch: '', path: o.path, ...(o.fluxSource ? { fluxSource: o.fluxSource } : {}) },
    },
    validator,
  );
  return { ...rendered, tree: treeOf(profile) };
}
