/**
 * Clashes on real parts (API -> Redis + JetStream -> one installer -> bare git repositories): generated names
 * that two installations would share in the cluster are refused with the field named.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, type Stack } from './harness/index.ts';
import {
  examplesRepo,
  gitopsRepo,
  gitSync,
  installerClient,
  profileRepo,
  startInstallerStack,
  type InstallerStack,
} from './harness/installer.ts';

describe('installer clashes', () => {
  let stack: Stack;
  let dir: string;
  let examples: string;
  let names: string;
  let ins: InstallerStack;
  let c: ReturnType<typeof installerClient>;
  let repoCount = 0;

  before(async () => {
    stack = await startStack();
    dir = await stack.tempDir('installer-clashes-');
    examples = examplesRepo(dir);
    const def = (artifact: string) =>
      `apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: p\nspec:\n  artifacts:\n` +
      `    - name: ${artifact}\n      kustomize:\n        path: files\n`;
    const deploy = (n: string) => `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa-${n}\n`;
    names = profileRepo(
      dir,
      'clash-profiles',
      {
        'c/profile.yaml': def('c'),
        'c/files/sa.yaml': deploy('c'),
        'b-c/profile.yaml': def('b-c'),
        'b-c/files/sa.yaml': deploy('b-c'),
      },
      ['c/v0.0.1', 'b-c/v0.0.1'],
    );
    ins = await startInstallerStack(stack, examples, 1);
    c = installerClient(ins.api);
  });
  after(async () => {
    await ins?.close();
    await stack?.stop();
  });

  const repo = () => gitopsRepo(dir, `clash-gitops-${++repoCount}`);
  const head = (target: string) => gitSync(['rev-parse', 'main'], target).trim();
  const install = (target: string, name: string, tag: string, extra: Record<string, unknown> = {}) =>
    c.run('/v1/installations', {
      name,
      namespace: 'default',
      profile: { url: `file://${tag.startsWith('weaveworks') ? examples : names}`, tag },
      target: { url: `file://${target}`, branch: 'main', path: 'clusters' },
      ...extra,
    });

  test('`a-b` with artifact `c` and `a` with artifact `b-c` would share a-b-c: the second is refused', async () => {
    const target = repo();
    const first = await install(target, 'a-b', 'c/v0.0.1');
    assert.equal(first.status, 'committed', first.reason);
    const before = head(target);
    for (const dryRun of [false, true]) {
      const second = await install(target, 'a', 'b-c/v0.0.1', { dryRun });
      assert.equal(second.status, 'failed', JSON.stringify(second));
      assert.equal(second.code, 'OBJECT_NAME_TAKEN', second.reason);
      assert.match(
        second.reason,
        /^name: the Kustomization default\/a-b-c .* already written by the installation at clusters\/a-b/,
      );
    }
    assert.equal(head(target), before, 'nothing written');
    // The same names in another namespace are other objects.
    const other = await install(target, 'a', 'b-c/v0.0.1', { namespace: 'other' });
    assert.equal(other.status, 'committed', other.reason);
    // And the other way round: `a` first, then `a-b`.
    const t2 = repo();
    assert.equal((await install(t2, 'a', 'b-c/v0.0.1')).status, 'committed');
    const reverse = await install(t2, 'a-b', 'c/v0.0.1');
    assert.equal(reverse.code, 'OBJECT_NAME_TAKEN', reverse.reason);
  });

  test('a pctl-layout Helm release name another installation uses is refused', async () => {
    const target = repo();
    const one = await install(target, 'one', 'weaveworks-nginx/v0.1.0', { layout: 'pctl' });
    assert.equal(one.status, 'committed', one.reason);
    // pctl named every release after its artifact: a second install of the profile in the namespace clashes.
    const two = await install(target, 'two', 'weaveworks-nginx/v0.1.0', { layout: 'pctl' });
    assert.equal(two.status, 'failed');
    assert.equal(two.code, 'OBJECT_NAME_TAKEN');
    assert.match(two.reason, /Helm release default\/nginx-server/);
  });

  test('an installation inside another installation folder is refused, naming target.path', async () => {
    const target = repo();
    assert.equal((await install(target, 'outer', 'c/v0.0.1')).status, 'committed');
    const before = head(target);
    const inner = await install(target, 'inner', 'b-c/v0.0.1', {
      target: { url: `file://${target}`, branch: 'main', path: 'clusters/outer/artifacts' },
    });
    assert.equal(inner.status, 'failed');
    assert.equal(inner.code, 'INSTALL_CONFLICT');
    assert.match(
      inner.reason,
      /^target\.path: clusters\/outer\/artifacts\/inner lies inside the installation at clusters\/outer/,
    );
    assert.equal(head(target), before);
  });
});
