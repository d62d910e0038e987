/**
 * The search and query surface over a realistic catalog, through the real indexer and API: a judged relevance
 * suite, filters against facets, pagination, detail, updates, sources, SSE resume, HTTP behaviour.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getJson, startStack, waitFor, type Stack } from './harness/index.ts';
import { fixtureRepo } from './harness/git.ts';
import { catalogYaml, generateCatalog } from './fixtures/catalog-generator.ts';

const all = generateCatalog(186);
const community = all.slice(0, 62);
const platform = all.slice(62, 124);
const extras = all.slice(124);

describe('search', () => {
  let stack: Stack;
  let api: string;
  let dir: string;
  const search = async (params: Record<string, string | number>) => {
    const qs = new URLSearchParams(
      Object.entries(params).map(([k, v]) => [k, String(v)] as [string, string]),
    ).toString();
    return getJson(`${api}/v1/search?${qs}`);
  };
  const names = async (params: Record<string, string | number>) =>
    (await search({ limit: 100, ...params })).body.items.map((i: any) => i.name) as string[];

  before(async () => {
    stack = await startStack();
    dir = await stack.tempDir('catalog-');
    const bare = await fixtureRepo(await stack.tempDir('repo-'));
    await writeFile(join(dir, 'community.yaml'), catalogYaml('community', community));
    await writeFile(join(dir, 'platform.yaml'), catalogYaml('platform', platform, 'platform-team'));
    await writeFile(join(dir, 'extras.yaml'), catalogYaml('extras', extras));
    await writeFile(
      join(dir, 'examples.yaml'),
      `apiVersion: weave.works/v1alpha1\nkind: ProfileCatalogSource\nmetadata: {name: examples}\nspec:\n  repositories:\n    - url: file://${bare}\n`,
    );
    await stack.indexer();
    await stack.watcher(dir);
    api = (await stack.api({ sseHeartbeatMs: 200 })).url;
    await waitFor(async () => (await search({ q: '' })).body.total === 186 + 5, {
      what: 'catalog indexed',
      timeoutMs: 30_000,
    });
  });
  after(() => stack.stop());

  // Judged queries: [query, first hit or null, hits that must be present, hits that must be absent]
  const judged: [string, string | null, string[], string[]][] = [
    ['nginx', 'nginx', ['ingress-nginx', 'nginx-ha'], ['redis']],
    ['redis', 'redis', ['redis-cluster', 'redis-ha'], ['nginx']],
    ['prometheus', 'prometheus', ['alertmanager', 'thanos', 'mimir'], ['nginx']],
    ['grafana', 'grafana', ['grafana-ha'], []],
    ['cert-manager', 'cert-manager', ['cert-manager-ha'], []],
    ['cert manager', 'cert-manager', [], []],
    ['external-dns', 'external-dns', [], ['redis']],
    ['postgres', 'postgres', ['postgres-operator'], ['mysql']],
    ['kafka', 'kafka', ['kafka-ha'], []],
    ['weaveworks-nginx', 'weaveworks-nginx', [], []],
    ['ngin', null, ['nginx', 'ingress-nginx'], []],
    ['prom', null, ['prometheus'], []],
    ['graf', null, ['grafana'], []],
    ['elastic', null, ['elasticsearch', 'kibana'], []],
    ['kube', null, ['kube-state-metrics'], []],
    ['promethues', null, ['prometheus'], []],
    ['grafanna', null, ['grafana'], []],
    ['elasticsaerch', null, ['elasticsearch'], []],
    ['keycloack', null, ['keycloak'], []],
    ['postgress', null, ['postgres'], []],
    ['rabitmq', null, ['rabbitmq'], []],
    ['zookeper', null, ['zookeeper'], []],
    ['monitoring', null, ['prometheus', 'grafana'], ['redis']],
    ['service mesh', null, ['istio', 'linkerd', 'consul'], ['nginx']],
    ['load balancer', null, ['metallb', 'haproxy', 'ingress-nginx'], ['redis']],
    ['log', null, ['loki', 'fluentd', 'fluent-bit'], []],
    ['highly available', null, ['redis-ha', 'thanos'], ['redis-lite']],
    ['bitnami', null, ['redis', 'nginx', 'kafka'], ['prometheus']],
    ['gitops', null, ['argo-cd', 'flux'], ['redis']],
    ['secrets', null, ['vault', 'sealed-secrets', 'external-secrets'], ['nginx']],
    ['nothingmatcheshere', null, [], ['nginx']],
  ];
  for (const [q, first, present, absent] of judged) {
    test(`relevance: "${q}"`, async () => {
      const hits = await names({ q });
      if (first) assert.equal(hits[0], first, `first hit for "${q}" was ${hits[0]}`);
      for (const p of present)
        assert.ok(hits.includes(p), `"${q}" finds ${p}: ${hits.slice(0, 10).join(', ')}`);
      for (const a of absent) assert.ok(!hits.includes(a), `"${q}" does not find ${a}`);
      if (q === 'nothingmatcheshere') assert.equal(hits.length, 0);
    });
  }

  test('name weighs more than description: a name match outranks a description match', async () => {
    const hits = await names({ q: 'nginx' });
    assert.ok(hits.indexOf('ingress-nginx') < hits.indexOf('traefik') || !hits.includes('traefik'));
  });

  test('filters and facets agree with each other', async () => {
    const r = await search({ q: 'redis', limit: 1, facetLimit: 1000 });
    for (const facet of ['catalog', 'maintainer'] as const) {
      for (const [value, count] of Object.entries(r.body.facets[facet] as Record<string, number>)) {
        const filtered = await search({ q: 'redis', [facet]: value, limit: 1 });
        assert.equal(filtered.body.total, count, `${facet}=${value}`);
      }
    }
    const kinds = (await search({ q: '' })).body.facets.kind;
    assert.ok(kinds.chart >= 1 && kinds.profile >= 1, JSON.stringify(kinds));
    assert.equal((await search({ kind: 'profile' })).body.total, kinds.profile);
  });

  test('facets list their most frequent values first, facetLimit of them, and say how many there are', async () => {
    const everything = (await search({ q: '', limit: 1, facetLimit: 1000 })).body;
    const maintainers = Object.entries(everything.facets.maintainer as Record<string, number>);
    assert.ok(maintainers.length > 3, `enough maintainers to cut: ${maintainers.length}`);
    assert.equal(everything.facetTotals.maintainer, maintainers.length);
    const top = (await search({ q: '', limit: 1, facetLimit: 3 })).body;
    const frequent = [...maintainers].sort(([a, m], [b, n]) => n - m || (a < b ? -1 : 1)).slice(0, 3);
    assert.deepEqual(Object.entries(top.facets.maintainer), frequent);
    assert.deepEqual(top.facetTotals, everything.facetTotals);
    const byDefault = (await search({ q: '' })).body;
    assert.equal(Object.keys(byDefault.facets.maintainer).length, Math.min(10, maintainers.length));
    const none = (await search({ q: '', facetLimit: 0 })).body;
    assert.deepEqual(none.facets, {});
    assert.equal(none.total, everything.total);
    assert.equal((await search({ facetLimit: 1001 })).body.parameter, 'facetLimit');
  });

  test('prerelease in or out, and a semver range filter', async () => {
    const only = await search({ prerelease: 'only', limit: 100 });
    assert.ok(only.body.total > 0);
    for (const hit of only.body.items) assert.match(hit.latest.version, /-/);
    const out = await search({ prerelease: 'exclude', limit: 100 });
    for (const hit of out.body.items) assert.doesNotMatch(hit.latest.version, /-/);
    const ranged = await search({ version: '^3.0.0', limit: 100, versions: 'all' });
    assert.ok(ranged.body.total > 0);
    for (const hit of ranged.body.items)
      assert.ok(
        hit.versions.some((v: any) => /^3\./.test(v.version)),
        hit.name,
      );
  });

  test('cursor pagination walks every hit once, with a total count', async () => {
    const seen = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    let total: number;
    do {
      const r = await search({ q: '', limit: 25, sort: 'name', ...(cursor ? { cursor } : {}) });
      total = r.body.total;
      for (const h of r.body.items) {
        const key = `${h.catalog}/${h.name}`;
        assert.ok(!seen.has(key), `seen twice: ${key}`);
        seen.add(key);
      }
      cursor = r.body.nextCursor ?? undefined;
      pages++;
    } while (cursor && pages < 20);
    assert.equal(seen.size, total);
    const byName = await names({ sort: 'name' });
    assert.deepEqual(byName, [...byName].sort());
  });

  test('bad parameters are a 400 problem naming the parameter', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ colour: 'red' }, 'colour'],
      [{ version: '>>1' }, 'version'],
      [{ limit: '100000' }, 'limit'],
      [{ cursor: 'garbage' }, 'cursor'],
      [{ kind: 'helm' }, 'kind'],
      [{ q: Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ') }, 'q'],
      [{ q: 'x'.repeat(201) }, 'q'],
    ];
    for (const [params, parameter] of cases) {
      const r = await search(params);
      assert.equal(r.status, 400, JSON.stringify(params));
      assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(r.body.status, 400);
      assert.equal(r.body.parameter, parameter, JSON.stringify(r.body));
    }
    const other = (await search({ q: 'redis', limit: 1 })).body.nextCursor;
    assert.equal((await search({ q: 'nginx', cursor: other })).status, 400, "another query's cursor");
  });

  test('profile detail, nested tree, classified updates, sources', async () => {
    const d = await getJson(`${api}/v1/catalogs/community/profiles/redis`);
    assert.equal(d.status, 200);
    assert.deepEqual(
      d.body.versions.map((v: any) => v.version),
      [...d.body.versions.map((v: any) => v.version)].sort((a: string, b: string) => (a < b ? 1 : -1)),
    );
    const v = await getJson(`${api}/v1/catalogs/examples/profiles/weaveworks-nginx/versions/0.1.1`);
    assert.equal(v.body.tree[0].artifact, 'nested-profile');
    assert.equal(v.body.tree[0].note, 'outside-catalog', 'github URL is not a catalog repository here');
    assert.match(v.body.freshness.revision, /^[0-9a-f]{40}$/);
    assert.deepEqual(v.body.dependsOn['dependon-chart'], [
      'nginx-deployment',
      'nginx-chart',
      'nested-profile',
    ]);
    const u = await getJson(`${api}/v1/catalogs/community/profiles/nginx/updates?from=1.0.0`);
    assert.deepEqual(
      u.body.items.map((i: any) => `${i.version}:${i.change}`),
      ['2.0.0:major', '2.0.0-rc.1:premajor', '1.1.0:minor'],
    );
    const c = await getJson(`${api}/v1/catalogs/community/profiles/nginx/updates?from=1.0.0&constraint=^1`);
    assert.deepEqual(
      c.body.items.map((i: any) => i.version),
      ['1.1.0'],
    );
    const s = await getJson(`${api}/v1/sources`);
    assert.deepEqual(
      s.body.items.map((i: any) => `${i.namespace}/${i.name}`),
      ['default/community', 'default/examples', 'default/extras', 'platform-team/platform'],
    );
    const ex = await getJson(`${api}/v1/sources/default/examples`);
    assert.equal(ex.body.item.scannedRepositories[0].tags.length, 7);
    assert.equal((await getJson(`${api}/v1/sources/default/nope`)).status, 404);
  });

  test('ETags: If-None-Match answers 304 until the catalog changes', async () => {
    const first = await fetch(`${api}/v1/search?q=redis`);
    const etag = first.headers.get('etag')!;
    assert.match(etag, /^"\d+-/);
    assert.equal(
      (await fetch(`${api}/v1/search?q=redis`, { headers: { 'if-none-match': etag } })).status,
      304,
    );
    await writeFile(
      join(dir, 'late.yaml'),
      catalogYaml('late', [
        { name: 'late-profile', description: 'd', maintainer: 'm', prerequisites: [], versions: ['1.0.0'] },
      ]),
    );
    await waitFor(
      async () =>
        (await fetch(`${api}/v1/search?q=redis`, { headers: { 'if-none-match': etag } })).status === 200,
      { what: 'new etag' },
    );
  });

  test('OpenAPI description, docs page, metrics, compression', async () => {
    const spec = await getJson(`${api}/openapi.json`);
    assert.equal(spec.body.openapi, '3.0.3');
    assert.ok(spec.body.paths['/v1/search'] && spec.body.paths['/v1/profiles/{catalog}/{profile}']);
    assert.equal((await fetch(`${api}/docs/`)).status, 200);
    const metrics = await (await fetch(`${api}/metrics`)).text();
    assert.match(metrics, /http_server_request_duration/);
    const big = await fetch(`${api}/v1/search?limit=100`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(big.headers.get('content-encoding'), 'gzip');
  });

  test('SSE: a subscriber that reconnects with Last-Event-ID misses nothing and sees nothing twice', async () => {
    const read = async (headers: Record<string, string>, until: (ids: number[]) => boolean) => {
      const ctrl = new AbortController();
      const res = await fetch(`${api}/v1/events?catalog=burst`, { headers, signal: ctrl.signal });
      const ids: number[] = [];
      const reader = res.body!.getReader();
      let buf = '';
      const deadline = Date.now() + 15_000;
      while (!until(ids) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += new TextDecoder().decode(value);
        for (const m of buf.matchAll(/^id: (\d+)$/gm))
          if (!ids.includes(Number(m[1]))) ids.push(Number(m[1]));
        buf = buf.slice(buf.lastIndexOf('\n\n') + 2);
      }
      ctrl.abort();
      return ids;
    };
    const burst = (n: number) =>
      catalogYaml('burst', [
        {
          name: 'burst',
          description: 'd',
          maintainer: 'm',
          prerequisites: [],
          versions: Array.from({ length: n }, (_, i) => `1.0.${i}`),
        },
      ]);
    // First connection: sees the first events, then disconnects.
    const firstDone = read({}, (ids) => ids.length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    await writeFile(join(dir, 'burst.yaml'), burst(3));
    const first = await firstDone;
    assert.ok(first.length >= 2);
    // While disconnected, more versions are added.
    await writeFile(join(dir, 'burst.yaml'), burst(6));
    await waitFor(
      async () => (await getJson(`${api}/v1/catalogs/burst/profiles/burst`)).body.versions?.length === 6,
    );
    const last = first[first.length - 1]!;
    const second = await read(
      { 'last-event-id': String(last) },
      (ids) => ids.length >= 1 && ids.filter((i) => i > last).length >= 1,
    );
    await new Promise((r) => setTimeout(r, 200));
    const all = [...first, ...second];
    assert.equal(new Set(all).size, all.length, 'no event twice');
    assert.ok(
      second.every((id) => id > last),
      'resumed after the last event seen',
    );
    assert.deepEqual(
      second,
      [...second].sort((a, b) => a - b),
    );
  });

  test('the in-memory mirror and the Redis engine answer every query identically', async () => {
    // `api` searches its in-memory mirror; this replica asks Redis for everything.
    const redisOnly = await stack.api({ liveGeneration: false });
    try {
      const queries: Record<string, string | number>[] = [
        ...judged.map(([q]) => ({ q })),
        { q: '' },
        { q: '', sort: 'name', limit: 7, catalog: 'platform' },
        { q: 'monitoring', sort: 'updated' },
        { q: 'prometheus', maintainer: 'Prometheus-Community', prerelease: 'exclude' },
        { q: 'redis', version: '>=1.0.0 <3', versions: 'all' },
        { q: 'nginx', kind: 'chart' },
        { q: 'postgres', prerelease: 'only' },
        { q: 'log', catalog: 'default/community', limit: 3 },
        { q: 'nosuchwordanywhere' },
      ];
      const compareAll = async (when: string) => {
        for (const params of queries) {
          const qs = new URLSearchParams(
            Object.entries({ limit: 100, ...params }).map(([k, v]) => [k, String(v)] as [string, string]),
          ).toString();
          const [mirror, redis] = await Promise.all([
            getJson(`${api}/v1/search?${qs}`),
            getJson(`${redisOnly.url}/v1/search?${qs}`),
          ]);
          assert.equal(mirror.status, 200, qs);
          assert.equal(mirror.headers.get('x-search-engine'), 'memory', `${when}: ${qs}`);
          assert.equal(redis.headers.get('x-search-engine'), 'redis', `${when}: ${qs}`);
          assert.deepEqual(mirror.body, redis.body, `${when}: same answer for ${qs}`);
        }
      };
      let probe = 0;
      await waitFor(
        async () =>
          (await getJson(`${api}/v1/search?q=&limit=${1 + (probe++ % 100)}`)).headers.get(
            'x-search-engine',
          ) === 'memory',
        { what: 'mirror in step' },
      );
      await compareAll('loaded');
      // Deep pages too (past the first 100 hits the mirror sorts the whole result instead of selecting).
      for (const sort of ['relevance', 'updated', 'name']) {
        let cursor: string | undefined;
        let pages = 0;
        do {
          const qs = `q=&limit=40&sort=${sort}${cursor ? `&cursor=${cursor}` : ''}`;
          const [mirror, redis] = await Promise.all([
            getJson(`${api}/v1/search?${qs}`),
            getJson(`${redisOnly.url}/v1/search?${qs}`),
          ]);
          assert.deepEqual(mirror.body, redis.body, `page ${pages} of ${qs}`);
          cursor = mirror.body.nextCursor ?? undefined;
          pages++;
        } while (cursor);
        assert.ok(pages >= 5, `walked ${pages} pages`);
      }
      queries.push({ q: 'probe' }, { q: 'mirror' }, { q: 'prob' }, { q: 'mirrro' }, { q: 'zzmaint' });
      const yamlOf = (profiles: { name: string; description: string }[]) =>
        catalogYaml(
          'mirror',
          profiles.map((p) => ({ ...p, maintainer: 'zzmaint', prerequisites: [], versions: ['0.1.0'] })),
        );
      // While the mirror reloads a source, answers come from Redis: wait for the mirror's own answer (each
      // poll asks a new URL: a page computed by Redis meanwhile stays cached for its generation).
      let poll = 0;
      const total = async (base: string, q: string) => {
        const r = await getJson(`${base}/v1/search?q=${q}&limit=${1 + (poll++ % 100)}`);
        return base === api && r.headers.get('x-search-engine') !== 'memory' ? -1 : (r.body.total as number);
      };
      // Changes applied one source at a time: added, changed (a profile replaced, text edited), removed.
      const steps: [string, string | null, number][] = [
        [
          'added',
          yamlOf([
            { name: 'mirror-probe', description: 'probe of the mirror' },
            { name: 'mirror-second', description: 'another probe' },
          ]),
          2,
        ],
        ['changed', yamlOf([{ name: 'mirror-third', description: 'renamed probe' }]), 1],
        ['removed', null, 0],
      ];
      for (const [when, yaml, n] of steps) {
        if (yaml === null) await rm(join(dir, 'mirror.yaml'));
        else await writeFile(join(dir, 'mirror.yaml'), yaml);
        await waitFor(
          async () => (await total(api, 'zzmaint')) === n && (await total(redisOnly.url, 'zzmaint')) === n,
          { what: `both see the catalog ${when}` },
        );
        await compareAll(when);
      }
    } finally {
      await redisOnly.close();
    }
  });

  test('two API instances answer identically; the rate limit answers 429 with a problem', async () => {
    const other = await stack.api({ rateLimitPerMinute: 3 });
    const a = await search({ q: 'prometheus', limit: 10 });
    const b = await getJson(`${other.url}/v1/search?q=prometheus&limit=10`);
    assert.deepEqual(
      b.body.items.map((i: any) => i.name),
      a.body.items.map((i: any) => i.name),
    );
    assert.equal(b.body.total, a.body.total);
    let limited;
    for (let i = 0; i < 5; i++) limited = await getJson(`${other.url}/v1/search?q=x${i}`);
    assert.equal(limited!.status, 429);
    assert.equal(limited!.body.code, 'RATE_LIMITED');
  });

  test('a page answered from the cache still passes rate limiting, compression and ETags', async () => {
    // Rate-limit counters live in Redis, shared with the instance of the test before (same client address).
    const limited = await stack.api({ rateLimitPerMinute: 30 });
    const url = `${limited.url}/v1/search?limit=100`;
    const gzip = { 'accept-encoding': 'gzip' };
    const first = await fetch(url, { headers: gzip });
    const computed = await first.text();
    const cached = await fetch(url, { headers: gzip }); // the same URL at the same generation: the page cache
    assert.equal(cached.status, 200);
    assert.equal(cached.headers.get('content-encoding'), 'gzip');
    assert.equal(cached.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(cached.headers.get('etag'), first.headers.get('etag'));
    assert.equal(cached.headers.get('x-search-engine'), first.headers.get('x-search-engine'));
    assert.equal(await cached.text(), computed);
    assert.ok(JSON.parse(computed).items.length > 1);
    // Its compressed forms are made once and kept with it; every form decodes to the same answer.
    const br = await fetch(url, { headers: { 'accept-encoding': 'br' } });
    assert.equal(br.headers.get('content-encoding'), 'br');
    assert.equal(await br.text(), computed);
    const plain = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
    assert.equal(plain.headers.get('content-encoding'), null);
    assert.equal(Number(plain.headers.get('content-length')), Buffer.byteLength(computed));
    assert.equal(await plain.text(), computed);
    assert.match(plain.headers.get('vary') ?? '', /accept-encoding/i);
    // Each representation has its own strong tag: a cache holding the gzip body never gets it for plain.
    const tags = [cached, br, plain].map((r) => r.headers.get('etag'));
    assert.equal(new Set(tags).size, 3, tags.join(' '));
    assert.match(tags[0]!, /-gzip"$/);
    const plainAgain = await fetch(url, {
      headers: { 'accept-encoding': 'identity', 'if-none-match': tags[0]! },
    });
    assert.equal(plainAgain.status, 200, 'the gzip tag does not validate the plain body');
    const notModified = await fetch(url, { headers: { 'if-none-match': first.headers.get('etag')! } });
    assert.equal(notModified.status, 304);
    let remaining = Number(notModified.headers.get('x-ratelimit-remaining'));
    assert.ok(remaining >= 0 && remaining < 30, `remaining ${remaining}`);
    for (; remaining > 0; remaining--) assert.equal((await fetch(url)).status, 200);
    const over = await fetch(url);
    assert.equal(over.status, 429, 'the cache is looked up after the rate limit');
  });
});
