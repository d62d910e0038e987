/**
 * The walking skeleton end to end on real servers: folder watcher -> NATS JetStream -> indexer -> Redis -> API.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getJson, startStack, waitFor, type Stack } from './harness/index.ts';

function source(
  name: string,
  profiles: { name: string; tag: string; description?: string }[],
  namespace?: string,
): string {
  const lines = [
    'apiVersion: weave.works/v1alpha1',
    'kind: ProfileCatalogSource',
    'metadata:',
    `  name: ${name}`,
  ];
  if (namespace) lines.push(`  namespace: ${namespace}`);
  lines.push('spec:', '  profiles:');
  for (const p of profiles) {
    lines.push(
      `    - name: ${p.name}`,
      `      tag: ${p.tag}`,
      `      description: ${p.description ?? 'about ' + p.name}`,
      '      maintainer: tests',
    );
  }
  return lines.join('\n') + '\n';
}

describe('catalog pipeline (folder mode)', () => {
  let stack: Stack;
  let dir: string;
  let api: string;

  before(async () => {
    stack = await startStack();
    dir = await stack.tempDir('catalog-');
    await writeFile(
      join(dir, 'a.yaml'),
      source('alpha', [
        { name: 'nginx', tag: 'nginx/v1.0.0' },
        { name: 'nginx', tag: 'nginx/v1.1.0' },
      ]),
    );
    await stack.indexer();
    await stack.watcher(dir);
    api = (await stack.api()).url;
  });
  after(() => stack.stop());

  const names = async () =>
    (
      (await getJson(`${api}/v1/profiles`)).body.items as {
        name: string;
        version: string;
        catalogSource: string;
      }[]
    ).map((i) => `${i.catalogSource}/${i.name}@${i.version}`);

  test('profiles of the folder are listed', async () => {
    await waitFor(async () => (await names()).length === 2, { what: 'two versions listed' });
    assert.deepEqual(await names(), ['alpha/nginx@1.1.0', 'alpha/nginx@1.0.0']);
  });

  test('a new file appears, an edit shows the new version, a deletion removes it', async () => {
    await writeFile(join(dir, 'b.yaml'), source('beta', [{ name: 'redis', tag: 'v7.0.0' }]));
    await waitFor(async () => (await names()).includes('beta/redis@7.0.0'), { what: 'beta indexed' });
    await writeFile(join(dir, 'b.yaml'), source('beta', [{ name: 'redis', tag: 'v7.2.0' }]));
    await waitFor(async () => (await names()).includes('beta/redis@7.2.0'), { what: 'beta edited' });
    assert.ok(!(await names()).includes('beta/redis@7.0.0'), 'the old version is gone in the same step');
    await rm(join(dir, 'b.yaml'));
    await waitFor(async () => !(await names()).some((n) => n.startsWith('beta/')), { what: 'beta removed' });
    assert.equal((await getJson(`${api}/v1/profiles/beta/redis`)).status, 404);
  });

  test('name filter is a case-insensitive substring match', async () => {
    const r = await getJson(`${api}/v1/profiles?name=GIN`);
    assert.equal(r.status, 200);
    assert.equal(r.body.items.length, 2);
    assert.equal((await getJson(`${api}/v1/profiles?name=nothing-like-it`)).body.items.length, 0);
  });

  test('latest and available_updates order by semver', async () => {
    await writeFile(
      join(dir, 'semver.yaml'),
      source('semver', [
        { name: 'app', tag: 'app/v1.9.0' },
        { name: 'app', tag: 'app/v1.10.0' },
        { name: 'app', tag: 'app/v1.10.0-rc.1' },
        { name: 'app', tag: 'app/v0.9.0' },
        { name: 'app', tag: 'app/v2.0.0-beta.1' },
      ]),
    );
    await waitFor(async () => (await getJson(`${api}/v1/profiles/semver/app`)).status === 200, {
      what: 'semver indexed',
    });
    const latest = await getJson(`${api}/v1/profiles/semver/app`);
    assert.equal(latest.body.item.version, '1.10.0', 'latest is the newest release, not a pre-release');
    assert.equal((await getJson(`${api}/v1/profiles/semver/app/latest`)).body.item.version, '1.10.0');
    assert.equal((await getJson(`${api}/v1/profiles/semver/app/v1.9.0`)).body.item.tag, 'app/v1.9.0');
    assert.equal((await getJson(`${api}/v1/profiles/semver/app/1.9.0`)).body.item.tag, 'app/v1.9.0');
    const updates = await getJson(`${api}/v1/profiles/semver/app/v1.9.0/available_updates`);
    assert.deepEqual(
      updates.body.items.map((i: { version: string }) => i.version),
      ['2.0.0-beta.1', '1.10.0', '1.10.0-rc.1'],
    );
    assert.deepEqual(
      (await getJson(`${api}/v1/profiles/semver/app/2.0.0-beta.1/available_updates`)).body.items,
      [],
    );
  });

  test('unknown catalog, profile or version is a 404 naming it; a malformed version is a 400', async () => {
    const c = await getJson(`${api}/v1/profiles/nope/nginx`);
    assert.equal(c.status, 404);
    assert.equal(c.body.code, 'CATALOG_NOT_FOUND');
    assert.match(c.body.message, /nope/);
    const p = await getJson(`${api}/v1/profiles/alpha/nope`);
    assert.equal(p.status, 404);
    assert.equal(p.body.code, 'PROFILE_NOT_FOUND');
    const v = await getJson(`${api}/v1/profiles/alpha/nginx/v9.9.9`);
    assert.equal(v.status, 404);
    assert.equal(v.body.code, 'VERSION_NOT_FOUND');
    assert.match(v.body.message, /9\.9\.9/);
    const bad = await getJson(`${api}/v1/profiles/alpha/nginx/not-a-version/available_updates`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'INVALID_VERSION');
  });

  test('two sources with one name in two namespaces: served separately, bare name is ambiguous', async () => {
    await writeFile(join(dir, 'ns1.yaml'), source('shared', [{ name: 'one', tag: 'v1.0.0' }], 'team-a'));
    await writeFile(join(dir, 'ns2.yaml'), source('shared', [{ name: 'two', tag: 'v2.0.0' }], 'team-b'));
    await waitFor(async () => (await getJson(`${api}/v1/profiles/team-b%2Fshared/two`)).status === 200, {
      what: 'team-b indexed',
    });
    await waitFor(async () => (await getJson(`${api}/v1/profiles/team-a%2Fshared/one`)).status === 200, {
      what: 'team-a indexed',
    });
    assert.equal((await getJson(`${api}/v1/profiles/team-a%2Fshared/two`)).status, 404);
    const amb = await getJson(`${api}/v1/profiles/shared/one`);
    assert.equal(amb.status, 409);
    assert.deepEqual(amb.body.details.candidates, ['team-a/shared', 'team-b/shared']);
    await rm(join(dir, 'ns2.yaml'));
    await waitFor(async () => (await getJson(`${api}/v1/profiles/shared/one`)).status === 200, {
      what: 'bare name resolves again',
    });
  });

  test('a malformed file keeps the other sources, keeps its last good state, and indexes once fixed', async () => {
    await writeFile(join(dir, 'c.yaml'), source('gamma', [{ name: 'kafka', tag: 'v3.0.0' }]));
    await waitFor(async () => (await names()).includes('gamma/kafka@3.0.0'), { what: 'gamma indexed' });
    await writeFile(join(dir, 'c.yaml'), 'apiVersion: weave.works/v1alpha1\nkind: [unclosed\n');
    await writeFile(join(dir, 'd.yaml'), source('delta', [{ name: 'mysql', tag: 'v8.0.0' }]));
    await waitFor(async () => (await names()).includes('delta/mysql@8.0.0'), {
      what: 'delta indexed after the broken file',
    });
    assert.ok((await names()).includes('gamma/kafka@3.0.0'), 'the broken file keeps its last good sources');
    await writeFile(join(dir, 'c.yaml'), source('gamma', [{ name: 'kafka', tag: 'v3.1.0' }]));
    await waitFor(async () => (await names()).includes('gamma/kafka@3.1.0'), { what: 'gamma fixed' });
  });

  test('invalid entries are rejected with a reason while the valid ones are served', async () => {
    await writeFile(
      join(dir, 'e.yaml'),
      source('epsilon', [
        { name: 'good', tag: 'v1.0.0' },
        { name: 'bad', tag: 'v1.0' },
      ]),
    );
    await waitFor(async () => (await getJson(`${api}/v1/profiles/epsilon/good`)).status === 200, {
      what: 'epsilon indexed',
    });
    assert.equal((await getJson(`${api}/v1/profiles/epsilon/bad`)).status, 404);
    const status = JSON.parse((await stack.client.hget(`${stack.prefix}source:default/epsilon`, 'status'))!);
    assert.equal(status.ready, false);
    assert.equal(status.entryErrors.length, 1);
    assert.match(status.entryErrors[0].entry, /spec\.profiles\[1\] \(bad v1\.0\)/);
    assert.match(status.message, /not a valid semver/);
  });

  test('files in sub-folders count; removing the sub-folder removes their sources', async () => {
    await mkdir(join(dir, 'team', 'nested'), { recursive: true });
    await writeFile(join(dir, 'team', 'nested', 'z.yaml'), source('zeta', [{ name: 'zk', tag: 'v3.9.0' }]));
    await waitFor(async () => (await names()).includes('zeta/zk@3.9.0'), { what: 'nested file indexed' });
    await rm(join(dir, 'team'), { recursive: true });
    await waitFor(async () => !(await names()).includes('zeta/zk@3.9.0'), { what: 'nested source removed' });
  });
});
