/**
 * Upgrades and strict input on real parts (API -> Redis + JetStream -> one installer -> bare git repositories):
 * every upgrade starts from what the target repository records, whatever id or path the request names, and
 * input the installer cannot honour exactly is refused with its own code, nothing written.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseYaml } from '@profiles/shared';
import { startGitHttp } from './harness/git.ts';
import { startStack, type Stack } from './harness/index.ts';
import {
  committedTree,
  examplesRepo,
  gitCredsSecret,
  gitSecretsDir,
  gitopsRepo,
  gitSync,
  installerClient,
  profileRepo,
  startInstallerStack,
  startPrStandIn,
  type InstallerStack,
} from './harness/installer.ts';

const PASSWORD = 'upgr4de-Pa55-2291';
const DEPLOYMENT = 'artifacts/nginx-deployment/nginx/deployment/deployment.yaml';

describe('installer upgrades', () => {
  let stack: Stack;
  let dir: string;
  let examples: string;
  let ins: InstallerStack;
  let c: ReturnType<typeof installerClient>;
  let repoCount = 0;
  let secretsDir: string;

  before(async () => {
    stack = await startStack();
    dir = await stack.tempDir('installer-upgrades-');
    examples = examplesRepo(dir);
    secretsDir = gitSecretsDir(dir, PASSWORD);
    // One installer: its profile cache is the one every request meets.
    ins = await startInstallerStack(stack, examples, 1, { secretsDir });
    c = installerClient(ins.api);
  });
  after(async () => {
    await ins?.close();
    await stack?.stop();
  });

  const repo = () => gitopsRepo(dir, `gitops-${++repoCount}`);
  const head = (target: string) => gitSync(['rev-parse', 'main'], target).trim();
  const nginx = (version: string) => ({ url: `file://${examples}`, tag: `weaveworks-nginx/v${version}` });
  const body = (target: string, name: string, version: string, extra: Record<string, unknown> = {}) => ({
    name,
    namespace: 'default',
    profile: nginx(version),
    target: { url: `file://${target}`, branch: 'main', path: 'clusters' },
    ...extra,
  });
  const upgrade = (id: string, b: Record<string, unknown>) => c.run(`/v1/installations/${id}/upgrade`, b);
  const withoutIds = (text: string) => text.replace(/(installation-id: ).*/g, '$1-');

  /** The installation folder equals a fresh install of `version` with `values` (ids aside). */
  const assertFresh = async (
    target: string,
    name: string,
    version: string,
    values: Record<string, unknown> = {},
  ) => {
    const fresh = repo();
    const doc = await c.run('/v1/installations', body(fresh, name, version, { values }));
    assert.equal(doc.status, 'committed', doc.reason);
    const want = committedTree(fresh, `clusters/${name}`);
    const got = committedTree(target, `clusters/${name}`);
    assert.deepEqual([...got.keys()], [...want.keys()], 'the same files as a fresh install');
    for (const [f, text] of want) assert.equal(withoutIds(got.get(f)!), withoutIds(text), f);
  };

  test('an upgrade through an older id starts from what the repository records', async () => {
    const target = repo();
    const a = await c.run('/v1/installations', body(target, 'web', '0.1.0'));
    assert.equal(a.status, 'committed', a.reason);
    const b = await upgrade(a.id, { version: '0.1.1' });
    assert.equal(b.status, 'committed', b.reason);
    // Back to 0.1.0 through A, whose own request was 0.1.0: the base is 0.1.1, as the repository records.
    const back = await upgrade(a.id, { version: '0.1.0' });
    assert.equal(back.status, 'committed', back.reason);
    assert.equal(back.profile.version, '0.1.0');
    assert.ok(
      back.removed.includes('clusters/web/artifacts/dependon-chart/kustomize-flux.yaml'),
      JSON.stringify(back.removed),
    );
    assert.match(
      committedTree(target, 'clusters/web/' + DEPLOYMENT)
        .values()
        .next().value!,
      /replicas: 2/,
    );
    await assertFresh(target, 'web', '0.1.0');
  });

  test('values given with an upgrade are applied, and kept by later upgrades that give none', async () => {
    const target = repo();
    const a = await c.run('/v1/installations', body(target, 'vals', '0.1.0'));
    assert.equal(a.status, 'committed', a.reason);
    const values = { 'nginx-chart': { replicaCount: 5 } };
    const up = await upgrade(a.id, { version: '0.1.1', values });
    assert.equal(up.status, 'committed', up.reason);
    const hr = parseYaml(
      committedTree(target, 'clusters/vals/artifacts/nginx-chart/helm-chart/HelmRelease.yaml').values().next()
        .value!,
    ) as { spec: { values?: unknown } };
    assert.deepEqual(hr.spec.values, { replicaCount: 5 });
    await assertFresh(target, 'vals', '0.1.1', values);
    // Through the first id again, no values: the recorded ones stay.
    const down = await upgrade(a.id, { version: '0.1.0' });
    assert.equal(down.status, 'committed', down.reason);
    await assertFresh(target, 'vals', '0.1.0', values);
    // By path, with other values: those replace the recorded ones.
    const other = { 'nginx-chart': { replicaCount: 7 } };
    const byPath = await c.run('/v1/repositories/installations/upgrade', {
      url: `file://${target}`,
      path: 'clusters/vals',
      version: '0.1.1',
      values: other,
    });
    assert.equal(byPath.status, 'committed', byPath.reason);
    await assertFresh(target, 'vals', '0.1.1', other);
  });

  test('an upgrade to the installed version with nothing to change ends unchanged, without a commit', async () => {
    const target = repo();
    const a = await c.run('/v1/installations', body(target, 'same', '0.1.1'));
    assert.equal(a.status, 'committed', a.reason);
    const before = head(target);
    for (const version of ['0.1.1', 'latest']) {
      const up = await upgrade(a.id, { version });
      assert.equal(up.status, 'unchanged', JSON.stringify(up));
      assert.equal(up.profile.version, '0.1.1');
      assert.equal(head(target), before, 'no commit');
    }
    // An unchanged installation can still be upgraded later (here: down).
    const down = await upgrade(a.id, { version: '0.1.0' });
    assert.equal(down.status, 'committed', down.reason);
  });

  test('a dry-run upgrade with conflicts lists them, says it would not apply and shows no deletion', async () => {
    const target = repo();
    const a = await c.run('/v1/installations', body(target, 'dry', '0.1.0'));
    assert.equal(a.status, 'committed', a.reason);
    const work = join(dir, 'dry-user');
    gitSync(['clone', '-q', target, work]);
    const file = join(work, 'clusters/dry', DEPLOYMENT);
    const text = committedTree(target, `clusters/dry/${DEPLOYMENT}`).values().next().value!;
    writeFileSync(file, text.replace('replicas: 2', 'replicas: 5'));
    gitSync(['commit', '-qam', 'user edit'], work);
    gitSync(['push', '-q', 'origin', 'HEAD:main'], work);
    const before = head(target);
    const dry = await upgrade(a.id, { version: '0.1.1', dryRun: true });
    assert.equal(dry.status, 'rendered', dry.reason);
    assert.deepEqual(dry.conflicts, [`clusters/dry/${DEPLOYMENT}`]);
    assert.equal(dry.dryRun.applies, false);
    assert.ok(!dry.removed.includes(`clusters/dry/${DEPLOYMENT}`));
    assert.doesNotMatch(dry.dryRun.diff, /deployment\.yaml\n(deleted file|.*\n\+\+\+ \/dev\/null)/);
    assert.equal(head(target), before, 'nothing written');
  });

  test('conflicts resolved as the request chooses: theirs, ours per file, markers only in a pull request', async () => {
    const standIn = await startPrStandIn();
    try {
      const target = repo();
      const dep = `clusters/res/${DEPLOYMENT}`;
      const a = await c.run('/v1/installations', body(target, 'res', '0.1.0'));
      assert.equal(a.status, 'committed', a.reason);
      const work = join(dir, 'res-user');
      gitSync(['clone', '-q', target, work]);
      const userEdit = () => {
        gitSync(['pull', '-q', 'origin', 'main'], work);
        const text = committedTree(target, dep).values().next().value!;
        writeFileSync(join(work, dep), text.replace(/replicas: \d+/, 'replicas: 5'));
        gitSync(['commit', '-qam', 'user edit'], work);
        gitSync(['push', '-q', 'origin', 'HEAD:main'], work);
      };
      userEdit();
      const markers = await c.post(`/v1/installations/${a.id}/upgrade`, {
        version: '0.1.1',
        conflicts: { mode: 'markers' },
      });
      assert.equal(markers.status, 400, 'markers never go onto the target branch');
      assert.equal(markers.body.parameter, 'conflicts.mode');
      // ours for the file: the user's replicas stay, everything else upgrades.
      const ours = await upgrade(a.id, {
        version: '0.1.1',
        conflicts: { mode: 'fail', files: { [dep]: 'ours' } },
      });
      assert.equal(ours.status, 'committed', ours.reason);
      assert.deepEqual(ours.resolved, [{ file: dep, by: 'ours' }]);
      assert.match(committedTree(target, dep).values().next().value!, /replicas: 5/);
      assert.ok(committedTree(target, 'clusters/res/artifacts/dependon-chart').size > 0, 'upgraded');
      // Back down, the edit again, theirs: the new version's file replaces it.
      assert.equal(
        (await upgrade(a.id, { version: '0.1.0', conflicts: { mode: 'theirs' } })).status,
        'committed',
      );
      userEdit();
      const theirs = await upgrade(a.id, { version: '0.1.1', conflicts: { mode: 'theirs' } });
      assert.equal(theirs.status, 'committed', theirs.reason);
      assert.match(committedTree(target, dep).values().next().value!, /replicas: 3/);
      await assertFresh(target, 'res', '0.1.1');
      // Down again with the edit, then markers in a pull request: the branch holds them, main does not.
      assert.equal((await upgrade(a.id, { version: '0.1.0' })).status, 'committed');
      userEdit();
      const pr = await upgrade(a.id, {
        version: '0.1.1',
        mode: 'pull-request',
        conflicts: { mode: 'markers' },
      });
      assert.equal(pr.status, 'failed', 'the original request has no pullRequest target');
      const byPath = await c.run('/v1/repositories/installations/upgrade', {
        url: `file://${target}`,
        path: 'clusters/res',
        version: '0.1.1',
        mode: 'pull-request',
        conflicts: { mode: 'markers' },
        pullRequest: { provider: 'github', apiUrl: standIn.url, repository: 'acme/gitops' },
      });
      assert.equal(byPath.status, 'pr-opened', byPath.reason);
      assert.deepEqual(byPath.resolved, [{ file: dep, by: 'markers' }]);
      const onBranch = committedTree(target, dep, byPath.pullRequest.branch).values().next().value!;
      assert.match(onBranch, /<<<<<<<[\s\S]*replicas: 5[\s\S]*=======[\s\S]*replicas: 3[\s\S]*>>>>>>>/);
      assert.doesNotMatch(committedTree(target, dep).values().next().value!, /<<<<<<</);
      assert.match(standIn.created.at(-1)!.body, /Resolve the conflict markers/);
    } finally {
      await standIn.close();
    }
  });

  test('target paths into .git, absolute or through a symlink are refused; nothing is written outside', async () => {
    const target = repo();
    for (const path of ['.git', '.git/hooks', 'a/../.git/x', '/etc', 'x/.GIT/y']) {
      const r = await c.post('/v1/installations', {
        ...body(target, 'evil', '0.1.0'),
        target: { url: `file://${target}`, path },
      });
      assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'TARGET_PATH_INVALID', path);
      assert.equal(r.body.parameter, 'target.path');
    }
    const byPath = await c.post('/v1/repositories/installations/upgrade', {
      url: `file://${target}`,
      path: '.git/hooks',
    });
    assert.equal(byPath.status, 400);
    assert.equal(byPath.body.code, 'TARGET_PATH_INVALID');
    // A symlink committed in the target repository, pointing outside its clone.
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    const work = join(dir, 'symlink-user');
    gitSync(['clone', '-q', target, work]);
    symlinkSync(outside, join(work, 'linked'));
    gitSync(['add', 'linked'], work);
    gitSync(['commit', '-qm', 'a link'], work);
    gitSync(['push', '-q', 'origin', 'HEAD:main'], work);
    const before = head(target);
    for (const path of ['linked', 'linked/sub']) {
      for (const dryRun of [false, true]) {
        const doc = await c.run('/v1/installations', {
          ...body(target, 'web', '0.1.0'),
          target: { url: `file://${target}`, path },
          dryRun,
        });
        assert.equal(doc.status, 'failed', `${path}: ${JSON.stringify(doc)}`);
        assert.equal(doc.code, 'TARGET_PATH_INVALID');
        assert.match(doc.reason, /symlink/);
      }
    }
    assert.deepEqual(readdirSync(outside), [], 'nothing written outside the clone');
    assert.equal(head(target), before);
  });

  describe('strict validation: its own code, the field named, nothing written', () => {
    let bad: string;
    before(() => {
      bad = join(dir, 'strict-profiles.git');
      const def = (name: string, artifacts: string) =>
        `apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: ${name}\nspec:\n  artifacts:${artifacts}`;
      profileRepo(
        dir,
        'strict-profiles',
        {
          'empty/profile.yaml': def('empty', ' []\n'),
          'both/profile.yaml': def(
            'both',
            `\n    - name: n\n      profile:\n        source:\n          url: file://${bad}\n          tag: empty/v0.0.1\n          branch: main\n`,
          ),
          'pathurl/profile.yaml': def(
            'pathurl',
            '\n    - name: c\n      chart:\n        path: chart\n        url: https://charts.example\n        name: c\n',
          ),
          'pathurl/chart/Chart.yaml': 'apiVersion: v2\nname: c\nversion: 0.1.0\n',
        },
        ['empty/v0.0.1', 'both/v0.0.1', 'pathurl/v0.0.1'],
      );
    });
    const cases: [string, string, RegExp][] = [
      ['empty/v0.0.1', 'PROFILE_NO_ARTIFACTS', /spec\.artifacts/],
      ['both/v0.0.1', 'PROFILE_SOURCE_AMBIGUOUS', /artifact n: profile\.source has both tag and branch/],
      ['pathurl/v0.0.1', 'CHART_SOURCE_AMBIGUOUS', /artifact c: chart has both path and url/],
    ];
    for (const [tag, code, reason] of cases) {
      test(`${tag}: ${code}`, async () => {
        const target = repo();
        const before = head(target);
        const doc = await c.run('/v1/installations', {
          ...body(target, 'strict', '0.1.0'),
          profile: { url: `file://${bad}`, tag },
        });
        assert.equal(doc.status, 'failed');
        assert.equal(doc.code, code, doc.reason);
        assert.match(doc.reason, reason);
        assert.equal(head(target), before);
      });
    }
    test('values nested 3,000 levels deep: a clear 400, not an internal error', async () => {
      let deep: Record<string, unknown> = { leaf: 1 };
      for (let i = 0; i < 3000; i++) deep = { d: deep };
      const r = await c.post('/v1/installations', {
        ...body(repo(), 'deep', '0.1.0'),
        values: { 'nginx-chart': deep },
      });
      assert.equal(r.status, 400, JSON.stringify(r.body).slice(0, 300));
      assert.equal(r.body.code, 'VALUES_TOO_DEEP');
      assert.equal(r.body.parameter, 'values.nginx-chart');
    });
    test('"name": 5 is refused, not coerced to "5"', async () => {
      const r = await c.post('/v1/installations', { ...body(repo(), 'x', '0.1.0'), name: 5 });
      assert.equal(r.status, 400);
      assert.equal(r.body.code, 'REQUEST_FIELD_INVALID');
      assert.equal(r.body.parameter, 'name');
      assert.match(r.body.detail, /name must be string/);
      const up = await c.post('/v1/installations/x/upgrade', { dryRun: 'yes' });
      assert.equal(up.status, 400);
      assert.equal(up.body.parameter, 'dryRun');
    });
  });

  test('a pull request whose provider call fails deletes its pushed branch', async () => {
    const standIn = await startPrStandIn();
    try {
      const target = repo();
      const doc = await c.run('/v1/installations', {
        ...body(target, 'pr', '0.1.0'),
        target: {
          url: `file://${target}`,
          path: 'clusters',
          pullRequest: { provider: 'github', apiUrl: `${standIn.url}/nowhere`, repository: 'acme/gitops' },
        },
        mode: 'pull-request',
      });
      assert.equal(doc.status, 'failed');
      assert.equal(doc.code, 'PROVIDER_FAILED', doc.reason);
      assert.equal(gitSync(['branch', '--list', 'profiles/*'], target).trim(), '', 'no branch left behind');
    } finally {
      await standIn.close();
    }
  });

  test('a second installation with the same name and namespace at another path is refused', async () => {
    const target = repo();
    const a = await c.run('/v1/installations', body(target, 'twin', '0.1.0'));
    assert.equal(a.status, 'committed', a.reason);
    const before = head(target);
    const b = await c.run('/v1/installations', {
      ...body(target, 'twin', '0.1.0'),
      target: { url: `file://${target}`, path: 'elsewhere' },
    });
    assert.equal(b.status, 'failed');
    assert.equal(b.code, 'INSTALLATION_NAME_TAKEN');
    assert.match(b.reason, /default\/twin is already installed at clusters\/twin/);
    assert.equal(head(target), before);
    const other = await c.run('/v1/installations', {
      ...body(target, 'twin', '0.1.0'),
      namespace: 'other',
      target: { url: `file://${target}`, path: 'elsewhere' },
    });
    assert.equal(other.status, 'committed', 'another namespace is another set of objects');
  });

  test('the root kustomization includes profile-installation.yaml', async () => {
    const target = repo();
    const a = await c.run('/v1/installations', body(target, 'rec', '0.1.0'));
    assert.equal(a.status, 'committed', a.reason);
    const k = parseYaml(committedTree(target, 'clusters/rec/kustomization.yaml').values().next().value!) as {
      resources: string[];
    };
    assert.ok(k.resources.includes('profile-installation.yaml'), k.resources.join(' '));
  });

  describe('kustomize patches and values outside git', () => {
    const patches = {
      'nginx-deployment': [
        {
          patch:
            'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nginx-deployment\nspec:\n  revisionHistoryLimit: 2\n',
        },
        {
          patch: '- op: add\n  path: /metadata/labels/team\n  value: web\n',
          target: { kind: 'Deployment', name: 'nginx-deployment' },
        },
      ],
    };
    const valuesFrom = {
      'nginx-chart': [
        { kind: 'ConfigMap', name: 'web-values', valuesKey: 'nginx-chart' },
        { kind: 'Secret', name: 'web-secret-values', optional: true },
      ],
    };
    const objectOf = (target: string, file: string) =>
      parseYaml(committedTree(target, `clusters/opt/${file}`).values().next().value!) as any;

    test('recorded in the installation, rendered on the artifacts, kept by upgrades that give none', async () => {
      const target = repo();
      const a = await c.run('/v1/installations', body(target, 'opt', '0.1.0', { patches, valuesFrom }));
      assert.equal(a.status, 'committed', a.reason);
      for (const version of ['0.1.1', '0.1.0']) {
        const wrapper = objectOf(target, 'artifacts/nginx-deployment/kustomize-flux.yaml');
        assert.deepEqual(wrapper.spec.patches, patches['nginx-deployment']);
        const hr = objectOf(target, 'artifacts/nginx-chart/helm-chart/HelmRelease.yaml');
        assert.deepEqual(hr.spec.valuesFrom.slice(1), valuesFrom['nginx-chart'], 'after the defaults');
        const record = objectOf(target, 'profile-installation.yaml');
        assert.deepEqual(record.spec.patches, patches);
        assert.deepEqual(record.spec.valuesFrom, valuesFrom);
        const up = await upgrade(a.id, { version });
        assert.equal(up.status, 'committed', up.reason);
      }
      // Given with an upgrade, they replace the recorded ones.
      const up = await upgrade(a.id, { version: '0.1.1', patches: {}, valuesFrom: {} });
      assert.equal(up.status, 'committed', up.reason);
      assert.equal(
        objectOf(target, 'artifacts/nginx-deployment/kustomize-flux.yaml').spec.patches,
        undefined,
      );
      assert.equal(objectOf(target, 'profile-installation.yaml').spec.valuesFrom, undefined);
    });

    const refused: [string, Record<string, unknown>, string, RegExp][] = [
      [
        'a JSON 6902 patch without a target',
        { patches: { 'nginx-deployment': [{ patch: '- op: remove\n  path: /spec/replicas\n' }] } },
        'PATCH_INVALID',
        /patches\.nginx-deployment\[0\]: a JSON 6902 patch needs a target/,
      ],
      [
        'a strategic merge patch naming no object',
        { patches: { 'nginx-deployment': [{ patch: 'spec:\n  replicas: 1\n' }] } },
        'PATCH_INVALID',
        /names its kind and metadata\.name/,
      ],
      [
        'valuesFrom on a kustomize artifact',
        { valuesFrom: { 'nginx-deployment': [{ kind: 'ConfigMap', name: 'x' }] } },
        'VALUES_INVALID',
        /not a chart and takes no valuesFrom/,
      ],
      [
        "values the chart's values.schema.json refuses",
        { values: { 'nested-profile/nginx-server': { replicaCount: 'three' } } },
        'VALUES_INVALID',
        /nested-profile\/nginx-server.*values\.schema\.json: replicaCount must be integer/,
      ],
    ];
    for (const [what, extra, code, reason] of refused) {
      test(`refused before commit: ${what}`, async () => {
        const target = repo();
        const before = head(target);
        const doc = await c.run('/v1/installations', body(target, 'opt', '0.1.0', extra));
        assert.equal(doc.status, 'failed');
        assert.equal(doc.code, code, doc.reason);
        assert.match(doc.reason, reason);
        assert.equal(head(target), before);
        if (what.includes('values.schema.json')) {
          assert.deepEqual(
            doc.findings.map((f: { artifact: string; path: string }) => [f.artifact, f.path]),
            [['nested-profile/nginx-server', 'replicaCount']],
          );
        }
      });
    }
  });

  test('a repository pctl wrote: refused without adopt; adopted, it becomes exactly this layout, its config map kept', async () => {
    const target = repo();
    const work = join(dir, 'pctl-user');
    gitSync(['clone', '-q', target, work]);
    const pctlFiles: Record<string, string> = {
      'profile-installation.yaml':
        'apiVersion: weave.works/v1alpha1\nkind: ProfileInstallation\nmetadata:\n  creationTimestamp: null\n' +
        '  name: pctl-profile\n  namespace: default\nspec:\n  catalog:\n    catalog: nginx-catalog\n' +
        '    profile: weaveworks-nginx\n    version: 0.1.0\n  configMap: pctl-profile-values\n' +
        '  gitRepository:\n    name: my-git-repo\n    namespace: flux-system\n  source:\n' +
        `    path: weaveworks-nginx\n    tag: weaveworks-nginx/v0.1.0\n    url: file://${examples}\nstatus: {}\n`,
      'artifacts/nginx-deployment/kustomization.yaml':
        'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- kustomize-flux.yaml\n',
      'artifacts/nginx-deployment/kustomize-flux.yaml':
        'apiVersion: kustomize.toolkit.fluxcd.io/v1beta1\nkind: Kustomization\nmetadata:\n' +
        '  name: pctl-profile-nginx-deployment\n  namespace: default\nspec:\n  interval: 5m0s\n' +
        '  path: pctl-profile/artifacts/nginx-deployment/nginx/deployment\n  prune: true\n',
      'artifacts/nginx-chart/helm-chart/HelmRelease.yaml':
        'apiVersion: helm.toolkit.fluxcd.io/v2beta1\nkind: HelmRelease\nmetadata:\n  name: pctl-profile-nginx-chart\n' +
        '  namespace: default\nspec:\n  releaseName: nginx-chart\n',
      'artifacts/nginx-chart/helm-chart/ConfigMap.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pctl-profile-nginx-chart-defaultvalues\n',
      'artifacts/nested-profile/nginx-server/helm-chart/nginx/chart/Chart.yaml': 'name: nginx\n',
    };
    for (const [f, text] of Object.entries(pctlFiles)) {
      mkdirSync(dirname(join(work, 'pctl-profile', f)), { recursive: true });
      writeFileSync(join(work, 'pctl-profile', f), text);
    }
    gitSync(['add', '-A'], work);
    gitSync(['commit', '-qm', 'pctl add'], work);
    gitSync(['push', '-q', 'origin', 'HEAD:main'], work);
    const before = head(target);
    const byPath = (extra: Record<string, unknown>) =>
      c.run('/v1/repositories/installations/upgrade', {
        url: `file://${target}`,
        path: 'pctl-profile',
        version: '0.1.1',
        ...extra,
      });
    const refused = await byPath({});
    assert.equal(refused.status, 'failed');
    assert.equal(refused.code, 'INSTALL_CONFLICT');
    assert.match(refused.reason, /not written by this installer.*adopt: true/);
    assert.equal(head(target), before);

    const adopted = await byPath({ adopt: true });
    assert.equal(adopted.status, 'committed', adopted.reason);
    const valuesFrom = {
      'nested-profile/nginx-server': [
        { kind: 'ConfigMap', name: 'pctl-profile-values', valuesKey: 'nginx-server' },
      ],
      'nginx-chart': [{ kind: 'ConfigMap', name: 'pctl-profile-values', valuesKey: 'nginx-chart' }],
      'dependon-chart': [{ kind: 'ConfigMap', name: 'pctl-profile-values', valuesKey: 'dependon-chart' }],
    };
    const fresh = repo();
    const want = await c.run('/v1/installations', {
      ...body(fresh, 'pctl-profile', '0.1.1'),
      target: {
        url: `file://${fresh}`,
        path: '.',
        fluxSource: { name: 'my-git-repo', namespace: 'flux-system' },
      },
      valuesFrom,
    });
    assert.equal(want.status, 'committed', want.reason);
    const got = committedTree(target, 'pctl-profile');
    const wanted = committedTree(fresh, 'pctl-profile');
    assert.deepEqual([...got.keys()], [...wanted.keys()], "pctl's own files are gone, ours are all there");
    for (const [f, text] of wanted) {
      if (f.endsWith('profile-installation.yaml')) continue; // ours records the catalog it came from
      assert.equal(got.get(f), text, f);
    }
    const record = parseYaml(got.get('pctl-profile/profile-installation.yaml')!) as any;
    assert.deepEqual(record.spec.catalog, {
      catalog: 'nginx-catalog',
      profile: 'weaveworks-nginx',
      version: '0.1.1',
    });
    assert.deepEqual(record.spec.valuesFrom, valuesFrom);
    // Now it is ours: a plain upgrade works.
    const down = await byPath({ version: '0.1.0' });
    assert.equal(down.status, 'committed', down.reason);
  });

  test('a profile tag fetched with credentials is not served to a request without them', async () => {
    const root = join(dir, 'private');
    mkdirSync(root);
    gitSync(['clone', '-q', '--bare', examples, join(root, 'examples.git')]);
    const http = await startGitHttp(root, { username: 'deploy', password: PASSWORD });
    writeFileSync(join(secretsDir, 'git.yaml'), gitCredsSecret(PASSWORD, http.url));
    try {
      const target = repo();
      const profile = { url: `${http.url}/examples.git`, tag: 'bitnami-nginx/v0.0.2' };
      const ok = await c.run('/v1/installations', {
        ...body(target, 'priv', '0.1.0'),
        profile: { ...profile, secretRef: { name: 'git-creds' } },
      });
      assert.equal(ok.status, 'committed', ok.reason);
      const denied = await c.run('/v1/installations', { ...body(target, 'anon', '0.1.0'), profile });
      assert.equal(denied.status, 'failed', 'the cached tag is not served without the credential');
      assert.match(denied.reason, /Authentication failed|unreachable/);
      assert.ok(![...committedTree(target, 'clusters').keys()].some((f) => f.startsWith('clusters/anon/')));
    } finally {
      await http.close();
    }
  });
});
