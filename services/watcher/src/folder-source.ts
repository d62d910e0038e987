import { createHash } from 'node:crypto';
import parcelWatcher from '@parcel/watcher';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, resolve } from 'node:path';
import {
  AppError,
  checkCatalogSourceDocument,
  describeError,
  EVENT_TYPES,
  makeEvent,
  parseYamlDocuments,
  sourceId,
  SUBJECTS,
  type FileError,
  type SourceRef,
} from '@profiles/shared';
import type { Logger } from '@profiles/shared/runtime';
import type { Publisher } from './publisher.ts';

export interface FolderSourceDeps {
  dir: string;
  publisher: Publisher;
  log: Logger;
  maxBytes: number;
  /** NATS's message limit: a source whose event is larger is reported on its file, never published. */
  maxEventBytes?: () => number;
  snapshotIntervalMs: number;
}

interface Known {
  ref: SourceRef;
  hash: string;
}

export const FOLDER_ORIGIN = 'folder';
const RETRY_PARSE_MS = 75;
const SETTLE_MS = 8;
const CONFIRM_READ_MS = 150;

function isYaml(path: string): boolean {
  const ext = extname(path).toLowerCase();
  return ext === '.yaml' || ext === '.yml';
}

async function listYamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  for (const e of entries) {
    if (e.isFile() && isYaml(e.name)) out.push(join(e.parentPath ?? dir, e.name));
  }
  return out.sort();
}

/**
 * Folder mode: every `*.yaml`/`*.yml` file below a directory may hold ProfileCatalogSource documents. Each
 * file is parsed on change; the sources it defines are diffed against what it defined before and published
 * as upserts and deletes. A file that fails to parse is reported once and keeps its previous sources, so a
 * half-saved edit never empties the catalog.
 */
export class FolderSource {
  /** file -> the sources it currently defines */
  private readonly files = new Map<string, Map<string, Known>>();
  /** source id -> the file that defines it (the first one, if several do) */
  private readonly owners = new Map<string, string>();
  /** files whose last read failed, with the error, so one broken file is logged once, not on every change */
  private readonly failing = new Map<string, string>();
  private watcher: parcelWatcher.AsyncSubscription | undefined;
  private readonly settles = new Map<string, NodeJS.Timeout>();
  private readonly confirms = new Map<string, NodeJS.Timeout>();
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly dir: string;

  constructor(private readonly deps: FolderSourceDeps) {
    this.dir = resolve(deps.dir);
  }

  async start(): Promise<void> {
    const unwatchable = (why: string, cause?: unknown) =>
      new AppError('CONFIG_INVALID', `WATCH_DIR ${this.dir} cannot be watched: ${why}`, { cause });
    const s = await stat(this.dir).catch((err: unknown) => {
      throw unwatchable(describeError(err), err);
    });
    if (!s.isDirectory()) throw unwatchable('not a directory');
    // Watch first, then scan, so that a change made during the scan is not missed.
    // Node 20's recursive fs.watch follows inodes on Linux: after one atomic save (a temp file renamed over)
    // it never reports that file again. @parcel/watcher watches directories (inotify), so a rename into the
    // folder is a "create" of the file's name, and it reports every write (no filtering by mtime). Names that
    // are not YAML files (directories created, moved or removed) trigger a re-scan of the folder.
    this.watcher = await parcelWatcher.subscribe(this.dir, (err, events) => {
      if (err) {
        this.deps.log.error({ err: describeError(err) }, 'folder watch error; re-scanning');
        return this.debounce(this.settles, this.dir, SETTLE_MS, () => this.reconcile());
      }
      for (const { path } of events) {
        if (isYaml(path)) this.onWrite(path);
        else this.debounce(this.settles, this.dir, SETTLE_MS, () => this.reconcile());
      }
    });
    await this.enqueue(() => this.fullScan());
    this.timer = setInterval(() => void this.enqueue(() => this.fullScan()), this.deps.snapshotIntervalMs);
    this.timer.unref();
    this.deps.log.info({ dir: this.dir, sources: this.owners.size }, 'watching folder for catalog sources');
  }

  private onWrite(file: string): void {
    // Writes arrive as bursts of events (truncate, then data): read once the burst has been quiet for a few
    // milliseconds, then once more a moment later as a safety net (a no-op when nothing changed).
    this.debounce(this.settles, file, SETTLE_MS, () => this.readFile(file));
    this.debounce(this.confirms, file, CONFIRM_READ_MS, () => this.readFile(file));
  }

  private debounce(
    timers: Map<string, NodeJS.Timeout>,
    file: string,
    ms: number,
    fn: () => Promise<void>,
  ): void {
    clearTimeout(timers.get(file));
    const t = setTimeout(() => {
      timers.delete(file);
      void this.enqueue(fn);
    }, ms);
    t.unref();
    timers.set(file, t);
  }

  async stop(): Promise<void> {
    for (const t of [...this.settles.values(), ...this.confirms.values()]) clearTimeout(t);
    if (this.timer) clearInterval(this.timer);
    await this.watcher?.unsubscribe();
    this.watcher = undefined;
    await this.queue;
  }

  /** Ids of the sources currently defined in the folder. */
  sources(): string[] {
    return [...this.owners.keys()].sort();
  }

  /** File events are handled one at a time, in order. */
  private enqueue(fn: () => Promise<void>): Promise<void> {
    this.queue = this.queue
      .then(fn)
      .catch((err: unknown) => this.deps.log.error({ err: describeError(err) }, 'folder source error'));
    return this.queue;
  }

  /** Re-reads every file (unchanged ones publish nothing) and forgets files that are gone. */
  private async reconcile(): Promise<void> {
    const files = new Set(await listYamlFiles(this.dir));
    for (const f of [...this.files.keys()]) if (!files.has(f)) this.forgetFile(f);
    for (const f of files) await this.readFile(f);
  }

  /** Reconciles (catches changes a watcher can miss) and publishes a snapshot of all sources. */
  private async fullScan(): Promise<void> {
    await this.reconcile();
    this.publishSnapshot();
  }

  private publishSnapshot(): void {
    const refs = [...this.owners.keys()].map((id) => this.refOf(id));
    this.deps.publisher.publish(
      SUBJECTS.sourcesSnapshot(FOLDER_ORIGIN),
      makeEvent(EVENT_TYPES.sourcesSnapshot, `watcher/${FOLDER_ORIGIN}`, {
        origin: FOLDER_ORIGIN,
        refs,
        fileErrors: this.fileErrors(),
      }),
    );
  }

  private refOf(id: string): SourceRef {
    for (const known of this.files.get(this.owners.get(id) ?? '')?.values() ?? []) {
      if (sourceId(known.ref) === id) return known.ref;
    }
    // An assert: every id in `owners` names a source of the file it maps to.
    throw new Error(`unknown source ${id}`);
  }

  private rel(file: string): string {
    return relative(this.dir, file) || file;
  }

  private reportFailure(file: string, message: string): void {
    if (this.failing.get(file) === message) return;
    this.failing.set(file, message);
    this.deps.log.error(
      { file: this.rel(file), err: message },
      `cannot read catalog source file ${this.rel(file)}: ${message}`,
    );
    this.failuresChanged();
  }

  /** Files whose errors changed are reported with a snapshot (GET /v1/sources lists them). */
  private failuresChanged(): void {
    this.debounce(this.settles, '\0snapshot', CONFIRM_READ_MS, async () => this.publishSnapshot());
  }

  private fileErrors(): FileError[] {
    return [...this.failing]
      .map(([file, message]) => ({ file: this.rel(file), message }))
      .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  }

  private async readFile(file: string, firstTry = true): Promise<void> {
    if (!isYaml(file)) return;
    let text: string;
    try {
      const s = await stat(file);
      if (s.size > this.deps.maxBytes) {
        this.reportFailure(
          file,
          `file is ${s.size} bytes, more than MAX_SOURCE_BYTES=${this.deps.maxBytes}; previous sources kept`,
        );
        return;
      }
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.forgetFile(file);
      this.reportFailure(file, describeError(err));
      return;
    }
    let docs: unknown[];
    try {
      // An empty read is most likely a file truncated by a write in progress: it is read again before it
      // counts as "no sources". This error never leaves here: it sends the first try to the retry below.
      if (firstTry && text.trim() === '' && this.files.get(file)?.size) throw new Error('empty file');
      docs = parseYamlDocuments(text, { maxBytes: this.deps.maxBytes });
    } catch (err) {
      if (firstTry) {
        // Perhaps caught mid-write: the writer's next chunk usually lands within a few milliseconds.
        await new Promise((r) => setTimeout(r, RETRY_PARSE_MS));
        return this.readFile(file, false);
      }
      this.reportFailure(file, `${describeError(err)}; previous sources kept`);
      return;
    }
    const problems: string[] = [];
    const next = this.sourcesOf(file, docs, problems);
    const prev = this.files.get(file) ?? new Map<string, Known>();
    for (const [id, known] of prev) {
      if (!next.has(id)) this.publishDelete(id, known.ref, file);
    }
    for (const [id, k] of next) {
      this.owners.set(id, file);
      if (prev.get(id)?.hash === k.hash) continue;
      const event = makeEvent(EVENT_TYPES.sourceUpserted, `watcher/${FOLDER_ORIGIN}`, {
        ref: k.ref,
        origin: FOLDER_ORIGIN,
        object: k.object,
        file: this.rel(file),
      });
      const bytes = Buffer.byteLength(JSON.stringify(event));
      const limit = this.deps.maxEventBytes?.() ?? Infinity;
      if (bytes > limit) {
        // Retrying could never succeed and would hold back every event behind it: report it where users look.
        problems.push(
          `source ${id} is ${bytes} bytes as an event, more than NATS's max_payload of ${limit}; ` +
            'raise max_payload (8 MB holds any source under MAX_SOURCE_BYTES=1 MiB) or split the file',
        );
        k.hash = prev.get(id)?.hash ?? '';
        continue;
      }
      this.deps.publisher.publish(SUBJECTS.source(k.ref), event);
    }
    if (problems.length > 0) this.reportFailure(file, problems.join('; '));
    else if (this.failing.delete(file)) {
      this.deps.log.info({ file: this.rel(file) }, `catalog source file ${this.rel(file)} reads again`);
      this.failuresChanged();
    }
    this.files.set(file, new Map([...next].map(([id, k]) => [id, { ref: k.ref, hash: k.hash }])));
  }

  /** The sources a file's documents define, by id; what cannot be one is added to `problems`. */
  private sourcesOf(
    file: string,
    docs: unknown[],
    problems: string[],
  ): Map<string, Known & { object: Record<string, unknown> }> {
    const next = new Map<string, Known & { object: Record<string, unknown> }>();
    docs.forEach((doc, i) => {
      const check = checkCatalogSourceDocument(doc);
      if (!check.ok && !check.ref) {
        problems.push(`document ${i + 1}: ${check.reason}`);
        return;
      }
      const ref = check.ok ? check.ref : check.ref!;
      const id = sourceId(ref);
      const owner = this.owners.get(id);
      if (owner && owner !== file) {
        problems.push(`source ${id} is defined in ${this.rel(owner)} already; ignored here`);
        return;
      }
      const object = doc as Record<string, unknown>;
      const hash = createHash('sha256').update(JSON.stringify(object)).digest('hex');
      next.set(id, { ref, hash, object });
    });
    return next;
  }

  private forgetFile(file: string): void {
    const prev = this.files.get(file);
    this.files.delete(file);
    if (this.failing.delete(file)) this.failuresChanged();
    for (const [id, known] of prev ?? []) this.publishDelete(id, known.ref, file);
  }

  private publishDelete(id: string, ref: SourceRef, file: string): void {
    if (this.owners.get(id) !== file) return;
    this.owners.delete(id);
    this.deps.publisher.publish(
      SUBJECTS.source(ref),
      makeEvent(EVENT_TYPES.sourceDeleted, `watcher/${FOLDER_ORIGIN}`, { ref, origin: FOLDER_ORIGIN }),
    );
  }
}
