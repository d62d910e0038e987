import { lookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Addresses no repository or pull-request call may reach, decided on the address a name resolves to (not on
 * how the URL spells it): loopback, link-local (cloud metadata at 169.254.169.254), unique-local IPv6 (AWS's
 * fd00:ec2::254), CGNAT (Alibaba's metadata at 100.100.100.200), unspecified, multicast and reserved; IPv4
 * embedded in IPv6 (mapped `::ffff:a.b.c.d`, compatible, NAT64) is judged as the IPv4 address it carries.
 * Loopback is allowed only by configuration (REPO_ALLOW_LOOPBACK: tests and `npm start`, whose repositories
 * are local); an allowlist (REPO_ALLOW_HOSTS) limits the reachable hosts to those named.
 */
const RANGES: [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['100.64.0.0', 10, 'ipv4', 'shared address space (CGNAT)'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fc00::', 7, 'ipv6', 'unique-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

const blocked = RANGES.map(([net, prefix, type, name]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, type);
  return { list, type, name };
});

/** 8 groups of 16 bits of an IPv6 address. */
function groups(v6: string): number[] | undefined {
  let s = v6.toLowerCase().replace(/^\[|\]$/g, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const b = dotted[1]!.split('.').map(Number);
    s =
      s.slice(0, -dotted[1]!.length) +
      `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  const all = [...h, ...fill, ...t].map((g) => parseInt(g || '0', 16));
  return all.length === 8 && all.every((g) => g >= 0 && g <= 0xffff) ? all : undefined;
}

/** The IPv4 address an IPv6 address carries (mapped, compatible or NAT64), if any. */
export function embeddedIpv4(v6: string): string | undefined {
  const g = groups(v6);
  if (!g) return undefined;
  const v4 = () => [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff].join('.');
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeros(5) && g[5] === 0xffff) return v4(); // ::ffff:a.b.c.d
  if (zeros(6) && (g[6]! !== 0 || g[7]! > 1)) return v4(); // ::a.b.c.d (deprecated "compatible")
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4(); // NAT64
  return undefined;
}

/** Why an address may not be reached (its range), or undefined. */
export function blockedRange(address: string, opts: { allowLoopback?: boolean } = {}): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an address';
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4) return blockedRange(v4, opts);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const b of blocked) {
    if (b.type !== type || !b.list.check(address, type)) continue;
    if (b.name === 'loopback' && opts.allowLoopback) return undefined;
    return b.name;
  }
  return undefined;
}

export interface AddressPolicy {
  allowLoopback?: boolean;
  /** When not empty, the only hosts reachable: names, `*.domain`, addresses or CIDR ranges (`10.0.0.0/8`). */
  allowHosts?: string[];
}

function inCidr(address: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/') as [string, string];
  const type = isIP(net) === 6 ? 'ipv6' : 'ipv4';
  if (isIP(net) === 0 || isIP(address) !== isIP(net)) return false;
  const list = new BlockList();
  list.addSubnet(net, Number(bits), type);
  return list.check(address, type);
}

function allowlisted(host: string, addresses: string[], allow: string[]): boolean {
  return allow.some((a) => {
    const e = a.toLowerCase().replace(/\.$/, '');
    if (e.includes('/')) return addresses.length > 0 && addresses.every((ad) => inCidr(ad, e));
    if (e.startsWith('*.')) return host.endsWith(e.slice(1));
    return host === e;
  });
}

/**
 * The addresses `host` may be reached at, or the reason it may not (undefined addresses). A name that does not
 * resolve is not an error here: git reports it like any unreachable server.
 */
export async function resolveHost(
  host: string,
  policy: AddressPolicy,
  resolve: (h: string) => Promise<string[]> = async (h) =>
    (await lookup(h, { all: true })).map((a) => a.address),
): Promise<{ addresses: string[] } | { refused: string }> {
  const name = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.+$/, '');
  let addresses: string[];
  if (isIP(name)) addresses = [name];
  else {
    try {
      addresses = await resolve(name);
    } catch {
      addresses = []; // git will not reach it either, unless the allowlist refuses it first
    }
  }
  if (policy.allowHosts?.length && !allowlisted(name, addresses, policy.allowHosts))
    return { refused: `host ${name} is not on the allowlist (REPO_ALLOW_HOSTS)` };
  for (const a of addresses) {
    const why = blockedRange(a, policy);
    if (why && !(policy.allowHosts?.some((e) => e.includes('/') && inCidr(a, e)) ?? false))
      return { refused: `${name} resolves to ${a}, a ${why} address` };
  }
  return { addresses };
}

/**
 * A `lookup` for node:http(s) and node:net that answers only addresses `resolveHost` allows: the policy is
 * judged on the very answer a connection uses, so a second DNS answer (rebinding to an internal address after
 * a first, public one was checked) never reaches a connect. A refusal is an error like a failed resolution.
 */
export function policyLookup(
  policy: AddressPolicy,
  resolve?: (h: string) => Promise<string[]>,
  onRefused?: (host: string, why: string) => void,
): LookupFunction {
  return (hostname, options, callback) => {
    void resolveHost(hostname, policy, resolve).then(
      (r) => {
        const fail = (message: string) =>
          callback(Object.assign(new Error(message), { code: 'ENOTFOUND' }), '', 0);
        if ('refused' in r) {
          onRefused?.(hostname, r.refused);
          return fail(`${hostname}: could not connect to the server`);
        }
        const family = (a: string) => isIP(a);
        const wanted = r.addresses.filter((a) => !options.family || family(a) === options.family);
        if (!wanted.length) return fail(`${hostname} does not resolve`);
        if (options.all)
          (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(
            null,
            wanted.map((address) => ({ address, family: family(address) })),
          );
        else callback(null, wanted[0]!, family(wanted[0]!));
      },
      (err: unknown) => callback(err as NodeJS.ErrnoException, '', 0),
    );
  };
}
