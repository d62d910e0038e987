/**
 * Installer end to end on real parts: API -> Redis + JetStream -> installers -> git bare repositories over
 * file://. The profile repository is the profiles-examples fixture; nested profiles' GitHub URL is rewritten to it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parseYaml, parseYamlDocuments, SUBJECTS } from '@profiles/shared';
import { FluxValidator } from '../services/installer/src/flux-schemas.ts';
import { startGitHttp, startGitSsh } from './harness/git.ts';
import { getJson, startStack, waitFor, type Stack } from './harness/index.ts';
import {
  examplesRepo,
  gitCredsSecret,
  gitSecretsDir,
  gitopsRepo,
  gitSync,
  startInstallerStack,
  profileRepo,
  startPrStandIn,
  type InstallerStack,
  type PrStandIn,
} from './harness/installer.ts';

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  getJson(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

const FINAL = ['committed', 'pr-opened', 'failed', 'rendered'];
const GIT_PASSWORD = 'pr1vate-Pa55-7731';

describe('installer', () => {
  let stack: Stack;
  let dir: string;
  let examples: string;
  let ins: InstallerStack;
  let validator: FluxValidator;
  let secretsDir: string;

  before(async () => {
    stack = await startStack();
    dir = await stack.tempDir('installer-');
    examples = examplesRepo(dir);
    secretsDir = gitSecretsDir(dir, GIT_PASSWORD);
    ins = await startInstallerStack(stack, examples, 2, { secretsDir });
    validator = await FluxValidator.load();
  });
  after(async () => {
    await ins?.close();
    await stack?.stop();
  });

  const install = async (body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const r = await post(`${ins.api}/v1/installations`, body, headers);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body as { id: string; status: string };
  };
  const settle = async (id: string, timeoutMs = 30_000, intervalMs = 25) =>
    waitFor(
      async () => {
        const r = await getJson(`${ins.api}/v1/installations/${id}`);
        return FINAL.includes(r.body.status) ? r.body : undefined;
      },
      { timeoutMs, intervalMs, what: `installation ${id} to finish` },
    );
  const show = (repo: string, path: string, ref = 'main') => gitSync(['show', `${ref}:${path}`], repo);
  const tree = (repo: string, ref = 'main') =>
    gitSync(['ls-tree', '-r', '--name-only', ref], repo).split('\n').filter(Boolean);
  const objectsIn = (repo: string, prefix: string) =>
    tree(repo)
      .filter(
        (f) => f.startsWith(prefix) && /(kustomize-flux|HelmRelease|HelmRepository|ConfigMap)\.yaml$/.test(f),
      )
      .flatMap((f) =>
        parseYamlDocuments(show(repo, f)).map((o) => ({ file: f, obj: o as Record<string, any> })),
      );

  test('weaveworks-nginx v0.1.1: one commit with the nested chart, kustomize, remote charts and dependsOn', async () => {
    const target = gitopsRepo(dir, 'acceptance');
    const { id, status } = await install({
      name: 'pprof',
      namespace: 'default',
      profile: { url: `file://${examples}`, tag: 'weaveworks-nginx/v0.1.1' },
      target: { url: `file://${target}`, branch: 'main', path: 'clusters/dev' },
      values: { 'nginx-chart': { replicaCount: 2 } },
      mode: 'commit',
    });
    assert.equal(status, 'queued');
    const doc = await settle(id);
    assert.equal(doc.status, 'committed', doc.reason);
    // The stages' times, as the API answers them: queued, started, rendered, committed, in that order.
    const stages = [doc.createdAt, doc.startedAt, doc.renderedAt, doc.updatedAt];
    assert.ok(
      stages.every((t) => typeof t === 'string' && !Number.isNaN(Date.parse(t))),
      JSON.stringify(stages),
    );
    const ms = stages.map((t) => Date.parse(t as string));
    assert.deepEqual(
      [...ms].sort((a, b) => a - b),
      ms,
      `stages in order: ${JSON.stringify(stages)}`,
    );
    assert.equal(
      gitSync(['rev-list', '--count', 'main'], target).trim(),
      '2',
      'exactly one commit on top of the seed',
    );
    assert.equal(gitSync(['rev-parse', 'main'], target).trim(), doc.commit);
    const msg = gitSync(['log', '-1', '--format=%B', 'main'], target);
    assert.match(msg, /weaveworks-nginx 0\.1\.1/);
    assert.match(msg, new RegExp(`Profiles-Installation-Id: ${id}`));
    assert.match(
      msg,
      /\nRequested-by: system:anonymous\n/,
      'the commit names who asked (an open API: anonymous)',
    );

    const base = 'clusters/dev/pprof';
    const files = tree(target);
    assert.ok(files.includes(`${base}/profile-installation.yaml`));
    // The nested bitnami-nginx local chart, copied into the GitOps repository, and its HelmRelease from git.
    assert.ok(files.includes(`${base}/artifacts/nested-profile/nginx-server/nginx/chart/Chart.yaml`));
    const nestedHr = parseYaml(
      show(target, `${base}/artifacts/nested-profile/nginx-server/helm-chart/HelmRelease.yaml`),
    ) as any;
    assert.equal(nestedHr.apiVersion, 'helm.toolkit.fluxcd.io/v2');
    assert.equal(nestedHr.spec.chart.spec.sourceRef.kind, 'GitRepository');
    assert.equal(
      nestedHr.spec.chart.spec.chart,
      `./${base}/artifacts/nested-profile/nginx-server/nginx/chart`,
    );
    const nestedCm = parseYaml(
      show(target, `${base}/artifacts/nested-profile/nginx-server/helm-chart/ConfigMap.yaml`),
    ) as any;
    assert.deepEqual(parseYaml(nestedCm.data['default.yaml']), { replicaCount: 3 });
    // The kustomize deployment.
    assert.match(
      show(target, `${base}/artifacts/nginx-deployment/nginx/deployment/deployment.yaml`),
      /kind: Deployment/,
    );
    // Both remote charts: HelmRepository + HelmRelease, defaults first, user values after.
    for (const [art, chart, defaults] of [
      ['nginx-chart', 'nginx', { service: { type: 'ClusterIP' } }],
      [
        'dependon-chart',
        'redis',
        { master: { persistence: { enabled: false } }, replica: { replicaCount: 0 } },
      ],
    ] as const) {
      const repo = parseYaml(show(target, `${base}/artifacts/${art}/helm-chart/HelmRepository.yaml`)) as any;
      assert.equal(repo.apiVersion, 'source.toolkit.fluxcd.io/v1');
      assert.equal(repo.spec.url, 'https://charts.bitnami.com/bitnami');
      const hr = parseYaml(show(target, `${base}/artifacts/${art}/helm-chart/HelmRelease.yaml`)) as any;
      assert.equal(hr.spec.chart.spec.chart, chart);
      assert.equal(hr.spec.chart.spec.sourceRef.name, repo.metadata.name);
      const cm = parseYaml(show(target, `${base}/artifacts/${art}/helm-chart/ConfigMap.yaml`)) as any;
      assert.deepEqual(parseYaml(cm.data['default.yaml']), defaults);
      assert.deepEqual(hr.spec.valuesFrom, [
        { kind: 'ConfigMap', name: cm.metadata.name, valuesKey: 'default.yaml' },
      ]);
      if (art === 'nginx-chart') assert.deepEqual(hr.spec.values, { replicaCount: 2 });
    }
    // dependon-chart's wrapper depends on the wrappers of the three others.
    const wrappers = objectsIn(target, base).filter((o) => o.obj.kind === 'Kustomization');
    assert.equal(wrappers.length, 4);
    const dep = wrappers.find((w) => w.file.includes('/dependon-chart/'))!;
    const others = wrappers
      .filter((w) => w !== dep)
      .map((w) => w.obj.metadata.name)
      .sort();
    assert.deepEqual(dep.obj.spec.dependsOn.map((x: { name: string }) => x.name).sort(), others);
    assert.equal(dep.obj.apiVersion, 'kustomize.toolkit.fluxcd.io/v1');
    // Every generated object validates against the Flux CRD schemas.
    const all = objectsIn(target, base);
    assert.ok(all.length >= 10);
    for (const o of all) assert.deepEqual(validator.validate(o.file, o.obj), [], o.file);
    assert.deepEqual(doc.files.sort(), files.filter((f) => f.startsWith(base)).sort());
  });

  test('nested-nginx v0.0.1 nests one profile twice: no two generated objects share a name', async () => {
    const target = gitopsRepo(dir, 'nested');
    const { id } = await install({
      name: 'nested',
      namespace: 'default',
      profile: { url: `file://${examples}`, tag: 'nested-nginx/v0.0.1' },
      target: { url: `file://${target}`, branch: 'main', path: '.' },
    });
    const doc = await settle(id);
    assert.equal(doc.status, 'committed', doc.reason);
    const objs = objectsIn(target, 'nested/');
    const keys = objs.map((o) => `${o.obj.kind}/${o.obj.metadata.namespace}/${o.obj.metadata.name}`);
    assert.equal(new Set(keys).size, keys.length, `duplicate names: ${keys.join(', ')}`);
    // Three charts: the top-level one and the nested profile's chart twice.
    assert.equal(objs.filter((o) => o.obj.kind === 'HelmRelease').length, 3);
    // Only the top-level chart has defaultValues (bitnami-nginx v0.0.1 has none).
    assert.equal(objs.filter((o) => o.obj.kind === 'ConfigMap').length, 1);
    const wrappers = objs
      .filter((o) => o.obj.kind === 'Kustomization')
      .map((o) => o.obj.metadata.name)
      .sort();
    assert.deepEqual(wrappers, [
      'nested-nested-profile2-nginx-server',
      'nested-nested-profile3-nginx-server',
      'nested-nginx-server',
    ]);
    for (const o of objs) assert.deepEqual(validator.validate(o.file, o.obj), [], o.file);
  });

  test('private profile and GitOps repositories over smart HTTP: installed with the secret, refused without', async () => {
    const root = join(dir, 'private-http');
    mkdirSync(root);
    gitSync(['clone', '-q', '--bare', examples, join(root, 'examples.git')]);
    const target = gitopsRepo(root, 'target');
    const http = await startGitHttp(root, { username: 'deploy', password: GIT_PASSWORD });
    writeFileSync(join(secretsDir, 'git.yaml'), gitCredsSecret(GIT_PASSWORD, http.url));
    try {
      const creds = { secretRef: { name: 'git-creds' } };
      const ok = await settle(
        (
          await install({
            name: 'private-nginx',
            namespace: 'default',
            profile: { url: `${http.url}/examples.git`, tag: 'bitnami-nginx/v0.0.2', ...creds },
            target: { url: `${http.url}/target.git`, branch: 'main', path: 'apps', ...creds },
          })
        ).id,
      );
      assert.equal(ok.status, 'committed', JSON.stringify(ok));
      assert.ok(
        tree(target).some((f) => f.startsWith('apps/') && f.endsWith('.yaml')),
        tree(target).join(' '),
      );
      // Without credentials the server answers 401: the installation fails with a readable error.
      const denied = await settle(
        (
          await install({
            name: 'denied-nginx',
            namespace: 'default',
            profile: { url: `${http.url}/examples.git`, tag: 'bitnami-nginx/v0.0.2' },
            target: { url: `${http.url}/target.git`, branch: 'main', path: 'other', ...creds },
          })
        ).id,
      );
      assert.equal(denied.status, 'failed');
      assert.match(String(denied.reason), /profile repository .* is unreachable.*Authentication failed/s);
      assert.ok(!tree(target).some((f) => f.startsWith('other/')), 'nothing committed');
      // The secret never appears in what the API shows, in either form.
      const basic = Buffer.from(`deploy:${GIT_PASSWORD}`).toString('base64');
      for (const shown of [ok, denied]) {
        assert.doesNotMatch(JSON.stringify(shown), new RegExp(`${GIT_PASSWORD}|${basic}`));
      }
    } finally {
      await http.close();
    }
  });

  test('private repositories over ssh: installed with a secret key and known_hosts; an unknown host refused', async () => {
    const root = join(dir, 'private-ssh');
    mkdirSync(root);
    gitSync(['clone', '-q', '--bare', examples, join(root, 'examples.git')]);
    const target = gitopsRepo(root, 'target');
    const ssh = await startGitSsh();
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    const secret = (name: string, knownHosts: string) =>
      'apiVersion: v1\nkind: Secret\n' +
      `metadata:\n  name: ${name}\n  namespace: default\n` +
      `data:\n  identity: ${b64(ssh.identity)}\n  known_hosts: ${b64(knownHosts)}\n` +
      `  repositories: ${b64(ssh.url)}\n`;
    writeFileSync(join(secretsDir, 'ssh.yaml'), secret('ssh-key', ssh.knownHosts));
    // The same key, but known_hosts names another server: host key checking must refuse to connect.
    writeFileSync(
      join(secretsDir, 'ssh-other-host.yaml'),
      secret('ssh-other-host', ssh.knownHosts.replace(/^\[127\.0\.0\.1\]:\d+/, '[127.0.0.1]:1')),
    );
    try {
      const request = (name: string, secretName: string, path: string) => ({
        name,
        namespace: 'default',
        profile: {
          url: `${ssh.url}${join(root, 'examples.git')}`,
          tag: 'bitnami-nginx/v0.0.2',
          secretRef: { name: secretName },
        },
        target: { url: `${ssh.url}${target}`, branch: 'main', path, secretRef: { name: secretName } },
      });
      const ok = await settle((await install(request('ssh-nginx', 'ssh-key', 'ssh'))).id);
      assert.equal(ok.status, 'committed', JSON.stringify(ok));
      assert.ok(
        tree(target).some((f) => f.startsWith('ssh/')),
        tree(target).join(' '),
      );
      const refused = await settle((await install(request('ssh-refused', 'ssh-other-host', 'other'))).id);
      assert.equal(refused.status, 'failed');
      // (The profile is already fetched from the first install: the push is what meets the unknown host.)
      assert.match(String(refused.reason), /Host key verification failed/);
      assert.ok(!tree(target).some((f) => f.startsWith('other/')), 'nothing committed');
      for (const shown of [ok, refused]) assert.doesNotMatch(JSON.stringify(shown), /PRIVATE KEY/);
    } finally {
      await ssh.close();
    }
  });

  test('the same Idempotency-Key twice is one installation and one commit', async () => {
    const target = gitopsRepo(dir, 'idem');
    const body = {
      name: 'once',
      namespace: 'default',
      profile: { url: `file://${examples}`, tag: 'bitnami-nginx/v0.0.2' },
      target: { url: `file://${target}`, branch: 'main' },
    };
    const a = await install(body, { 'idempotency-key': 'key-1' });
    const b = await install(body, { 'idempotency-key': 'key-1' });
    assert.equal(a.id, b.id);
    assert.equal((await settle(a.id)).status, 'committed');
    const c = await install(body, { 'idempotency-key': 'key-1' });
    assert.deepEqual(c, { id: a.id, status: 'committed' });
    assert.equal(gitSync(['rev-list', '--count', 'main'], target).trim(), '2');
  });

  test('a redelivered request after a crash between push and status write does not commit twice', async () => {
    const target = gitopsRepo(dir, 'crash');
    const { id } = await install({
      name: 'crash',
      namespace: 'default',
      profile: { url: `file://${examples}`, tag: 'bitnami-nginx/v0.0.2' },
      target: { url: `file://${target}`, branch: 'main' },
    });
    const first = await settle(id);
    assert.equal(first.status, 'committed');
    // Forget the result, as if the installer died right after its push, and deliver the request again.
    await ins.redis.set(
      `${stack.prefix}installation:${id}`,
      JSON.stringify({ ...first, status: 'queued', commit: undefined }),
    );
    const h = await stack.jetstream();
    await h.js.publish(SUBJECTS.installRequest(`file://${target}`), JSON.stringify({ id }), {
      msgID: `again-${id}`,
    });
    const again = await settle(id);
    assert.equal(again.status, 'committed');
    assert.equal(again.commit, first.commit, 'the commit found by its trailer');
    assert.equal(gitSync(['rev-list', '--count', 'main'], target).trim(), '2');
  });

  test('dry run returns the tree, the diff and the findings, and writes nothing', async () => {
    const target = gitopsRepo(dir, 'dry');
    const before = gitSync(['rev-parse', 'main'], target);
    const { id } = await install({
      name: 'dry',
      namespace: 'default',
      profile: { url: `file://${examples}`, tag: 'weaveworks-nginx/v0.1.1' },
      target: { url: `file://${target}`, branch: 'main', path: 'clusters/dev' },
      dryRun: true,
    });
    const doc = await settle(id);
    assert.equal(doc.status, 'rendered', doc.reason);
    assert.equal(gitSync(['rev-parse', 'main'], target), before, 'nothing pushed');
    assert.deepEqual(doc.dryRun.findings, []);
    assert.equal(doc.dryRun.tree.name, 'weaveworks-nginx');
    const nested = doc.dryRun.tree.artifacts.find((a: { name: string }) => a.name === 'nested-profile');
    assert.equal(nested.profile.name, 'bitnami-nginx');
    assert.match(
      doc.dryRun.diff,
      /\+\+\+ b\/clusters\/dev\/dry\/artifacts\/dependon-chart\/kustomize-flux.yaml/,
    );
    assert.ok(doc.files.includes('clusters/dev/dry/profile-installation.yaml'));
  });

  describe('bad input ends as failed with a clear reason, the target unchanged', () => {
    let target: string;
    let bad: string;
    before(() => {
      target = gitopsRepo(dir, 'bad');
      bad = join(dir, 'bad-profiles.git');
      const def = (name: string, artifacts: string) =>
        `apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: ${name}\nspec:\n  artifacts:\n${artifacts}`;
      profileRepo(
        dir,
        'bad-profiles',
        {
          'cyc-a/profile.yaml': def(
            'cyc-a',
            `    - name: b\n      profile:\n        source:\n          url: file://${bad}\n          tag: cyc-b/v0.0.1\n`,
          ),
          'cyc-b/profile.yaml': def(
            'cyc-b',
            `    - name: a\n      profile:\n        source:\n          url: file://${bad}\n          tag: cyc-a/v0.0.1\n`,
          ),
          'escape/profile.yaml': def('escape', '    - name: x\n      kustomize:\n        path: ../cyc-a\n'),
          'baddep/profile.yaml': def(
            'baddep',
            '    - name: x\n      kustomize:\n        path: k\n      dependsOn:\n        - name: nowhere\n',
          ),
          'baddep/k/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: k\n',
          'badvals/profile.yaml': def(
            'badvals',
            '    - name: c\n      chart:\n        url: https://charts.example\n        name: c\n        defaultValues: |\n          - a list\n',
          ),
        },
        ['cyc-a/v0.0.1', 'cyc-b/v0.0.1', 'escape/v0.0.1', 'baddep/v0.0.1', 'badvals/v0.0.1'],
      );
    });
    const cases: [string, () => Record<string, unknown>, RegExp][] = [
      [
        'a cycle',
        () => ({ profile: { url: `file://${bad}`, tag: 'cyc-a/v0.0.1' } }),
        /cycle: cyc-a@cyc-a\/v0.0.1 -> cyc-b@cyc-b\/v0.0.1 -> cyc-a@cyc-a\/v0.0.1/,
      ],
      [
        'a path escaping the profile',
        () => ({ profile: { url: `file://${bad}`, tag: 'escape/v0.0.1' } }),
        /"\.\.\/cyc-a" escapes the profile/,
      ],
      [
        'an unknown dependsOn target',
        () => ({ profile: { url: `file://${bad}`, tag: 'baddep/v0.0.1' } }),
        /depends on unknown artifact "nowhere"/,
      ],
      [
        'defaultValues that are not a map',
        () => ({ profile: { url: `file://${bad}`, tag: 'badvals/v0.0.1' } }),
        /not a YAML map/,
      ],
      [
        'an unknown version',
        () => ({ profile: { url: `file://${examples}`, tag: 'weaveworks-nginx/v9.9.9' } }),
        /has no tag weaveworks-nginx\/v9.9.9/,
      ],
      [
        'values for an unknown artifact',
        () => ({
          profile: { url: `file://${examples}`, tag: 'bitnami-nginx/v0.0.2' },
          values: { nope: { a: 1 } },
        }),
        /unknown artifact "nope"/,
      ],
      [
        'an unreachable profile repository',
        () => ({ profile: { url: `file://${dir}/missing.git`, tag: 'x/v1.0.0' } }),
        /unreachable/,
      ],
      [
        'a target URL that is not allowed',
        () => ({
          profile: { url: `file://${examples}`, tag: 'bitnami-nginx/v0.0.2' },
          target: { url: 'http://169.254.169.254/x.git' },
        }),
        /refused: host 169\.254\.169\.254 is on the deny list/,
      ],
      [
        'an unreachable target repository',
        () => ({
          profile: { url: `file://${examples}`, tag: 'bitnami-nginx/v0.0.2' },
          target: { url: `file://${dir}/nowhere.git` },
        }),
        /target repository .* is unreachable/,
      ],
    ];
    for (const [what, body, reason] of cases) {
      test(what, async () => {
        const before = gitSync(['rev-parse', 'main'], target);
        const { id } = await install({
          name: 'bad',
          namespace: 'default',
          target: { url: `file://${target}` },
          ...body(),
        });
        const doc = await settle(id);
        assert.equal(doc.status, 'failed');
        assert.match(doc.reason, reason);
        assert.equal(gitSync(['rev-parse', 'main'], target), before);
      });
    }
    test('values that are not maps are refused by the API', async () => {
      const r = await post(`${ins.api}/v1/installations`, {
        name: 'bad',
        namespace: 'default',
        profile: { url: `file://${examples}`, tag: 'bitnami-nginx/v0.0.2' },
        target: { url: `file://${target}` },
        values: { 'nginx-server': [1, 2] },
      });
      assert.equal(r.status, 400);
      assert.match(r.body.detail, /values/);
      assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    });
  });

  test('100 concurrent requests into one repository: 100 commits, none lost, none twice', async () => {
    const target = gitopsRepo(dir, 'busy');
    await ins.addInstaller(); // three replicas racing at git push
    const ids = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        install({
          name: `app-${i}`,
          namespace: 'default',
          profile: { url: `file://${examples}`, tag: 'weaveworks-nginx/v0.1.1' },
          target: { url: `file://${target}`, branch: 'main', path: 'apps' },
        }).then((r) => r.id),
      ),
    );
    // Redeliver some on purpose: the same ids again under new message ids (JetStream would drop same ids).
    const h = await stack.jetstream();
    for (const id of ids.slice(0, 25)) {
      await h.js.publish(SUBJECTS.installRequest(`file://${target}`), JSON.stringify({ id }), {
        msgID: `dup-${id}`,
      });
    }
    const docs = await Promise.all(ids.map((id) => settle(id, 240_000, 500)));
    assert.deepEqual(
      docs.filter((d) => d.status !== 'committed').map((d) => d.reason),
      [],
    );
    assert.equal(gitSync(['rev-list', '--count', 'main'], target).trim(), '101');
    const log = gitSync(['log', '--format=%B', 'main'], target);
    for (const id of ids)
      assert.equal(log.split(`Profiles-Installation-Id: ${id}`).length, 2, `one commit for ${id}`);
    const installs = tree(target).filter((f) => f.endsWith('/profile-installation.yaml'));
    assert.equal(installs.length, 100);
  });

  test('upgrade 0.1.0 -> 0.1.1 keeps a non-conflicting edit and reports a conflicting one by file', async () => {
    const target = gitopsRepo(dir, 'upgrade');
    const deployment = (name: string) =>
      `clusters/${name}/artifacts/nginx-deployment/nginx/deployment/deployment.yaml`;
    const installed: Record<string, string> = {};
    for (const name of ['keep', 'clash', 'bypath']) {
      const { id } = await install({
        name,
        namespace: 'default',
        profile: { url: `file://${examples}`, tag: 'weaveworks-nginx/v0.1.0' },
        target: { url: `file://${target}`, branch: 'main', path: 'clusters' },
      });
      assert.equal((await settle(id)).status, 'committed');
      installed[name] = id;
    }
    // The user edits the deployment: the image in `keep` (v0.1.1 changes replicas only), replicas in `clash`.
    const work = join(dir, 'upgrade-user');
    gitSync(['clone', '-q', target, work]);
    const edit = (path: string, from: string, to: string) => {
      const text = readFileSync(join(work, path), 'utf8');
      assert.ok(text.includes(from));
      writeFileSync(join(work, path), text.replace(from, to));
    };
    edit(deployment('keep'), 'image: nginx:1.14.2', 'image: nginx:1.25.3');
    edit(deployment('clash'), 'replicas: 2', 'replicas: 5');
    gitSync(['commit', '-qam', 'user edits'], work);
    gitSync(['push', '-q', 'origin', 'HEAD:main'], work);

    const up = async (id: string) => {
      const r = await post(`${ins.api}/v1/installations/${id}/upgrade`, { version: 'latest' });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      return settle(r.body.id);
    };
    const kept = await up(installed.keep!);
    assert.equal(kept.status, 'committed', kept.reason);
    assert.equal(kept.profile.version, '0.1.1');
    const text = show(target, deployment('keep'));
    assert.match(text, /replicas: 3/, 'the new version applied');
    assert.match(text, /image: nginx:1\.25\.3/, "the user's edit kept");
    assert.ok(
      tree(target).includes('clusters/keep/artifacts/dependon-chart/kustomize-flux.yaml'),
      'new artifact added',
    );
    assert.match(show(target, 'clusters/keep/profile-installation.yaml'), /tag: weaveworks-nginx\/v0\.1\.1/);

    // The repository lists both installations: `keep` is current, `clash` can go to 0.1.1.
    const scan = await getJson(
      `${ins.api}/v1/repositories/installations?url=${encodeURIComponent(`file://${target}`)}&path=clusters`,
    );
    assert.equal(scan.status, 200, JSON.stringify(scan.body));
    const byName = Object.fromEntries(scan.body.items.map((i: any) => [i.name, i]));
    assert.deepEqual(byName.keep.availableUpdates, []);
    assert.equal(byName.keep.profile.version, '0.1.1');
    assert.deepEqual(byName.clash.availableUpdates, ['0.1.1']);
    assert.equal(byName.clash.installationId, installed.clash);

    const head = gitSync(['rev-parse', 'main'], target);
    const clash = await up(installed.clash!);
    assert.equal(clash.status, 'failed');
    assert.deepEqual(clash.conflicts, [deployment('clash')]);
    assert.match(clash.reason, /conflicts/);
    assert.equal(gitSync(['rev-parse', 'main'], target), head, 'nothing written');

    // By repository path: source, values and namespace come from the installation's own file.
    const r = await post(`${ins.api}/v1/repositories/installations/upgrade`, {
      url: `file://${target}`,
      path: 'clusters/bypath',
      version: '0.1.1',
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const byPath = await settle(r.body.id);
    assert.equal(byPath.status, 'committed', byPath.reason);
    assert.equal(byPath.profile.version, '0.1.1');
    assert.match(show(target, deployment('bypath')), /replicas: 3/);
    assert.match(show(target, 'clusters/bypath/profile-installation.yaml'), new RegExp(r.body.id));
  });

  describe('pull-request mode', () => {
    let standIn: PrStandIn;
    before(async () => {
      standIn = await startPrStandIn();
    });
    after(() => standIn?.close());

    for (const [provider, apiPath, repository] of [
      ['github', '', 'acme/gitops'],
      ['gitlab', '/api/v4', 'acme/gitops'],
      ['gitea', '/api/v1', 'acme/gitops'],
    ] as const) {
      test(`${provider}: exactly one pull request per request, with branch, title and body`, async () => {
        const target = gitopsRepo(dir, `pr-${provider}`);
        const head = gitSync(['rev-parse', 'main'], target);
        const { id } = await install({
          name: `web-${provider}`,
          namespace: 'default',
          profile: { url: `file://${examples}`, tag: 'weaveworks-nginx/v0.1.1' },
          target: {
            url: `file://${target}`,
            branch: 'main',
            path: 'clusters/dev',
            pullRequest: { provider, apiUrl: `${standIn.url}${apiPath}`, repository },
          },
          mode: 'pull-request',
        });
        const doc = await settle(id);
        assert.equal(doc.status, 'pr-opened', doc.reason);
        const mine = () => standIn.created.filter((p) => p.provider === provider);
        assert.equal(mine().length, 1);
        const pr = mine()[0]!;
        assert.equal(pr.head, doc.pullRequest.branch);
        assert.equal(pr.base, 'main');
        assert.match(pr.title, /weaveworks-nginx 0\.1\.1/);
        assert.match(pr.body, /clusters\/dev\/web-[a-z]+\/profile-installation\.yaml/);
        assert.match(pr.body, /Validation/);
        assert.equal(gitSync(['rev-parse', 'main'], target), head, 'the target branch is untouched');
        assert.equal(gitSync(['rev-parse', doc.pullRequest.branch], target).trim(), doc.commit);
        // Redelivery after a crash before the status write: the branch and the PR are found, not made again.
        await ins.redis.set(
          `${stack.prefix}installation:${id}`,
          JSON.stringify({ ...doc, status: 'queued' }),
        );
        const h = await stack.jetstream();
        await h.js.publish(SUBJECTS.installRequest(`file://${target}`), JSON.stringify({ id }), {
          msgID: `again-${id}`,
        });
        const again = await waitFor(async () => {
          const r = await getJson(`${ins.api}/v1/installations/${id}`);
          return r.body.status === 'pr-opened' && r.body.updatedAt !== doc.updatedAt ? r.body : undefined;
        });
        assert.equal(again.pullRequest.number, doc.pullRequest.number);
        assert.equal(mine().length, 1);
      });
    }
  });

  test('a profile from the catalog (its GitHub URL rewritten to the fixture), upgraded through the catalog', async () => {
    const catalogDir = await stack.tempDir('catalog-');
    await copyFile(
      new URL('../examples/catalog-sources/nginx-catalog.yaml', import.meta.url),
      join(catalogDir, 'nginx.yaml'),
    );
    await stack.indexer();
    await stack.watcher(catalogDir);
    await waitFor(
      async () =>
        (await getJson(`${ins.api}/v1/profiles/nginx-catalog/weaveworks-nginx/0.1.0`)).status === 200,
      {
        what: 'catalog indexed',
      },
    );
    const target = gitopsRepo(dir, 'catalog');
    const missing = await post(`${ins.api}/v1/installations`, {
      name: 'cat',
      namespace: 'default',
      profile: { catalog: 'nginx-catalog', name: 'weaveworks-nginx', version: 'v9.0.0' },
      target: { url: `file://${target}` },
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'VERSION_NOT_FOUND');
    const { id } = await install({
      name: 'cat',
      namespace: 'default',
      profile: { catalog: 'nginx-catalog', name: 'weaveworks-nginx', version: 'v0.1.0' },
      target: { url: `file://${target}`, branch: 'main', path: 'clusters/dev' },
    });
    const doc = await settle(id);
    assert.equal(doc.status, 'committed', doc.reason);
    const pi = parseYaml(show(target, 'clusters/dev/cat/profile-installation.yaml')) as any;
    assert.deepEqual(pi.spec.catalog, {
      catalog: 'nginx-catalog',
      profile: 'weaveworks-nginx',
      version: '0.1.0',
    });
    const r = await post(`${ins.api}/v1/installations/${id}/upgrade`, { version: 'latest' });
    assert.equal(r.status, 202);
    const up = await settle(r.body.id);
    assert.equal(up.status, 'committed', up.reason);
    assert.equal(up.profile.version, '0.1.1');
    assert.ok(tree(target).includes('clusters/dev/cat/artifacts/dependon-chart/helm-chart/HelmRelease.yaml'));
  });

  // Last: it stops NATS under the other components.
  test('a request made while NATS is down is stored first and published once NATS is back', async () => {
    const target = gitopsRepo(dir, 'outage');
    await stack.nats.stop();
    let down = true;
    // The server may still be finishing its shutdown: wait until its port refuses connections.
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const sock = connect(stack.nats.port, '127.0.0.1');
          sock.once('connect', () => (sock.destroy(), resolve(false)));
          sock.once('error', () => resolve(true));
        }),
      { what: 'nats down' },
    );
    try {
      const r = await post(`${ins.api}/v1/installations`, {
        name: 'outage',
        namespace: 'default',
        profile: { url: `file://${examples}`, tag: 'bitnami-nginx/v0.0.2' },
        target: { url: `file://${target}` },
      });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      assert.equal((await getJson(`${ins.api}/v1/installations/${r.body.id}`)).body.status, 'queued');
      assert.notEqual(await ins.redis.zscore(`${stack.prefix}installation-unpublished`, r.body.id), null);
      await stack.nats.start();
      down = false;
      const doc = await settle(r.body.id, 60_000);
      assert.equal(doc.status, 'committed', doc.reason);
      assert.equal(await ins.redis.zscore(`${stack.prefix}installation-unpublished`, r.body.id), null);
    } finally {
      if (down) await stack.nats.start();
    }
  });
});
