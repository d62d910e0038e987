/**
 * `profiles install`'s delivery options end to end: the bundled bin in a child process against the real API
 * and installer (redis-server, nats-server, bare git repositories) and the local stand-in of the GitHub, GitLab
 * and Gitea pull-request APIs the installer suite uses: --pull-request, --idempotency-key and --no-wait.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCli, runCli } from './harness/cli.ts';
import { startStack, type Stack } from './harness/index.ts';
import {
  examplesRepo,
  gitopsRepo,
  gitSync,
  startInstallerStack,
  startPrStandIn,
  type InstallerStack,
  type PrStandIn,
} from './harness/installer.ts';

describe('profiles install: pull requests, idempotency keys, --no-wait', () => {
  let stack: Stack;
  let ins: InstallerStack;
  let standIn: PrStandIn;
  let dir: string;
  let profile: string[];
  const cli = (...args: string[]) => runCli(args, { PROFILES_API: ins.api });
  const commits = (repo: string, ref = 'main') => Number(gitSync(['rev-list', '--count', ref], repo).trim());

  before(async () => {
    buildCli();
    stack = await startStack();
    dir = await stack.tempDir('cli-install-');
    const examples = examplesRepo(dir);
    ins = await startInstallerStack(stack, examples);
    standIn = await startPrStandIn();
    profile = ['--profile-url', `file://${examples}`, '--profile-tag', 'bitnami-nginx/v0.0.2'];
  });
  after(async () => {
    await standIn?.close();
    await ins?.close();
    await stack?.stop();
  });

  for (const [provider, apiPath] of [
    ['github', ''],
    ['gitlab', '/api/v4'],
    ['gitea', '/api/v1'],
  ] as const) {
    test(`--pull-request (${provider}): one pull request from a pushed branch, the target branch untouched`, async () => {
      const target = gitopsRepo(dir, `pr-${provider}`);
      const head = gitSync(['rev-parse', 'main'], target).trim();
      const r = await cli(
        'install',
        ...profile,
        ...['--repo', `file://${target}`, '--path', 'clusters/dev', '--name', `web-${provider}`],
        ...['--pull-request', '--pr-provider', provider, '--pr-api-url', `${standIn.url}${apiPath}`],
        ...['--pr-repository', 'acme/gitops'],
      );
      assert.equal(r.code, 0, r.stderr);
      const mine = standIn.created.filter((p) => p.provider === provider);
      assert.equal(mine.length, 1, 'exactly one pull request');
      const pr = mine[0]!;
      assert.equal(pr.base, 'main');
      assert.equal(pr.repo, 'acme/gitops');
      const url = provider === 'gitlab' ? `http://mr/${pr.number}` : `http://pr/${pr.number}`;
      assert.match(
        r.stdout,
        new RegExp(`^✔ bitnami-nginx 0\\.0\\.2: pull request ${url} \\(branch ${pr.head}\\)$`, 'm'),
      );
      assert.equal(gitSync(['rev-parse', 'main'], target).trim(), head, 'main is untouched');
      assert.equal(commits(target, pr.head), 2, 'the branch holds the one installation commit');
      assert.match(
        gitSync(['ls-tree', '-r', '--name-only', pr.head], target),
        new RegExp(`^clusters/dev/web-${provider}/profile-installation\\.yaml$`, 'm'),
      );
    });
  }

  test('--pull-request without the provider repository is refused before any request', async () => {
    const target = gitopsRepo(dir, 'pr-usage');
    const before = standIn.created.length;
    const r = await cli('install', ...profile, '--repo', `file://${target}`, '--pull-request');
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'error: --pull-request needs --pr-repository\n');
    assert.equal(standIn.created.length, before);
    assert.equal(commits(target), 1);
  });

  test('--idempotency-key: the same request twice is one installation and one commit; another body is refused', async () => {
    const target = gitopsRepo(dir, 'idempotent');
    const args = ['install', ...profile, '--repo', `file://${target}`, '-o', 'json'];
    const key = `cli-suite-${Date.now()}`;
    const first = await cli(...args, '--idempotency-key', key);
    assert.equal(first.code, 0, first.stderr);
    const a = JSON.parse(first.stdout);
    assert.equal(a.status, 'committed');
    const again = await cli(...args, '--idempotency-key', key);
    assert.equal(again.code, 0, again.stderr);
    const b = JSON.parse(again.stdout);
    assert.equal(b.id, a.id, 'the same installation');
    assert.equal(b.commit, a.commit);
    assert.equal(commits(target), 2, 'one commit on top of the seed');

    const other = await cli(...args, '--name', 'another-name', '--idempotency-key', key);
    assert.equal(other.code, 2, other.stderr);
    assert.equal(
      other.stderr,
      `error: Idempotency-Key ${JSON.stringify(key)} was used for a different request (installation ${a.id}) ` +
        '(parameter: Idempotency-Key) [IDEMPOTENCY_KEY_REUSED]\n',
    );
    assert.equal(other.stdout, '');
    assert.equal(commits(target), 2, 'nothing more committed');

    const fresh = await cli(...args, '--name', 'another-name', '--idempotency-key', `${key}-2`);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.notEqual(JSON.parse(fresh.stdout).id, a.id, 'another key is another installation');
  });

  test('--no-wait prints the id at once and exits 0; the installation goes on to its commit', async () => {
    const target = gitopsRepo(dir, 'no-wait');
    const r = await cli('install', ...profile, '--repo', `file://${target}`, '--no-wait');
    assert.equal(r.code, 0, r.stderr);
    const m = /^(\S+) queued; follow it with: profiles status (\S+) --watch\n$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.equal(m[2], m[1]);
    assert.equal(r.stderr, '', 'no progress: it did not follow');

    const watched = await cli('status', m[1]!, '--watch', '-o', 'json');
    assert.equal(watched.code, 0, watched.stderr);
    const doc = JSON.parse(watched.stdout);
    assert.equal(doc.id, m[1]);
    assert.equal(doc.status, 'committed');
    assert.ok(
      gitSync(['log', '--format=%H', 'main'], target).split('\n').includes(doc.commit),
      'its commit is on main',
    );
    assert.equal(commits(target), 2, 'one commit');
    const noWaitJson = await cli(
      'install',
      ...profile,
      ...['--repo', `file://${target}`, '--name', 'third', '--no-wait', '-o', 'json'],
    );
    assert.equal(noWaitJson.code, 0, noWaitJson.stderr);
    const accepted = JSON.parse(noWaitJson.stdout);
    assert.deepEqual(Object.keys(accepted).sort(), ['id', 'status'], "the API's 202 answer");
    const third = await cli('status', accepted.id, '--watch');
    assert.equal(third.code, 0, third.stderr);
    assert.equal(commits(target), 3, 'two installations, one commit each');
  });
});
