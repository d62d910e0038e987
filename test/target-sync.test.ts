/**
 * A replica that gains a partition must not trust what it knew of the partition's repositories: another replica
 * may have pushed to them since this one last did (a hand-over, a crash). TargetRepos keeps the checkouts whose
 * last push succeeded as current (their next batch skips the fetch); `forgetSync`, called as a partition is
 * gained, makes the next batch fetch first, so a hand-over costs no rejected push. Real git over file://.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GitAccess, noSecrets } from '@profiles/shared/git';
import { TargetRepos } from '../services/installer/src/target-repo.ts';
import type { Prepare } from '../services/installer/src/workspace.ts';
import { commitFile, sh, tempRoot, workClone } from './harness/git.ts';
import { testLogger } from './harness/index.ts';

let root: { dir: string; remove: () => Promise<void> };
let bare: string;
let other: string;
let retries = 0;
let targets: TargetRepos;

const target = () => ({ url: `file://${bare}`, branch: 'main', path: 'apps' });
const install =
  (name: string): Prepare =>
  async () => ({
    dir: `apps/${name}`,
    files: new Map([[`apps/${name}/kustomization.yaml`, Buffer.from(`# ${name}\n`)]]),
  });
/** Another writer (a replica that owned the partition meanwhile) pushes to the branch. */
const pushElsewhere = async (name: string) => {
  await sh(other, 'pull', '--quiet', 'origin', 'main');
  await commitFile(other, `apps/${name}/kustomization.yaml`, `# ${name}\n`);
  await sh(other, 'push', '--quiet', 'origin', 'main');
};
const files = async () => (await sh(bare, 'ls-tree', '-r', '--name-only', 'main')).trim().split('\n').sort();

before(async () => {
  root = await tempRoot('target-sync-');
  bare = join(root.dir, 'gitops.git');
  await sh(root.dir, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
  other = await workClone(bare, root.dir);
  await sh(other, 'checkout', '--quiet', '-b', 'main');
  await commitFile(other, 'README.md', 'gitops\n');
  await sh(other, 'push', '--quiet', 'origin', 'main');
  const access = new GitAccess({
    secrets: noSecrets,
    policy: { allowFile: true, denyHosts: [] },
    base: { config: [] },
    code: 'BAD_REQUEST',
  });
  targets = new TargetRepos(join(root.dir, 'work'), access, testLogger('target-sync'), () => retries++);
});

after(() => root.remove());

test('a checkout trusted as current after its push, then moved by another writer: one rejected push', async () => {
  await targets.commit(target(), 'a', 'install a', install('a'));
  await pushElsewhere('b');
  await targets.commit(target(), 'c', 'install c', install('c'));
  assert.equal(retries, 1, 'the push was rejected once and redone on the new head');
  assert.deepEqual(await files(), [
    'README.md',
    'apps/a/kustomization.yaml',
    'apps/b/kustomization.yaml',
    'apps/c/kustomization.yaml',
  ]);
});

test('forgotten as a partition is gained: the next batch fetches first and its push is not rejected', async () => {
  const before = retries;
  await pushElsewhere('d');
  targets.forgetSync();
  await targets.commit(target(), 'e', 'install e', install('e'));
  assert.equal(retries, before, 'no rejected push');
  assert.ok(
    (await files()).includes('apps/d/kustomization.yaml') &&
      (await files()).includes('apps/e/kustomization.yaml'),
  );
});
