/**
 * The installer with SECRETS_SOURCE=kubernetes against a real kube-apiserver + etcd: the secretRef of an
 * install request is read from the Kubernetes API, and a private repository served over smart HTTP is
 * installed with it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kubernetesSecrets } from '@profiles/shared/git';
import { startGitHttp, type GitHttpServer } from './harness/git.ts';
import { getJson, startStack, waitFor, type Stack } from './harness/index.ts';
import {
  examplesRepo,
  gitopsRepo,
  gitSync,
  startInstallerStack,
  type InstallerStack,
} from './harness/installer.ts';
import { startKube, type KubeServer } from './harness/kube.ts';

const PASSWORD = 'kube-Secr3t-4412';

describe('installer with Kubernetes secrets', () => {
  let stack: Stack;
  let kube: KubeServer;
  let ins: InstallerStack;
  let http: GitHttpServer;
  let root: string;

  before(async () => {
    [stack, kube] = await Promise.all([startStack(), startKube()]);
    const dir = await stack.tempDir('installer-kube-');
    const examples = examplesRepo(dir);
    root = join(dir, 'private');
    mkdirSync(root);
    gitSync(['clone', '-q', '--bare', examples, join(root, 'examples.git')]);
    gitopsRepo(root, 'target');
    http = await startGitHttp(root, { username: 'deploy', password: PASSWORD });
    await kube.kubectl('create', 'namespace', 'team-a');
    const secret = join(dir, 'secret.yaml');
    await writeFile(
      secret,
      'apiVersion: v1\nkind: Secret\nmetadata: {name: git-creds, namespace: team-a}\n' +
        `stringData: {username: deploy, password: ${PASSWORD}, repositories: "${http.url}/"}\n`,
    );
    await kube.kubectl('apply', '-f', secret);
    ins = await startInstallerStack(stack, examples, 1, {
      secrets: await kubernetesSecrets(kube.kubeconfigPath),
    });
  });
  after(async () => {
    await ins?.close();
    await http?.close();
    await kube?.stop();
    await stack?.stop();
  });

  const installWith = async (secretRef: { name: string; namespace: string }, path: string) => {
    const r = await getJson(`${ins.api}/v1/installations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: `kube-${path}`,
        namespace: 'default',
        profile: { url: `${http.url}/examples.git`, tag: 'bitnami-nginx/v0.0.2', secretRef },
        target: { url: `${http.url}/target.git`, branch: 'main', path, secretRef },
      }),
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return waitFor(
      async () => {
        const s = await getJson(`${ins.api}/v1/installations/${r.body.id}`);
        return ['committed', 'failed'].includes(s.body.status) ? s.body : undefined;
      },
      { timeoutMs: 60_000, what: 'installation to finish' },
    );
  };

  test('a secretRef is read from the Kubernetes API: the private repositories are read and pushed with it', async () => {
    const ok = await installWith({ name: 'git-creds', namespace: 'team-a' }, 'apps');
    assert.equal(ok.status, 'committed', JSON.stringify(ok));
    const files = gitSync(['ls-tree', '-r', '--name-only', 'main'], join(root, 'target.git'));
    assert.match(files, /^apps\/kube-apps\/profile-installation\.yaml$/m);
    assert.doesNotMatch(JSON.stringify(ok), new RegExp(PASSWORD));
  });

  test('a secret the Kubernetes API does not have fails the installation, nothing committed', async () => {
    const failed = await installWith({ name: 'git-creds', namespace: 'default' }, 'other');
    assert.equal(failed.status, 'failed');
    assert.match(String(failed.reason), /secret/);
    const files = gitSync(['ls-tree', '-r', '--name-only', 'main'], join(root, 'target.git'));
    assert.doesNotMatch(files, /^other\//m);
  });
});
