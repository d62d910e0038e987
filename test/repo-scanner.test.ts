import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitStats, noSecrets } from '@profiles/shared/git';
import { silentLogger } from '@profiles/shared/runtime';
import { scanRepository, type ScannerDeps } from '../services/indexer/src/git/repo-scanner.ts';
import { profileYaml } from './harness/git.ts';

/**
 * The scanner's shallow fetches, on real git repositories over file://: a first scan wanting most of the
 * repository's tags fetches them all by one pattern, one wanting few of them fetches those by name in batches;
 * both read every wanted version and nothing else.
 */
let dir: string;
const ref = { namespace: 'ns', name: 'cat' };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'repo-scanner-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * A bare repository with `versions` version tags of profile `p` (each its own commit) and `others` other tags,
 * written by one `git fast-import`.
 */
function repository(name: string, versions: number, others: number): string {
  const bare = join(dir, `${name}.git`);
  execFileSync('git', ['init', '-q', '--bare', bare]);
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  let stream = '';
  for (let i = 1; i <= versions; i++) {
    stream +=
      `commit refs/heads/main\nmark :${i}\ncommitter tests <tests@example.com> ${1_700_000_000 + i} +0000\n` +
      data(`release ${i}`) +
      `M 100644 inline p/profile.yaml\n${data(profileYaml('p', `release ${i}`))}` +
      `reset refs/tags/p/v1.0.${i}\nfrom :${i}\n\n`;
  }
  for (let i = 1; i <= others; i++) stream += `reset refs/tags/build-${i}\nfrom :${versions}\n\n`;
  execFileSync('git', ['fast-import', '--quiet'], { cwd: bare, input: stream });
  return `file://${bare}`;
}

const deps = (cache: string): ScannerDeps => ({
  cacheDir: join(dir, cache),
  timeoutMs: 60_000,
  maxTags: 10_000,
  maxProfileBytes: 64 * 1024,
  urlPolicy: { allowFile: true, denyHosts: [] },
  secrets: noSecrets,
  log: silentLogger(),
});

async function scan(url: string, cache: string) {
  const fetches = gitStats.byCommand.get('fetch') ?? 0;
  const r = await scanRepository(deps(cache), ref, { url }, new Map(), '2026-01-01T00:00:00.000Z');
  return { r, fetches: (gitStats.byCommand.get('fetch') ?? 0) - fetches };
}

test('most of the tags wanted: one fetch by pattern; every version read, the other tags not indexed', async () => {
  const url = repository('most', 260, 40);
  const { r, fetches } = await scan(url, 'cache-most');
  assert.equal(r.error, undefined);
  assert.equal(fetches, 1);
  assert.equal(r.tags.size, 260);
  const v = r.tags.get('p/v1.0.137');
  assert.equal(v?.entry?.description, 'release 137', 'each version read at its own commit');
  assert.ok([...r.tags.values()].every((s) => s.entry && !s.error));
});

test('few of the tags wanted: fetched by name, 200 a fetch; every version read', async () => {
  const url = repository('few', 260, 400);
  const { r, fetches } = await scan(url, 'cache-few');
  assert.equal(r.error, undefined);
  assert.equal(fetches, 2, '260 tags by name: two fetches');
  assert.equal(r.tags.size, 260);
  assert.equal(r.tags.get('p/v1.0.260')?.entry?.description, 'release 260');
  assert.ok([...r.tags.values()].every((s) => s.entry && !s.error));
});
