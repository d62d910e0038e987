/**
 * The install contract between API and installer: the request as stored in Redis, the status document the
 * API serves. The messages between the two are in `install-messages.ts`.
 */
export type InstallStatus = 'queued' | 'rendering' | 'committed' | 'pr-opened' | 'failed' | 'rendered';

/** `rendered` is the terminal status of a dry run: nothing was written. */
export const TERMINAL_STATUSES: readonly InstallStatus[] = ['committed', 'pr-opened', 'failed', 'rendered'];

export interface SecretRef {
  name: string;
  namespace?: string;
}

export type ProfileRef =
  | { url: string; tag?: string; branch?: string; path?: string; secretRef?: SecretRef }
  | { catalog: string; name: string; version: string };

/** A git source resolved from either form of ProfileRef (catalog entries carry url and tag). */
export interface ProfileSource {
  url: string;
  tag?: string;
  branch?: string;
  path?: string;
  secretRef?: SecretRef;
  /** Set when the profile came from a catalog: upgrades to `latest` are resolved there. */
  catalog?: { catalog: string; name: string; version: string };
}

export interface PullRequestTarget {
  provider: 'github' | 'gitlab' | 'gitea';
  /** REST API base, e.g. https://api.github.com, https://gitlab.example/api/v4, https://gitea.example/api/v1 */
  apiUrl: string;
  /** `owner/repo` (GitHub, Gitea) or the project path or id (GitLab). */
  repository: string;
  secretRef?: SecretRef;
}

export interface InstallTarget {
  url: string;
  branch: string;
  path: string;
  secretRef?: SecretRef;
  /** The Flux GitRepository of the GitOps repository itself (default flux-system/flux-system). */
  fluxSource?: { name: string; namespace: string };
  pullRequest?: PullRequestTarget;
}

export interface InstallRequest {
  id: string;
  kind: 'install' | 'upgrade';
  name: string;
  namespace: string;
  profile: ProfileSource;
  target: InstallTarget;
  values: Record<string, Record<string, unknown>>;
  mode: 'commit' | 'pull-request';
  dryRun: boolean;
  /**
   * Upgrade: the installation being upgraded (its id), the wanted version (`latest` or semver) and the source
   * it was rendered from. An upgrade by repository path has only `path` (the installation's folder): the
   * installer reads source, values, namespace and id from its profile-installation.yaml.
   */
  upgrade?: { of: string; version: string; from?: ProfileSource; path?: string };
  createdAt: string;
}

export interface ValidationFinding {
  file: string;
  object: string;
  message: string;
}

export interface ProfileTreeNode {
  name: string;
  url: string;
  ref: string;
  path: string;
  commit: string;
  artifacts: { name: string; kind: 'chart' | 'kustomize' | 'profile'; profile?: ProfileTreeNode }[];
}

export interface InstallationDoc {
  id: string;
  status: InstallStatus;
  reason?: string;
  commit?: string;
  pullRequest?: { url: string; number: number | string; branch: string };
  files?: string[];
  /** Files removed by an upgrade. */
  removed?: string[];
  conflicts?: string[];
  /** Schema findings that stopped an install (nothing was written). */
  findings?: ValidationFinding[];
  /** Error code of a failure (the error catalogue). */
  code?: string;
  profile?: { name: string; version: string; url: string; ref: string };
  dryRun?: { tree: ProfileTreeNode; diff: string; findings: ValidationFinding[] };
  attempts?: number;
  createdAt: string;
  updatedAt: string;
}

/** The annotation and commit trailer that tie what is in git to one installation request. */
export const INSTALLATION_ID_ANNOTATION = 'profiles.weave.works/installation-id';
export const INSTALLATION_TRAILER = 'Profiles-Installation-Id';
