import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestDigest } from './install-requests.ts';

test('a request digest ignores key order and undefined members, and sees every value', () => {
  assert.equal(
    requestDigest({ a: 1, b: { c: [1, 2], d: 'x' } }),
    requestDigest({ b: { d: 'x', c: [1, 2] }, a: 1 }),
  );
  assert.equal(requestDigest({ a: 1, b: undefined }), requestDigest({ a: 1 }));
  assert.notEqual(requestDigest({ a: [1, 2] }), requestDigest({ a: [2, 1] }));
  assert.notEqual(requestDigest({ a: '1' }), requestDigest({ a: 1 }));
  assert.notEqual(requestDigest({ a: null }), requestDigest({ a: 'null' }));
});
