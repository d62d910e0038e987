/**
 * The in-process catalog generation against a real redis-server: it follows bumps by pub/sub, falls back to
 * "ask Redis" while its subscription is down, and misses no bump made while it was away.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { bumpGeneration, catalogKeys } from '@profiles/shared';
import { connectRedis, silentLogger, type Redis } from '@profiles/shared/runtime';
import { startRedis, waitFor, type LocalServer } from '../../../test/harness/index.ts';
import { CatalogReader } from './catalog-reader.ts';
import { CatalogGeneration } from './catalog-generation.ts';

const keys = catalogKeys('gen:');
const log = silentLogger();
let server: LocalServer;
let redis: Redis;
let admin: Redis;

before(async () => {
  server = await startRedis();
  redis = connectRedis(server.url, log, 'api', { failFast: true });
  admin = connectRedis(server.url, log, 'admin');
});
after(async () => {
  redis.disconnect();
  admin.disconnect();
  await server.destroy();
});

const bump = async () => {
  const res = await bumpGeneration(admin.multi(), keys).exec();
  return String(res![0]![1]);
};

test('follows every bump without asking Redis, and catches up after its subscription is cut', async () => {
  await admin.set(keys.generation(), '41');
  const gen = new CatalogGeneration({ redis, reader: new CatalogReader(redis, keys), log });
  assert.equal(gen.current(), undefined, 'unknown before the subscription is confirmed');
  gen.start();
  try {
    await waitFor(() => gen.current() === '41', { what: 'initial generation read' });

    for (let i = 0; i < 20; i++) {
      const value = await bump();
      // The announcement travels with the bump: seen within milliseconds, with no GET from this side.
      await waitFor(() => gen.current() === value, { what: `generation ${value}`, intervalMs: 1 });
    }
    assert.equal(gen.current(), '61');

    // Cut the subscriber; bump while it reconnects. It must not report a generation it cannot vouch for,
    // and must end at the newest one.
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    const during = await bump();
    await bump();
    await waitFor(() => gen.current() === String(Number(during) + 1), {
      what: 'generation after reconnect',
    });

    // Redis restarts (data kept): undefined while away, then the restored counter, then new bumps.
    await server.stop();
    await waitFor(() => gen.current() === undefined, { what: 'fallback while Redis is away' });
    await server.start();
    await waitFor(() => admin.status === 'ready', { what: 'admin reconnected' });
    const restarted = await bump();
    await waitFor(() => gen.current() === restarted, { what: 'generation after Redis restart' });
  } finally {
    gen.close();
  }
  assert.equal(gen.current(), undefined, 'closed: unknown');
});

test('the follower reloads the source each bump names; followed() waits for it, current() does not', async () => {
  const calls: string[] = [];
  const announced: string[] = [];
  let release: () => void = () => undefined;
  const follower = {
    reloadAll: async () => {
      calls.push('all');
    },
    announced: (id: string) => void announced.push(id),
    reloadSource: (id: string) => {
      calls.push(id);
      return new Promise<void>((resolve) => (release = resolve));
    },
  };
  const gen = new CatalogGeneration({ redis, reader: new CatalogReader(redis, keys), log, follower });
  gen.start();
  try {
    await waitFor(() => gen.followed() !== undefined, { what: 'synced' });
    assert.deepEqual(calls, ['all']);
    const before = gen.followed()!;
    const res = await bumpGeneration(admin.multi(), keys, 'team-a/catalog').exec();
    const bumped = String(res![0]![1]);
    // ETags move at once; the mirror is not vouched for until its reload is done.
    await waitFor(() => gen.current() === bumped, { what: 'current moves', intervalMs: 1 });
    assert.deepEqual(announced, ['team-a/catalog'], 'the source is announced as the generation moves');
    await waitFor(() => calls.length === 2, { what: 'reload asked' });
    assert.equal(calls[1], 'team-a/catalog');
    assert.equal(gen.followed(), before, 'followed stays until the reload finishes');
    assert.equal(await gen.whenFollowed(bumped, 20), false, 'a search does not wait past its time');
    const waiting = gen.whenFollowed(bumped, 5000);
    release();
    assert.equal(await waiting, true, 'a search waiting for the reload goes on once it is done');
    assert.equal(gen.followed(), bumped);
    assert.equal(await gen.whenFollowed(before, 0), true, 'an older generation is already reached');

    // A reload that fails makes it stop vouching and load everything again.
    follower.reloadSource = async () => {
      throw new Error('redis hiccup');
    };
    await bumpGeneration(admin.multi(), keys, 'team-b/catalog').exec();
    await waitFor(() => calls.filter((c) => c === 'all').length === 2, { what: 'full reload' });
    await waitFor(() => gen.followed() === gen.current() && gen.current() !== undefined, {
      what: 'in step again',
    });
  } finally {
    gen.close();
  }
});

test('a catalog reset (the counter goes back) makes it load everything again', async () => {
  let fullLoads = 0;
  const follower = {
    reloadAll: async () => {
      fullLoads++;
    },
    reloadSource: async () => undefined,
  };
  const gen = new CatalogGeneration({ redis, reader: new CatalogReader(redis, keys), log, follower });
  gen.start();
  try {
    await waitFor(() => gen.followed() !== undefined, { what: 'synced' });
    for (let i = 0; i < 3; i++) await bumpGeneration(admin.multi(), keys, 'ns/a').exec();
    const high = await bump();
    await waitFor(() => gen.followed() === high, { what: 'followed the bumps' });
    assert.equal(fullLoads, 1);
    await admin.flushall();
    const reset = await bump(); // "1": lower than what it holds
    assert.equal(reset, '1');
    await waitFor(() => fullLoads === 2 && gen.followed() === '1', { what: 'reloaded after the reset' });
    assert.equal(gen.current(), '1');
  } finally {
    gen.close();
  }
});
