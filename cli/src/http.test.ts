import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EXIT } from './exit.ts';
import { ApiClient, problemError } from './http.ts';

// A stand-in for the API's bearer-token check: 401 problem unless the token is right.
let server: Server;
let api: string;
const seen: { auth?: string; path?: string }[] = [];
before(async () => {
  server = createServer((req, res) => {
    seen.push({ auth: req.headers.authorization, path: req.url });
    if (req.headers.authorization !== 'Bearer s3cret') {
      res.writeHead(401, { 'content-type': 'application/problem+json' });
      res.end(
        JSON.stringify({
          status: 401,
          title: 'Unauthorized',
          detail: 'a bearer token is needed',
          code: 'UNAUTHORIZED',
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

test('the token goes as a bearer header; without it the refusal is exit 4 with the detail', async () => {
  assert.deepEqual(await new ApiClient({ api, token: 's3cret' }).get('/v1/search', { q: 'a b', empty: '' }), {
    ok: true,
  });
  assert.deepEqual(seen.at(-1), { auth: 'Bearer s3cret', path: '/v1/search?q=a+b' });
  await assert.rejects(new ApiClient({ api }).get('/v1/search'), (err: any) => {
    assert.equal(err.exitCode, EXIT.refused);
    assert.equal(err.message, 'a bearer token is needed [UNAUTHORIZED]');
    return true;
  });
  assert.equal(seen.at(-1)!.auth, undefined);
});

test("problems and the original endpoints' errors become one line with the parameter, by status", () => {
  const p = problemError(400, { detail: 'bad range', parameter: 'version', code: 'BAD_REQUEST' });
  assert.equal(p.message, 'bad range (parameter: version) [BAD_REQUEST]');
  assert.equal(p.exitCode, EXIT.usage);
  const o = problemError(404, { code: 'PROFILE_NOT_FOUND', message: 'no such profile', details: {} });
  assert.equal(o.message, 'no such profile [PROFILE_NOT_FOUND]');
  assert.equal(o.exitCode, EXIT.notFound);
  assert.equal(problemError(502, '<html>bad gateway</html>').exitCode, EXIT.unavailable);
  assert.equal(problemError(503, undefined).message, 'HTTP 503');
});

test('an API URL that is not http(s) is refused before any request', () => {
  assert.throws(() => new ApiClient({ api: 'ftp://x' }), /must be an http:\/\/ or https:\/\/ URL/);
  assert.throws(() => new ApiClient({ api: 'nope' }), /is not a URL/);
});
