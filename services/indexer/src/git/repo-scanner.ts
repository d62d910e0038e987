import { createHash } from 'node:crypto';
import { access, mkdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import {
  AppError,
  checkProfileDefinition,
  checkProfileFiles,
  fileRequirements,
  type ObjectType,
  compareVersionsDesc,
  describeError,
  parseTag,
  parseYaml,
  type CatalogEntry,
  type RepoTagState,
  type RepositoryRef,
  type SourceRef,
} from '@profiles/shared';
import { inSpan, SpanKind, SpanStatusCode, type Logger } from '@profiles/shared/runtime';
import type { ScanMetrics } from '../metrics.ts';
import {
  GitAccess,
  runGit as git,
  type GitCredentials,
  type GitEnv,
  type SecretProvider,
} from '@profiles/shared/git';
import { redactUrl, type UrlPolicy } from './repo-url.ts';

export interface ScannerDeps {
  cacheDir: string;
  timeoutMs: number;
  maxTags: number;
  maxProfileBytes: number;
  urlPolicy: UrlPolicy;
  secrets: SecretProvider;
  /** The operator's known_hosts file for ssh repositories (GIT_SSH_KNOWN_HOSTS). */
  knownHostsFile?: string | undefined;
  log: Logger;
  /** Records each scan's duration and failure per repository. */
  metrics?: ScanMetrics;
}

export interface RepoScanResult {
  /** tag -> state, for every version tag of the repository after this scan */
  tags: Map<string, RepoTagState>;
  /** false when the tags and their commits are exactly those of `previous`: nothing to write */
  changed: boolean;
  /** why the scan failed (the previous tags are returned unchanged) */
  error?: string;
  /** tags beyond REPO_MAX_TAGS that were not read */
  skippedTags?: number;
}

const FETCH_BATCH = 200;

/**
 * Scans one repository of a catalog source: lists its tags with one `git ls-remote`, and reads `profile.yaml`
 * only at tags that are new or moved since the previous scan (fetched shallowly, in batches, into a bare cache
 * repository, then read with one `git cat-file --batch`). Tags follow `<dir>/v<semver>`, profile.yaml at
 * `<dir>/profile.yaml`; a bare `v<semver>` tag means profile.yaml at the root. A bad tag is reported with its
 * reason and the others are indexed; a failed scan keeps the previous result.
 */
export async function scanRepository(
  deps: ScannerDeps,
  ref: SourceRef,
  repo: RepositoryRef,
  previous: Map<string, RepoTagState>,
  now: string,
): Promise<RepoScanResult> {
  const started = performance.now();
  const url = typeof repo?.url === 'string' ? redactUrl(repo.url) : '';
  const result = await inSpan(
    'indexer scan repository',
    {
      kind: SpanKind.CLIENT,
      attributes: { 'profiles.repository': url, 'profiles.source': `${ref.namespace}/${ref.name}` },
    },
    async (span) => {
      const r = await scanOnce(deps, ref, repo, previous, now);
      span.setAttribute('profiles.repository.changed', r.changed);
      if (r.error) span.setStatus({ code: SpanStatusCode.ERROR, message: r.error });
      return r;
    },
  );
  if (typeof repo?.url === 'string')
    deps.metrics?.scanned(repo.url, (performance.now() - started) / 1000, result.error !== undefined);
  return result;
}

async function scanOnce(
  deps: ScannerDeps,
  ref: SourceRef,
  repo: RepositoryRef,
  previous: Map<string, RepoTagState>,
  now: string,
): Promise<RepoScanResult> {
  const fail = (err: unknown): RepoScanResult => ({
    tags: previous,
    changed: false,
    error: describeError(err),
  });
  let auth: GitCredentials;
  try {
    if (typeof repo?.url !== 'string') throw new AppError('SOURCE_INVALID', 'repository url is required');
    const access = new GitAccess({
      secrets: deps.secrets,
      policy: deps.urlPolicy,
      knownHostsFile: deps.knownHostsFile,
      code: 'SOURCE_INVALID',
    });
    // A secretRef names a Secret in the source's own namespace.
    const key = repo.secretRef?.name ? { namespace: ref.namespace, name: repo.secretRef.name } : undefined;
    auth = await access.open(repo.url, key);
  } catch (err) {
    return fail(err);
  }
  try {
    const opts = { env: auth.env, timeoutMs: deps.timeoutMs };
    const { current, skippedTags, allTags } = await listVersions(repo.url, opts, deps.maxTags);
    const toRead = [...current].filter(([tag, commit]) => previous.get(tag)?.commit !== commit);
    const removed = [...previous.keys()].filter((t) => !current.has(t));
    if (toRead.length === 0 && removed.length === 0) {
      return { tags: previous, changed: false, ...(skippedTags ? { skippedTags } : {}) };
    }
    const tags = new Map<string, RepoTagState>();
    for (const [tag, commit] of current) {
      const prev = previous.get(tag);
      if (prev && prev.commit === commit) tags.set(tag, prev);
    }
    if (toRead.length > 0) {
      const cache = await ensureCache(deps.cacheDir, repo.url, deps.timeoutMs);
      await fetchTags(cache, repo.url, toRead, allTags, opts);
      const files = await readFiles(
        cache,
        toRead.map(([tag, commit]) => `${commit}:${profilePath(tag)}`),
        deps,
      );
      const states = toRead.map(([tag, commit], i) =>
        toState(ref, repo.url, tag, commit, files[i]!, deps, now),
      );
      await checkFiles(cache, states, deps);
      toRead.forEach(([tag], i) => tags.set(tag, states[i]!));
    }
    return { tags, changed: true, ...(skippedTags ? { skippedTags } : {}) };
  } catch (err) {
    deps.log.warn(
      { repo: redactUrl(repo.url), err: describeError(err) },
      'repository scan failed; keeping its last good versions',
    );
    return fail(err);
  } finally {
    await auth.cleanup();
  }
}

/** The repository's version tags and their commits (the newest `maxTags` of them), by `git ls-remote`. */
async function listVersions(
  url: string,
  opts: { env: GitEnv; timeoutMs: number },
  maxTags: number,
): Promise<{ current: Map<string, string>; skippedTags: number | undefined; allTags: number }> {
  const listing = await git(['ls-remote', '--tags', '--', url], opts);
  const remote = parseLsRemote(listing.stdout);
  let versions = [...remote.entries()].filter(([tag]) => parseTag(tag) !== undefined);
  let skippedTags: number | undefined;
  if (versions.length > maxTags) {
    // Keep the newest versions: they are the ones users install.
    versions.sort(([a], [b]) => compareVersionsDesc(parseTag(a)!.version, parseTag(b)!.version));
    skippedTags = versions.length - maxTags;
    versions = versions.slice(0, maxTags);
  }
  return { current: new Map(versions), skippedTags, allTags: remote.size };
}

/**
 * Shallow fetches of these tags into the cache: FETCH_BATCH tags a fetch, or every tag of the repository in one
 * fetch by a pattern when at least half of them are wanted. git matches each named refspec against every ref
 * the server lists, so a fetch by name costs more the more tags the repository has: 5,000 tags took 24
 * fetches and 6 s by name, 0.7 s by the pattern (which fetches at most twice the tags wanted).
 */
async function fetchTags(
  cache: string,
  url: string,
  toRead: [string, string][],
  allTags: number,
  opts: { env: GitEnv; timeoutMs: number },
): Promise<void> {
  const fetch = (refspecs: string[]) =>
    git(['fetch', '--depth=1', '--no-tags', '--quiet', '--', url, ...refspecs], { ...opts, cwd: cache });
  if (toRead.length > FETCH_BATCH && toRead.length * 2 >= allTags) {
    await fetch(['+refs/tags/*:refs/tags/*']);
    return;
  }
  for (let i = 0; i < toRead.length; i += FETCH_BATCH) {
    const batch = toRead.slice(i, i + FETCH_BATCH);
    await fetch(batch.map(([t]) => `+refs/tags/${t}:refs/tags/${t}`));
  }
}

export function profilePath(tag: string): string {
  const dir = parseTag(tag)?.dir ?? '';
  return dir ? posix.join(dir, 'profile.yaml') : 'profile.yaml';
}

/** `git ls-remote --tags` output -> tag -> commit (peeled `^{}` lines win for annotated tags). */
export function parseLsRemote(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{40,64})\trefs\/tags\/(.+)$/.exec(line.trim());
    if (!m) continue;
    const [, sha, name] = m as unknown as [string, string, string];
    if (name.endsWith('^{}')) out.set(name.slice(0, -3), sha);
    else if (!out.has(name)) out.set(name, sha);
  }
  return out;
}

async function ensureCache(root: string, url: string, timeoutMs: number): Promise<string> {
  const dir = join(root, createHash('sha256').update(url).digest('hex').slice(0, 32));
  try {
    await access(join(dir, 'HEAD'));
  } catch {
    await mkdir(dir, { recursive: true });
    await git(['init', '--bare', '--quiet', dir], { timeoutMs });
  }
  return dir;
}

/**
 * The shared file checks (profile-check.ts) of every newly read version, with one `git cat-file
 * --batch-check` for all the paths they name: a version whose artifacts name a missing folder or chart becomes
 * the tag's error, as the installer would refuse it.
 */
async function checkFiles(cache: string, states: RepoTagState[], deps: ScannerDeps): Promise<void> {
  const specs: string[] = [];
  const dirOf = (s: RepoTagState) => parseTag(s.entry!.tag)?.dir ?? '';
  for (const s of states) {
    if (!s.entry) continue;
    for (const r of fileRequirements({ artifacts: s.entry.artifacts ?? [] }))
      specs.push(`${s.commit}:${posix.join(dirOf(s), r.path)}`);
  }
  if (specs.length === 0) return;
  const { stdout } = await git(['cat-file', '--batch-check=%(objecttype)'], {
    cwd: cache,
    timeoutMs: deps.timeoutMs,
    input: specs.join('\n') + '\n',
  });
  const lines = stdout.split('\n');
  const types = new Map(specs.map((spec, i) => [spec, lines[i]?.trim()]));
  states.forEach((s, i) => {
    if (!s.entry) return;
    const findings = checkProfileFiles({ artifacts: s.entry.artifacts ?? [] }, (p) => {
      const t = types.get(`${s.commit}:${posix.join(dirOf(s), p)}`);
      return t === 'tree' || t === 'blob' ? (t as ObjectType) : undefined;
    });
    if (findings.length) states[i] = { commit: s.commit, error: `profile.yaml: ${findings.join('; ')}` };
  });
}

type FileRead = { ok: true; text: string } | { ok: false; reason: string };

/** Reads many `<commit>:<path>` blobs with one `git cat-file --batch`. */
async function readFiles(cache: string, specs: string[], deps: ScannerDeps): Promise<FileRead[]> {
  const { bytes: stdout } = await git(['cat-file', '--batch'], {
    cwd: cache,
    timeoutMs: deps.timeoutMs,
    input: specs.join('\n') + '\n',
  });
  const out: FileRead[] = [];
  let pos = 0;
  for (const spec of specs) {
    const nl = stdout.indexOf(0x0a, pos);
    const header = stdout.subarray(pos, nl).toString('utf8');
    pos = nl + 1;
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!m) {
      out.push({ ok: false, reason: `${spec.split(':').slice(1).join(':')} not found at this tag` });
      continue;
    }
    const size = Number(m[2]);
    const body = stdout.subarray(pos, pos + size);
    pos += size + 1;
    if (m[1] !== 'blob') out.push({ ok: false, reason: 'profile.yaml is not a file' });
    else if (size > deps.maxProfileBytes)
      out.push({
        ok: false,
        reason: `profile.yaml is ${size} bytes, more than REPO_MAX_PROFILE_BYTES=${deps.maxProfileBytes}`,
      });
    else out.push({ ok: true, text: body.toString('utf8') });
  }
  return out;
}

function toState(
  ref: SourceRef,
  url: string,
  tag: string,
  commit: string,
  file: FileRead,
  deps: ScannerDeps,
  now: string,
): RepoTagState {
  if (!file.ok) return { commit, error: file.reason };
  let doc: unknown;
  try {
    doc = parseYaml(file.text, { maxBytes: deps.maxProfileBytes, maxAliasCount: 50 });
  } catch (err) {
    return { commit, error: `profile.yaml: ${describeError(err)}` };
  }
  const check = checkProfileDefinition(doc);
  if (!check.ok) return { commit, error: `profile.yaml: ${check.reason}` };
  const p = check.profile;
  const entry: CatalogEntry = {
    tag,
    catalogSource: ref.name,
    url,
    name: p.name,
    description: p.description,
    maintainer: p.maintainer,
    prerequisites: p.prerequisites,
    version: parseTag(tag)!.version,
    catalogNamespace: ref.namespace,
    origin: url,
    indexedAt: now,
    revision: commit,
    artifacts: p.artifacts,
  };
  return { commit, entry };
}
