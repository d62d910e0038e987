import type {
  CatalogEntry,
  CatalogSourceDocument,
  RepoTagState,
  ScannedRepository,
  SourceRef,
} from '@profiles/shared';
import { scanRepository, type ScannerDeps } from './git/repo-scanner.ts';
import { redactUrl } from './git/repo-url.ts';

/**
 * Resolves `spec.repositories` of a source: scans each repository incrementally against what the last scan
 * stored, and turns the tags into catalog entries and the `scannedRepositories` status of the original CRD.
 */
export interface RepoResolution {
  entries: CatalogEntry[];
  errors: { entry: string; reason: string }[];
  scanned: ScannedRepository[];
  repos: { url: string; tags: Map<string, RepoTagState>; changed: boolean }[];
  /** true when any repository changed (tags added, moved or removed) */
  changed: boolean;
  /** the shortest poll interval asked for by the repositories, in seconds */
  intervalSeconds: number | undefined;
}

export interface RepoResolverDeps {
  scanner: ScannerDeps;
  defaultIntervalSeconds: number;
  previous: (url: string) => Promise<Map<string, RepoTagState>>;
  now: string;
  /** Called between repositories: long scans keep the event's ack deadline alive. */
  progress?: () => void;
}

/** `30s`, `5m`, `1h` or plain seconds. */
export function parseInterval(v: unknown): number | undefined {
  if (typeof v === 'number' && v > 0) return v;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+)(s|m|h)?$/.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * ({ s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 's' | 'm' | 'h'] ?? 1);
}

export async function resolveRepositories(
  deps: RepoResolverDeps,
  ref: SourceRef,
  doc: CatalogSourceDocument,
): Promise<RepoResolution> {
  const out: RepoResolution = {
    entries: [],
    errors: [],
    scanned: [],
    repos: [],
    changed: false,
    intervalSeconds: undefined,
  };
  const seen = new Set<string>();
  for (const [i, repo] of (doc.spec.repositories ?? []).entries()) {
    deps.progress?.();
    const url = typeof repo?.url === 'string' ? repo.url : '';
    if (seen.has(url)) {
      out.errors.push({
        entry: `spec.repositories[${i}]`,
        reason: `repository ${redactUrl(url)} is listed twice`,
      });
      continue;
    }
    seen.add(url);
    const interval = parseInterval(repo?.interval) ?? deps.defaultIntervalSeconds;
    out.intervalSeconds = Math.min(out.intervalSeconds ?? interval, interval);
    const previous = url ? await deps.previous(url) : new Map<string, RepoTagState>();
    const result = await scanRepository(deps.scanner, ref, repo, previous, deps.now);
    out.changed ||= result.changed;
    if (url) out.repos.push({ url, tags: result.tags, changed: result.changed });
    const tagErrors: { tag: string; reason: string }[] = [];
    const tags = [...result.tags.keys()].sort();
    for (const tag of tags) {
      const st = result.tags.get(tag)!;
      if (st.entry) out.entries.push(st.entry);
      else if (st.error) tagErrors.push({ tag, reason: st.error });
    }
    for (const te of tagErrors) out.errors.push({ entry: `${redactUrl(url)}@${te.tag}`, reason: te.reason });
    if (result.error)
      out.errors.push({ entry: `spec.repositories[${i}] (${redactUrl(url)})`, reason: result.error });
    if (result.skippedTags)
      out.errors.push({
        entry: `spec.repositories[${i}] (${redactUrl(url)})`,
        reason: `${result.skippedTags} older tags not read (REPO_MAX_TAGS)`,
      });
    const scanned: ScannedRepository = { url: redactUrl(url), tags };
    if (result.error) scanned.error = result.error;
    if (tagErrors.length) scanned.tagErrors = tagErrors;
    out.scanned.push(scanned);
  }
  return out;
}
