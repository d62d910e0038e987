/**
 * The pctl layout on real parts (API -> Redis + JetStream -> one installer -> bare git repositories): an install
 * with `layout: 'pctl'` writes the names and paths of pctl's worked example (/work/shared/notes/pctl-reference.md
 * §5.5), every Flux object validates against the Flux schemas, the layout is recorded, upgrades keep it, and a
 * repository pctl wrote can be adopted in it with its object names kept.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseYaml, parseYamlDocuments } from '@profiles/shared';
import { FluxValidator } from '../services/installer/src/flux-schemas.ts';
import { FIXTURE_BUNDLE } from './harness/git.ts';
import { startStack, type Stack } from './harness/index.ts';
import {
  committedTree,
  examplesRepo,
  gitopsRepo,
  gitSync,
  installerClient,
  startInstallerStack,
  type InstallerStack,
} from './harness/installer.ts';

const SHARED_SCHEMAS = join(dirname(dirname(FIXTURE_BUNDLE)), 'schemas/flux');
const NAME = 'pctl-profile';
const A = `${NAME}/artifacts`;
/** pctl's files for weaveworks-nginx 0.1.1 (§5.5), vendored chart and kustomize files aside. */
const PCTL_FILES = [
  `${NAME}/profile-installation.yaml`,
  `${A}/nested-profile/nginx-server/kustomization.yaml`,
  `${A}/nested-profile/nginx-server/kustomize-flux.yaml`,
  `${A}/nested-profile/nginx-server/helm-chart/kustomization.yaml`,
  `${A}/nested-profile/nginx-server/helm-chart/HelmRelease.yaml`,
  `${A}/nested-profile/nginx-server/helm-chart/ConfigMap.yaml`,
  `${A}/nginx-deployment/kustomization.yaml`,
  `${A}/nginx-deployment/kustomize-flux.yaml`,
  ...['nginx-chart', 'dependon-chart'].flatMap((c) => [
    `${A}/${c}/kustomization.yaml`,
    `${A}/${c}/kustomize-flux.yaml`,
    `${A}/${c}/helm-chart/ConfigMap.yaml`,
    `${A}/${c}/helm-chart/HelmRelease.yaml`,
    `${A}/${c}/helm-chart/HelmRepository.yaml`,
  ]),
];
const VENDORED = [
  `${A}/nested-profile/nginx-server/helm-chart/nginx/chart/`,
  `${A}/nginx-deployment/nginx/deployment/`,
];
const DEPLOYMENT = `${A}/nginx-deployment/nginx/deployment/deployment.yaml`;

describe('installer: pctl layout', () => {
  let stack: Stack;
  let dir: string;
  let examples: string;
  let ins: InstallerStack;
  let c: ReturnType<typeof installerClient>;
  let validator: FluxValidator;
  let repoCount = 0;

  before(async () => {
    stack = await startStack();
    dir = await stack.tempDir('installer-pctl-');
    examples = examplesRepo(dir);
    ins = await startInstallerStack(stack, examples, 1);
    c = installerClient(ins.api);
    validator = await FluxValidator.load(existsSync(SHARED_SCHEMAS) ? SHARED_SCHEMAS : undefined);
  });
  after(async () => {
    await ins?.close();
    await stack?.stop();
  });

  const repo = () => gitopsRepo(dir, `pctl-gitops-${++repoCount}`);
  const head = (target: string) => gitSync(['rev-parse', 'main'], target).trim();
  // pctl --config-map pctl-profile-values: one key per chart artifact.
  const configMap = {
    'nested-profile/nginx-server': [
      { kind: 'ConfigMap', name: 'pctl-profile-values', valuesKey: 'nginx-server' },
    ],
    'nginx-chart': [{ kind: 'ConfigMap', name: 'pctl-profile-values', valuesKey: 'nginx-chart' }],
    'dependon-chart': [{ kind: 'ConfigMap', name: 'pctl-profile-values', valuesKey: 'dependon-chart' }],
  };
  const body = (target: string, version: string, extra: Record<string, unknown> = {}) => ({
    name: NAME,
    namespace: 'default',
    profile: { url: `file://${examples}`, tag: `weaveworks-nginx/v${version}` },
    target: {
      url: `file://${target}`,
      branch: 'main',
      path: '.',
      fluxSource: { name: 'my-git-repo', namespace: 'default' },
    },
    layout: 'pctl',
    ...extra,
  });
  const objectIn = (tree: Map<string, string>, file: string) => parseYaml(tree.get(`${A}/${file}`)!) as any;
  const withoutIds = (text: string) => text.replace(/(installation-id: ).*/g, '$1-');
  const assertValid = (tree: Map<string, string>) => {
    for (const [f, text] of tree) {
      if (
        !/(kustomize-flux|HelmRelease|HelmRepository|ConfigMap)\.yaml$/.test(f) ||
        !f.includes('/artifacts/')
      )
        continue;
      if (VENDORED.some((v) => f.startsWith(v))) continue;
      for (const o of parseYamlDocuments(text)) assert.deepEqual(validator.validate(f, o as object), [], f);
    }
  };

  test('a layout the installer does not know is a 400 naming layout', async () => {
    const r = await c.post('/v1/installations', body(repo(), '0.1.1', { layout: 'helm' }));
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.code, 'REQUEST_FIELD_INVALID');
    assert.equal(r.body.parameter, 'layout');
  });

  test("an install in the pctl layout has the names and paths of pctl's worked example", async () => {
    const target = repo();
    const doc = await c.run('/v1/installations', body(target, '0.1.1', { valuesFrom: configMap }));
    assert.equal(doc.status, 'committed', doc.reason);
    const tree = committedTree(target, NAME);
    const own = [...tree.keys()].filter((f) => !VENDORED.some((v) => f.startsWith(v)));
    // pctl's files, and one more: the root kustomization (it applies the record too; docs/pctl-compatibility.md).
    assert.deepEqual(own.sort(), [...PCTL_FILES, `${NAME}/kustomization.yaml`].sort());
    assert.ok(
      tree.has(`${A}/nested-profile/nginx-server/helm-chart/nginx/chart/Chart.yaml`),
      'chart under helm-chart/',
    );
    assert.ok(tree.has(DEPLOYMENT));
    assertValid(tree);

    for (const [chain, leaf] of [
      ['nested-profile/nginx-server', 'nginx-server'],
      ['nginx-deployment', 'nginx-deployment'],
      ['nginx-chart', 'nginx-chart'],
      ['dependon-chart', 'dependon-chart'],
    ] as const) {
      const k = objectIn(tree, `${chain}/kustomize-flux.yaml`);
      assert.equal(k.metadata.name, `${NAME}-${leaf}`, chain);
      const content = leaf === 'nginx-deployment' ? 'nginx/deployment' : 'helm-chart';
      assert.equal(k.spec.path, `${A}/${chain}/${content}`, 'a path as pctl wrote it');
      assert.deepEqual(k.spec.sourceRef, {
        kind: 'GitRepository',
        name: 'my-git-repo',
        namespace: 'default',
      });
      if (leaf === 'nginx-deployment') continue;
      const hr = objectIn(tree, `${chain}/helm-chart/HelmRelease.yaml`);
      assert.equal(hr.metadata.name, `${NAME}-${leaf}`);
      assert.equal(hr.spec.releaseName, leaf, "pctl's releaseName: the artifact's name");
      const cm = objectIn(tree, `${chain}/helm-chart/ConfigMap.yaml`);
      assert.equal(cm.metadata.name, `${NAME}-${leaf}-defaultvalues`);
      assert.deepEqual(Object.keys(cm.data), ['default-values.yaml']);
      assert.deepEqual(hr.spec.valuesFrom, [
        { kind: 'ConfigMap', name: `${NAME}-${leaf}-defaultvalues`, valuesKey: 'default-values.yaml' },
        { kind: 'ConfigMap', name: 'pctl-profile-values', valuesKey: leaf },
      ]);
      if (leaf === 'nginx-server') {
        assert.equal(hr.spec.chart.spec.chart, `${A}/nested-profile/nginx-server/helm-chart/nginx/chart`);
        assert.deepEqual(
          parseYaml(tree.get(`${A}/nested-profile/nginx-server/helm-chart/kustomization.yaml`)!),
          {
            apiVersion: 'kustomize.config.k8s.io/v1beta1',
            kind: 'Kustomization',
            resources: ['ConfigMap.yaml', 'HelmRelease.yaml'],
          },
        );
      } else {
        assert.equal(
          objectIn(tree, `${chain}/helm-chart/HelmRepository.yaml`).metadata.name,
          `${NAME}-${leaf}`,
        );
      }
    }
    const dependon = objectIn(tree, 'dependon-chart/kustomize-flux.yaml');
    assert.deepEqual(
      dependon.spec.dependsOn.map((d: { name: string }) => d.name),
      [`${NAME}-nginx-deployment`, `${NAME}-nginx-chart`, `${NAME}-nginx-server`],
    );
    const record = parseYaml(tree.get(`${NAME}/profile-installation.yaml`)!) as any;
    assert.equal(record.spec.layout, 'pctl', 'the layout is recorded');
    // What could not be checked is said: values in the config map (outside git) against the local chart's
    // values.schema.json, and remote charts (not fetched: their schema is unknown).
    const notes = (doc.notes ?? []) as { artifact: string; severity: string; message: string }[];
    assert.deepEqual(
      notes.map((n) => [n.artifact, n.severity]),
      [
        ['nested-profile/nginx-server', 'warning'],
        ['nginx-chart', 'warning'],
        ['dependon-chart', 'warning'],
      ],
    );
    assert.match(notes[0]!.message, /valuesFrom \(ConfigMap pctl-profile-values\).*not checked/);
    assert.match(notes[1]!.message, /https:\/\/charts\.bitnami\.com\/bitnami and is not fetched/);
  });

  test('an upgrade and a downgrade keep the pctl layout and the user edits; the layout cannot be switched', async () => {
    const target = repo();
    const a = await c.run('/v1/installations', body(target, '0.1.0'));
    assert.equal(a.status, 'committed', a.reason);
    const work = join(dir, 'pctl-edit');
    gitSync(['clone', '-q', target, work]);
    const text = committedTree(target, DEPLOYMENT).get(DEPLOYMENT)!;
    assert.match(text, /image: nginx:\S+/);
    writeFileSync(join(work, DEPLOYMENT), text.replace(/image: nginx:\S+/, 'image: nginx:1.27.0'));
    gitSync(['commit', '-qam', 'user edit'], work);
    gitSync(['push', '-q', 'origin', 'HEAD:main'], work);

    const up = await c.run(`/v1/installations/${a.id}/upgrade`, { version: '0.1.1' });
    assert.equal(up.status, 'committed', up.reason);
    const fresh = repo();
    assert.equal((await c.run('/v1/installations', body(fresh, '0.1.1'))).status, 'committed');
    const want = committedTree(fresh, NAME);
    const got = committedTree(target, NAME);
    assert.deepEqual([...got.keys()], [...want.keys()], 'the files of a fresh pctl-layout install');
    for (const [f, t] of want) {
      const expected = f === DEPLOYMENT ? t.replace(/image: nginx:\S+/, 'image: nginx:1.27.0') : t;
      assert.equal(withoutIds(got.get(f)!), withoutIds(expected), f);
    }
    // The artifact new in 0.1.1 has pctl's relative paths (pctl's own upgrade wrote its temp folder there).
    assert.equal(
      objectIn(got, 'dependon-chart/kustomize-flux.yaml').spec.path,
      `${A}/dependon-chart/helm-chart`,
    );
    assertValid(got);

    const byPath = (extra: Record<string, unknown>) =>
      c.run('/v1/repositories/installations/upgrade', { url: `file://${target}`, path: NAME, ...extra });
    const before = head(target);
    const switched = await byPath({ version: '0.1.0', layout: 'profiles' });
    assert.equal(switched.status, 'failed');
    assert.equal(switched.code, 'REQUEST_FIELD_INVALID');
    assert.match(switched.reason, /layout: pctl-profile is recorded in layout pctl/);
    assert.equal(head(target), before, 'nothing written');

    const down = await byPath({ version: '0.1.0' });
    assert.equal(down.status, 'committed', down.reason);
    const back = committedTree(target, NAME);
    assert.equal(objectIn(back, 'nginx-chart/helm-chart/HelmRelease.yaml').spec.releaseName, 'nginx-chart');
    assert.ok(!back.has(`${A}/dependon-chart/kustomize-flux.yaml`), 'removed with 0.1.0');
    assert.match(back.get(DEPLOYMENT)!, /image: nginx:1\.27\.0/, 'the user edit stays');
    assert.equal((parseYaml(back.get(`${NAME}/profile-installation.yaml`)!) as any).spec.layout, 'pctl');
  });

  test('three nested artifacts of one name: pctl gave them one name, the pctl layout keeps them apart', async () => {
    const target = repo();
    const doc = await c.run('/v1/installations', {
      ...body(target, '0.1.1'),
      name: 'nn',
      profile: { url: `file://${examples}`, tag: 'nested-nginx/v0.0.1' },
    });
    assert.equal(doc.status, 'committed', doc.reason);
    const tree = committedTree(target, 'nn');
    const releases = [...tree]
      .filter(([f]) => f.endsWith('helm-chart/HelmRelease.yaml'))
      .map(([, t]) => parseYaml(t) as any);
    assert.equal(releases.length, 3);
    const names = releases.map((r) => r.metadata.name);
    const helmNames = releases.map((r) => r.spec.releaseName);
    assert.equal(new Set(names).size, 3, names.join(' '));
    assert.equal(new Set(helmNames).size, 3, helmNames.join(' '));
    assert.ok(names.includes('nn-nginx-server'), "the first keeps pctl's name");
    assert.ok(
      names.every((n) => /^nn-nginx-server(-[0-9a-f]{8})?$/.test(n)),
      names.join(' '),
    );
    assertValid(tree);
  });

  test('a repository pctl wrote, adopted in the pctl layout, keeps its object names', async () => {
    const target = repo();
    const work = join(dir, 'pctl-adopt');
    gitSync(['clone', '-q', target, work]);
    const files: Record<string, string> = {
      'profile-installation.yaml':
        'apiVersion: weave.works/v1alpha1\nkind: ProfileInstallation\nmetadata:\n  creationTimestamp: null\n' +
        `  name: ${NAME}\n  namespace: default\nspec:\n  configMap: pctl-profile-values\n` +
        '  gitRepository:\n    name: my-git-repo\n    namespace: default\n  source:\n' +
        `    path: weaveworks-nginx\n    tag: weaveworks-nginx/v0.1.0\n    url: file://${examples}\nstatus: {}\n`,
      'artifacts/nginx-chart/helm-chart/HelmRelease.yaml':
        'apiVersion: helm.toolkit.fluxcd.io/v2beta1\nkind: HelmRelease\nmetadata:\n' +
        `  name: ${NAME}-nginx-chart\n  namespace: default\nspec:\n  releaseName: nginx-chart\n`,
    };
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(dirname(join(work, NAME, f)), { recursive: true });
      writeFileSync(join(work, NAME, f), text);
    }
    gitSync(['add', '-A'], work);
    gitSync(['commit', '-qm', 'pctl add'], work);
    gitSync(['push', '-q', 'origin', 'HEAD:main'], work);
    const adopted = await c.run('/v1/repositories/installations/upgrade', {
      url: `file://${target}`,
      path: NAME,
      version: '0.1.1',
      adopt: true,
      layout: 'pctl',
    });
    assert.equal(adopted.status, 'committed', adopted.reason);
    const fresh = repo();
    const want = await c.run('/v1/installations', body(fresh, '0.1.1', { valuesFrom: configMap }));
    assert.equal(want.status, 'committed', want.reason);
    const got = committedTree(target, NAME);
    const wanted = committedTree(fresh, NAME);
    assert.deepEqual([...got.keys()], [...wanted.keys()]);
    for (const [f, t] of wanted) assert.equal(withoutIds(got.get(f)!), withoutIds(t), f);
    const hr = objectIn(got, 'nginx-chart/helm-chart/HelmRelease.yaml');
    assert.equal(hr.metadata.name, `${NAME}-nginx-chart`, 'the HelmRelease pctl made keeps its name');
    assert.equal(hr.spec.releaseName, 'nginx-chart', 'and its Helm release');
  });
});
