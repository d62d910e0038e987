/**
 * Installs sharded by target repository, on real servers (Redis, NATS JetStream, git over file://) with two
 * installer replicas in processes of their own: each repository's partition is consumed by one replica at a
 * time, so concurrent installs into eight repositories all land once with no push race; a replica killed
 * (SIGKILL) leaves its partitions to the other, which completes the requests queued on them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { INSTALL_CONSUMERS, INSTALL_PARTITIONS, installPartition, STREAMS, SUBJECTS } from '@profiles/shared';
import { getJson, startStack, waitFor, type Stack } from './harness/index.ts';
import * as installer from './harness/installer.ts';
import {
  spawnInstallerReplica,
  submitSimpleInstall,
  type InstallerReplica,
} from './harness/installer-replica.ts';

const REPOS = 8;

describe('installs sharded by target repository', () => {
  let stack: Stack;
  let dir: string;
  let examples: string;
  let ins: installer.InstallerStack;
  let replicas: InstallerReplica[] = [];
  let repos: string[] = [];

  const spawn = () => spawnInstallerReplica(stack, examples, 4);

  const submit = (repo: string, name: string) => submitSimpleInstall(ins.api, examples, repo, name);

  const statusOf = async (id: string): Promise<string> =>
    (await getJson(`${ins.api}/v1/installations/${id}`)).body.status as string;

  const settle = (ids: string[], timeoutMs: number) =>
    waitFor(
      async () => {
        const s = await Promise.all(ids.map(statusOf));
        return s.every((x) => ['committed', 'failed'].includes(x)) ? s : undefined;
      },
      { timeoutMs, intervalMs: 250, what: `${ids.length} installations` },
    );

  /** The documents of the installations that did not commit (their status and error say why), for the assertion. */
  const notCommitted = async (ids: string[], statuses: string[]) =>
    Promise.all(
      ids
        .filter((_, i) => statuses[i] !== 'committed')
        .map(async (id) => (await getJson(`${ins.api}/v1/installations/${id}`)).body),
    );

  /** Every id has exactly one commit carrying its trailer in its repository, and nothing else was committed. */
  const assertCommittedOnce = (byRepo: Map<string, string[]>, seedCommits: Map<string, number>) => {
    for (const [repo, ids] of byRepo) {
      const log = installer.gitSync(['log', '--format=%B', 'main'], repo);
      for (const id of ids)
        assert.equal(log.split(`Profiles-Installation-Id: ${id}`).length - 1, 1, `one commit for ${id}`);
      const count = Number(installer.gitSync(['rev-list', '--count', 'main'], repo).trim());
      assert.equal(count, seedCommits.get(repo)! + ids.length, `commits in ${repo}`);
    }
  };

  const commits = (repo: string) => Number(installer.gitSync(['rev-list', '--count', 'main'], repo).trim());

  /** `rounds` installs into every repository, one repository after the other; the commits each had before. */
  const submitRounds = async (label: string, rounds: number) => {
    const byRepo = new Map<string, string[]>();
    const seed = new Map(repos.map((r) => [r, commits(r)]));
    const ids: string[] = [];
    for (let i = 0; i < rounds; i++) {
      for (const [r, repo] of repos.entries()) {
        const id = await submit(repo, `r${r}-${label}-${i}`);
        byRepo.set(repo, [...(byRepo.get(repo) ?? []), id]);
        ids.push(id);
      }
    }
    return { byRepo, seed, ids };
  };

  before(async () => {
    stack = await startStack();
    dir = await stack.tempDir('install-sharding-');
    examples = installer.examplesRepo(dir);
    ins = await installer.startInstallerStack(stack, examples, 0);
    repos = Array.from({ length: REPOS }, (_, i) => installer.gitopsRepo(dir, `sharded-${i}`));
    // The unfiltered consumer of an older release, as a deployment being upgraded has it: the replicas drop it.
    const h = await stack.jetstream();
    await h.jsm.consumers.add(STREAMS.installs.name, {
      durable_name: INSTALL_CONSUMERS.legacyDurable,
      ack_policy: 'explicit' as never,
    });
    replicas = [spawn(), spawn()];
    // Both replicas up, each with its share of the partitions, none shared.
    await waitFor(
      () => {
        const [a, b] = replicas.map((r) => r.state().partitions);
        return a!.length === INSTALL_PARTITIONS / 2 && b!.length === INSTALL_PARTITIONS / 2;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: 'two replicas sharing the partitions' },
    );
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await ins?.close();
    await stack?.stop();
  });

  test('two replicas, installs into eight repositories at once: every one committed once, no push retried', async () => {
    const [a, b] = replicas.map((r) => new Set(r.state().partitions));
    assert.equal(new Set([...a!, ...b!]).size, INSTALL_PARTITIONS, 'every partition owned, by one replica');
    const byRepo = new Map<string, string[]>();
    const seed = new Map(repos.map((r) => [r, commits(r)]));
    const perRepo = 6;
    const all = await Promise.all(
      repos.flatMap((repo, r) =>
        Array.from({ length: perRepo }, async (_, i) => {
          const id = await submit(repo, `r${r}-app-${i}`);
          byRepo.set(repo, [...(byRepo.get(repo) ?? []), id]);
          return id;
        }),
      ),
    );
    const statuses = await settle(all, 180_000);
    assert.deepEqual(await notCommitted(all, statuses), [], 'all committed');
    assertCommittedOnce(byRepo, seed);
    assert.deepEqual(
      replicas.map((r) => r.state().pushRetries),
      [0, 0],
      'no push retried: one writer per repository',
    );
    // Both replicas worked: the repositories' partitions are spread over them.
    const owners = repos.map((repo) => (a!.has(installPartition(`file://${repo}`)) ? 'a' : 'b'));
    if (new Set(owners).size === 2) assert.ok(replicas.every((r) => r.state().handled > 0));
  });

  test("an older release's unfiltered consumer is gone; a request it published without a partition is installed, once", async () => {
    const h = await stack.jetstream();
    await assert.rejects(
      h.jsm.consumers.info(STREAMS.installs.name, INSTALL_CONSUMERS.legacyDurable),
      /consumer not found/i,
    );
    const [repo] = repos as [string];
    const seed = new Map([[repo, commits(repo)]]);
    // Stored as the API stores it, then published on the subject of releases before partitioning.
    const model = await submit(repo, 'unpartitioned-model');
    await settle([model], 120_000);
    const id = `old-${model}`.slice(0, 40);
    const key = (k: string) => `${stack.prefix}${k}:${id}`;
    const req = JSON.parse((await ins.redis.get(`${stack.prefix}installation-request:${model}`))!);
    const doc = { id, status: 'queued', createdAt: new Date().toISOString() };
    await ins.redis.set(
      key('installation-request'),
      JSON.stringify({
        ...req,
        id,
        name: 'unpartitioned',
        target: { ...req.target, path: 'apps/unpartitioned' },
      }),
    );
    await ins.redis.set(key('installation'), JSON.stringify(doc));
    await h.js.publish(SUBJECTS.installRequestUnpartitioned, JSON.stringify({ id }), { msgID: id });
    assert.deepEqual(await settle([id], 120_000), ['committed']);
    assertCommittedOnce(new Map([[repo, [model, id]]]), seed);
    // The unpartitioned request was committed by partition 0's owner, a second writer of this repository: its
    // partition's owner finds out by one rejected push at its next install (the designed recovery for another
    // writer). One more install here takes that retry, so the tests after this one start in step.
    assert.deepEqual(await settle([await submit(repo, 'after-unpartitioned')], 120_000), ['committed']);
  });

  test('a replica killed while requests are queued: its partitions move to the other, every request completes once', async () => {
    const { byRepo, seed, ids } = await submitRounds('late', 5);
    const [victim, survivor] = replicas as [InstallerReplica, InstallerReplica];
    const retriesBefore = survivor.state().pushRetries;
    const victims = new Set(victim.state().partitions);
    await victim.kill();
    // Requests of the killed replica's partitions not done yet: what the survivor must pick up.
    const orphaned: string[] = [];
    for (const [repo, list] of byRepo) {
      if (!victims.has(installPartition(`file://${repo}`))) continue;
      for (const id of list) if ((await statusOf(id)) !== 'committed') orphaned.push(id);
    }
    assert.ok(orphaned.length > 0, 'the killed replica had requests left (else this test proves nothing)');
    await waitFor(() => survivor.state().partitions.length === INSTALL_PARTITIONS, {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'the survivor owning every partition',
    });
    const statuses = await settle(ids, 180_000);
    assert.deepEqual(await notCommitted(ids, statuses), [], 'all committed');
    assertCommittedOnce(byRepo, seed);
    // Gaining the partitions, the survivor fetched before committing (`forgetSync`): no push rejected.
    assert.equal(survivor.state().pushRetries - retriesBefore, 0);
  });
  test('a replica joining while installs run takes half the partitions; stopped, it hands them back at once', async () => {
    // After the previous test, one replica is left (the survivor).
    const survivor = replicas[1]!;
    const retriesBefore = survivor.state().pushRetries;
    const joiner = spawn();
    replicas.push(joiner);
    const { byRepo, seed, ids } = await submitRounds('join', 3);
    await waitFor(
      () =>
        joiner.state().partitions.length === INSTALL_PARTITIONS / 2 &&
        survivor.state().partitions.length === 8,
      { timeoutMs: 60_000, intervalMs: 100, what: 'the partitions shared again' },
    );
    const mine = new Set(joiner.state().partitions);
    assert.ok(
      survivor.state().partitions.every((p) => !mine.has(p)),
      'no partition owned twice',
    );
    const statuses = await settle(ids, 180_000);
    assert.deepEqual(await notCommitted(ids, statuses), [], 'all committed');
    assertCommittedOnce(byRepo, seed);
    assert.deepEqual([survivor.state().pushRetries - retriesBefore, joiner.state().pushRetries], [0, 0]);
    await joiner.stop(); // SIGTERM: a graceful stop
    // Its leases deleted and its membership gone as it stopped, not left to expire.
    assert.equal(await ins.redis.zcard(`${stack.prefix}installer-members`), 1);
    const holders = await Promise.all(
      Array.from({ length: INSTALL_PARTITIONS }, (_, p) =>
        ins.redis.get(`${stack.prefix}installer-partition:${p}`),
      ),
    );
    assert.equal(new Set(holders.filter(Boolean)).size, 1, 'only the survivor holds leases');
    await waitFor(() => survivor.state().partitions.length === INSTALL_PARTITIONS, {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'the survivor owning every partition again',
    });
  });
});
