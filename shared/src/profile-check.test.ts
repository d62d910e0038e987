import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkProfileDefinition, type ProfileDefinition } from './profile-definition.ts';
import { checkProfileFiles, checkProfileFolder, fileRequirements } from './profile-check.ts';

const profile = (artifacts: string) =>
  `apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata: {name: p}\nspec:\n  artifacts:\n${artifacts}`;

function definition(artifacts: unknown[]): ProfileDefinition {
  const r = checkProfileDefinition({
    apiVersion: 'weave.works/v1alpha1',
    kind: 'ProfileDefinition',
    metadata: { name: 'p' },
    spec: { artifacts },
  });
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.profile;
}

test('local artifacts need their folder and Chart.yaml; remote charts and nested profiles need nothing', () => {
  const def = definition([
    { name: 'k', kustomize: { path: './deploy/' } },
    { name: 'c', chart: { path: 'charts/web' } },
    { name: 'r', chart: { url: 'https://charts.example.com', name: 'web' } },
    { name: 'n', profile: { source: { url: 'https://git.example.com/p.git', tag: 'x/v1.0.0' } } },
  ]);
  assert.deepEqual(
    fileRequirements(def).map((r) => [r.path, r.type]),
    [
      ['deploy', 'tree'],
      ['charts/web/Chart.yaml', 'blob'],
    ],
  );
  assert.deepEqual(
    checkProfileFiles(def, (p) => (p === 'deploy' ? 'tree' : 'blob')),
    [],
  );
  assert.deepEqual(
    checkProfileFiles(def, (p) => (p === 'deploy' ? 'blob' : undefined)),
    [
      'artifact k: kustomize.path "./deploy/" is not a folder of the profile',
      'artifact c: chart.path "charts/web" holds no Chart.yaml',
    ],
  );
});

test('artifact names are DNS labels and defaultValues a YAML map, as the installer needs', () => {
  const check = (a: unknown) =>
    checkProfileDefinition({
      apiVersion: 'weave.works/v1alpha1',
      kind: 'ProfileDefinition',
      metadata: { name: 'p' },
      spec: { artifacts: [a] },
    });
  const upper = check({ name: 'Web_Chart', chart: { url: 'https://c.example', name: 'web' } });
  assert.ok(!upper.ok && /DNS label/.test(upper.reason));
  const list = check({ name: 'web', chart: { path: 'chart', defaultValues: '- a\n- b\n' } });
  assert.ok(!list.ok && /defaultValues is not a YAML map/.test(list.reason));
  const broken = check({ name: 'web', chart: { path: 'chart', defaultValues: 'a: [1\n' } });
  assert.ok(!broken.ok && /defaultValues is not YAML/.test(broken.reason));
  assert.ok(check({ name: 'web', chart: { path: 'chart', defaultValues: 'replicas: 2\n' } }).ok);
  const ftp = check({ name: 'web', chart: { url: 'ftp://charts.example.com', name: 'web' } });
  assert.ok(!ftp.ok && /chart\.url must be an https:\/\/, http:\/\/ or oci:\/\//.test(ftp.reason));
  assert.ok(check({ name: 'web', chart: { url: 'oci://ghcr.io/org/charts', name: 'web' } }).ok);
});

test('checkProfileFolder runs every check on a folder on disk', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'profile-check-'));
  try {
    assert.deepEqual((await checkProfileFolder(dir)).findings, [`no profile.yaml in ${dir}`]);
    await writeFile(join(dir, 'profile.yaml'), profile('    - name: k\n      kustomize: {path: deploy}\n'));
    assert.deepEqual((await checkProfileFolder(dir)).findings, [
      'profile.yaml: artifact k: kustomize.path "deploy" is not a folder of the profile',
    ]);
    await mkdir(join(dir, 'deploy'));
    assert.equal((await checkProfileFolder(dir)).ok, false, 'an empty folder is not in a commit');
    await writeFile(join(dir, 'deploy/cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
    assert.equal((await checkProfileFolder(dir)).ok, true);
    await writeFile(join(dir, 'profile.yaml'), 'kind: [');
    assert.match((await checkProfileFolder(dir)).findings[0]!, /^profile\.yaml: /);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
