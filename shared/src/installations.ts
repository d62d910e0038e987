/**
 * The install contract between API and installer: the request as stored in Redis, the status document the
 * API serves. The messages between the two are in `install-messages.ts`.
 */
import { AppError } from './errors.ts';

export const INSTALL_STATUSES = [
  'queued',
  'rendering',
  'committed',
  'pr-opened',
  'failed',
  'rendered',
  'unchanged',
] as const;
export type InstallStatus = (typeof INSTALL_STATUSES)[number];

/**
 * `rendered` is the terminal status of a dry run (nothing was written); `unchanged` ends an upgrade that had
 * nothing to change (the repository already holds that version with those values: no commit).
 */
export const TERMINAL_STATUSES: readonly InstallStatus[] = [
  'committed',
  'pr-opened',
  'failed',
  'rendered',
  'unchanged',
];

/** What each status means, for the API's documentation and the README table. */
export const INSTALL_STATUS_MEANINGS: Record<InstallStatus, string> = {
  queued: 'stored and published, not yet picked up',
  rendering: 'an installer is working on it',
  committed: 'committed and pushed to the target branch',
  'pr-opened': 'pushed to a branch with a pull request opened',
  failed: 'stopped with `code` and `reason`; nothing was written',
  rendered: 'dry run done: `dryRun.diff` shows what would change, `dryRun.applies` whether it would apply',
  unchanged: 'upgrade with nothing to change (same version and values): no commit',
};

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

/** A kustomize patch as Flux's Kustomization `spec.patches` takes it: strategic merge or JSON 6902 text. */
export interface KustomizePatch {
  patch: string;
  target?: {
    group?: string;
    version?: string;
    kind?: string;
    name?: string;
    namespace?: string;
    labelSelector?: string;
    annotationSelector?: string;
  };
}

/** Helm values kept outside git, as a HelmRelease's `spec.valuesFrom` item (pctl's --config-map). */
export interface ValuesReference {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  valuesKey?: string;
  targetPath?: string;
  optional?: boolean;
}

/**
 * How an upgrade treats files the user edited where the new version changed them too: `fail` (the default:
 * nothing is written, the files are listed), `ours` (keep the user's file), `theirs` (take the new version's),
 * or `markers` (write git's conflict markers for the user to resolve: pull-request mode only, never onto the
 * target branch directly). `files` chooses per file (repository-relative paths) and wins over `mode`.
 */
export interface ConflictResolution {
  mode?: 'fail' | 'ours' | 'theirs' | 'markers';
  files?: Record<string, 'ours' | 'theirs'>;
}

/**
 * How an installation's folder is laid out and its objects named. `profiles` (the default): names carry the
 * whole artifact chain (`<install>-<nested>-<artifact>`), collision-free. `pctl`: the original CLI's names and
 * paths (`<install>-<artifact>`, `-defaultvalues` ConfigMaps keyed `default-values.yaml`, local charts under
 * `helm-chart/`, Helm `releaseName` the artifact's name), so a cluster pctl fed keeps its object names.
 * Recorded in `profile-installation.yaml` (`spec.layout`): upgrades keep it.
 */
export const INSTALL_LAYOUTS = ['profiles', 'pctl'] as const;
export type InstallLayout = (typeof INSTALL_LAYOUTS)[number];

/** A layout given by a request or read from a record; absent means the default. */
export function parseLayout(v: unknown, parameter = 'layout'): InstallLayout {
  if (v === undefined || v === null) return 'profiles';
  if (typeof v === 'string' && (INSTALL_LAYOUTS as readonly string[]).includes(v)) return v as InstallLayout;
  throw new AppError(
    'REQUEST_FIELD_INVALID',
    `${parameter} must be one of ${INSTALL_LAYOUTS.join(', ')} (got ${JSON.stringify(v)})`,
    { details: { parameter } },
  );
}

/** Per-artifact options, keyed like values by the artifact chain (`nested-profile/artifact`). */
export type ArtifactPatches = Record<string, KustomizePatch[]>;
export type ArtifactValuesFrom = Record<string, ValuesReference[]>;

export interface InstallRequest {
  id: string;
  kind: 'install' | 'upgrade';
  name: string;
  namespace: string;
  profile: ProfileSource;
  target: InstallTarget;
  values: Record<string, Record<string, unknown>>;
  /** Kustomize patches per artifact, applied by the artifact's Flux Kustomization. */
  patches?: ArtifactPatches;
  /** Values from ConfigMaps or Secrets the user owns, per chart artifact, read before the inline values. */
  valuesFrom?: ArtifactValuesFrom;
  mode: 'commit' | 'pull-request';
  dryRun: boolean;
  /** Names and paths (see InstallLayout); absent: `profiles`. An upgrade keeps the recorded one. */
  layout?: InstallLayout;
  /**
   * Upgrade: the installation being upgraded (its id), the wanted version (`latest` or semver) and the source
   * it was rendered from. An upgrade by repository path has only `path` (the installation's folder): the
   * installer reads source, values, namespace and id from its profile-installation.yaml.
   */
  upgrade?: {
    of: string;
    version: string;
    from?: ProfileSource;
    path?: string;
    /** Values given with the upgrade replace the recorded ones; absent, the recorded values are kept. */
    values?: Record<string, Record<string, unknown>>;
    /** The same for patches and valuesFrom: given, they replace the recorded ones. */
    patches?: ArtifactPatches;
    valuesFrom?: ArtifactValuesFrom;
    conflicts?: ConflictResolution;
    /**
     * Take over an installation this service did not write (pctl's, or one written by hand: its record has no
     * installation id): the folder is rewritten to exactly the new rendering, files only the old layout had
     * are removed. Without it such an upgrade is refused, since its files cannot be told from user edits.
     */
    adopt?: boolean;
    /**
     * Adopting only: the layout to rewrite the folder in (default `profiles`). `pctl` keeps the names of the
     * objects pctl's rendering put in the cluster, so Flux does not delete and recreate them.
     */
    layout?: InstallLayout;
  };
  createdAt: string;
  /** Who asked (the authenticated user; `system:anonymous` when the API is open): audit trail and commit trailer. */
  requestedBy?: string;
}

export interface ValidationFinding {
  file: string;
  object: string;
  message: string;
  /** Absent: an error (it stops an install). `warning`: a note of what could not be checked (`notes`). */
  severity?: 'error' | 'warning';
  /** Values findings: the artifact and the JSON path (dotted) the message is about. */
  artifact?: string;
  path?: string;
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
  /**
   * Each conflicting region of each conflicting file, diff3-style: the user's lines, the lines of the version
   * installed before and the new version's lines (`<<<<<<< repository` … `||||||| installed` … `=======` …
   * `>>>>>>> upgrade`), with a few lines of context. What a CLI or page shows so the user sees the clash itself.
   */
  conflictHunks?: { file: string; hunks: string[] }[];
  /** Conflicting files an upgrade resolved as the request chose. */
  resolved?: { file: string; by: 'ours' | 'theirs' | 'markers' }[];
  /** Schema findings that stopped an install (nothing was written). */
  findings?: ValidationFinding[];
  /**
   * What could not be checked before commit, each naming its artifact (`severity: 'warning'`): the values of a
   * chart from a Helm repository or OCI registry, values from valuesFrom. They never stop an install.
   */
  notes?: ValidationFinding[];
  /** Error code of a failure (the error catalogue). */
  code?: string;
  profile?: { name: string; version: string; url: string; ref: string };
  /** `applies`: false when the change could not be written as shown (conflicts, findings). */
  dryRun?: {
    tree: ProfileTreeNode;
    diff: string;
    findings: ValidationFinding[];
    /** The same notes as `notes` above: warnings, which do not make `applies` false. */
    notes?: ValidationFinding[];
    applies: boolean;
  };
  attempts?: number;
  /**
   * When the installer began its last attempt (the request left the queue): from `createdAt` to here it waited
   * for its repository's turn; from here to `renderedAt` it fetched, rendered and validated.
   */
  startedAt?: string;
  /** When the rendering was ready to commit: from here to the final `updatedAt`, its repository's commit. */
  renderedAt?: string;
  /** Who asked (see InstallRequest.requestedBy). */
  requestedBy?: string;
  createdAt: string;
  updatedAt: string;
}

/** The annotation and commit trailer that tie what is in git to one installation request. */
export const INSTALLATION_ID_ANNOTATION = 'profiles.weave.works/installation-id';
export const INSTALLATION_TRAILER = 'Profiles-Installation-Id';
