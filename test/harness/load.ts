/**
 * Load for fault tests: continuous catalog writes (folder source files rewritten, saved atomically, deleted
 * and re-created) and install requests, with what the sources hold kept beside them for the comparison.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { INSTALLATION_TRAILER, TERMINAL_STATUSES } from '@profiles/shared';
import { getJson } from './index.ts';
import { gitSync } from './installer.ts';
import { sourceYaml } from './index.ts';

/** A loop calling `step` every `intervalMs` until stopped; `stop()` resolves when the last step is done. */
function loop(step: () => Promise<void>, intervalMs: number): { stop: () => Promise<void> } {
  let running = true;
  const done = (async () => {
    while (running) {
      await step();
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

export class CatalogLoad {
  /** source name -> versions its file lists now (absent: no file). */
  readonly expected = new Map<string, string[]>();
  writes = 0;
  lastWriteAt = 0;
  private generation = 0;
  private running: { stop: () => Promise<void> } | undefined;

  constructor(
    private readonly dir: string,
    private readonly sources: number,
  ) {}

  /** One change: a new version set for a random source; every seventh a delete, atomic save every other. */
  async step(): Promise<void> {
    const name = `s${Math.floor(Math.random() * this.sources)}`;
    const file = join(this.dir, `${name}.yaml`);
    const n = ++this.generation;
    if (n % 7 === 0 && this.expected.has(name)) {
      await rm(file, { force: true });
      this.expected.delete(name);
    } else {
      const versions = [`${n}.0.0`, `${n}.1.0`];
      const text = sourceYaml(
        name,
        versions.map((v) => `v${v}`),
      );
      if (n % 2) {
        // What editors and kubectl-style tools do: a temporary file renamed over the source.
        const tmp = join(this.dir, `.${name}.yaml.${n}.tmp`);
        await writeFile(tmp, text);
        await rename(tmp, file);
      } else await writeFile(file, text);
      this.expected.set(name, versions);
    }
    this.writes++;
    this.lastWriteAt = Date.now();
  }

  start(intervalMs: number): void {
    this.running = loop(() => this.step(), intervalMs);
  }

  async stop(): Promise<void> {
    await this.running?.stop();
    this.running = undefined;
  }

  /** `source/app@version` of everything the folder holds, sorted. */
  list(): string[] {
    return [...this.expected].flatMap(([s, versions]) => versions.map((v) => `${s}/app@${v}`)).sort();
  }
}

/** What the API lists, as `source/app@version`, sorted; throws while the API cannot answer. */
export async function catalogOf(api: string): Promise<string[]> {
  const r = await getJson(`${api}/v1/profiles`);
  if (r.status !== 200) throw new Error(`GET /v1/profiles: ${r.status}`);
  return (r.body.items as { catalogSource: string; name: string; version: string }[])
    .map((i) => `${i.catalogSource}/${i.name}@${i.version}`)
    .sort();
}

/** Entries missing from the API plus entries the API has that the folder does not. */
export function catalogDifference(actual: string[], expected: string[]): number {
  const a = new Set(actual);
  const e = new Set(expected);
  return [...e].filter((x) => !a.has(x)).length + [...a].filter((x) => !e.has(x)).length;
}

export interface InstallOutcome {
  accepted: number;
  /** Accepted requests without a final status (or without any status any more). */
  lost: string[];
  byStatus: Record<string, number>;
  /** Installation ids with more than one commit carrying their trailer. */
  duplicates: string[];
  /** Committed installations whose commit is not in the target repository. */
  missingCommits: string[];
  /** Installations whose status is gone (a wiped Redis) but whose one commit is in the repository. */
  statusLost: string[];
}

export class InstallLoad {
  /** Accepted installation id -> target repository. */
  readonly accepted = new Map<string, string>();
  /** POSTs that failed (the API down) and were retried with the same Idempotency-Key. */
  retries = 0;
  private n = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private running: { stop: () => Promise<void> } | undefined;

  constructor(
    private readonly api: () => string,
    private readonly profile: { url: string; tag: string },
    private readonly targets: string[],
  ) {}

  /** Sends one request, retried with its Idempotency-Key until the API takes it (up to 60 s). */
  private async submit(): Promise<void> {
    const n = ++this.n;
    const target = this.targets[n % this.targets.length]!;
    const body = {
      name: `load-${n}`,
      namespace: 'default',
      profile: this.profile,
      target: { url: `file://${target}`, branch: 'main', path: `apps/load-${n}` },
      mode: 'commit',
    };
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const r = await getJson(`${this.api()}/v1/installations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `load-${n}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      }).catch(() => undefined);
      if (r?.status === 202) {
        this.accepted.set(r.body.id as string, target);
        return;
      }
      this.retries++;
      await new Promise((res) => setTimeout(res, 200));
    }
  }

  start(intervalMs: number): void {
    this.running = loop(async () => {
      const p = this.submit().finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }, intervalMs);
  }

  async stop(): Promise<void> {
    await this.running?.stop();
    this.running = undefined;
    await Promise.all(this.inFlight);
  }

  /** The ids the API answers a final status for now. */
  async final(ids: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const id of ids) {
      const r = await getJson(`${this.api()}/v1/installations/${id}`).catch(() => undefined);
      if (r?.status === 200 && TERMINAL_STATUSES.includes(r.body.status)) out.push(id);
    }
    return out;
  }

  /** The ids without a final status now (all of them answered: an API that cannot answer counts as not final). */
  async unsettled(ids = [...this.accepted.keys()]): Promise<string[]> {
    const out: string[] = [];
    let counts: Map<string, number> | undefined;
    for (const id of ids) {
      const r = await getJson(`${this.api()}/v1/installations/${id}`).catch(() => undefined);
      if (r?.status === 200 && TERMINAL_STATUSES.includes(r.body.status)) continue;
      // A status a wiped Redis lost, of an install whose commit is in the repository: done.
      if (r?.status === 404 && (counts ??= this.commitCounts()).get(id) === 1) continue;
      out.push(id);
    }
    return out;
  }

  /** Commits per installation id (their trailer) on `main` of every target repository. */
  commitCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const repo of new Set(this.targets)) {
      const log = gitSync(['log', '--format=%B', 'main'], repo);
      for (const m of log.matchAll(new RegExp(`^${INSTALLATION_TRAILER}: (\\S+)$`, 'gm')))
        counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
    }
    return counts;
  }

  /** Final statuses, and the commits per installation id in the target repositories. */
  async outcome(ids = [...this.accepted.keys()]): Promise<InstallOutcome> {
    const counts = this.commitCounts();
    const byStatus: Record<string, number> = {};
    const lost: string[] = [];
    const statusLost: string[] = [];
    const committed: string[] = [];
    for (const id of ids) {
      const r = await getJson(`${this.api()}/v1/installations/${id}`).catch(() => undefined);
      const status = r?.status === 200 ? (r.body.status as string) : `http-${r?.status ?? 'error'}`;
      if (status === 'http-404' && counts.get(id) === 1) statusLost.push(id);
      else {
        byStatus[status] = (byStatus[status] ?? 0) + 1;
        if (!TERMINAL_STATUSES.includes(status as never)) lost.push(id);
      }
      if (status === 'committed') committed.push(id);
    }
    return {
      accepted: ids.length,
      lost,
      byStatus,
      duplicates: [...counts].filter(([, c]) => c > 1).map(([id]) => id),
      missingCommits: committed.filter((id) => !counts.has(id)),
      statusLost,
    };
  }
}
