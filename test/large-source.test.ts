/**
 * A source as large as the source limit allows travels as one event (NATS's max_payload set to 8 MB, as the
 * harness and deployments do); one that a smaller NATS limit cannot carry is listed with an error in
 * GET /v1/sources (in Kubernetes mode: on the object's status) and never holds back the sources changed after it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getJson, sourceYaml, startStack, waitFor, type Stack } from './harness/index.ts';
import { startKube, type KubeServer } from './harness/kube.ts';

/** A valid source of about `bytes` bytes: many versions with long descriptions. */
function bigSource(name: string, bytes: number): string {
  const lines = [
    'apiVersion: weave.works/v1alpha1',
    'kind: ProfileCatalogSource',
    `metadata: {name: ${name}}`,
  ];
  lines.push('spec:', '  profiles:');
  let size = lines.join('\n').length;
  for (let i = 0; size < bytes - 400; i++) {
    const description = JSON.stringify('"quoted" and \\ escaped '.repeat(8));
    const entry = `    - {name: app, tag: "v1.0.${i}", description: ${description}}`;
    lines.push(entry);
    size += entry.length + 1;
  }
  return lines.join('\n') + '\n';
}

const versions = async (api: string, name: string) =>
  ((await getJson(`${api}/v1/profiles`)).body.items as { catalogSource: string }[]).filter(
    (i) => i.catalogSource === name,
  ).length;

describe('a source near the size limit', () => {
  let stack: Stack;
  let api: string;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.stop());

  test('a 1 MB source is indexed, and a source written after it too', async () => {
    const dir = await stack.tempDir('large-');
    await stack.indexer();
    await stack.watcher(dir);
    api = (await stack.api()).url;
    const text = bigSource('big', 1000 * 1000);
    assert.ok(text.length > 990_000 && text.length < 1024 * 1024);
    const count = text.split('\n').filter((l) => l.startsWith('    - ')).length;
    await writeFile(join(dir, 'big.yaml'), text);
    await writeFile(join(dir, 'after.yaml'), sourceYaml('after', ['v1.0.0']));
    await waitFor(
      async () => (await versions(api, 'big')) === count && (await versions(api, 'after')) === 1,
      {
        timeoutMs: 30_000,
        what: 'both sources indexed',
      },
    );
  });
});

describe('a source larger than NATS can carry', () => {
  let stack: Stack;
  let api: string;
  before(async () => {
    stack = await startStack({ natsMaxPayloadBytes: 64 * 1024 });
  });
  after(() => stack.stop());

  test('is listed with an error, keeps nothing back, and goes through once small enough', async () => {
    const dir = await stack.tempDir('too-large-');
    await stack.indexer();
    await stack.watcher(dir);
    api = (await stack.api()).url;
    await writeFile(join(dir, 'big.yaml'), bigSource('big', 200 * 1000));
    await writeFile(join(dir, 'after.yaml'), sourceYaml('after', ['v1.0.0']));
    await waitFor(async () => (await versions(api, 'after')) === 1, { what: 'the later source indexed' });
    const errors = await waitFor(async () => {
      const e = (await getJson(`${api}/v1/sources`)).body.fileErrors as { file: string; message: string }[];
      return e?.length ? e : undefined;
    });
    assert.equal(errors[0]!.file, 'big.yaml');
    assert.match(
      errors[0]!.message,
      /default\/big is \d+ bytes as an event, more than NATS's max_payload of 65536/,
    );
    assert.equal(await versions(api, 'big'), 0);
    await writeFile(join(dir, 'big.yaml'), bigSource('big', 20 * 1000));
    await waitFor(async () => (await versions(api, 'big')) > 0, { what: 'the smaller source indexed' });
    await waitFor(async () => (await getJson(`${api}/v1/sources`)).body.fileErrors.length === 0, {
      what: 'the error gone',
    });
  });
});

describe('kubernetes mode: a ProfileCatalogSource larger than NATS can carry', () => {
  let stack: Stack;
  let kube: KubeServer;
  before(async () => {
    [stack, kube] = await Promise.all([startStack({ natsMaxPayloadBytes: 64 * 1024 }), startKube()]);
  });
  after(async () => {
    await stack?.stop();
    await kube?.stop();
  });

  const ready = async (name: string) => {
    const pcs = JSON.parse(await kube.kubectl('get', 'pcs', '-n', 'default', name, '-o', 'json'));
    const conditions = (pcs.status?.conditions ?? []) as {
      type: string;
      status: string;
      reason: string;
      message: string;
    }[];
    return {
      ready: conditions.find((c) => c.type === 'Ready'),
      stalled: conditions.find((c) => c.type === 'Stalled'),
    };
  };

  test('gets the error on its status, holds back no other source, and is indexed once small enough', async () => {
    const dir = await stack.tempDir('kube-too-large-');
    await stack.indexer();
    await stack.kubeWatcher(kube.kubeconfigPath, { watchTimeoutSeconds: 20 });
    const api = (await stack.api()).url;
    const apply = async (name: string, text: string) => {
      await writeFile(
        join(dir, `${name}.yaml`),
        text.replace(/metadata: \{name: (\S+)\}/, 'metadata: {name: $1, namespace: default}'),
      );
      await kube.kubectl('apply', '-f', join(dir, `${name}.yaml`));
    };
    await apply('big', bigSource('big', 200 * 1000));
    await apply('after', sourceYaml('after', ['v1.0.0']));
    await waitFor(async () => (await versions(api, 'after')) === 1, { what: 'the later source indexed' });
    const st = await waitFor(
      async () => {
        const s = await ready('big');
        return s.ready?.reason === 'SourceTooLarge' ? s : undefined;
      },
      { timeoutMs: 30_000, what: 'the error on the status of big' },
    );
    assert.equal(st.ready!.status, 'False');
    assert.match(
      st.ready!.message,
      /default\/big is \d+ bytes as an event, more than NATS's max_payload of 65536/,
    );
    assert.equal(st.stalled?.status, 'True', 'retrying cannot help until the object changes');
    assert.equal(await versions(api, 'big'), 0);
    await apply('big', bigSource('big', 20 * 1000));
    await waitFor(async () => (await ready('big')).ready?.status === 'True', {
      timeoutMs: 30_000,
      what: 'big indexed once small enough',
    });
    assert.ok((await versions(api, 'big')) > 0);
  });
});
