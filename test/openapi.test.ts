/**
 * The OpenAPI document drives client generators: `@redocly/cli lint` passes it without errors, and a client
 * generated from it by openapi-typescript type-checks (tsc --strict, excess properties refused) against real
 * answers of a running system, success and error answers alike.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getJson, startStack, waitFor, type Stack } from './harness/index.ts';
import { examplesRepo, gitopsRepo, startInstallerStack, type InstallerStack } from './harness/installer.ts';
import { REPO_ROOT } from './harness/clone-copy.ts';

const bin = (name: string) => join(REPO_ROOT, 'node_modules/.bin', name);

let stack: Stack;
let ins: InstallerStack;
let dir: string;
let specFile: string;
let gitops: string;

before(async () => {
  stack = await startStack();
  dir = await stack.tempDir('openapi-');
  const examples = examplesRepo(dir);
  gitops = gitopsRepo(dir);
  const sources = await stack.tempDir('sources-');
  await writeFile(
    join(sources, 'examples.yaml'),
    `apiVersion: weave.works/v1alpha1\nkind: ProfileCatalogSource\nmetadata: {name: examples}\nspec:\n  repositories:\n    - url: file://${examples}\n`,
  );
  await stack.indexer();
  await stack.watcher(sources);
  ins = await startInstallerStack(stack, examples);
  specFile = join(dir, 'openapi.json');
  const spec = await fetch(`${ins.api}/openapi.json`);
  assert.equal(spec.status, 200);
  await writeFile(specFile, await spec.text());
});

after(async () => {
  await ins.close();
  await stack.stop();
});

test('redocly lint finds no error in the OpenAPI document', () => {
  const r = spawnSync(bin('redocly'), ['lint', specFile, '--format=summary'], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /Your API description is valid/);
});

test('every operation has an operationId, a summary, tags and an answer for each status it gives', async () => {
  const doc = (await getJson(`${ins.api}/openapi.json`)).body;
  const ids = new Set<string>();
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const where = `${method.toUpperCase()} ${path}`;
      assert.ok(op.operationId && !ids.has(op.operationId), `${where}: a unique operationId`);
      ids.add(op.operationId);
      assert.ok(op.summary, `${where}: summary`);
      assert.ok(op.tags?.length, `${where}: tags`);
      assert.ok(op.responses['500'] && op.responses['400'], `${where}: error answers`);
      const media = path.startsWith('/v1/profiles') ? 'application/json' : 'application/problem+json';
      assert.ok(op.responses['400'].content[media], `${where}: errors as ${media}`);
      for (const p of op.parameters ?? [])
        if (p.in === 'path')
          assert.ok(path.includes(`{${p.name}}`), `${where}: no stray parameter ${p.name}`);
    }
  }
  assert.ok(doc.paths['/v1/installations'].post.responses['202'], 'queued work answers 202');
  assert.ok(doc.paths['/v1/installations'].post.requestBody.content['application/json'].example);
});

/** tsc --strict on one file of the temporary folder, beside the generated client. */
const typecheck = (file: string) =>
  spawnSync(
    bin('tsc'),
    [
      '--noEmit',
      '--strict',
      '--target',
      'es2022',
      '--module',
      'esnext',
      '--moduleResolution',
      'bundler',
      file,
    ],
    { cwd: dir, encoding: 'utf8' },
  );

/** Real answers, each typed by the generated client's type for its path, method and status. */
async function answers(): Promise<string[]> {
  const api = ins.api;
  await waitFor(
    async () => (await getJson(`${api}/v1/profiles/examples/weaveworks-nginx/0.1.1`)).status === 200,
    {
      timeoutMs: 30_000,
      what: 'the fixture indexed',
    },
  );
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${api}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as any };
  };
  const install = await post('/v1/installations', {
    name: 'nginx',
    namespace: 'default',
    profile: { catalog: 'examples', name: 'weaveworks-nginx', version: '0.1.0' },
    target: { url: `file://${gitops}`, branch: 'main', path: 'clusters/dev' },
  });
  const done = await waitFor(
    async () => {
      const s = await getJson(`${api}/v1/installations/${install.body.id}`);
      return ['committed', 'failed'].includes(s.body.status) ? s : undefined;
    },
    { timeoutMs: 60_000, what: 'the installation committed' },
  );
  assert.equal(done.body.status, 'committed', JSON.stringify(done.body));
  const target = encodeURIComponent(`file://${gitops}`);
  const cases: [string, string, number, { status: number; body: unknown }, string?][] = [
    ['/v1/profiles', 'get', 200, await getJson(`${api}/v1/profiles?name=nginx`)],
    [
      '/v1/profiles/{catalog}/{profile}',
      'get',
      200,
      await getJson(`${api}/v1/profiles/examples/weaveworks-nginx`),
    ],
    [
      '/v1/profiles/{catalog}/{profile}/{version}',
      'get',
      404,
      await getJson(`${api}/v1/profiles/examples/nope/1.0.0`),
    ],
    [
      '/v1/profiles/{catalog}/{profile}/{version}/available_updates',
      'get',
      200,
      await getJson(`${api}/v1/profiles/examples/weaveworks-nginx/0.1.0/available_updates`),
    ],
    ['/v1/search', 'get', 200, await getJson(`${api}/v1/search?q=nginx&versions=all`)],
    ['/v1/search', 'get', 400, await getJson(`${api}/v1/search?q=nginx&bogus=1`), 'application/problem+json'],
    [
      '/v1/catalogs/{catalog}/profiles/{profile}',
      'get',
      200,
      await getJson(`${api}/v1/catalogs/examples/profiles/weaveworks-nginx`),
    ],
    [
      '/v1/catalogs/{catalog}/profiles/{profile}/versions/{version}',
      'get',
      200,
      await getJson(`${api}/v1/catalogs/examples/profiles/weaveworks-nginx/versions/0.1.1`),
    ],
    [
      '/v1/catalogs/{catalog}/profiles/{profile}/updates',
      'get',
      200,
      await getJson(`${api}/v1/catalogs/examples/profiles/weaveworks-nginx/updates?from=0.1.0`),
    ],
    ['/v1/sources', 'get', 200, await getJson(`${api}/v1/sources`)],
    ['/v1/sources/{namespace}/{name}', 'get', 200, await getJson(`${api}/v1/sources/default/examples`)],
    [
      '/v1/sources/{namespace}/{name}',
      'get',
      404,
      await getJson(`${api}/v1/sources/default/nope`),
      'application/problem+json',
    ],
    [
      '/v1/sources/{namespace}/{name}/refresh',
      'post',
      202,
      await post('/v1/sources/default/examples/refresh', {}),
    ],
    ['/v1/installations', 'post', 202, install],
    ['/v1/installations/{id}', 'get', 200, done],
    [
      '/v1/repositories/installations',
      'get',
      200,
      await getJson(`${api}/v1/repositories/installations?url=${target}&branch=main&path=clusters/dev`),
    ],
    [
      '/v1/installations/{id}/upgrade',
      'post',
      202,
      await post(`/v1/installations/${install.body.id}/upgrade`, { version: 'latest', dryRun: true }),
    ],
  ];
  return cases.map(([path, method, status, answer, media], i) => {
    assert.equal(answer.status, status, `${method} ${path}: ${JSON.stringify(answer.body)}`);
    return `export const a${i} = ${JSON.stringify(answer.body)} satisfies Answer<'${path}', '${method}', ${status}, '${media ?? 'application/json'}'>;`;
  });
}

test('a client generated by openapi-typescript type-checks against real answers', async () => {
  const gen = spawnSync(bin('openapi-typescript'), [specFile, '-o', join(dir, 'api.ts')], {
    encoding: 'utf8',
  });
  assert.equal(gen.status, 0, gen.stdout + gen.stderr);
  const lines = await answers();
  await writeFile(
    join(dir, 'answers.ts'),
    [
      "import type { paths } from './api';",
      'type Answer<P extends keyof paths, M extends keyof paths[P], S extends number, C extends string> =',
      '  paths[P][M] extends { responses: { [K in S]: { content: { [X in C]: infer T } } } } ? T : never;',
      ...lines,
    ].join('\n'),
  );
  const tsc = typecheck('answers.ts');
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  // The check can fail: an answer that does not fit its type is refused.
  await writeFile(
    join(dir, 'wrong.ts'),
    "import type { paths } from './api';\n" +
      "export const w = { items: [{ name: 1 }] } satisfies paths['/v1/profiles']['get']['responses'][200]['content']['application/json'];\n",
  );
  const wrong = typecheck('wrong.ts');
  assert.notEqual(wrong.status, 0);
});
