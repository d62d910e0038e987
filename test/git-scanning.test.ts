/**
 * Repository scanning on real git: the profiles-examples fixture served over file:// and git's smart HTTP
 * backend, incremental rescans, triggers (webhook, poll, manual), private repositories and bad input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { catalogKeys } from '@profiles/shared';
import { createLogger } from '@profiles/shared/runtime';
import { getJson, startStack, waitFor, type Stack } from './harness/index.ts';
import {
  commitFile,
  fixtureRepo,
  profileYaml,
  sh,
  startGitHttp,
  startGitSsh,
  workClone,
  type GitHttpServer,
  type GitSshServer,
} from './harness/git.ts';
import { redisWritesByCommand } from './harness/redis-stats.ts';
import { gitStats } from '@profiles/shared/git';

const SECRET = 'webhook-secret';

function repoSource(name: string, repos: { url: string; secretRef?: string; interval?: string }[]): string {
  const lines = [
    'apiVersion: weave.works/v1alpha1',
    'kind: ProfileCatalogSource',
    `metadata: {name: ${name}}`,
    'spec:',
    '  repositories:',
  ];
  for (const r of repos) {
    lines.push(`    - url: ${r.url}`);
    if (r.secretRef) lines.push(`      secretRef: {name: ${r.secretRef}}`);
    if (r.interval) lines.push(`      interval: ${r.interval}`);
  }
  return lines.join('\n') + '\n';
}

describe('git repository scanning', () => {
  let stack: Stack;
  let api: string;
  let dir: string;
  let root: string;
  let fixture: string;
  let http: GitHttpServer;
  let httpPrivate: GitHttpServer;
  let ssh: GitSshServer;
  const logLines: string[] = [];

  const status = async (name: string) =>
    JSON.parse((await stack.client.hget(`${stack.prefix}source:default/${name}`, 'status')) ?? 'null');
  const versions = async (catalog: string, profile: string): Promise<string[]> => {
    const r = await getJson(`${api}/v1/profiles?name=${profile}`);
    return (r.body.items ?? [])
      .filter((i: any) => i.catalogSource === catalog && i.name === profile)
      .map((i: any) => i.version);
  };

  before(async () => {
    stack = await startStack();
    root = await stack.tempDir('repos-');
    dir = await stack.tempDir('sources-');
    fixture = await fixtureRepo(root);
    const secrets = await stack.tempDir('secrets-');
    await mkdir(join(root, 'private'));
    await fixtureRepo(join(root, 'private'), 'team.git');
    ssh = await startGitSsh();
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    await writeFile(
      join(secrets, 'ssh.yaml'),
      'apiVersion: v1\nkind: Secret\nmetadata: {name: ssh-creds, namespace: default}\n' +
        `data: {identity: ${b64(ssh.identity)}, known_hosts: ${b64(ssh.knownHosts)}, ` +
        `repositories: ${b64(ssh.url)}}\n`,
    );
    http = await startGitHttp(root);
    httpPrivate = await startGitHttp(join(root, 'private'), { username: 'alice', password: 'pa55-w0rd-xyz' });
    // Each secret is bound to the server it is for (its `repositories` key).
    await writeFile(
      join(secrets, 'creds.yaml'),
      'apiVersion: v1\nkind: Secret\nmetadata: {name: git-creds, namespace: default}\n' +
        `stringData: {username: alice, password: pa55-w0rd-xyz, repositories: "${httpPrivate.url}/"}\n`,
    );
    // The indexer logs at debug into logLines, to check that no credential is ever logged.
    const sink = new Writable({ write: (c, _e, cb) => (logLines.push(String(c)), cb()) });
    await stack.indexer('indexer', {
      secretsDir: secrets,
      pollTickMs: 100,
      log: createLogger('indexer', { level: 'debug', destination: sink }),
    });
    await stack.watcher(dir);
    api = (await stack.api({ webhookSecret: SECRET })).url;
  });
  after(async () => {
    await http?.close();
    await httpPrivate?.close();
    await ssh?.close();
    await stack.stop();
  });

  test('all seven tags of the fixture are indexed over file:// with names, versions and artifacts', async () => {
    await writeFile(join(dir, 'file.yaml'), repoSource('examples-file', [{ url: `file://${fixture}` }]));
    await waitFor(async () => (await status('examples-file'))?.versions === 7, {
      what: 'seven versions',
      timeoutMs: 30_000,
    });
    const st = await status('examples-file');
    assert.equal(st.ready, true, st.message);
    assert.deepEqual(st.scannedRepositories[0].tags, [
      'bitnami-nginx/v0.0.1',
      'bitnami-nginx/v0.0.2',
      'nested-nginx-1/v0.0.1',
      'nested-nginx-2/v0.0.1',
      'nested-nginx/v0.0.1',
      'weaveworks-nginx/v0.1.0',
      'weaveworks-nginx/v0.1.1',
    ]);
    assert.deepEqual(await versions('examples-file', 'weaveworks-nginx'), ['0.1.1', '0.1.0']);
    assert.deepEqual(await versions('examples-file', 'bitnami-nginx'), ['0.0.2', '0.0.1']);
    const item = (await getJson(`${api}/v1/profiles/examples-file/weaveworks-nginx/v0.1.1`)).body.item;
    assert.equal(item.description, 'Profile for deploying nginx');
    assert.equal(item.maintainer, 'weaveworks');
    assert.match(item.revision, /^[0-9a-f]{40}$/);
    assert.deepEqual(
      item.artifacts.map((a: any) => `${a.name}:${a.kind}`),
      ['nested-profile:profile', 'nginx-deployment:kustomize', 'nginx-chart:chart', 'dependon-chart:chart'],
    );
    assert.deepEqual(item.artifacts[0].profile.source, {
      url: 'https://github.com/weaveworks/profiles-examples',
      tag: 'bitnami-nginx/v0.0.2',
    });
    assert.deepEqual(item.artifacts[2].chart, {
      url: 'https://charts.bitnami.com/bitnami',
      name: 'nginx',
      version: '9.3.0',
      defaultValues: 'service:\n  type: ClusterIP\n',
    });
    assert.deepEqual(item.artifacts[3].dependsOn, ['nginx-deployment', 'nginx-chart', 'nested-profile']);
    const updates = await getJson(
      `${api}/v1/profiles/examples-file/weaveworks-nginx/0.1.0/available_updates`,
    );
    assert.deepEqual(
      updates.body.items.map((i: any) => i.version),
      ['0.1.1'],
    );
  });

  test('the same repository over git smart HTTP indexes the same seven versions', async () => {
    await writeFile(
      join(dir, 'http.yaml'),
      repoSource('examples-http', [{ url: `${http.url}/profiles-examples.git` }]),
    );
    await waitFor(async () => (await status('examples-http'))?.versions === 7, {
      what: 'seven versions over http',
      timeoutMs: 30_000,
    });
    const a = (await getJson(`${api}/v1/profiles/examples-http/nested-nginx/v0.0.1`)).body.item;
    const b = (await getJson(`${api}/v1/profiles/examples-file/nested-nginx/v0.0.1`)).body.item;
    assert.deepEqual(a.artifacts, b.artifacts);
    assert.ok(a.artifacts.length > 0);
    assert.equal(a.revision, b.revision);
  });

  test('a pushed tag is visible after the webhook; a no-change rescan runs one ls-remote and writes nothing', async () => {
    const work = await workClone(fixture, root);
    await sh(work, 'checkout', '--quiet', 'weaveworks-nginx/v0.1.1');
    await sh(work, 'checkout', '--quiet', '-b', 'release');
    await commitFile(work, 'weaveworks-nginx/profile.yaml', profileYaml('weaveworks-nginx', 'nginx, newer'));
    await sh(work, 'tag', 'weaveworks-nginx/v0.2.0');
    await sh(work, 'push', '--quiet', 'origin', 'weaveworks-nginx/v0.2.0');
    const body = JSON.stringify({
      ref: 'refs/tags/weaveworks-nginx/v0.2.0',
      repository: { clone_url: `file://${fixture}` },
    });
    const sig = 'sha256=' + createHmac('sha256', SECRET).update(body).digest('hex');
    const bad = await fetch(`${api}/v1/webhooks/git`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-hub-signature-256': 'sha256=00',
      },
      body,
    });
    assert.equal(bad.status, 401, 'a wrong signature is refused');
    const res = await fetch(`${api}/v1/webhooks/git`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': sig },
      body,
    });
    assert.equal(res.status, 202);
    assert.deepEqual(((await res.json()) as { refreshing: string[] }).refreshing, ['default/examples-file']);
    await waitFor(async () => (await versions('examples-file', 'weaveworks-nginx'))[0] === '0.2.0', {
      what: 'new tag visible',
    });
    assert.equal(
      (await getJson(`${api}/v1/profiles/examples-file/weaveworks-nginx`)).body.item.description,
      'nginx, newer',
    );

    // No change: one ls-remote, no other git call, zero Redis writes. First let the last change settle: its
    // catalog events leave the Redis outbox (LTRIM) once NATS has them, and the drain then gives its lease
    // back (PEXPIRE, DEL): writes of that change, not of the rescan.
    const keys = catalogKeys(stack.prefix);
    await waitFor(
      async () =>
        (await stack.client.llen(keys.outboxEntries())) === 0 &&
        (await stack.client.exists(keys.outboxLock())) === 0,
      { what: 'outbox drained and its lease given back' },
    );
    // One snapshot each before and after: two reads in a row could disagree about a write between them.
    const byCommandBefore = await redisWritesByCommand(stack.client);
    const total = (by: Record<string, number>) => Object.values(by).reduce((a, b) => a + b, 0);
    const spawnsBefore = gitStats.spawns;
    const lsBefore = gitStats.byCommand.get('ls-remote') ?? 0;
    const refreshed = await fetch(`${api}/v1/sources/default/examples-file/refresh`, { method: 'POST' });
    assert.equal(refreshed.status, 202);
    await waitFor(() => (gitStats.byCommand.get('ls-remote') ?? 0) > lsBefore, { what: 'rescan ran' });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(gitStats.spawns - spawnsBefore, 1, 'exactly one git process: ls-remote');
    const byCommandAfter = await redisWritesByCommand(stack.client);
    assert.equal(
      total(byCommandAfter) - total(byCommandBefore),
      0,
      `no Redis write; seen: ${JSON.stringify(
        Object.entries(byCommandAfter).filter(([c, n]) => n !== (byCommandBefore[c] ?? 0)),
      )}`,
    );
  });

  test('moved and deleted tags: re-indexed and removed', async () => {
    const work = await workClone(fixture, root);
    await sh(work, 'checkout', '--quiet', 'bitnami-nginx/v0.0.1');
    await sh(work, 'checkout', '--quiet', '-b', 'move');
    const sha = await commitFile(
      work,
      'bitnami-nginx/profile.yaml',
      profileYaml('bitnami-nginx', 'moved tag'),
    );
    await sh(work, 'tag', '-f', 'bitnami-nginx/v0.0.1');
    await sh(work, 'push', '--quiet', '-f', 'origin', 'bitnami-nginx/v0.0.1');
    await sh(work, 'push', '--quiet', 'origin', ':refs/tags/nested-nginx-2/v0.0.1');
    await fetch(`${api}/v1/sources/default/examples-file/refresh`, { method: 'POST' });
    await waitFor(
      async () =>
        (await getJson(`${api}/v1/profiles/examples-file/bitnami-nginx/0.0.1`)).body.item?.revision === sha,
      { what: 'moved tag re-indexed' },
    );
    assert.equal(
      (await getJson(`${api}/v1/profiles/examples-file/bitnami-nginx/0.0.1`)).body.item.description,
      'moved tag',
    );
    await waitFor(
      async () => (await getJson(`${api}/v1/profiles/examples-file/nested-nginx-2`)).status === 404,
      { what: 'deleted tag removed' },
    );
  });

  test('a new tag appears within one poll interval without any webhook', async () => {
    const { dir: pollRoot } = { dir: await stack.tempDir('poll-') };
    const bare = await fixtureRepo(pollRoot, 'poll.git');
    await writeFile(
      join(dir, 'poll.yaml'),
      repoSource('polled', [{ url: `file://${bare}`, interval: '1s' }]),
    );
    await waitFor(async () => (await status('polled'))?.versions === 7, {
      what: 'polled source indexed',
      timeoutMs: 30_000,
    });
    const work = await workClone(bare, pollRoot);
    await commitFile(work, 'polled/profile.yaml', profileYaml('polled-profile'));
    await sh(work, 'tag', 'polled/v1.0.0');
    await sh(work, 'push', '--quiet', 'origin', 'polled/v1.0.0');
    await waitFor(async () => (await getJson(`${api}/v1/profiles/polled/polled-profile`)).status === 200, {
      what: 'polled tag visible',
      timeoutMs: 15_000,
    });
  });

  test('an invalid profile.yaml at one tag is reported with tag and reason; the other tags index', async () => {
    const bare = await fixtureRepo(root, 'broken.git');
    const work = await workClone(bare, root);
    await commitFile(
      work,
      'broken/profile.yaml',
      'apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata: {name: broken}\nspec:\n  artifacts:\n    - name: x\n      kustomize: {path: ../../etc}\n',
    );
    await sh(work, 'tag', 'broken/v1.0.0');
    await sh(work, 'tag', 'nofile/v1.0.0');
    await sh(work, 'push', '--quiet', 'origin', 'broken/v1.0.0', 'nofile/v1.0.0');
    await writeFile(join(dir, 'broken.yaml'), repoSource('broken-src', [{ url: `file://${bare}` }]));
    await waitFor(async () => (await status('broken-src'))?.versions === 7, {
      what: 'valid tags indexed',
      timeoutMs: 30_000,
    });
    const st = await status('broken-src');
    assert.equal(st.ready, false);
    const errs = st.scannedRepositories[0].tagErrors;
    assert.deepEqual(
      errs.map((e: any) => e.tag),
      ['broken/v1.0.0', 'nofile/v1.0.0'],
    );
    assert.match(errs[0].reason, /escapes the profile/);
    assert.match(errs[1].reason, /nofile\/profile\.yaml not found/);
    assert.match(st.message, /broken\/v1\.0\.0/);
  });

  test('an unreachable repository keeps serving its last good versions and reports the failure', async () => {
    const bare = await fixtureRepo(root, 'vanishing.git');
    await writeFile(join(dir, 'vanishing.yaml'), repoSource('vanishing', [{ url: `file://${bare}` }]));
    await waitFor(async () => (await status('vanishing'))?.versions === 7, {
      what: 'indexed',
      timeoutMs: 30_000,
    });
    await rename(bare, bare + '.gone');
    await fetch(`${api}/v1/sources/default/vanishing/refresh`, { method: 'POST' });
    await waitFor(async () => (await status('vanishing'))?.ready === false, { what: 'failure reported' });
    const st = await status('vanishing');
    assert.match(st.scannedRepositories[0].error, /ls-remote failed/);
    assert.equal(st.versions, 7, 'last good versions still counted');
    assert.deepEqual(await versions('vanishing', 'weaveworks-nginx'), ['0.1.1', '0.1.0']);
    await rename(bare + '.gone', bare);
    await fetch(`${api}/v1/sources/default/vanishing/refresh`, { method: 'POST' });
    await waitFor(async () => (await status('vanishing'))?.ready === true, { what: 'recovered' });
  });

  test('a private repository over HTTP indexes with its secret, fails clearly without it, and never leaks it', async () => {
    const url = `${httpPrivate.url}/team.git`;
    await writeFile(join(dir, 'private.yaml'), repoSource('private-ok', [{ url, secretRef: 'git-creds' }]));
    await writeFile(join(dir, 'private-nosecret.yaml'), repoSource('private-none', [{ url }]));
    await writeFile(
      join(dir, 'private-missing.yaml'),
      repoSource('private-missing', [{ url, secretRef: 'nope' }]),
    );
    await waitFor(async () => (await status('private-ok'))?.versions === 7, {
      what: 'private indexed',
      timeoutMs: 30_000,
    });
    await waitFor(async () => (await status('private-none'))?.reason, { what: 'no-secret status' });
    await waitFor(async () => (await status('private-missing'))?.reason, { what: 'missing-secret status' });
    const none = await status('private-none');
    assert.equal(none.ready, false);
    assert.match(none.scannedRepositories[0].error, /Authentication failed|could not read Username|401/i);
    const missing = await status('private-missing');
    // A missing secret reads like one not bound to the repository: nothing tells which secrets exist.
    assert.match(
      missing.scannedRepositories[0].error,
      /secret default\/nope \(secretRef\) is not available for/,
    );
    // The password appears nowhere the user or an operator looks.
    const dump = JSON.stringify(await stack.client.hgetall(`${stack.prefix}source:default/private-ok`));
    const events = JSON.stringify((await getJson(`${api}/v1/profiles?name=`)).body);
    assert.ok(
      logLines.some((l) => l.includes('private-none')),
      'the indexer logs were captured',
    );
    for (const text of [dump, events, logLines.join('')]) assert.ok(!text.includes('pa55-w0rd-xyz'));
  });

  test('a private repository over ssh indexes with a key and known_hosts from its secret; without them it fails clearly', async () => {
    const url = `${ssh.url}${join(root, 'private', 'team.git')}`;
    await writeFile(join(dir, 'ssh.yaml'), repoSource('ssh-ok', [{ url, secretRef: 'ssh-creds' }]));
    await writeFile(join(dir, 'ssh-nosecret.yaml'), repoSource('ssh-none', [{ url }]));
    await waitFor(async () => (await status('ssh-ok'))?.versions === 7, {
      what: 'indexed over ssh',
      timeoutMs: 30_000,
    });
    await waitFor(async () => (await status('ssh-none'))?.reason, { what: 'no-secret ssh status' });
    const none = await status('ssh-none');
    assert.equal(none.ready, false);
    assert.match(none.scannedRepositories[0].error, /Host key verification failed|Permission denied/);
    const dump = JSON.stringify(await stack.client.hgetall(`${stack.prefix}source:default/ssh-ok`));
    for (const text of [dump, logLines.join('')]) assert.ok(!text.includes('PRIVATE KEY'));
  });

  test('forbidden URLs are refused with a clear error', async () => {
    await writeFile(
      join(dir, 'evil.yaml'),
      repoSource('evil', [
        { url: 'http://169.254.169.254/latest/meta-data' },
        { url: 'ftp://example.com/repo' },
      ]),
    );
    await waitFor(async () => (await status('evil'))?.scannedRepositories?.length === 2, {
      what: 'evil status',
    });
    const st = await status('evil');
    assert.equal(st.ready, false);
    assert.match(st.scannedRepositories[0].error, /refused: host 169\.254\.169\.254 is on the deny list/);
    assert.match(st.scannedRepositories[1].error, /refused: scheme ftp/);
  });
});
