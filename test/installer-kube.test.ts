/**
 * What the installer renders is accepted by a real kube-apiserver with the Flux CRDs and the ProfileInstallation
 * CRD installed: every object of an installation is applied with a server-side dry run (the API server runs
 * its full validation and defaulting, nothing is stored).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseYamlDocuments } from '@profiles/shared';
import { FluxValidator } from '../services/installer/src/flux-schemas.ts';
import { ProfileRepos } from '../services/installer/src/profile-repos.ts';
import { renderInstallation } from '../services/installer/src/render.ts';
import { resolveProfile } from '../services/installer/src/resolve-tree.ts';
import { GitAccess, noSecrets, rewriteConfig } from '@profiles/shared/git';
import { CRD_DIR, startKube, type KubeServer } from './harness/kube.ts';
import { EXAMPLES_URL, examplesRepo } from './harness/installer.ts';

const FLUX_CRDS = join(import.meta.dirname, '../services/installer/schemas/flux');

describe('rendered installations on a real kube-apiserver', () => {
  let kube: KubeServer;
  let dir: string;
  let repos: ProfileRepos;
  let validator: FluxValidator;
  let examples: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'installer-kube-'));
    examples = examplesRepo(dir);
    kube = await startKube({ crdDirs: [CRD_DIR, FLUX_CRDS] });
    const env = { config: rewriteConfig([`${EXAMPLES_URL}=file://${examples}`]) };
    repos = new ProfileRepos(
      join(dir, 'cache'),
      new GitAccess({
        secrets: noSecrets,
        policy: { allowFile: true, denyHosts: [] },
        base: env,
        code: 'BAD_REQUEST',
      }),
    );
    validator = await FluxValidator.load();
  });
  after(async () => {
    await kube?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Applies every object of the rendered files with a server-side dry run; returns the kinds applied. */
  const dryRunApply = async (files: Map<string, Buffer>) => {
    const kinds: string[] = [];
    for (const [path, data] of files) {
      if (!/(profile-installation|kustomize-flux|HelmRelease|HelmRepository|ConfigMap)\.yaml$/.test(path))
        continue;
      for (const obj of parseYamlDocuments(data.toString('utf8')) as { kind: string }[]) {
        const f = join(dir, `obj-${kinds.length}.json`);
        await writeFile(f, JSON.stringify(obj));
        await kube.kubectl('apply', '--dry-run=server', '--server-side', '-f', f);
        kinds.push(obj.kind);
      }
    }
    return kinds;
  };

  test('weaveworks-nginx 0.1.1 with values, patches and valuesFrom: every object, the ProfileInstallation too, is accepted', async () => {
    const source = { url: `file://${examples}`, tag: 'weaveworks-nginx/v0.1.1' };
    const profile = await resolveProfile(repos, source);
    const r = renderInstallation(
      profile,
      {
        id: 'kube-test',
        name: 'web',
        namespace: 'default',
        target: { url: 'file:///gitops.git', branch: 'main', path: 'clusters/dev' },
        values: { 'nginx-chart': { replicaCount: 2, service: { type: 'NodePort' } } },
        patches: {
          'nginx-deployment': [
            {
              patch:
                'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nginx-deployment\nspec:\n  revisionHistoryLimit: 2\n',
            },
            {
              patch: '- op: add\n  path: /metadata/labels/team\n  value: web\n',
              target: { kind: 'Deployment', labelSelector: 'app=nginx' },
            },
          ],
        },
        valuesFrom: {
          'nginx-chart': [
            { kind: 'ConfigMap', name: 'web-values', valuesKey: 'nginx-chart' },
            { kind: 'Secret', name: 'web-secret', targetPath: 'auth.password', optional: true },
          ],
        },
        profile: source,
      },
      validator,
    );
    assert.deepEqual(r.findings, []);
    const kinds = await dryRunApply(r.files);
    assert.ok(kinds.includes('ProfileInstallation'), kinds.join(' '));
    const wrapper = parseYamlDocuments(
      r.files.get('clusters/dev/web/artifacts/nginx-deployment/kustomize-flux.yaml')!.toString('utf8'),
    )[0] as { spec: { patches?: unknown[] } };
    assert.equal(wrapper.spec.patches?.length, 2, 'the patches went to the server on the Kustomization');
    assert.equal(kinds.filter((k) => k === 'HelmRelease').length, 3);
    assert.equal(kinds.filter((k) => k === 'Kustomization').length, 4);
    // The dry run is strict: a field the CRD does not know is refused (so the acceptance above means something).
    const record = r.files.get('clusters/dev/web/profile-installation.yaml')!.toString('utf8');
    await assert.rejects(
      dryRunApply(new Map([['x/profile-installation.yaml', Buffer.from(`${record}  bogus: 1\n`)]])),
      /unknown field|bogus/,
    );
  });
  test("the pctl layout (pctl's names, paths and releaseName, spec.layout in the record) is accepted too", async () => {
    const source = { url: `file://${examples}`, tag: 'weaveworks-nginx/v0.1.1' };
    const profile = await resolveProfile(repos, source);
    const r = renderInstallation(
      profile,
      {
        id: 'kube-pctl',
        name: 'pctl-profile',
        namespace: 'default',
        target: {
          url: 'file:///gitops.git',
          branch: 'main',
          path: '.',
          fluxSource: { name: 'my-git-repo', namespace: 'default' },
        },
        values: {},
        valuesFrom: {
          'nginx-chart': [{ kind: 'ConfigMap', name: 'pctl-profile-values', valuesKey: 'nginx-chart' }],
        },
        layout: 'pctl',
        profile: source,
      },
      validator,
    );
    assert.deepEqual(r.findings, []);
    const kinds = await dryRunApply(r.files);
    assert.equal(kinds.filter((k) => k === 'HelmRelease').length, 3);
    assert.equal(kinds.filter((k) => k === 'Kustomization').length, 4);
    assert.ok(kinds.includes('ProfileInstallation'), kinds.join(' '));
    const record = r.files.get('pctl-profile/profile-installation.yaml')!.toString('utf8');
    assert.match(record, /layout: pctl/, 'the CRD accepted spec.layout');
    // The CRD refuses a layout it does not know: the acceptance above is the enum's.
    await assert.rejects(
      dryRunApply(
        new Map([
          ['x/profile-installation.yaml', Buffer.from(record.replace('layout: pctl', 'layout: helm'))],
        ]),
      ),
      /layout|Unsupported value/,
    );
  });
});
