/**
 * The folder watcher sees every way editors and tools change a file: atomic saves (a temp file renamed over
 * the original, again and again), `sed -i`, deletes and re-creates, folders created, removed and renamed.
 * Nothing here waits for the periodic full scan (5 minutes in these tests): each change must arrive by itself.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { getJson, sourceYaml, startStack, waitFor, type Stack } from './harness/index.ts';

const source = (name: string, tag: string) => sourceYaml(name, [tag]);

/**
 * What editors and tools do: write a temp file, then rename it over the original. The temp file is beside it
 * (named like a YAML file, as some editors do) or in another folder of the same file system (mktemp + mv).
 */
let tempDir = '';
let saves = 0;
async function atomicSave(file: string, text: string): Promise<void> {
  const tmp =
    saves++ % 2 === 0 ? join(dirname(file), `.~${basename(file)}`) : join(tempDir, `save-${saves}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, file);
}

describe('folder watcher: editor and tool saves', () => {
  let stack: Stack;
  let dir: string;
  let api: string;

  before(async () => {
    stack = await startStack();
    dir = await stack.tempDir('saves-');
    tempDir = await stack.tempDir('editor-temp-');
    await stack.indexer();
    await stack.watcher(dir);
    api = (await stack.api()).url;
  });
  after(() => stack.stop());

  const versions = async (name: string): Promise<string[]> => {
    const r = await getJson(`${api}/v1/profiles?catalogSource=${name}`);
    return (r.body.items as { catalogSource: string; version: string }[])
      .filter((i) => i.catalogSource === name)
      .map((i) => i.version)
      .sort();
  };
  const shows = (name: string, want: string[]) =>
    waitFor(async () => JSON.stringify(await versions(name)) === JSON.stringify(want), {
      timeoutMs: 5_000,
      what: `${name} at ${want.join(',') || 'nothing'}`,
    });

  test('atomic saves, one after another, are each seen', async () => {
    const f = join(dir, 'atomic.yaml');
    await writeFile(f, source('atomic', 'v1.0.0'));
    await shows('atomic', ['1.0.0']);
    for (let i = 1; i <= 4; i++) {
      await atomicSave(f, source('atomic', `v1.${i}.0`));
      await shows('atomic', [`1.${i}.0`]);
    }
    // A plain write after renames still counts (the watch follows the name, not the first inode).
    await writeFile(f, source('atomic', 'v2.0.0'));
    await shows('atomic', ['2.0.0']);
  });

  test('sed -i (a new file renamed over the original) is seen', async () => {
    const f = join(dir, 'sed.yaml');
    await writeFile(f, source('sed', 'v1.0.0'));
    await shows('sed', ['1.0.0']);
    execFileSync('sed', ['-i', 's/v1.0.0/v1.0.1/', f]);
    await shows('sed', ['1.0.1']);
    execFileSync('sed', ['-i', 's/v1.0.1/v1.0.2/', f]);
    await shows('sed', ['1.0.2']);
  });

  test('a deleted file disappears and a re-created one comes back, also by rename', async () => {
    const f = join(dir, 'again.yaml');
    await writeFile(f, source('again', 'v1.0.0'));
    await shows('again', ['1.0.0']);
    await rm(f);
    await shows('again', []);
    await writeFile(f, source('again', 'v1.1.0'));
    await shows('again', ['1.1.0']);
    await rm(f);
    await shows('again', []);
    await atomicSave(f, source('again', 'v1.2.0'));
    await shows('again', ['1.2.0']);
    await atomicSave(f, source('again', 'v1.3.0'));
    await shows('again', ['1.3.0']);
  });

  test('files in new, removed and renamed folders', async () => {
    const sub = join(dir, 'team');
    await mkdir(sub);
    await atomicSave(join(sub, 'team.yaml'), source('team', 'v1.0.0'));
    await shows('team', ['1.0.0']);
    await atomicSave(join(sub, 'team.yaml'), source('team', 'v1.1.0'));
    await shows('team', ['1.1.0']);
    await rename(sub, join(dir, 'team-renamed'));
    await atomicSave(join(dir, 'team-renamed', 'team.yaml'), source('team', 'v1.2.0'));
    await shows('team', ['1.2.0']);
    await rm(join(dir, 'team-renamed'), { recursive: true });
    await shows('team', []);
    await mkdir(sub);
    await writeFile(join(sub, 'team.yaml'), source('team', 'v2.0.0'));
    await shows('team', ['2.0.0']);
  });

  test('a file moved out of the folder is deleted; moved in, it is added', async () => {
    const outside = await stack.tempDir('outside-');
    await writeFile(join(dir, 'moved.yaml'), source('moved', 'v1.0.0'));
    await shows('moved', ['1.0.0']);
    await rename(join(dir, 'moved.yaml'), join(outside, 'moved.yaml'));
    await shows('moved', []);
    await rename(join(outside, 'moved.yaml'), join(dir, 'moved.yaml'));
    await shows('moved', ['1.0.0']);
    assert.deepEqual(await versions('atomic'), ['2.0.0'], 'other sources are untouched');
  });
});
