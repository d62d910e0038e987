import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from './errors.ts';
import { MAX_VALUES_DEPTH, checkTargetPath, checkValues } from './install-checks.ts';

const code = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return isAppError(err) ? err.code : String(err);
  }
};

test('target paths stay inside the repository and out of .git', () => {
  for (const [path, want] of [
    ['.', '.'],
    ['', '.'],
    ['clusters/dev/', 'clusters/dev'],
    ['a/./b//c', 'a/b/c'],
    ['a/../b', 'b'],
    ['.github/workflows', '.github/workflows'],
    ['x.git/y', 'x.git/y'],
  ] as const) {
    assert.equal(checkTargetPath(path), want, path);
  }
  for (const path of [
    '.git',
    '.git/hooks',
    'a/../.git',
    'x/.GIT/y',
    '/etc',
    '\\\\server\\x',
    'C:/x',
    '..',
    'a/../../b',
    'a\0b',
  ]) {
    assert.equal(
      code(() => checkTargetPath(path)),
      'TARGET_PATH_INVALID',
      path,
    );
  }
});

test('values deeper than the bound are refused naming the artifact, without recursion', () => {
  const nest = (n: number) => {
    let v: Record<string, unknown> = { leaf: 1 };
    for (let i = 1; i < n; i++) v = { d: v };
    return v;
  };
  assert.equal(
    code(() => checkValues({ a: nest(MAX_VALUES_DEPTH) })),
    'ok',
  );
  assert.equal(
    code(() => checkValues({ a: nest(MAX_VALUES_DEPTH + 1) })),
    'VALUES_TOO_DEEP',
  );
  assert.equal(
    code(() => checkValues({ a: nest(200_000) })),
    'VALUES_TOO_DEEP',
  );
  assert.equal(
    code(() => checkValues({ a: { list: [[[[1]]]] } })),
    'ok',
  );
  assert.throws(
    () => checkValues({ ok: {}, 'nested/chart': nest(100) }),
    (err) => isAppError(err) && err.details?.parameter === 'values.nested/chart',
  );
});
