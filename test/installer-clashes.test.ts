/**
 * Clashes on real parts (API -> Redis + JetStream -> one installer -> bare git repositories): generated names
 * that two installations would share in the cluster are refused with the field named; an upgrade that
 * conflicts with a user's edit shows the conflicting region itself (`conflictHunks`), failed or dry run; and
 * what could not be checked before commit is said (`notes`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, type Stack } from './harness/index.ts';
import {
  committedTree,
  examplesRepo,
  gitopsRepo,
  gitSync,
  installerClient,
  profileRepo,
  startInstallerStack,
  type InstallerStack,
} from './harness/installer.ts';

const DEPLOYMENT = 'artifacts/nginx-deployment/nginx/deployment/deployment.yaml';

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

  test("a conflicting upgrade shows each conflicting region: the user's line and the new version's", async () => {
    const target = repo();
    const a = await install(target, 'hunk', 'weaveworks-nginx/v0.1.0');
    assert.equal(a.status, 'committed', a.reason);
    const file = `clusters/hunk/${DEPLOYMENT}`;
    const work = join(dir, 'hunk-user');
    gitSync(['clone', '-q', target, work]);
    const text = committedTree(target, file).get(file)!;
    assert.match(text, /replicas: 2/);
    writeFileSync(join(work, file), text.replace('replicas: 2', 'replicas: 5'));
    gitSync(['commit', '-qam', 'user edit'], work);
    gitSync(['push', '-q', 'origin', 'HEAD:main'], work);
    const before = head(target);
    const check = (doc: any) => {
      assert.deepEqual(doc.conflicts, [file]);
      assert.equal(doc.conflictHunks.length, 1, JSON.stringify(doc.conflictHunks));
      assert.equal(doc.conflictHunks[0].file, file);
      assert.equal(doc.conflictHunks[0].hunks.length, 1);
      const hunk: string = doc.conflictHunks[0].hunks[0];
      assert.match(
        hunk,
        /<<<<<<< repository\n(.*\n)*.*replicas: 5\n(.*\n)*\|\|\|\|\|\|\| installed\n(.*\n)*.*replicas: 2\n(.*\n)*=======\n(.*\n)*.*replicas: 3\n(.*\n)*>>>>>>> upgrade/,
      );
      // A few lines of context, not the whole file.
      const lines = hunk.split('\n');
      assert.ok(lines.length < text.split('\n').length + 6, hunk);
      assert.ok(!lines[0]!.startsWith('<<<<<<<'), `context before the region: ${hunk}`);
    };
    const failed = await c.run(`/v1/installations/${a.id}/upgrade`, { version: '0.1.1' });
    assert.equal(failed.status, 'failed');
    assert.equal(failed.code, 'INSTALL_CONFLICT');
    check(failed);
    const dry = await c.run(`/v1/installations/${a.id}/upgrade`, { version: '0.1.1', dryRun: true });
    assert.equal(dry.status, 'rendered', dry.reason);
    assert.equal(dry.dryRun.applies, false);
    check(dry);
    assert.equal(head(target), before, 'nothing written');
    // Resolved by choice, nothing is left to show.
    const ours = await c.run(`/v1/installations/${a.id}/upgrade`, {
      version: '0.1.1',
      conflicts: { mode: 'ours' },
    });
    assert.equal(ours.status, 'committed', ours.reason);
    assert.equal(ours.conflictHunks, undefined);
  });

  test('a dry run says which values could not be checked, and still applies', async () => {
    const target = repo();
    const dry = await install(target, 'notes', 'weaveworks-nginx/v0.1.1', {
      dryRun: true,
      valuesFrom: { 'nested-profile/nginx-server': [{ kind: 'Secret', name: 'server-values' }] },
    });
    assert.equal(dry.status, 'rendered', dry.reason);
    assert.equal(dry.dryRun.applies, true, 'notes are warnings');
    assert.deepEqual(dry.dryRun.findings, []);
    const notes = dry.dryRun.notes as { artifact: string; severity: string; message: string }[];
    assert.deepEqual(
      notes.map((n) => n.artifact),
      ['nested-profile/nginx-server', 'nginx-chart', 'dependon-chart'],
    );
    assert.ok(notes.every((n) => n.severity === 'warning'));
    assert.match(notes[0]!.message, /valuesFrom \(Secret server-values\)/);
    assert.match(notes[2]!.message, /chart redis comes from https:\/\/charts\.bitnami\.com\/bitnami/);
    assert.deepEqual(dry.notes, notes);
  });
});
