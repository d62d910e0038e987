import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitAccess, noSecrets } from '@profiles/shared/git';
import { ProfileRepos } from './profile-repos.ts';
import { openWorkDir } from './work-dir.ts';

test('temporary work folders: removed on stop, orphans of dead processes removed on start', async () => {
  const root = await mkdtemp(join(tmpdir(), 'work-dir-test-'));
  try {
    const dead = spawnSync('true').pid!; // a pid that has exited
    await mkdir(join(root, 'profiles-installer-dead'));
    await writeFile(join(root, 'profiles-installer-dead', 'owner.pid'), String(dead));
    await mkdir(join(root, 'profiles-installer-live'));
    await writeFile(join(root, 'profiles-installer-live', 'owner.pid'), String(process.pid));
    await mkdir(join(root, 'unrelated'));
    const work = await openWorkDir(undefined, root);
    assert.deepEqual(
      (await readdir(root)).sort(),
      ['profiles-installer-live', work.dir.slice(root.length + 1), 'unrelated'].sort(),
    );
    await work.close();
    assert.deepEqual((await readdir(root)).sort(), ['profiles-installer-live', 'unrelated']);
    const configured = await openWorkDir(join(root, 'unrelated'), root);
    await configured.close();
    assert.ok((await readdir(root)).includes('unrelated'), 'a configured folder is kept');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a profile repository URL that fails leaves no cache folder behind', async () => {
  const cache = await mkdtemp(join(tmpdir(), 'profile-cache-test-'));
  try {
    const repos = new ProfileRepos(
      cache,
      new GitAccess({
        secrets: noSecrets,
        policy: { allowFile: true, denyHosts: [] },
        base: { config: [] },
        code: 'BAD_REQUEST',
      }),
    );
    for (let i = 0; i < 3; i++)
      await assert.rejects(repos.resolve(`file:///nonexistent/repo-${i}.git`, { tag: 'v1.0.0' }));
    assert.deepEqual(await readdir(cache), []);
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});
