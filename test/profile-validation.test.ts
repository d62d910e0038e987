/**
 * One validation for indexer, installer and publisher (shared/src/profile-check.ts): a tag whose profile names
 * a kustomize folder it does not have is not listed; the reason is on the source's status in the API, the
 * installer refuses the same tag, and `npm run validate` finds the same thing in the folder before tagging.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getJson, startStack, waitFor, type Stack } from './harness/index.ts';
import { commitFile, sh, workClone } from './harness/git.ts';
import { REPO_ROOT } from './harness/clone-copy.ts';
import { gitopsRepo, startInstallerStack } from './harness/installer.ts';

const FINDING = 'artifact app: kustomize.path "deploy" is not a folder of the profile';
const definition = (name: string) =>
  `apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata: {name: ${name}}\nspec:\n` +
  `  description: ${name}\n  artifacts:\n    - name: app\n      kustomize: {path: deploy}\n`;

let stack: Stack;
let api: string;
let work: string;
let bare: string;

before(async () => {
  stack = await startStack();
  const root = await stack.tempDir('repos-');
  bare = join(root, 'profiles.git');
  await sh(root, 'init', '--quiet', '--bare', bare);
  work = await workClone(bare, root);
  await commitFile(work, 'good/profile.yaml', definition('good'));
  await commitFile(work, 'good/deploy/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
  await commitFile(work, 'bad/profile.yaml', definition('bad'));
  await sh(work, 'tag', 'good/v1.0.0');
  await sh(work, 'tag', 'bad/v1.0.0');
  await sh(work, 'push', '--quiet', 'origin', 'HEAD:main', '--tags');
  const sources = await stack.tempDir('sources-');
  await writeFile(
    join(sources, 'repo.yaml'),
    `apiVersion: weave.works/v1alpha1\nkind: ProfileCatalogSource\nmetadata: {name: team}\nspec:\n  repositories:\n    - url: file://${bare}\n`,
  );
  await stack.indexer();
  await stack.watcher(sources);
  api = (await stack.api()).url;
});

after(() => stack.stop());

test('the indexer lists the valid tag and shows why the other is not listed', async () => {
  const source = await waitFor(
    async () => {
      const r = await getJson(`${api}/v1/sources/default/team`);
      return r.status === 200 && r.body.item.scannedRepositories?.[0]?.tagErrors ? r.body.item : undefined;
    },
    { timeoutMs: 30_000, what: 'the source scanned' },
  );
  assert.deepEqual(source.scannedRepositories[0].tagErrors, [
    { tag: 'bad/v1.0.0', reason: `profile.yaml: ${FINDING}` },
  ]);
  assert.ok(
    source.entryErrors.some((e: { reason: string }) => e.reason.includes(FINDING)),
    JSON.stringify(source.entryErrors),
  );
  assert.equal((await getJson(`${api}/v1/profiles/team/good/1.0.0`)).status, 200);
  assert.equal((await getJson(`${api}/v1/profiles/team/bad/1.0.0`)).status, 404);
});

test('npm run validate finds the same thing in the folder, and passes the valid one', () => {
  const run = (dir: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/validate.ts', join(work, dir)], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
  const bad = run('bad');
  assert.equal(bad.status, 1);
  assert.match(
    bad.stdout,
    new RegExp(`FAIL .*bad: profile\\.yaml: ${FINDING.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
  );
  const good = run('good');
  assert.equal(good.status, 0, good.stdout + good.stderr);
  assert.match(good.stdout, /ok .*good: good, artifacts app \(kustomize\)/);
});

test('the installer refuses the tag the indexer did not list, with the same reason', async () => {
  const ins = await startInstallerStack(stack, bare);
  try {
    const target = gitopsRepo(await stack.tempDir('gitops-'));
    const post = (tag: string, name: string) =>
      fetch(`${ins.api}/v1/installations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name,
          namespace: 'default',
          profile: { url: `file://${bare}`, tag },
          target: { url: `file://${target}`, branch: 'main', path: 'clusters/dev' },
        }),
      }).then((r) => r.json() as Promise<{ id: string }>);
    const finished = async (id: string) =>
      waitFor(
        async () => {
          const s = (await getJson(`${ins.api}/v1/installations/${id}`)).body;
          return ['committed', 'failed'].includes(s.status) ? s : undefined;
        },
        { timeoutMs: 30_000, what: `installation ${id} done` },
      );
    const bad = await finished((await post('bad/v1.0.0', 'bad')).id);
    assert.equal(bad.status, 'failed');
    assert.equal(bad.code, 'PROFILE_INVALID');
    assert.ok(bad.reason.includes(FINDING), bad.reason);
    assert.equal((await finished((await post('good/v1.0.0', 'good')).id)).status, 'committed');
  } finally {
    await ins.close();
  }
});
