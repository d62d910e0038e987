/**
 * Refusals the HTTP layer makes answer in the API's problem+json format like every other error: 415 for a
 * body without a content type or with one the route does not read, 431 for oversized headers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startStack, type Stack } from './harness/index.ts';

/** A raw request (fetch sets a content type for string bodies itself, and refuses huge headers). */
function raw(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; type: string; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type'] ?? ''),
          body: parsed,
        });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

const BODY_ROUTES = [
  '/v1/installations',
  '/v1/installations/0123456789abcdef/upgrade',
  '/v1/repositories/installations/upgrade',
  '/v1/webhooks/git',
];

describe('HTTP-level refusals are problem+json', () => {
  let stack: Stack;
  let api: string;
  before(async () => {
    stack = await startStack();
    api = (await stack.api({ webhookSecret: 'shh' })).url;
  });
  after(() => stack.stop());

  for (const path of BODY_ROUTES) {
    for (const [what, headers] of [
      ['no content type', {}],
      ['text/plain', { 'content-type': 'text/plain' }],
      ['application/xml', { 'content-type': 'application/xml' }],
    ] as const) {
      test(`POST ${path} with ${what}: 415`, async () => {
        const r = await raw(api, 'POST', path, { ...headers }, '{"a":1}');
        assert.equal(r.status, 415, JSON.stringify(r.body));
        assert.match(r.type, /^application\/problem\+json/);
        assert.equal(r.body.code, 'UNSUPPORTED_MEDIA_TYPE');
        assert.equal(r.body.parameter, 'content-type');
        assert.equal(r.body.status, 415);
        assert.match(r.body.detail, /content type/i);
      });
    }
  }

  test('JSON with a charset is read', async () => {
    const r = await raw(
      api,
      'POST',
      '/v1/installations',
      { 'content-type': 'application/json; charset=utf-8' },
      '{}',
    );
    assert.equal(r.status, 400, 'reaches validation');
    assert.notEqual(r.body.code, 'UNSUPPORTED_MEDIA_TYPE');
  });

  for (const path of ['/v1/search', '/v1/installations', '/v1/profiles']) {
    test(`GET ${path} with 20 KiB of headers: 431`, async () => {
      const r = await raw(api, 'GET', path, { 'x-big': 'a'.repeat(20 * 1024) });
      assert.equal(r.status, 431);
      assert.match(r.type, /^application\/problem\+json/);
      assert.equal(r.body.code, 'HEADERS_TOO_LARGE');
      assert.equal(r.body.status, 431);
    });
  }

  test('the server still answers after refusals', async () => {
    const r = await fetch(`${api}/healthz`);
    assert.equal(r.status, 200);
  });
});
