import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installMessage, scanReply, scanRequest } from './install-messages.ts';

const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

test('install messages round-trip and refuse what their schema does not allow, naming the field', () => {
  assert.deepEqual(installMessage.decode(installMessage.encode({ id: 'a1' })), { id: 'a1' });
  assert.throws(() => installMessage.decode(bytes({ id: '' })), { code: 'MESSAGE_INVALID', message: /\/id/ });
  assert.throws(() => installMessage.decode(new TextEncoder().encode('{')), {
    code: 'MESSAGE_INVALID',
    message: /not JSON/,
  });
  assert.throws(() => installMessage.encode({} as never), { code: 'MESSAGE_INVALID' });
});

test('scan requests need url, branch and path; replies are items or an error', () => {
  const req = { url: 'https://git.example/r.git', branch: 'main', path: '.', secretRef: { name: 's' } };
  assert.deepEqual(scanRequest.decode(scanRequest.encode(req)), req);
  assert.throws(() => scanRequest.decode(bytes({ url: 'x', path: '.' })), { message: /branch/ });
  assert.deepEqual(scanReply.decode(bytes({ items: [] })), { items: [] });
  assert.deepEqual(scanReply.decode(bytes({ error: { code: 'GIT_FAILED', message: 'no' } })), {
    error: { code: 'GIT_FAILED', message: 'no' },
  });
  assert.throws(() => scanReply.decode(bytes({ items: [{ name: 'x' }] })), { code: 'MESSAGE_INVALID' });
});
