/**
 * OIDC bearer tokens against a JWKS server of the test's own on loopback: a valid token gives its user and
 * groups (from the configured claims); expired, other issuer, other audience, unsigned (alg none), signed by
 * a rotated-out key, HMAC-signed and malformed tokens are refused with a 401 that names why, never the token.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK } from 'jose';
import { AppError } from '@profiles/shared';
import { Authenticator } from './authenticate.ts';
import { OidcVerifier } from './oidc.ts';

let server: Server;
let issuer: string;
let published: JWK[] = [];
let fetches = 0;
const keys: { kid: string; privateKey: CryptoKey }[] = [];

async function newKey(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  keys.push({ kid, privateKey });
  return { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
}

before(async () => {
  published = [await newKey('k1')];
  server = createServer((req, res) => {
    if (req.url === '/jwks') {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: published }));
    } else if (req.url === '/.well-known/openid-configuration') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const sign = (
  kid: string,
  claims: Record<string, unknown> = {},
  opts: { exp?: string; iss?: string; aud?: string } = {},
) =>
  new SignJWT({ email: 'alice@example.com', roles: ['team-a', 'admins'], ...claims })
    .setProtectedHeader({ alg: 'RS256', kid })
    .setSubject('alice-sub')
    .setIssuer(opts.iss ?? issuer)
    .setAudience(opts.aud ?? 'profiles')
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '5m')
    .sign(keys.find((k) => k.kid === kid)!.privateKey);

function authenticator() {
  const oidc = new OidcVerifier(
    {
      issuer,
      audience: 'profiles',
      jwksUrl: undefined, // discovered
      userClaim: 'email',
      groupsClaim: 'roles',
      clockSkewSeconds: 5,
    },
    { cooldownMs: 0 },
  );
  return new Authenticator({ anonymous: 'off', oidc });
}

async function refused(a: Authenticator, header: string | undefined, why: RegExp) {
  await assert.rejects(a.identify(header), (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, 'UNAUTHORIZED');
    assert.match(err.message, why);
    if (header) assert.ok(!err.message.includes(header.slice(7, 40)), 'the token is not in the message');
    return true;
  });
}

test('a valid token gives the user and groups of the configured claims', async () => {
  const a = authenticator();
  const id = await a.identify(`Bearer ${await sign('k1')}`);
  assert.deepEqual(id, { user: 'alice@example.com', groups: ['team-a', 'admins'], via: 'oidc' });
});

test('expired, other issuer, other audience, alg none, HMAC and malformed tokens are refused', async () => {
  const a = authenticator();
  await refused(a, `Bearer ${await sign('k1', {}, { exp: '-1m' })}`, /expired/);
  await refused(
    a,
    `Bearer ${await sign('k1', {}, { iss: 'https://other.example.com' })}`,
    /issuer is not accepted/,
  );
  await refused(a, `Bearer ${await sign('k1', {}, { aud: 'someone-else' })}`, /aud claim/);
  const none = new UnsecuredJWT({ email: 'mallory' })
    .setIssuer(issuer)
    .setAudience('profiles')
    .setExpirationTime('5m')
    .encode();
  await refused(a, `Bearer ${none}`, /refused/);
  const hmac = await new SignJWT({ email: 'mallory' })
    .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
    .setIssuer(issuer)
    .setAudience('profiles')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode('a shared secret of thirty-two bytes!'));
  await refused(a, `Bearer ${hmac}`, /algorithm is not accepted/);
  await refused(a, 'Bearer not.a.jwt', /not known/);
  await refused(a, 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0', /not known|not accepted/);
  await refused(a, 'Basic YWxpY2U6cGFzcw==', /must be "Bearer <token>"/);
  await refused(a, undefined, /authentication required/);
  const tampered = (await sign('k1')).split('.');
  tampered[1] = Buffer.from(
    JSON.stringify({ iss: issuer, aud: 'profiles', email: 'root', exp: 9e9 }),
  ).toString('base64url');
  await refused(a, `Bearer ${tampered.join('.')}`, /signature/);
});

test('a rotated key is fetched when a token names it; the rotated-out key is refused afterwards', async () => {
  const a = authenticator();
  const old = await sign('k1');
  assert.equal((await a.identify(`Bearer ${old}`)).user, 'alice@example.com');
  const before = fetches;
  published = [await newKey('k2')]; // the issuer rotates: k1 is gone
  const fresh = await sign('k2', { email: 'bob@example.com' });
  assert.equal((await a.identify(`Bearer ${fresh}`)).user, 'bob@example.com');
  assert.ok(fetches > before, 'the JWKS was fetched again for the new key id');
  // A token the old key signs now is refused by the same verifier: the key set it holds is the new one.
  await refused(a, `Bearer ${await sign('k1', { email: 'mallory@example.com' })}`, /no key of the issuer/);
  // One verified before the rotation is not checked again until it leaves the cache (a minute at most).
  const b = authenticator();
  await b.identify(`Bearer ${fresh}`);
  await refused(b, `Bearer ${old}`, /no key of the issuer/);
});
