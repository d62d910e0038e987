/**
 * Files of a watched folder that yield no source (bad YAML, an alias bomb, a wrong apiVersion, a source
 * defined twice, a file over the size limit) are listed with their error in GET /v1/sources, where users look,
 * steadily (not alternating with "reads again"), and leave the list once fixed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getJson, sourceYaml, startStack, waitFor, type Stack } from './harness/index.ts';

interface FileError {
  origin: string;
  file: string;
  message: string;
}

const bomb = [
  'a: &a [x, x, x, x, x, x, x, x, x, x]',
  ...Array.from({ length: 8 }, (_, i) => {
    const [me, prev] = [String.fromCharCode(98 + i), String.fromCharCode(97 + i)];
    return `${me}: &${me} [${Array(10).fill(`*${prev}`).join(', ')}]`;
  }),
].join('\n');

const FILES: Record<string, { text: string; error: RegExp }> = {
  'bad-yaml.yaml': { text: 'apiVersion: weave.works/v1alpha1\nkind: [unclosed\n', error: /line \d+/ },
  'bomb.yaml': { text: bomb, error: /alias/i },
  'old-api.yaml': {
    text: sourceYaml('old', ['v1.0.0']).replace('weave.works/v1alpha1', 'weave.works/v1beta9'),
    error: /apiVersion/,
  },
  'twice.yaml': { text: sourceYaml('good', ['v9.0.0']), error: /default\/good is defined in good\.yaml/ },
  'huge.yaml': { text: `# ${'x'.repeat(1024 * 1024 + 10)}\n`, error: /MAX_SOURCE_BYTES/ },
};

describe('file-level errors in GET /v1/sources', () => {
  let stack: Stack;
  let dir: string;
  let api: string;
  before(async () => {
    stack = await startStack();
    dir = await stack.tempDir('file-errors-');
    await writeFile(join(dir, 'good.yaml'), sourceYaml('good', ['v1.0.0']));
    await stack.indexer();
    await stack.watcher(dir);
    api = (await stack.api()).url;
    await waitFor(async () => (await getJson(`${api}/v1/sources`)).body.items?.length === 1);
    for (const [name, f] of Object.entries(FILES)) await writeFile(join(dir, name), f.text);
  });
  after(() => stack.stop());

  const fileErrors = async (): Promise<FileError[]> => (await getJson(`${api}/v1/sources`)).body.fileErrors;

  test('each broken file is listed with its error; the good source is served', async () => {
    const errors = await waitFor(
      async () => {
        const e = await fileErrors();
        return e?.length === Object.keys(FILES).length ? e : undefined;
      },
      { what: 'every broken file listed' },
    );
    assert.deepEqual(
      errors.map((e) => e.file),
      Object.keys(FILES).sort(),
    );
    for (const e of errors) {
      assert.equal(e.origin, 'folder');
      assert.match(e.message, FILES[e.file]!.error, `${e.file}: ${e.message}`);
    }
    const sources = (await getJson(`${api}/v1/sources`)).body.items as { name: string; versions: number }[];
    assert.deepEqual(
      sources.map((s) => [s.name, s.versions]),
      [['good', 1]],
      'the duplicate in twice.yaml is ignored',
    );
  });

  test('the list is steady while nothing changes', async () => {
    const first = JSON.stringify(await fileErrors());
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(JSON.stringify(await fileErrors()), first);
    }
  });

  test('a fixed or removed file leaves the list', async () => {
    await writeFile(join(dir, 'bad-yaml.yaml'), sourceYaml('fixed', ['v1.0.0']));
    await rm(join(dir, 'huge.yaml'));
    await waitFor(
      async () => {
        const files = (await fileErrors()).map((e) => e.file);
        return !files.includes('bad-yaml.yaml') && !files.includes('huge.yaml') && files.length === 3;
      },
      { what: 'fixed files gone from the list' },
    );
  });
});
