import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { chooseEncoding, COMPRESS_MIN_BYTES, EncodedBody } from './page-encodings.ts';

test('chooses the encoding the client prefers, br first on a tie, nothing for small bodies', () => {
  const big = COMPRESS_MIN_BYTES;
  assert.equal(chooseEncoding('gzip, deflate, br', big), 'br');
  assert.equal(chooseEncoding('gzip', big), 'gzip');
  assert.equal(chooseEncoding('x-gzip', big), 'gzip');
  assert.equal(chooseEncoding('*', big), 'gzip');
  assert.equal(chooseEncoding('br;q=0.1, gzip;q=0.9', big), 'gzip');
  assert.equal(chooseEncoding('br;q=0, gzip;q=0', big), undefined);
  assert.equal(chooseEncoding('identity', big), undefined);
  assert.equal(chooseEncoding('deflate', big), undefined);
  assert.equal(chooseEncoding(undefined, big), undefined);
  assert.equal(chooseEncoding('GZIP', big), 'gzip');
  assert.equal(chooseEncoding('gzip, br', big - 1), undefined);
});

test('a compressed form is made once, decodes to the body, and reports the memory it added', () => {
  const json = Buffer.from(
    JSON.stringify({ items: Array.from({ length: 50 }, (_, i) => ({ name: `p-${i}` })) }),
  );
  const body = new EncodedBody(json);
  const gz = body.get('gzip');
  assert.ok(gz.added > 0 && gz.added < json.length, `${gz.added} of ${json.length}`);
  assert.deepEqual(gunzipSync(gz.bytes), json);
  const again = body.get('gzip');
  assert.equal(again.added, 0);
  assert.equal(again.bytes, gz.bytes);
  const br = body.get('br');
  assert.ok(br.added > 0);
  assert.deepEqual(brotliDecompressSync(br.bytes), json);
});
