/**
 * The in-memory search mirror kept current change by change, against a real redis-server and the indexer's own
 * writer: after every change it ranks exactly as a mirror loaded from scratch, including the member order used
 * to break ties, even when insertions keep landing at the same place (which forces its ranks to be renumbered).
 * Loaded from the indexer's search snapshots, it answers as one loaded profile by profile (the way it loaded
 * before snapshots, and still does for a source without one); a snapshot missing or not written with the
 * catalog beside it is not trusted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  catalogKeys,
  parseProfileNameMember,
  type CatalogEntry,
  type SnapshotProfile,
} from '@profiles/shared';
import { connectRedis, silentLogger, type Redis } from '@profiles/shared/runtime';
import { startRedis, type LocalServer } from '../../../test/harness/index.ts';
import { CatalogWriter } from '../../indexer/src/catalog-writer.ts';
import { EVERYTHING } from './auth/audience.ts';
import { CatalogReader } from './catalog-reader.ts';
import { MirrorLoader } from './mirror-loader.ts';
import { SearchMirror } from './search-mirror.ts';
import type { Ranked, SearchQuery } from './search-query.ts';

const keys = catalogKeys('mirror:');
let server: LocalServer;
let redis: Redis;

before(async () => {
  server = await startRedis();
  redis = connectRedis(server.url, silentLogger(), 'test', { autoPipelining: false });
});
after(async () => {
  redis.disconnect();
  await server.destroy();
});

const entry = (catalog: string, name: string, version: string, description: string): CatalogEntry => ({
  tag: `${name}/v${version}`,
  catalogSource: catalog,
  url: '',
  name,
  description,
  maintainer: 'team',
  prerequisites: [],
  version,
  catalogNamespace: 'ns',
  origin: 'inline',
  indexedAt: new Date(0).toISOString(),
});

const query = (q: string, sort: SearchQuery['sort'] = 'relevance'): SearchQuery => ({
  q,
  limit: 100,
  prerelease: 'include',
  sort,
  versions: 'latest',
  facetLimit: 10,
});

/** Everything the mirror answers for a few queries, for comparing two mirrors. */
function answers(m: SearchMirror, tag: string) {
  const rank = (q: SearchQuery, hash: string, offset: number) =>
    m.rank(q, { generation: tag, hash, offset, audience: EVERYTHING }) as Ranked | undefined;
  return ['', 'probe', 'prob', 'probr', 'alpha'].flatMap((q) =>
    (['relevance', 'name', 'updated'] as const).map((sort) => {
      const first = rank(query(q, sort), `${q} ${sort}`, 0)!;
      const deep = rank(query(q, sort), `${q} ${sort}`, 100)!;
      return { q, sort, total: first.total, page: [...first.page, ...deep.page], facets: first.facets };
    }),
  );
}

/** A mirror with its loader, as the app builds them (without a generation to follow: it always answers). */
function mirror(): { loader: MirrorLoader; engine: SearchMirror } {
  const loader = new MirrorLoader(new CatalogReader(redis, keys));
  return { loader, engine: new SearchMirror(loader) };
}

/** Sequence of the catalog changes written so far (the writer refuses one older than the last). */
let seq = 0;
/** Writes catalog `ns/<catalog>` with the indexer's own writer, as a change of it would. */
async function writeCatalog(catalog: string, entries: CatalogEntry[], now?: () => number): Promise<void> {
  await new CatalogWriter({ redis, keys, log: silentLogger(), ...(now ? { now } : {}) }).upsert({
    ref: { namespace: 'ns', name: catalog },
    seq: ++seq,
    origin: 'test',
    specHash: String(seq),
    entries,
    status: {
      ready: true,
      reason: 'Indexed',
      message: '',
      profiles: new Set(entries.map((e) => e.name)).size,
      versions: entries.length,
      entryErrors: [],
    },
  });
}

test('a mirror kept current source by source answers exactly as one loaded from scratch', async () => {
  const live = mirror();
  await live.loader.reloadAll(); // empty: everything after arrives as changes
  const upsert = async (catalog: string, entries: CatalogEntry[]) => {
    await writeCatalog(catalog, entries);
    await live.loader.reloadSource(`ns/${catalog}`);
  };
  const check = async (when: string) => {
    const fresh = mirror();
    await fresh.loader.reloadAll();
    assert.equal(live.loader.size, fresh.loader.size, `${when}: size`);
    assert.deepEqual(answers(live.engine, `live ${seq}`), answers(fresh.engine, `fresh ${seq}`), when);
  };

  // Names that each sort just after the previous one and before "b…": every insertion bisects the same gap,
  // far more times than a float can halve it, so the ranks must be renumbered along the way.
  await upsert('neighbours', [
    entry('neighbours', 'b', '1.0.0', 'probe after'),
    entry('neighbours', 'a', '1.0.0', 'alpha probe before'),
  ]);
  const crowded: CatalogEntry[] = [];
  for (let n = 1; n <= 70; n++) {
    crowded.push(entry('crowded', `a${'a'.repeat(n)}`, '1.0.0', `probe number ${n}`));
    await upsert('crowded', crowded);
  }
  await check('after crowded insertions');

  // Changes: a description edited (new text, same name), a version added, profiles removed, a source emptied.
  crowded[10] = entry('crowded', crowded[10]!.name, '1.0.0', 'alpha now');
  crowded.push(entry('crowded', crowded[20]!.name, '2.0.0-rc.1', 'probe number 21, next'));
  crowded.splice(40, 15);
  await upsert('crowded', crowded);
  await check('after edits and removals');
  await upsert('neighbours', []);
  await check('after a source emptied');
  assert.equal(live.loader.size, crowded.length - 1, 'one profile has two versions');
});

test('typo matches follow the terms as they come and go', async () => {
  const live = mirror();
  await live.loader.reloadAll();
  const upsert = async (entries: CatalogEntry[]) => {
    await writeCatalog('typos', entries);
    await live.loader.reloadSource('ns/typos');
  };
  const names = (q: string) =>
    (
      live.engine.rank(query(q), {
        generation: `typos ${seq}`,
        hash: q,
        offset: 0,
        audience: EVERYTHING,
      }) as Ranked
    ).page.map((h) => parseProfileNameMember(h.member).profile);
  await upsert([entry('typos', 'one', '1.0.0', 'zephyr wind')]);
  assert.deepEqual(names('zephir'), ['one']);
  assert.deepEqual(names('quasir'), [], 'no term one edit away yet');
  await upsert([entry('typos', 'one', '1.0.0', 'zephyr wind'), entry('typos', 'two', '1.0.0', 'quasar')]);
  assert.deepEqual(names('quasir'), ['two'], 'a new term is found by the same typo');
  await upsert([entry('typos', 'two', '1.0.0', 'quasar')]);
  assert.deepEqual(names('zephir'), [], 'a term gone is no longer found');
});

/** A real reader that counts the sources it had to read profile by profile (no usable snapshot). */
class CountingReader extends CatalogReader {
  byProfile: string[] = [];
  override sourceProfiles(sourceId: string) {
    this.byProfile.push(sourceId);
    return super.sourceProfiles(sourceId);
  }
}

/** The old way: every source profile by profile, snapshots ignored. */
class ProfileByProfileReader extends CountingReader {
  override searchSnapshots(ids: readonly string[]): Promise<(SnapshotProfile[] | undefined)[]> {
    return Promise.resolve(ids.map(() => undefined));
  }
}

/** An entry with the facets and fields that vary: maintainer, a prerequisite, an artifact kind. */
const richEntry = (catalog: string, name: string, version: string, description: string): CatalogEntry => ({
  ...entry(catalog, name, version, description),
  maintainer: name.length % 2 ? 'team' : 'crew',
  prerequisites: name.length % 3 ? [] : ['kubectl'],
  ...(name.length % 4
    ? {}
    : { artifacts: [{ kind: 'kustomize', name: 'base', kustomize: { path: '.' }, dependsOn: [] }] }),
});

/** A mirror loaded from scratch through `reader`: its size and everything it answers. */
async function loaded(reader: CountingReader, tag: string) {
  const loader = new MirrorLoader(reader);
  await loader.reloadAll();
  return { size: loader.size, answers: answers(new SearchMirror(loader), tag) };
}

let clock = 1_000_000;
/** Another clock per write: profiles left alone keep their last change, which the `updated` sort shows. */
const write = (catalog: string, entries: CatalogEntry[]) =>
  writeCatalog(catalog, entries, () => (clock += 1000));

function catalog(name: string, profiles: number, salt: string): CatalogEntry[] {
  const out: CatalogEntry[] = [];
  for (let p = 0; p < profiles; p++) {
    const profile = `${name}-${'x'.repeat(p % 5)}${p}`;
    out.push(richEntry(name, profile, '1.0.0', `probe ${salt} number ${p}`));
    if (p % 3 === 0) out.push(richEntry(name, profile, '1.1.0-rc.1', `alpha ${salt} next ${p}`));
    if (p % 4 === 0) out.push(richEntry(name, profile, '0.9.0', `older ${p}`));
  }
  return out;
}

test('a mirror loaded from the snapshots answers exactly as one loaded profile by profile', async () => {
  await write('one', catalog('one', 30, 'a'));
  await write('two', catalog('two', 12, 'b'));
  await write('three', [richEntry('three', 'only-rc', '2.0.0-rc.1', 'probe prerelease')]);
  // Changes: profiles edited and removed in one source (the others keep their last change), one emptied.
  const changed = catalog('one', 30, 'a');
  changed[3] = richEntry('one', changed[3]!.name, '1.0.0', 'alpha edited');
  await write('one', changed.slice(0, -6));
  await write('three', []);
  const fromSnapshots = new CountingReader(redis, keys);
  const byProfile = new ProfileByProfileReader(redis, keys);
  const a = await loaded(fromSnapshots, 'snapshots');
  const b = await loaded(byProfile, 'profiles');
  assert.ok(a.size > 30, `${a.size} profiles loaded`);
  assert.deepEqual(a, b);
  assert.deepEqual(fromSnapshots.byProfile, [], 'no source read profile by profile');
  for (const id of ['ns/one', 'ns/two', 'ns/three']) assert.ok(byProfile.byProfile.includes(id), id);
});

test('a missing or stale snapshot is not trusted: that source is read profile by profile', async () => {
  await write('stale', catalog('stale', 10, 'c'));
  await write('gone', catalog('gone', 5, 'd'));
  const old = await redis.get(keys.searchSnapshot('ns/stale'));
  await write('stale', catalog('stale', 7, 'e'));
  // As if written beside another catalog (an indexer that did not keep it), and as an older catalog has none.
  await redis.set(keys.searchSnapshot('ns/stale'), old!);
  await redis.del(keys.searchSnapshot('ns/gone'));
  await redis.set(keys.searchSnapshot('ns/two'), JSON.stringify({ v: 0, n: 0, rows: [] }));
  const reader = new CountingReader(redis, keys);
  assert.deepEqual(
    await loaded(reader, 'mixed'),
    await loaded(new ProfileByProfileReader(redis, keys), 'all'),
  );
  assert.deepEqual(reader.byProfile.sort(), ['ns/gone', 'ns/stale', 'ns/two']);

  // The next update of a source without a snapshot writes one, even when its catalog does not change.
  await write('gone', catalog('gone', 5, 'd'));
  const again = new CountingReader(redis, keys);
  const rewritten = await loaded(again, 'rewritten');
  assert.deepEqual(again.byProfile.sort(), ['ns/stale', 'ns/two']);
  assert.deepEqual(rewritten, await loaded(new ProfileByProfileReader(redis, keys), 'all again'));
});

test('a deleted source takes its snapshot with it', async () => {
  await write('doomed', catalog('doomed', 3, 'f'));
  assert.ok(await redis.exists(keys.searchSnapshot('ns/doomed')));
  await new CatalogWriter({ redis, keys, log: silentLogger() }).delete(
    { namespace: 'ns', name: 'doomed' },
    ++seq,
  );
  assert.equal(await redis.exists(keys.searchSnapshot('ns/doomed')), 0);
});
