import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NameAllocator } from './names.ts';
import { safeSubPath, splitTag } from './resolve-tree.ts';
import { mergeTrees } from './merge.ts';

test('names: plain when short and unique, hashed when too long or taken, stable across runs', () => {
  const a = new NameAllocator();
  assert.equal(a.name('Kustomization', ['app', 'nested', 'server'], 63), 'app-nested-server');
  // `app-nested` + `server` joins like `app` + `nested-server`: the second gets a hash suffix.
  const clash = a.name('Kustomization', ['app', 'nested-server'], 63);
  assert.match(clash, /^app-nested-server-[0-9a-f]{8}$/);
  const long = a.name('HelmRelease', ['install', 'x'.repeat(60)], 53);
  assert.equal(long.length <= 53, true);
  assert.equal(new NameAllocator().name('HelmRelease', ['install', 'x'.repeat(60)], 53), long);
  assert.notEqual(new NameAllocator().name('HelmRelease', ['install', 'x'.repeat(61)], 53), long);
});

test('profile paths: `..` escapes are refused, tags split into folder and version', () => {
  assert.equal(safeSubPath('nginx/chart/', 'a'), 'nginx/chart');
  assert.equal(safeSubPath('a/../b', 'a'), 'b');
  assert.throws(() => safeSubPath('../x', 'a'), /escapes/);
  assert.throws(() => safeSubPath('a/../../x', 'a'), /escapes/);
  assert.throws(() => safeSubPath('/etc', 'a'), /escapes/);
  assert.deepEqual(splitTag('weaveworks-nginx/v0.1.1'), { folder: 'weaveworks-nginx', version: '0.1.1' });
  assert.deepEqual(splitTag('v1.2.3'), { folder: '.', version: '1.2.3' });
});

test('three-way merge: user edits kept, new version applied, removals and conflicts reported', async () => {
  const b = (s: string) => Buffer.from(s);
  const base = new Map([
    ['d/a', b('1\n2\n3\n4\n5\n6\n')],
    ['d/gone', b('x\n')],
    ['d/gone-edited', b('x\n')],
    ['d/c', b('1\n2\n')],
  ]);
  const ours = new Map([
    ['d/a', b('1\nTWO\n3\n4\n5\n6\n')],
    ['d/gone', b('x\n')],
    ['d/gone-edited', b('y\n')],
    ['d/c', b('1\nmine\n')],
    ['d/user-file', b('u\n')],
  ]);
  const theirs = new Map([
    ['d/a', b('1\n2\n3\n4\n5\nSIX\n')],
    ['d/c', b('1\ntheirs\n')],
    ['d/new', b('n\n')],
  ]);
  const m = await mergeTrees(base, ours, theirs, { config: [] });
  assert.equal(m.files.get('d/a')?.toString(), '1\nTWO\n3\n4\n5\nSIX\n');
  assert.equal(m.files.get('d/new')?.toString(), 'n\n');
  assert.equal(m.files.get('d/user-file')?.toString(), 'u\n');
  assert.deepEqual(m.removed, ['d/gone']);
  assert.deepEqual(m.conflicts, ['d/c', 'd/gone-edited']);
});

test('url policy: file:// only when allowed, denied hosts refused, API URLs http(s) only', async () => {
  const { GitAccess, noSecrets } = await import('@profiles/shared/git');
  const checker = (policy: { allowFile: boolean; denyHosts: string[] }) =>
    new GitAccess({ secrets: noSecrets, policy, code: 'BAD_REQUEST' });
  const open = checker({ allowFile: true, denyHosts: ['169.254.', 'metadata'] });
  const closed = checker({ allowFile: false, denyHosts: ['169.254.'] });
  const checkUrl = (url: string, access: InstanceType<typeof GitAccess>, what: string, schemes?: string[]) =>
    access.check(url, what, schemes);
  checkUrl('file:///srv/x.git', open, 'profile');
  assert.throws(() => checkUrl('file:///srv/x.git', closed, 'profile'), /REPO_ALLOW_FILE/);
  assert.throws(() => checkUrl('http://169.254.169.254/latest', open, 'profile'), /deny list/);
  assert.throws(() => checkUrl('http://metadata/x', open, 'profile'), /deny list/);
  checkUrl('git@github.com:acme/gitops.git', closed, 'target');
  assert.throws(() => checkUrl('ext::sh -c touch% /tmp/x', open, 'target'), /refused/);
  assert.throws(() => checkUrl('ssh://host/x', open, 'api', ['http', 'https']), /scheme ssh/);
  assert.throws(() => checkUrl('--upload-pack=x', open, 'target'), /refused/);
  assert.throws(() => checkUrl('ext::evil', open, 'target'), /remote-helper/);
});
