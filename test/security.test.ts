/**
 * Security regressions on real servers (Redis, NATS JetStream, git's smart HTTP backend, the installer):
 * credentials stay bound to their repositories and never follow a redirect, addresses are judged after
 * resolution, and no URL's password is echoed. Run alone with `npm run test:security`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { lookup } from 'node:dns/promises';
import { execFileSync } from 'node:child_process';
import { loadConfig, urlPolicyOf } from '@profiles/shared';
import { GitAccess, noSecrets, runGit } from '@profiles/shared/git';
import { startGitHttp, type GitHttpServer } from './harness/git.ts';
import { getJson, startStack, waitFor, type Stack } from './harness/index.ts';
import {
  examplesRepo,
  gitopsRepo,
  gitSync,
  startInstallerStack,
  startPrStandIn,
  type InstallerStack,
} from './harness/installer.ts';
import { providerFor } from '../services/installer/src/pr-providers.ts';

const PASSWORD = 'b0und-Secr3t-9051';

/** An HTTP server of the test's own that records every request's headers and answers `answer`. */
async function recorder(answer: (url: string) => { status: number; headers?: Record<string, string> }) {
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    const a = answer(req.url ?? '');
    res.writeHead(a.status, a.headers).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('security', () => {
  let stack: Stack;
  let ins: InstallerStack;
  let http: GitHttpServer;
  let dir: string;
  let examples: string;
  let secretsDir: string;
  let collector: Awaited<ReturnType<typeof recorder>>;
  let redirector: Awaited<ReturnType<typeof recorder>>;

  before(async () => {
    stack = await startStack();
    dir = await stack.tempDir('security-');
    examples = examplesRepo(dir);
    const root = join(dir, 'private');
    mkdirSync(root);
    gitSync(['clone', '-q', '--bare', examples, join(root, 'examples.git')]);
    gitopsRepo(root, 'target');
    http = await startGitHttp(root, { username: 'deploy', password: PASSWORD });
    collector = await recorder(() => ({ status: 401, headers: { 'www-authenticate': 'Basic realm="x"' } }));
    redirector = await recorder((url) => ({ status: 302, headers: { location: `${collector.url}${url}` } }));
    secretsDir = join(dir, 'secrets');
    mkdirSync(secretsDir);
    const secret = (name: string, repositories: string) =>
      `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: default}\n` +
      `stringData: {username: deploy, password: ${PASSWORD}, repositories: "${repositories}"}\n`;
    writeFileSync(join(secretsDir, 'bound.yaml'), secret('bound', `${http.url}/`));
    writeFileSync(join(secretsDir, 'redirecting.yaml'), secret('redirecting', `${redirector.url}/`));
    ins = await startInstallerStack(stack, examples, 1, { secretsDir });
  });
  after(async () => {
    await ins?.close();
    await http?.close();
    await collector?.close();
    await redirector?.close();
    await stack?.stop();
  });

  const install = async (profileUrl: string, secretName?: string) => {
    const r = await getJson(`${ins.api}/v1/installations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'sec',
        namespace: 'default',
        profile: {
          url: profileUrl,
          tag: 'bitnami-nginx/v0.0.2',
          ...(secretName ? { secretRef: { name: secretName } } : {}),
        },
        target: { url: `file://${join(dir, 'private', 'target.git')}`, branch: 'main' },
      }),
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return waitFor(
      async () => {
        const s = await getJson(`${ins.api}/v1/installations/${r.body.id}`);
        return ['committed', 'failed'].includes(s.body.status) ? s.body : undefined;
      },
      { timeoutMs: 60_000, what: 'installation to finish' },
    );
  };
  const authorizationSent = () => collector.seen.some((s) => s.headers.authorization !== undefined);

  test('a secret is used only for the repositories it lists; a wrong name and an unbound secret answer alike', async () => {
    const ok = await install(`${http.url}/examples.git`, 'bound');
    assert.equal(ok.status, 'committed', JSON.stringify(ok));
    const unbound = await install(`${collector.url}/examples.git`, 'bound');
    assert.equal(unbound.status, 'failed');
    assert.equal(authorizationSent(), false, 'the credentials never reached another host');
    const missing = await install(`${collector.url}/examples.git`, 'does-not-exist');
    assert.equal(missing.status, 'failed');
    assert.equal(
      String(missing.reason).replace('does-not-exist', 'NAME'),
      String(unbound.reason).replace('bound', 'NAME'),
      'the answers do not tell which secrets exist',
    );
    assert.doesNotMatch(String(missing.reason), /not found/);
  });

  test('git never forwards credentials across a redirect to another origin', async () => {
    collector.seen.length = 0;
    const doc = await install(`${redirector.url}/examples.git`, 'redirecting');
    assert.equal(doc.status, 'failed');
    assert.ok(
      redirector.seen.some((s) => s.headers.authorization),
      'the bound server got the credentials',
    );
    assert.equal(authorizationSent(), false, 'the redirect target got none');
    for (const shown of [doc]) assert.doesNotMatch(JSON.stringify(shown), new RegExp(PASSWORD));
  });

  test('a password written in a URL is never echoed in the installation', async () => {
    const doc = await install(`http://deploy:${PASSWORD}@127.0.0.1:1/examples.git`);
    assert.equal(doc.status, 'failed');
    assert.doesNotMatch(JSON.stringify(doc), new RegExp(PASSWORD));
  });

  test('addresses are judged after resolution, by range; refused reads like unreachable; loopback only by configuration', async () => {
    // On GCE this name resolves to the metadata server; here the test says so. Everything else: the system's DNS.
    const resolve = async (h: string) =>
      h === 'metadata.google.internal'
        ? ['169.254.169.254']
        : (await lookup(h, { all: true })).map((a) => a.address);
    const access = (policy: { allowLoopback?: boolean; allowHosts?: string[] } = {}) =>
      new GitAccess({
        secrets: noSecrets,
        policy: { allowFile: false, denyHosts: [], ...policy },
        code: 'BAD_REQUEST',
        resolve,
      });
    const refused = async (url: string, a = access()) => {
      const err = await a.reach(url).then(
        () => undefined,
        (e: Error) => e,
      );
      assert.ok(err, `${url} must be refused`);
      assert.match(err.message, /is unreachable: could not connect to the server$/, url);
      return err.message.replace(/^repository \S+ /, '');
    };
    const redis = new URL(stack.redis.url);
    const forms = [
      'http://[::ffff:169.254.169.254]/latest/meta-data',
      'http://metadata.google.internal./computeMetadata/v1',
      'http://[fd00:ec2::254]/latest',
      'http://100.100.100.200/latest/meta-data',
      'http://169.254.169.254/latest',
      'http://2852039166/latest',
      'http://0.0.0.0/',
      `http://127.0.0.1:${redis.port}/x.git`,
      `http://localhost:${redis.port}/x.git`,
      'ssh://git@[::1]/x.git',
    ];
    const messages = new Set<string>();
    for (const url of forms) messages.add(await refused(url));
    assert.equal(messages.size, 1, 'one answer for every refusal');
    // The default deny list names the metadata host however it is written.
    const byName = new GitAccess({
      secrets: noSecrets,
      policy: urlPolicyOf(loadConfig({})),
      code: 'BAD_REQUEST',
    });
    assert.throws(() => byName.check('http://METADATA.google.internal./x'), /deny list/);
    // A closed port on an allowed address gets the same words from git.
    const closedUrl = 'http://127.0.0.1:1/x.git';
    const creds = await access({ allowLoopback: true }).open(closedUrl, undefined);
    const closed = await runGit(['ls-remote', '--', closedUrl], { env: creds.env }).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.match(String(closed?.message), /could not connect to the server$/);
    // Allowlist mode: only the hosts named.
    const listed = access({ allowHosts: ['127.0.0.1'], allowLoopback: true });
    assert.ok(Array.isArray(await listed.reach(`${http.url}/examples.git`)));
    await refused('https://github.com/weaveworks/profiles-examples', listed);
  });

  test('ssh and pull-request calls connect to the address judged, never to a second DNS answer', async () => {
    // Names the system cannot resolve: only the policy's own answers can take a connection anywhere.
    const answers: Record<string, string[][]> = {};
    const resolve = async (h: string) => (answers[h] ?? [[]]).shift() ?? [];
    const access = (allowLoopback: boolean) =>
      new GitAccess({
        secrets: noSecrets,
        policy: { allowFile: false, denyHosts: [], allowLoopback },
        code: 'BAD_REQUEST',
        resolve,
      });
    // ssh: told the judged address (it would resolve the name itself otherwise), host key checked by name.
    answers['git.test'] = [['127.0.0.1']];
    const creds = await access(true).open('ssh://git@git.test:2222/x.git', undefined);
    const ssh = execFileSync('sh', ['-c', `${creds.env.extra!.GIT_SSH_COMMAND} -G -p 2222 git@git.test`], {
      encoding: 'utf8',
    });
    await creds.cleanup();
    assert.match(ssh, /^hostname 127\.0\.0\.1$/m, 'ssh connects to the judged address');
    assert.match(ssh, /^hostkeyalias \[git\.test\]:2222$/m, 'and checks the host key under the URL name');
    // Pull-request API: each connection's own lookup is judged.
    const pr = await startPrStandIn();
    try {
      const port = new URL(pr.url).port;
      const target = { provider: 'github' as const, apiUrl: `http://pr.test:${port}`, repository: 'o/r' };
      const input = { head: 'h', base: 'main', title: 't', body: 'b' };
      answers['pr.test'] = [['127.0.0.1'], ['127.0.0.1'], ['127.0.0.1']];
      const allowed = access(true);
      await allowed.reach(target.apiUrl, 'pull-request API', ['http', 'https']);
      await providerFor(target, 'tok', allowed.lookup()).ensure(input);
      assert.equal(pr.created.length, 1, 'reached through the judged address');
      // Rebinding: a public address when checked, loopback when connecting: refused at connect time.
      answers['pr.test'] = [['93.184.216.34'], ['127.0.0.1'], ['127.0.0.1']];
      const strict = access(false);
      await strict.reach(target.apiUrl, 'pull-request API', ['http', 'https']);
      await assert.rejects(
        providerFor(target, 'tok', strict.lookup()).ensure({ ...input, head: 'h2' }),
        /could not connect to the server/,
      );
      assert.equal(pr.created.length, 1, 'nothing reached the loopback server');
    } finally {
      await pr.close();
    }
  });
});
