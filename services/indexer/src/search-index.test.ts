import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogKeys, type CatalogEntry } from '@profiles/shared';
import { indexProfile, SearchAdditions } from './search-index.ts';
import type { RedisCommand } from './redis-commands.ts';

const keys = catalogKeys('t:');

function entry(name: string, description: string): CatalogEntry {
  return {
    tag: `${name}/v1.0.0`,
    catalogSource: 'cat',
    url: '',
    name,
    description,
    maintainer: 'someone',
    prerequisites: [],
    version: '1.0.0',
    catalogNamespace: 'ns',
    origin: 'inline',
    indexedAt: '2026-01-01T00:00:00.000Z',
  };
}

/** Plans two profiles sharing the term "server", the first indexed before (its old keys are removed first). */
function plan(grouped: boolean): { out: RedisCommand[]; search: SearchAdditions } {
  const out: RedisCommand[] = [];
  const search = new SearchAdditions(keys, out, grouped);
  const old = [keys.searchTerm('server'), keys.searchName('nginx')];
  indexProfile(out, keys, 'nginx ns/cat', [entry('nginx', 'web server')], old, 5, search);
  indexProfile(out, keys, 'caddy ns/cat', [entry('caddy', 'web server')], [], 6, search);
  return { out, search };
}

test('grouped: one command per shared key for the whole plan, after the removals it follows', () => {
  const { out, search } = plan(true);
  const additions = search.commands();
  const serverTerm = additions.filter((c) => c[1] === keys.searchTerm('server'));
  assert.deepEqual(serverTerm, [['zadd', keys.searchTerm('server'), ...serverTerm[0]!.slice(2)]]);
  assert.deepEqual(
    serverTerm[0]!.filter((_, i) => i >= 2 && i % 2 === 1),
    ['nginx ns/cat', 'caddy ns/cat'],
    'both members in one ZADD, in planning order',
  );
  const keysAdded = additions.map((c) => c[1]);
  assert.equal(new Set(keysAdded).size, keysAdded.length, 'no key twice');
  assert.deepEqual(
    additions.find((c) => c[1] === keys.searchUpdated()),
    ['zadd', keys.searchUpdated(), 5, 'nginx ns/cat', 6, 'caddy ns/cat'],
  );
  // In place: the removals of the profile indexed before, and each member's own key list.
  assert.deepEqual(out[0], ['zrem', keys.searchTerm('server'), 'nginx ns/cat']);
  assert.deepEqual(out[1], ['srem', keys.searchName('nginx'), 'nginx ns/cat']);
  assert.ok(out.every((c) => c[0] !== 'zadd' && !(c[0] === 'sadd' && !String(c[1]).includes('member-keys'))));
});

test('grouped and ungrouped plans add the same members to the same keys; the term list is each term once', () => {
  const grouped = plan(true);
  const flat = plan(false);
  assert.deepEqual(flat.search.commands(), [], 'ungrouped additions are already in place');
  /** key → the (member, score) pairs its additions carry, in order. */
  const added = (cmds: RedisCommand[]) => {
    const m = new Map<string, string[]>();
    for (const [name, key, ...args] of cmds) {
      if (name !== 'zadd' && name !== 'sadd') continue;
      const list = m.get(String(key)) ?? [];
      list.push(...args.map(String));
      m.set(String(key), list);
    }
    return m;
  };
  assert.deepEqual(added([...grouped.out, ...grouped.search.commands()]), added(flat.out));
  const head = grouped.search.head();
  assert.deepEqual(head, flat.search.head());
  const terms = head[0]!.slice(2).filter((_, i) => i % 2 === 1);
  assert.equal(new Set(terms).size, terms.length);
  assert.ok(terms.includes('server') && terms.includes('nginx') && terms.includes('caddy'));
  assert.deepEqual(new SearchAdditions(keys, []).head(), [], 'no terms, no ZADD');
});
