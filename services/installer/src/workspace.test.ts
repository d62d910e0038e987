import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyGitEnv, runGit as git } from '@profiles/shared/git';
import { applyAndCommit, headOf } from './target-commits.ts';
import { openWorkspace } from './workspace.ts';

const files = (entries: Record<string, string>) =>
  new Map(Object.entries(entries).map(([k, v]) => [k, Buffer.from(v)]));

test('workspace listing: follows the jobs committed on it exactly as git lists them; commit ids are full', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'workspace-test-'));
  const env = emptyGitEnv;
  try {
    await git(['init', '-q', '-b', 'main', dir], { env });
    const ws = openWorkspace(dir, env);
    const first = await applyAndCommit(
      ws,
      env,
      {
        dir: 'apps/a',
        files: files({ 'apps/a/profile-installation.yaml': 'kind: X\n', 'apps/a/b.yaml': 'b' }),
      },
      'first',
    );
    assert.equal(first.commit, await headOf(dir, env));
    assert.deepEqual(await ws.tracked('**/a/profile-installation.yaml'), [
      'apps/a/profile-installation.yaml',
    ]);
    // The listing is cached now; the next commits update it without git and must agree with git's own.
    await applyAndCommit(
      ws,
      env,
      {
        dir: 'apps/a',
        files: files({ 'apps/a/profile-installation.yaml': 'kind: Y\n', 'apps/a/c.yml': 'c' }),
      },
      'second',
    );
    // Asked before the next commit: the cached listing's answers must follow that commit too.
    assert.deepEqual([...(await ws.blobs('**/*.yaml')).keys()], ['apps/a/profile-installation.yaml']);
    (await ws.blobs('**/*.yaml')).clear(); // the caller's own map: the workspace's listing is untouched
    const third = await applyAndCommit(
      ws,
      env,
      { dir: 'deep/x/y', files: files({ 'deep/x/y/z.yaml': 'z' }) },
      'third',
    );
    assert.match(third.commit ?? '', /^[0-9a-f]{40}$/);
    assert.equal(third.commit, await headOf(dir, env));
    const fromCache = await ws.blobs('**/*.yaml');
    ws.forget();
    assert.deepEqual([...fromCache], [...(await ws.blobs('**/*.yaml'))]);
    assert.deepEqual([...fromCache.keys()], ['apps/a/profile-installation.yaml', 'deep/x/y/z.yaml']);
    assert.deepEqual(await ws.tracked('**/y/z.yaml'), ['deep/x/y/z.yaml']);
    assert.deepEqual(await ws.tracked('*.yaml'), [], 'a single star stays within one folder');
    // The same change again commits nothing and says so.
    const again = await applyAndCommit(
      ws,
      env,
      { dir: 'deep/x/y', files: files({ 'deep/x/y/z.yaml': 'z' }) },
      'again',
    );
    assert.equal(again.commit, undefined);
    assert.equal(await headOf(dir, env), third.commit);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
