/**
 * Tenancy on the real servers: two tenants (static tokens) with their own catalog sources and a public one.
 * Every GET route of the app and the event stream is checked for both, from a table the app's own route list
 * must match (a new route without a row fails here); hidden catalogs are a 404 like missing ones, lists, totals
 * and facets leave them out, nested profiles from them show as not visible; ETags and cached pages are per
 * audience. Writes are authorized by the policy (nothing queued when refused) and name their requester. A
 * grant and a revoke made by editing a source file count in two API replicas within 1 s. Tokens never appear
 * in answers or logs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { catalogKeys, installationKeys, type CatalogEntry } from '@profiles/shared';
import { createLogger } from '@profiles/shared/runtime';
import { CatalogWriter } from '../services/indexer/src/catalog-writer.ts';
import { Authenticator } from '../services/api/src/auth/authenticate.ts';
import { WritePolicy } from '../services/api/src/auth/policy.ts';
import { StaticTokens } from '../services/api/src/auth/static-tokens.ts';
import type { ApiAuth } from '../services/api/src/auth/setup.ts';
import { getJson, startStack, testLogger, waitFor, type Stack } from './harness/index.ts';

const TOKENS = { alice: 'alice-token-0123456789abcdef', bob: 'bob-token-0123456789abcdef00' };
const RB = 'https://git.example.com/team-b/profiles.git';
const RP = 'https://git.example.com/shared/profiles.git';

interface Tenant {
  name: 'alice' | 'bob';
  source: string;
  own: string;
  other: string;
  otherSource: string;
  headers: Record<string, string>;
}
const A: Tenant = {
  name: 'alice',
  source: 'team-a/apps',
  own: 'alpha-only',
  other: 'beta-only',
  otherSource: 'team-b/apps',
  headers: { authorization: `Bearer ${TOKENS.alice}` },
};
const B: Tenant = {
  name: 'bob',
  source: 'team-b/apps',
  own: 'beta-only',
  other: 'alpha-only',
  otherSource: 'team-a/apps',
  headers: { authorization: `Bearer ${TOKENS.bob}` },
};

const entry = (
  source: string,
  name: string,
  version: string,
  extra: Partial<CatalogEntry> = {},
): CatalogEntry => {
  const [ns, src] = source.split('/') as [string, string];
  return {
    tag: `${name}/v${version}`,
    catalogSource: src,
    url: '',
    name,
    description: `${name} of ${source}`,
    maintainer: `${ns}-maintainers`,
    prerequisites: [],
    version,
    catalogNamespace: ns,
    origin: 'inline',
    indexedAt: new Date(0).toISOString(),
    ...extra,
  };
};

function auth(): ApiAuth {
  return {
    authenticator: new Authenticator({
      anonymous: 'read',
      tokens: new StaticTokens([
        { token: TOKENS.alice, user: 'alice', groups: ['team-a'] },
        { token: TOKENS.bob, user: 'bob', groups: ['team-b'] },
      ]),
    }),
    defaultAccess: 'authenticated',
    policy: new WritePolicy({
      install: [
        {
          groups: ['team-a'],
          repositories: ['file:///repos/team-a*'],
          paths: ['clusters/a*'],
          secretRefs: ['team-a-git'],
        },
        {
          users: ['bob'],
          repositories: ['file:///repos/team-b*'],
          secretRefs: ['team-b-git'],
          unlisted: true,
        },
      ],
      refresh: [{ groups: ['team-a'], sources: ['team-a/*'] }],
    }),
  };
}

describe('access: two tenants on every route', () => {
  let stack: Stack;
  let api: string;
  let api2: string;
  let dir: string;
  let routes: readonly { method: string; url: string; public: boolean }[];
  const logLines: string[] = [];
  const answers: string[] = [];
  let seq = 100;
  let writer: CatalogWriter;

  const write = (
    source: string,
    entries: CatalogEntry[],
    access: unknown,
    repos?: [string, CatalogEntry][],
  ) => {
    const [namespace, name] = source.split('/') as [string, string];
    return writer.upsert({
      ref: { namespace, name },
      seq: ++seq,
      origin: 'test',
      specHash: String(seq),
      entries,
      access: JSON.stringify(access),
      ...(repos
        ? {
            repos: [...new Set(repos.map(([u]) => u))].map((url) => ({
              url,
              tags: new Map(
                repos.filter(([u]) => u === url).map(([, e]) => [e.tag, { commit: 'c0ffee', entry: e }]),
              ),
              changed: true,
            })),
          }
        : {}),
      status: {
        ready: true,
        reason: 'Indexed',
        message: '',
        profiles: new Set(entries.map((e) => e.name)).size,
        versions: entries.length,
        entryErrors: [],
      },
    });
  };

  const beta = entry('team-b/apps', 'beta-only', '1.0.0', { url: RB, origin: RB });
  const pub = entry('shared/public', 'public-one', '1.0.0', { url: RP, origin: RP });
  const alpha = entry('team-a/apps', 'alpha-only', '1.0.0', {
    artifacts: [
      { name: 'nested', kind: 'profile', profile: { source: { url: RB, tag: beta.tag } }, dependsOn: [] },
      { name: 'pub', kind: 'profile', profile: { source: { url: RP, tag: pub.tag } }, dependsOn: [] },
    ],
  });

  before(async () => {
    stack = await startStack();
    writer = new CatalogWriter({
      redis: stack.client,
      keys: catalogKeys(stack.prefix),
      log: testLogger('w'),
    });
    await write(
      'team-a/apps',
      [entry('team-a/apps', 'shared-name', '1.0.0'), entry('team-a/apps', 'shared-name', '1.1.0'), alpha],
      {
        groups: ['team-a'],
      },
    );
    await write('team-b/apps', [entry('team-b/apps', 'shared-name', '2.0.0'), beta], { users: ['bob'] }, [
      [RB, beta],
    ]);
    await write('shared/public', [pub], { public: true }, [[RP, pub]]);
    await stack.indexer(); // publishes the writers' events (outbox) to the stream the event route reads
    dir = await stack.tempDir('access-');
    await stack.watcher(dir);
    const log = createLogger('api', {
      level: 'debug',
      destination: new Writable({
        write(chunk, _enc, cb) {
          logLines.push(String(chunk));
          cb();
        },
      }),
    });
    const first = await stack.api({ auth: auth(), log });
    api = first.url;
    routes = first.app.routeList;
    api2 = (await stack.api({ auth: auth(), log })).url;
  });
  after(() => stack.stop());

  const get = async (t: Tenant | undefined, path: string, headers: Record<string, string> = {}) => {
    const r = await getJson(`${api}${path}`, { headers: { ...(t?.headers ?? {}), ...headers } });
    answers.push(JSON.stringify(r.body), JSON.stringify([...r.headers]));
    return r;
  };
  const enc = encodeURIComponent;
  /** A hidden catalog answers exactly as a missing one (same status, code and message shape). */
  const hiddenLikeMissing = async (t: Tenant, path: (catalog: string, profile: string) => string) => {
    const hidden = await get(t, path(t.otherSource, t.other));
    const missing = await get(t, path('nowhere/apps', t.other));
    assert.equal(hidden.status, 404, `${path(t.otherSource, t.other)}: ${JSON.stringify(hidden.body)}`);
    assert.equal(hidden.body.code, missing.body.code);
    const blank = (body: unknown, id: string) =>
      JSON.stringify(body).replaceAll(id, 'X').replaceAll(enc(id), 'X');
    assert.equal(blank(hidden.body, t.otherSource), blank(missing.body, 'nowhere/apps'));
    assert.ok(!JSON.stringify(hidden.body).includes('maintainers'), 'no content of the hidden catalog');
  };
  const onlyOwn = (t: Tenant, body: unknown) => {
    const text = JSON.stringify(body);
    assert.ok(
      !text.includes(t.otherSource),
      `${t.name} sees nothing of ${t.otherSource}: ${text.slice(0, 300)}`,
    );
    // (alice's own profile names bob's repository tag as a nested reference: that is her content, not his)
    assert.ok(!text.includes(`"name":"${t.other}"`), `${t.name} sees no ${t.other}`);
    assert.ok(
      !text.includes(`${t.otherSource.split('/')[0]}-maintainers`),
      `${t.name} sees no maintainer of it`,
    );
  };

  /** Every GET route: what each tenant must (and must not) get from it. */
  const table: Record<string, (t: Tenant) => Promise<void>> = {
    '/v1/profiles': async (t) => {
      const r = await get(t, '/v1/profiles');
      assert.equal(r.status, 200);
      onlyOwn(t, r.body);
      const catalogs = new Set(
        (r.body.items as CatalogEntry[]).map((e) => `${e.catalogNamespace}/${e.catalogSource}`),
      );
      assert.deepEqual([...catalogs].sort(), [t.source, 'shared/public'].sort());
    },
    '/v1/profiles/:catalog/:profile': async (t) => {
      assert.equal((await get(t, `/v1/profiles/${enc(t.source)}/${t.own}`)).status, 200);
      // The bare name `apps` exists in both namespaces, but each tenant sees one: it resolves, no ambiguity leak.
      assert.equal(
        (await get(t, `/v1/profiles/apps/shared-name`)).body.item.catalogNamespace,
        t.source.split('/')[0],
      );
      await hiddenLikeMissing(t, (c, p) => `/v1/profiles/${enc(c)}/${p}`);
    },
    '/v1/profiles/:catalog/:profile/:version': async (t) => {
      assert.equal((await get(t, `/v1/profiles/${enc(t.source)}/${t.own}/1.0.0`)).status, 200);
      await hiddenLikeMissing(t, (c, p) => `/v1/profiles/${enc(c)}/${p}/1.0.0`);
    },
    '/v1/profiles/:catalog/:profile/:version/available_updates': async (t) => {
      assert.equal(
        (await get(t, `/v1/profiles/${enc(t.source)}/${t.own}/1.0.0/available_updates`)).status,
        200,
      );
      await hiddenLikeMissing(t, (c, p) => `/v1/profiles/${enc(c)}/${p}/1.0.0/available_updates`);
    },
    '/v1/search': async (t) => {
      const all = await get(t, '/v1/search?q=&facetLimit=100');
      assert.equal(all.status, 200);
      assert.equal(all.body.total, 3, 'own two profiles and the public one');
      assert.deepEqual(Object.keys(all.body.facets.catalog).sort(), [t.source, 'shared/public'].sort());
      assert.equal(all.body.facetTotals.catalog, 2);
      onlyOwn(t, all.body);
      assert.equal((await get(t, `/v1/search?q=${t.other}`)).body.total, 0);
      assert.equal((await get(t, `/v1/search?catalog=${enc(t.otherSource)}`)).body.total, 0);
      const shared = await get(t, '/v1/search?q=shared-name');
      assert.deepEqual(
        shared.body.items.map((h: { catalog: string }) => h.catalog),
        [t.source],
      );
    },
    '/v1/catalogs/:catalog/profiles/:profile': async (t) => {
      assert.equal((await get(t, `/v1/catalogs/${enc(t.source)}/profiles/${t.own}`)).status, 200);
      await hiddenLikeMissing(t, (c, p) => `/v1/catalogs/${enc(c)}/profiles/${p}`);
    },
    '/v1/catalogs/:catalog/profiles/:profile/versions/:version': async (t) => {
      const r = await get(t, `/v1/catalogs/${enc(t.source)}/profiles/${t.own}/versions/1.0.0`);
      assert.equal(r.status, 200);
      if (t === A) {
        const [nested, shared] = r.body.tree as { note?: string; resolved: unknown; children: unknown[] }[];
        assert.equal(
          nested!.note,
          'not-visible',
          'a nested profile of a hidden catalog shows as not visible',
        );
        assert.equal(nested!.resolved, null);
        assert.deepEqual(nested!.children, []);
        assert.deepEqual(shared!.resolved, {
          catalog: 'shared/public',
          profile: 'public-one',
          version: '1.0.0',
        });
        assert.ok(!JSON.stringify(r.body.tree).includes('team-b/apps'));
      }
      await hiddenLikeMissing(t, (c, p) => `/v1/catalogs/${enc(c)}/profiles/${p}/versions/1.0.0`);
    },
    '/v1/catalogs/:catalog/profiles/:profile/updates': async (t) => {
      assert.equal(
        (await get(t, `/v1/catalogs/${enc(t.source)}/profiles/${t.own}/updates?from=1.0.0`)).status,
        200,
      );
      await hiddenLikeMissing(t, (c, p) => `/v1/catalogs/${enc(c)}/profiles/${p}/updates?from=1.0.0`);
    },
    '/v1/sources': async (t) => {
      const r = await get(t, '/v1/sources');
      assert.deepEqual(
        r.body.items.map((s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`).sort(),
        [t.source, 'shared/public'].sort(),
      );
    },
    '/v1/sources/:namespace/:name': async (t) => {
      assert.equal((await get(t, `/v1/sources/${t.source}`)).status, 200);
      const hidden = await get(t, `/v1/sources/${t.otherSource}`);
      const missing = await get(t, `/v1/sources/nowhere/apps`);
      assert.equal(hidden.status, 404);
      assert.equal(hidden.body.code, missing.body.code);
    },
    '/v1/installations/:id': async (t) => {
      const own = installs.get(t.name)!;
      const mine = await get(t, `/v1/installations/${own}`);
      assert.equal(mine.status, 200);
      assert.equal(mine.body.requestedBy, t.name, 'the status document names the requester');
      const theirs = await get(t, `/v1/installations/${installs.get(t === A ? 'bob' : 'alice')}`);
      const missing = await get(t, `/v1/installations/00000000-0000-0000-0000-000000000000`);
      assert.equal(theirs.status, 404);
      assert.equal(theirs.body.code, missing.body.code);
    },
    '/v1/repositories/installations': async (t) => {
      // Reading a repository with a secret needs the install permission there: the other tenant's is refused.
      const other = t === A ? 'file:///repos/team-b.git' : 'file:///repos/team-a.git';
      const r = await get(t, `/v1/repositories/installations?url=${enc(other)}&path=clusters/a`);
      assert.equal(r.status, 403);
      assert.equal(r.body.permission, 'install');
    },
    '/v1/events': async (t) => {
      const ac = new AbortController();
      const res = await fetch(`${api}/v1/events`, { headers: t.headers, signal: ac.signal });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      let text = '';
      const read = (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          text += new TextDecoder().decode(value);
        }
      })().catch(() => undefined);
      await waitFor(async () => text.includes(': connected'), { what: 'the stream' });
      // The other tenant's source changes first, then the caller's own: once its own event arrived, an event of
      // the other's (published before it) would have been delivered too.
      const bump = (source: string, name: string, v: string) =>
        write(
          source,
          [entry(source, name, v)],
          source === 'team-a/apps' ? { groups: ['team-a'] } : { users: ['bob'] },
        );
      const v = `3.0.${seq}`;
      await bump(t.otherSource, 'event-probe', v);
      await bump(t.source, 'event-probe', v);
      await waitFor(async () => text.includes(`"catalog":{"namespace":"${t.source.split('/')[0]}"`), {
        what: `${t.name}'s own event`,
        timeoutMs: 15_000,
      });
      ac.abort();
      await read;
      assert.ok(
        !text.includes(t.otherSource.split('/')[0] + '"'),
        `no event of ${t.otherSource}: ${text.slice(0, 500)}`,
      );
      // Restore what the other rows expect of both sources.
      await write(
        'team-a/apps',
        [entry('team-a/apps', 'shared-name', '1.0.0'), entry('team-a/apps', 'shared-name', '1.1.0'), alpha],
        { groups: ['team-a'] },
      );
      await write('team-b/apps', [entry('team-b/apps', 'shared-name', '2.0.0'), beta], { users: ['bob'] }, [
        [RB, beta],
      ]);
    },
  };
  /**
   * Routes anyone may call: probes, metrics, the API description, the web catalog's page and scripts. They must
   * say nothing of any catalog.
   */
  const isPublic = (url: string) =>
    ['/healthz', '/readyz', '/metrics', '/openapi.json', '/', '/assets/*'].includes(url) ||
    url.startsWith('/docs');

  const installs = new Map<string, string>();
  const install = (t: Tenant, body: Record<string, unknown>) =>
    fetch(`${api}/v1/installations`, {
      method: 'POST',
      headers: { ...t.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'demo', namespace: 'default', mode: 'commit', ...body }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
  const queued = async () =>
    (await stack.client.keys(`${installationKeys(stack.prefix).request('')}*`)).length;

  test('writes follow the policy: refused ones answer 403 naming the permission and queue nothing', async () => {
    const before = await queued();
    const outside = await install(A, {
      profile: { catalog: A.source, name: A.own, version: '1.0.0' },
      target: { url: 'file:///repos/team-b.git', path: 'clusters/a' },
    });
    assert.equal(outside.status, 403);
    assert.equal(outside.body.permission, 'install');
    const secret = await install(A, {
      profile: { catalog: A.source, name: A.own, version: '1.0.0' },
      target: { url: 'file:///repos/team-a.git', path: 'clusters/a', secretRef: { name: 'team-b-git' } },
    });
    assert.equal(secret.status, 403);
    assert.deepEqual([secret.body.permission, secret.body.secretRef], ['secretRef', 'team-b-git']);
    const unlisted = await install(A, {
      profile: { url: 'https://git.example.com/elsewhere.git', tag: 'x/v1.0.0' },
      target: { url: 'file:///repos/team-a.git', path: 'clusters/a' },
    });
    assert.equal(unlisted.status, 403);
    assert.equal(unlisted.body.permission, 'install-unlisted');
    const hidden = await install(A, {
      profile: { catalog: B.source, name: B.own, version: '1.0.0' },
      target: { url: 'file:///repos/team-a.git', path: 'clusters/a' },
    });
    assert.equal(hidden.status, 404, 'a profile of a hidden catalog is not found');
    const anonymous = await fetch(`${api}/v1/installations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'x',
        namespace: 'default',
        profile: { catalog: 'shared/public', name: 'public-one', version: '1.0.0' },
        target: { url: 'file:///repos/team-a.git', path: 'clusters/a' },
      }),
    });
    assert.equal(anonymous.status, 401, 'anonymous callers never write');
    assert.equal(await queued(), before, 'nothing was stored or queued');

    const ok = await install(A, {
      profile: { catalog: A.source, name: A.own, version: '1.0.0' },
      target: { url: 'file:///repos/team-a.git', path: 'clusters/a', secretRef: { name: 'team-a-git' } },
    });
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    installs.set('alice', ok.body.id as string);
    const bobs = await install(B, {
      profile: { url: 'https://git.example.com/elsewhere.git', tag: 'x/v1.0.0' },
      target: { url: 'file:///repos/team-b.git', path: 'anywhere' },
    });
    assert.equal(bobs.status, 202, 'bob may install unlisted profiles');
    installs.set('bob', bobs.body.id as string);
    const audit = logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.audit === 'install');
    assert.deepEqual(audit.map((l) => l.requestedBy).sort(), ['alice', 'bob']);

    // Refresh needs a permission on the source (and seeing it).
    const refresh = (t: Tenant, s: string) =>
      fetch(`${api}/v1/sources/${s}/refresh`, { method: 'POST', headers: t.headers });
    assert.equal((await refresh(A, A.source)).status, 202);
    const denied = await refresh(B, B.source);
    assert.equal(denied.status, 403);
    assert.equal(((await denied.json()) as { permission: string }).permission, 'refresh');
    assert.equal((await refresh(B, A.source)).status, 404);
  });

  test('every GET route and the event stream, for both tenants, from a table no route can be missing from', async () => {
    const gets = routes.filter((r) => r.method === 'GET').map((r) => r.url);
    const missing = gets.filter((u) => !(u in table) && !isPublic(u));
    assert.deepEqual(missing, [], 'every GET route has a row in the access table');
    for (const r of routes) if (r.public) assert.ok(isPublic(r.url) || r.url === '/v1/webhooks/git', r.url);
    for (const [route, check] of Object.entries(table)) {
      for (const t of [A, B]) {
        await check(t).catch((err: Error) => {
          err.message = `${route} as ${t.name}: ${err.message}`;
          throw err;
        });
      }
    }
    // Anonymous read (AUTH_ANONYMOUS=read): the public catalog only.
    for (const route of ['/v1/sources', '/v1/profiles', '/v1/search']) {
      const anon = await get(undefined, route);
      assert.equal(anon.status, 200, route);
      assert.ok(!JSON.stringify(anon.body).includes('team-'), `${route}: anonymous sees only public`);
      assert.ok(JSON.stringify(anon.body).includes('public'), route);
    }
    // With AUTH_ANONYMOUS=off every route but the public ones is closed: 401 with a challenge.
    const closed = await stack.api({
      auth: { ...auth(), authenticator: new Authenticator({ anonymous: 'off' }) },
    });
    for (const r of routes.filter((x) => x.method === 'GET' && !isPublic(x.url))) {
      const res = await fetch(`${closed.url}${r.url.replace(/:[a-z]+/g, 'x')}`);
      assert.equal(res.status, 401, r.url);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer', r.url);
    }
    const bad = await get(undefined, '/v1/sources', { authorization: 'Bearer not-a-known-token-at-all' });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('www-authenticate'), 'Bearer');
    assert.equal(bad.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(bad.body.parameter, 'Authorization');
    for (const p of ['/healthz', '/openapi.json']) assert.equal((await get(undefined, p)).status, 200, p);
  });

  test('ETags and cached pages belong to one audience', async () => {
    const a = await get(A, '/v1/search?q=shared');
    const b = await get(B, '/v1/search?q=shared');
    assert.notEqual(a.headers.get('etag'), b.headers.get('etag'));
    // Bob presenting Alice's tag gets his own answer, never a 304 for hers.
    const again = await get(B, '/v1/search?q=shared', { 'if-none-match': a.headers.get('etag')! });
    assert.equal(again.status, 200);
    onlyOwn(B, again.body);
    assert.equal(
      (await get(A, '/v1/search?q=shared', { 'if-none-match': a.headers.get('etag')! })).status,
      304,
    );
    const sa = await get(A, '/v1/sources');
    const sb = await get(B, '/v1/sources', { 'if-none-match': sa.headers.get('etag')! });
    assert.equal(sb.status, 200);
  });

  test('a grant and a revoke by editing the source count in two replicas within 1 s', async () => {
    const file = join(dir, 'team-c.yaml');
    const doc = (access: string) =>
      [
        'apiVersion: weave.works/v1alpha1',
        'kind: ProfileCatalogSource',
        'metadata: { name: apps, namespace: team-c }',
        'spec:',
        `  access: ${access}`,
        '  profiles:',
        '    - { name: gamma, tag: gamma/v1.0.0, description: granted }',
        '',
      ].join('\n');
    const sees = async (url: string, t: Tenant) =>
      ((await getJson(`${url}/v1/search?q=gamma`, { headers: t.headers })).body.total as number) === 1;
    await writeFile(file, doc('{ users: [alice] }'));
    await waitFor(() => sees(api, A), { what: 'alice sees team-c', timeoutMs: 10_000 });
    assert.equal(await sees(api, B), false);
    const t0 = Date.now();
    await writeFile(file, doc('{ users: [bob] }')); // grant bob, revoke alice
    await waitFor(
      async () =>
        (await sees(api, B)) && (await sees(api2, B)) && !(await sees(api, A)) && !(await sees(api2, A)),
      {
        what: 'the grant and the revoke in both replicas',
        timeoutMs: 5_000,
        intervalMs: 10,
      },
    );
    const ms = Date.now() - t0;
    assert.ok(ms < 1000, `took ${ms} ms`);
  });

  test('no token appears in any answer or log line', () => {
    const everything = [...answers, ...logLines].join('\n');
    for (const token of Object.values(TOKENS)) assert.ok(!everything.includes(token), 'a token leaked');
    assert.ok(logLines.length > 0);
  });
});
