/**
 * The Helm chart (deploy/helm/profiles) and the kustomize base (deploy/) are rendered (`helm template` with
 * the helm the project builds, tools/helm/build.sh; `kubectl kustomize`) and applied with a server-side dry run
 * to a real kube-apiserver (test/harness/kube.ts), the chart's CRDs applied first. Policy checks on every
 * rendering: each container non-root with resources, probes, a read-only root filesystem and no privilege
 * escalation; each workload its own ServiceAccount; RBAC an allowlist without wildcards. On the chart's
 * renderings besides: the API's HPA, PodDisruptionBudgets, and NetworkPolicies that deny by default and allow
 * each service only its flows. Three sets of values: the defaults, a trial with the bundled Redis and NATS
 * (ci/trial-values.yaml), and external Redis/NATS from Secrets with confined RBAC (ci/external-values.yaml).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { CONFIG_VARS, loadConfig } from '@profiles/shared';
import { startKube, type KubeServer } from './harness/kube.ts';
import { helmBinary, helmRunner } from './harness/helm.ts';
import {
  containerViolations,
  flowsOf,
  pdbViolations,
  permissionsBySubject,
  rbacViolations,
  serviceAccountViolations,
  workloads,
  type K8sObject,
  type Workload,
} from './harness/manifest-policy.ts';

const root = join(import.meta.dirname, '..');
const CHART = join(root, 'deploy/helm/profiles');
const NS = 'profiles-system';
const SERVICES = ['watcher', 'indexer', 'api', 'installer'];
/** Variables of the image and of OpenTelemetry rather than of the services' config. */
const isKnownVar = (name: string) =>
  name in CONFIG_VARS || ['SERVICE', 'NODE_ENV'].includes(name) || /^OTEL_/.test(name);

const parseObjects = (text: string): K8sObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJSON() as K8sObject | null)
    .filter((o): o is K8sObject => Boolean(o?.kind));

/**
 * The Kubernetes version `helm template` renders for: the API server's own, or, when the binary carries no
 * version stamp (tools/kube-assets builds it with plain `go build`: v0.0.0-master), the version its go.mod pins.
 */
async function serverVersion(kube: KubeServer): Promise<string> {
  const own = (JSON.parse(await kube.kubectl('get', '--raw', '/version')) as { gitVersion: string })
    .gitVersion;
  if (/^v1\.\d+\.\d+/.test(own)) return own;
  const gomod = await readFile(join(root, 'tools/kube-assets/apiserver/go.mod'), 'utf8');
  return /^\s*k8s\.io\/kubernetes (v1\.\d+\.\d+)/m.exec(gomod)![1]!;
}

// Built (minutes, once) or found before the suite is declared, so that a machine without Go skips it plainly.
const found = await helmBinary();
const skip = 'skip' in found ? found.skip : false;
if (skip) console.log(`# helm-chart: skipped: ${skip}`);

describe('the Helm chart and the kustomize base', { skip }, () => {
  let kube: KubeServer;
  let dir: string;
  let helm: (...args: string[]) => Promise<string>;
  const rendered = new Map<string, { file: string; objects: K8sObject[] }>();
  const chartRenderings = ['default', 'trial', 'external'];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'profiles-helm-'));
    helm = helmRunner((found as { path: string }).path, join(dir, 'helm-home'));
    kube = await startKube({ crdDirs: [] });
    const server = await serverVersion(kube);
    const template = (release: string, ns: string, ...values: string[]) =>
      helm('template', release, CHART, '-n', ns, '--include-crds', `--kube-version=${server}`, ...values);
    const renders: [string, Promise<string>][] = [
      ['default', template('profiles', NS)],
      ['trial', template('profiles', NS, '-f', join(CHART, 'ci/trial-values.yaml'))],
      ['external', template('profiles', NS, '-f', join(CHART, 'ci/external-values.yaml'))],
      ['kustomize', kube.kubectl('kustomize', join(root, 'deploy'))],
    ];
    for (const [name, text] of renders) {
      const file = join(dir, `${name}.yaml`);
      await writeFile(file, await text);
      rendered.set(name, { file, objects: parseObjects(await text) });
    }
    // The CRDs first, for real (the chart's crds/), then the namespaces a dry run cannot create.
    const crds = rendered.get('default')!.objects.filter((o) => o.kind === 'CustomResourceDefinition');
    const crdFile = join(dir, 'crds.yaml');
    await writeFile(crdFile, crds.map((c) => stringify(c)).join('---\n'));
    await kube.kubectl('apply', '--server-side', '-f', crdFile);
    await kube.kubectl('wait', '--for=condition=Established', '--timeout=60s', '-f', crdFile);
    for (const ns of [NS, 'team-a', 'team-b']) await kube.kubectl('create', 'namespace', ns);
  });

  after(async () => {
    await kube?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const objects = (name: string) => rendered.get(name)!.objects;
  const byKind = (name: string, kind: string) => objects(name).filter((o) => o.kind === kind);
  const workloadOf = (name: string, component: string) =>
    workloads(objects(name)).find((w) => w.podLabels['app.kubernetes.io/component'] === component)!;

  test('helm lint --strict passes with the default, trial and external values', async () => {
    for (const values of [
      [],
      ['-f', join(CHART, 'ci/trial-values.yaml')],
      ['-f', join(CHART, 'ci/external-values.yaml')],
    ]) {
      const out = await helm('lint', '--strict', CHART, ...values);
      assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/, out);
    }
  });

  test('values the chart cannot honour or does not know fail the rendering with a message naming the value', async () => {
    const fails = (...set: string[]) =>
      helm('template', 'profiles', CHART, ...set.flatMap((v) => ['--set', v])).then(
        () => assert.fail(`rendered with ${set.join(' ')}`),
        (e: Error) => e.message,
      );
    assert.match(
      await fails('config.REDIS_URL=redis://x'),
      /config\.REDIS_URL is not set in config: use redis\.external/,
    );
    assert.match(
      await fails('config.WEBHOOK_SECRET=s3cret'),
      /use webhookSecret \(a Secret, never a ConfigMap\)/,
    );
    assert.match(await fails('redis.external.url='), /redis\.external\.url is required/);
    assert.match(await fails('nats.external.url='), /nats\.external\.url is required/);
    // values.schema.json: a misspelt key or a wrong type is refused before anything renders.
    assert.match(await fails('watcher.replica=3'), /\/watcher.*additional properties 'replica' not allowed/);
    assert.match(await fails('api.port=http'), /\/api\/port.*want integer/);
  });

  test("the chart's CRDs are deploy/crds, both kinds", async () => {
    const base = join(root, 'deploy/crds');
    const files = (await readdir(base)).filter((f) => f.endsWith('.yaml'));
    const expected = (await Promise.all(files.map((f) => readFile(join(base, f), 'utf8')))).flatMap(
      parseObjects,
    );
    const crds = byKind('default', 'CustomResourceDefinition');
    assert.deepEqual(crds.map((c) => c.metadata.name).sort(), [
      'profilecatalogsources.weave.works',
      'profileinstallations.weave.works',
    ]);
    assert.deepEqual(
      crds.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)),
      expected.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)),
    );
  });

  for (const name of [...chartRenderings, 'kustomize']) {
    test(`${name}: every object passes a server-side dry run`, async () => {
      const out = await kube.kubectl(
        'apply',
        '--server-side',
        '--dry-run=server',
        '-f',
        rendered.get(name)!.file,
      );
      const applied = out
        .trim()
        .split('\n')
        .filter((l) => /serverside-applied \(server dry run\)$/.test(l));
      assert.equal(applied.length, objects(name).length, out);
      assert.match(out, /deployment.apps\/profiles-api serverside-applied/);
    });

    test(`${name}: every container is non-root, bounded, probed, read-only and unprivileged`, () => {
      assert.ok(workloads(objects(name)).length >= SERVICES.length, 'the four services are rendered');
      assert.deepEqual(containerViolations(objects(name)), []);
    });

    test(`${name}: each workload has a ServiceAccount of its own; RBAC is an allowlist without wildcards`, () => {
      assert.deepEqual(serviceAccountViolations(objects(name)), []);
      assert.deepEqual(rbacViolations(objects(name)), []);
      // A token only where the Kubernetes API is called: the pods whose account holds permissions.
      const permitted = permissionsBySubject(objects(name));
      for (const { obj, pod } of workloads(objects(name))) {
        const sa = objects(name).find(
          (o) => o.kind === 'ServiceAccount' && o.metadata.name === pod.serviceAccountName,
        );
        const mounts = pod.automountServiceAccountToken ?? sa?.automountServiceAccountToken ?? true;
        if (mounts)
          assert.ok(permitted.has(pod.serviceAccountName), `${obj.metadata.name} mounts a useless token`);
      }
    });
  }

  test('default values: each service holds exactly the permissions of the kustomize base (deploy/rbac.yaml)', () => {
    const chart = permissionsBySubject(objects('default'));
    const base = permissionsBySubject(objects('kustomize'));
    for (const s of SERVICES) assert.deepEqual(chart.get(`profiles-${s}`), base.get(`profiles-${s}`), s);
    assert.deepEqual(chart.get('profiles-watcher'), [
      'get profilecatalogsources.weave.works',
      'get profilecatalogsources/status.weave.works',
      'list profilecatalogsources.weave.works',
      'patch profilecatalogsources/status.weave.works',
      'update profilecatalogsources/status.weave.works',
      'watch profilecatalogsources.weave.works',
    ]);
    assert.deepEqual(chart.get('profiles-indexer'), ['get secrets']);
    assert.deepEqual(chart.get('profiles-installer'), ['get secrets']);
    assert.deepEqual(chart.get('profiles-api'), [
      'create subjectaccessreviews.authorization.k8s.io',
      'create tokenreviews.authentication.k8s.io',
    ]);
  });

  test('default and external values: the API has an HPA; trial values: fixed replicas', () => {
    for (const name of ['default', 'external']) {
      const [hpa, ...more] = byKind(name, 'HorizontalPodAutoscaler');
      assert.equal(more.length, 0);
      assert.equal(hpa!.spec.scaleTargetRef.name, workloadOf(name, 'api').obj.metadata.name);
      assert.equal(
        workloadOf(name, 'api').obj.spec.replicas,
        undefined,
        `${name}: the HPA owns the replicas`,
      );
      assert.ok(hpa!.spec.minReplicas >= 2, `${name}: at least 2 API replicas`);
    }
    assert.equal(byKind('trial', 'HorizontalPodAutoscaler').length, 0);
    assert.equal(workloadOf('trial', 'api').obj.spec.replicas, 1);
  });

  for (const name of chartRenderings) {
    test(`${name}: every service has a PodDisruptionBudget; NetworkPolicies isolate every workload`, () => {
      // Not the bundled single-pod Redis and NATS of a trial: a budget there either blocks node drains or
      // protects nothing.
      const service = (w: Workload) => SERVICES.includes(w.podLabels['app.kubernetes.io/component']!);
      assert.deepEqual(pdbViolations(objects(name), service), []);
      assert.equal(byKind(name, 'PodDisruptionBudget').length, SERVICES.length);
      const deny = byKind(name, 'NetworkPolicy').find((np) => /default-deny$/.test(np.metadata.name));
      assert.ok(deny, 'a default-deny policy');
      assert.deepEqual([deny.spec.ingress, deny.spec.egress], [undefined, undefined]);
      for (const w of workloads(objects(name))) {
        const flows = flowsOf(objects(name), w.podLabels);
        assert.deepEqual(flows.isolated, { ingress: true, egress: true }, w.obj.metadata.name);
        assert.ok(!flows.egress.some((f) => f.port === '*'), `${w.obj.metadata.name}: egress on any port`);
        assert.ok(
          flows.egress.some((f) => f.port === '53'),
          `${w.obj.metadata.name}: no DNS`,
        );
      }
    });

    test(`${name}: each service may reach only what it needs`, () => {
      const egress = (c: string) =>
        new Set(flowsOf(objects(name), workloadOf(name, c).podLabels).egress.map((f) => f.port));
      const ingress = (c: string) =>
        flowsOf(objects(name), workloadOf(name, c).podLabels).ingress.map((f) => f.port);
      const has = (c: string, ports: string[], not: string[]) => {
        for (const p of ports) assert.ok(egress(c).has(p), `${name}: ${c} cannot reach port ${p}`);
        for (const p of not) assert.ok(!egress(c).has(p), `${name}: ${c} may reach port ${p}`);
      };
      has('watcher', ['4222', '443'], ['6379', '22', '9418']);
      has('indexer', ['6379', '4222', '443', '22', '9418'], []);
      has('installer', ['6379', '4222', '443', '22'], []);
      has('api', ['6379', '4222'], ['22', '9418']);
      assert.deepEqual(ingress('api'), ['http']);
      for (const c of ['watcher', 'indexer', 'installer']) assert.deepEqual(ingress(c), ['health']);
    });
  }

  test('trial values: the bundled Redis and NATS admit only the services that use them and reach nothing', () => {
    const peers = (c: string) =>
      flowsOf(objects('trial'), workloadOf('trial', c).podLabels).ingress.flatMap((f) =>
        (f.from ?? [{ any: true }]).map(
          (p: any) => p.podSelector?.matchLabels?.['app.kubernetes.io/component'] ?? 'any',
        ),
      );
    assert.deepEqual(peers('redis').sort(), ['api', 'indexer', 'installer']);
    assert.deepEqual(peers('nats').sort(), ['api', 'indexer', 'installer', 'watcher']);
    for (const c of ['redis', 'nats']) {
      const out = flowsOf(objects('trial'), workloadOf('trial', c).podLabels).egress.map((f) => f.port);
      assert.deepEqual([...new Set(out)], ['53'], `${c} goes out only to DNS`);
    }
    const api = workloadOf('trial', 'api').pod.containers[0];
    const env = Object.fromEntries(api.env.map((e: any) => [e.name, e.value]));
    assert.equal(env.REDIS_URL, 'redis://profiles-redis:6379');
    assert.equal(env.NATS_URL, 'nats://profiles-nats:4222');
    assert.ok(byKind('trial', 'Service').some((s) => s.metadata.name === 'profiles-redis'));
    assert.ok(byKind('trial', 'Service').some((s) => s.metadata.name === 'profiles-nats'));
    assert.equal(byKind('default', 'StatefulSet').length, 0, 'nothing bundled by default');
  });

  test('external values: URLs from Secrets, egress narrowed, RBAC confined to the listed namespaces', () => {
    const api = workloadOf('external', 'api').pod.containers[0];
    const env = new Map<string, any>(api.env.map((e: any) => [e.name, e]));
    const fromSecret = (name: string) => env.get(name)?.valueFrom?.secretKeyRef;
    assert.deepEqual(['REDIS_URL', 'REDIS_READ_URL', 'NATS_URL', 'WEBHOOK_SECRET'].map(fromSecret), [
      { name: 'profiles-backends', key: 'redis-url' },
      { name: 'profiles-backends', key: 'redis-read-url' },
      { name: 'profiles-backends', key: 'nats-url' },
      { name: 'profiles-webhook', key: 'webhook-secret' },
    ]);
    // Each service gets only the addresses, and so the credentials, it uses.
    const names = (c: string) => workloadOf('external', c).pod.containers[0].env.map((e: any) => e.name);
    assert.ok(!names('watcher').some((n: string) => n.startsWith('REDIS_')), 'the watcher uses no Redis');
    for (const c of ['indexer', 'installer']) assert.ok(!names(c).includes('REDIS_READ_URL'), c);
    for (const c of SERVICES)
      for (const e of workloadOf('external', c).pod.containers[0].env)
        assert.doesNotMatch(e.value ?? '', /\/\/[^/@]*@/, `${c}: credentials in ${e.name}`);
    const redisTo = flowsOf(objects('external'), workloadOf('external', 'indexer').podLabels).egress.find(
      (f) => f.port === '6379',
    );
    assert.deepEqual(redisTo?.to, [{ ipBlock: { cidr: '10.20.0.0/16' } }]);
    const bindings = [...byKind('external', 'RoleBinding'), ...byKind('external', 'ClusterRoleBinding')];
    const where = (sa: string) =>
      bindings
        .filter((b) => b.subjects.some((s: any) => s.name === sa))
        .map((b) => `${b.kind}:${b.metadata.namespace ?? '*'}`)
        .sort();
    assert.deepEqual(where('profiles-watcher'), ['RoleBinding:team-a', 'RoleBinding:team-b']);
    assert.deepEqual(where('profiles-indexer'), ['RoleBinding:team-a', 'RoleBinding:team-b']);
    assert.deepEqual(where('profiles-installer'), ['RoleBinding:team-a', 'RoleBinding:team-b']);
    assert.deepEqual(where('profiles-api'), ['ClusterRoleBinding:*']);
  });

  test("the chart's configuration matches deploy/config.yaml and loadConfig accepts each service's", () => {
    const [base] = byKind('kustomize', 'ConfigMap');
    const [chart] = byKind('default', 'ConfigMap');
    const { REDIS_URL, NATS_URL, ...rest } = base!.data as Record<string, string>;
    for (const [k, v] of Object.entries(rest)) assert.equal(chart!.data[k], v, `config ${k}`);
    for (const name of chartRenderings)
      for (const c of SERVICES) {
        const container = workloadOf(name, c).pod.containers[0];
        const cm = byKind(name, 'ConfigMap').find(
          (m) => m.metadata.name === container.envFrom[0].configMapRef.name,
        );
        const env: Record<string, string> = { ...cm!.data };
        // Values from Secrets are not known here; what loadConfig sees of them is its defaults.
        for (const e of container.env) if (e.value !== undefined) env[e.name] = e.value;
        for (const k of Object.keys(env)) assert.ok(isKnownVar(k), `${name} ${c}: unknown variable ${k}`);
        assert.equal(env.SERVICE, c);
        assert.doesNotThrow(() => loadConfig(env), `${name} ${c}`);
      }
    assert.equal(REDIS_URL && NATS_URL ? 'both' : 'missing', 'both', 'the base names Redis and NATS');
  });

  test('the policy checks find what a weakened rendering lacks (they are not vacuous)', async () => {
    const weak = parseObjects(
      await helm(
        'template',
        'profiles',
        CHART,
        '-n',
        NS,
        '--set',
        'networkPolicy.enabled=false',
        '--set',
        'api.resources.limits=null',
        '--set',
        'indexer.pdb.enabled=false',
      ),
    );
    assert.deepEqual(containerViolations(weak), ['Deployment/profiles-api container api: no limits.memory']);
    assert.deepEqual(pdbViolations(weak), ['Deployment/profiles-indexer: no PodDisruptionBudget']);
    assert.deepEqual(flowsOf(weak, workloadOf('default', 'api').podLabels).isolated, {
      ingress: false,
      egress: false,
    });
    // What values cannot weaken, changed by hand in a copy of the kustomize base.
    const base: K8sObject[] = structuredClone(objects('kustomize'));
    const watcher = workloads(base).find((w) => w.obj.metadata.name === 'profiles-watcher')!;
    Object.assign(watcher.pod.containers[0].securityContext, {
      readOnlyRootFilesystem: false,
      allowPrivilegeEscalation: true,
    });
    delete watcher.pod.containers[0].readinessProbe;
    watcher.pod.securityContext.runAsNonRoot = false;
    workloads(base).find((w) => w.obj.metadata.name === 'profiles-api')!.pod.serviceAccountName =
      'profiles-watcher';
    base
      .find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'profiles-indexer')!
      .rules[0].verbs.push('list', '*');
    assert.deepEqual(containerViolations(base), [
      'Deployment/profiles-watcher container watcher: runAsNonRoot is not true',
      'Deployment/profiles-watcher container watcher: no readinessProbe',
      'Deployment/profiles-watcher container watcher: root filesystem writable',
      'Deployment/profiles-watcher container watcher: allowPrivilegeEscalation is not false',
    ]);
    assert.deepEqual(serviceAccountViolations(base), [
      'ServiceAccount profiles-watcher is shared by Deployment/profiles-api, Deployment/profiles-watcher',
    ]);
    assert.deepEqual(rbacViolations(base), [
      'ClusterRole/profiles-indexer: * in verbs',
      'ClusterRole/profiles-indexer: verb *',
      'ClusterRole/profiles-indexer: Secrets beyond get (get, list, *)',
    ]);
  });

  test('an applied chart (external values, release ext) grants each account only its own namespaces and verbs', async () => {
    const server = await serverVersion(kube);
    const text = await helm(
      'template',
      'ext',
      CHART,
      '-n',
      'profiles-ext',
      `--kube-version=${server}`,
      '-f',
      join(CHART, 'ci/external-values.yaml'),
    );
    const file = join(dir, 'ext.yaml');
    await writeFile(file, text);
    await kube.kubectl('create', 'namespace', 'profiles-ext');
    await kube.kubectl('apply', '--server-side', '-f', file);
    const can = async (sa: string, ...args: string[]) =>
      (
        await kube
          .kubectl('auth', 'can-i', ...args, `--as=system:serviceaccount:profiles-ext:${sa}`)
          .catch((e: { stdout?: string }) => e.stdout ?? '')
      ).trim();
    const pcs = 'profilecatalogsources.weave.works';
    assert.equal(await can('ext-profiles-watcher', 'watch', pcs, '-n', 'team-a'), 'yes');
    assert.equal(
      await can('ext-profiles-watcher', 'update', pcs, '--subresource=status', '-n', 'team-b'),
      'yes',
    );
    assert.equal(await can('ext-profiles-watcher', 'update', pcs, '-n', 'team-a'), 'no');
    assert.equal(await can('ext-profiles-watcher', 'watch', pcs, '-n', 'default'), 'no');
    assert.equal(await can('ext-profiles-indexer', 'get', 'secrets', '-n', 'team-a'), 'yes');
    assert.equal(await can('ext-profiles-indexer', 'list', 'secrets', '-n', 'team-a'), 'no');
    assert.equal(await can('ext-profiles-indexer', 'get', 'secrets', '-n', 'default'), 'no');
    assert.equal(await can('ext-profiles-installer', 'get', 'secrets', '-n', 'team-b'), 'yes');
    assert.equal(await can('ext-profiles-installer', 'get', 'secrets', '-n', 'profiles-ext'), 'no');
    assert.equal(await can('ext-profiles-api', 'create', 'tokenreviews.authentication.k8s.io'), 'yes');
    assert.equal(await can('ext-profiles-api', 'get', 'secrets', '-n', 'team-a'), 'no');
  });
});
