/**
 * The `profiles` CLI against an API that refuses anonymous callers (static bearer tokens): the token from
 * `--token` or PROFILES_TOKEN is sent, a missing or unknown one is refused with exit status 4 and one line.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Authenticator } from '../services/api/src/auth/authenticate.ts';
import { WritePolicy } from '../services/api/src/auth/policy.ts';
import { StaticTokens } from '../services/api/src/auth/static-tokens.ts';
import { buildCli, runCli } from './harness/cli.ts';
import { startStack, waitFor, type Stack } from './harness/index.ts';

const TOKEN = 'cli-suite-token-0123456789';
let stack: Stack;
let api: string;

before(async () => {
  buildCli();
  stack = await startStack();
  const dir = await stack.tempDir('cli-auth-');
  await writeFile(
    join(dir, 'team.yaml'),
    'apiVersion: weave.works/v1alpha1\nkind: ProfileCatalogSource\nmetadata: {name: team}\nspec:\n  profiles:\n' +
      '    - {name: nginx, tag: nginx/v1.0.0, description: a web server}\n',
  );
  await stack.indexer();
  await stack.watcher(dir);
  api = (
    await stack.api({
      auth: {
        authenticator: new Authenticator({
          anonymous: 'off',
          tokens: new StaticTokens([{ token: TOKEN, user: 'cli', groups: ['team'] }]),
        }),
        defaultAccess: 'authenticated',
        policy: new WritePolicy(),
      },
    })
  ).url;
  await waitFor(
    async () => (await runCli(['search', 'nginx', '--token', TOKEN], { PROFILES_API: api })).code === 0,
    {
      what: 'catalog indexed',
      timeoutMs: 30_000,
    },
  );
});
after(() => stack?.stop());

test('a refused request is one line and exit 4; --token and PROFILES_TOKEN are sent as a bearer token', async () => {
  for (const env of [{}, { PROFILES_TOKEN: 'not-a-token-anyone-knows' }] as Record<string, string>[]) {
    const r = await runCli(['search', 'nginx'], { PROFILES_API: api, ...env });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /^error: .+ \(parameter: Authorization\) \[UNAUTHORIZED\]\n$/);
    assert.equal(r.stdout, '');
  }
  const flag = await runCli(['search', 'nginx', '-o', 'json', '--token', TOKEN], { PROFILES_API: api });
  assert.equal(flag.code, 0, flag.stderr);
  assert.deepEqual(
    JSON.parse(flag.stdout).items.map((h: { name: string }) => h.name),
    ['nginx'],
  );
  const env = await runCli(['show', 'team/nginx'], { PROFILES_API: api, PROFILES_TOKEN: TOKEN });
  assert.equal(env.code, 0, env.stderr);
  assert.match(env.stdout, /^nginx 1\.0\.0 {2}catalog default\/team$/m);
  assert.ok(!env.stdout.includes(TOKEN) && !env.stderr.includes(TOKEN), 'the token is never printed');
});
