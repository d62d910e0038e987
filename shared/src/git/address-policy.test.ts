import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockedRange, embeddedIpv4, resolveHost } from './address-policy.ts';

test('every address form of the metadata, loopback and private-use ranges is refused', () => {
  for (const [a, range] of [
    ['169.254.169.254', 'link-local'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['fd00:ec2::254', 'unique-local'],
    ['100.100.100.200', 'shared address space (CGNAT)'],
    ['127.0.0.1', 'loopback'],
    ['127.9.9.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['224.0.0.1', 'multicast'],
  ] as const) {
    assert.equal(blockedRange(a), range, a);
  }
  for (const ok of ['140.82.112.3', '2606:4700::1111', '10.1.2.3', '192.168.1.10'])
    assert.equal(blockedRange(ok), undefined, ok);
  assert.equal(blockedRange('127.0.0.1', { allowLoopback: true }), undefined);
  assert.equal(blockedRange('::1', { allowLoopback: true }), undefined);
  assert.equal(blockedRange('169.254.169.254', { allowLoopback: true }), 'link-local');
  assert.equal(embeddedIpv4('::ffff:1.2.3.4'), '1.2.3.4');
  assert.equal(embeddedIpv4('2001:db8::1'), undefined);
});

test('names are judged by what they resolve to; a trailing dot changes nothing; allowlist mode', async () => {
  const dns: Record<string, string[]> = {
    'metadata.google.internal': ['169.254.169.254'],
    'rebind.test': ['140.82.112.3', '127.0.0.1'],
    'git.example.com': ['140.82.112.3'],
    'in-cluster.svc': ['10.0.0.7'],
  };
  const resolve = async (h: string) => {
    const a = dns[h];
    if (!a) throw new Error('ENOTFOUND');
    return a;
  };
  assert.ok('refused' in (await resolveHost('metadata.google.internal.', {}, resolve)));
  assert.ok('refused' in (await resolveHost('METADATA.google.internal', {}, resolve)));
  assert.ok('refused' in (await resolveHost('rebind.test', {}, resolve)), 'any bad address refuses the name');
  assert.ok('refused' in (await resolveHost('[::ffff:169.254.169.254]', {}, resolve)));
  assert.deepEqual(await resolveHost('git.example.com', {}, resolve), { addresses: ['140.82.112.3'] });
  assert.deepEqual(await resolveHost('nowhere.test', {}, resolve), { addresses: [] });

  const allow = { allowHosts: ['git.example.com', '10.0.0.0/8'] };
  assert.deepEqual(await resolveHost('git.example.com', allow, resolve), { addresses: ['140.82.112.3'] });
  assert.deepEqual(await resolveHost('in-cluster.svc', allow, resolve), { addresses: ['10.0.0.7'] });
  assert.ok('refused' in (await resolveHost('rebind.test', allow, resolve)));
  assert.ok('refused' in (await resolveHost('140.82.112.4', allow, resolve)));
  assert.ok('refused' in (await resolveHost('127.0.0.1', { allowHosts: ['*.example.com'] }, resolve)));
  assert.deepEqual(await resolveHost('127.0.0.1', { allowHosts: ['127.0.0.0/8'] }, resolve), {
    addresses: ['127.0.0.1'],
  });
});
