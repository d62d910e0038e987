/**
 * Repository scanning at scale: a generated repository with 1,000 version tags (TAGS=...), indexed from
 * scratch, then rescanned with nothing new. Prints the full index time, what a no-change rescan costs (git
 * processes and Redis writes, counted), and webhook-to-API latency for a pushed tag. Baselines in the same
 * run: one bare `git clone` of the repository (what a naive scanner would do) and one `git ls-remote`.
 *
 *   npm run bench:git
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { catalogKeys, encodeEvent, EVENT_TYPES, makeEvent, SUBJECTS } from '@profiles/shared';
import { startStack, waitFor, getJson } from '../test/harness/index.ts';
import { commitFile, profileYaml, sh, workClone } from '../test/harness/git.ts';
import { redisWriteCount } from '../test/harness/redis-stats.ts';
import { gitStats } from '@profiles/shared/git';

const TAGS = Number(process.env.TAGS ?? 1000);

function generate(bare: string): void {
  execFileSync('git', ['init', '--quiet', '--bare', bare]);
  const parts: string[] = [];
  for (let i = 1; i <= TAGS; i++) {
    const content = profileYaml('generated', `generated profile, release ${i}`);
    const msg = `release ${i}`;
    parts.push(
      'commit refs/heads/main',
      `mark :${i}`,
      `committer bench <bench@example.com> ${1700000000 + i} +0000`,
      `data ${Buffer.byteLength(msg)}`,
      msg,
      ...(i > 1 ? [`from :${i - 1}`] : []),
      'M 644 inline generated/profile.yaml',
      `data ${Buffer.byteLength(content)}`,
      content,
      `reset refs/tags/generated/v1.${Math.floor(i / 100)}.${i % 100}`,
      `from :${i}`,
      '',
    );
  }
  const r = spawnSync('git', ['fast-import', '--quiet'], { cwd: bare, input: parts.join('\n') + '\n' });
  if (r.status !== 0) throw new Error(`fast-import failed: ${r.stderr}`);
}

const stack = await startStack();
try {
  const root = await stack.tempDir('bench-repo-');
  const bare = join(root, 'big.git');
  let t = performance.now();
  generate(bare);
  console.log(`generated ${TAGS} tags in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  t = performance.now();
  execFileSync('git', ['clone', '--quiet', '--bare', `file://${bare}`, join(root, 'baseline-clone.git')]);
  const cloneMs = performance.now() - t;
  t = performance.now();
  execFileSync('git', ['ls-remote', '--tags', `file://${bare}`], { maxBuffer: 64 << 20 });
  const lsMs = performance.now() - t;

  const ix = await stack.indexer('bench-indexer');
  const api = (await stack.api({ webhookSecret: 'bench' })).url;
  const { js } = await stack.jetstream();
  const ref = { namespace: 'default', name: 'big' };
  const object = {
    apiVersion: 'weave.works/v1alpha1',
    kind: 'ProfileCatalogSource',
    metadata: { name: 'big' },
    spec: { repositories: [{ url: `file://${bare}` }] },
  };
  const status = async () =>
    JSON.parse((await stack.client.hget(`${stack.prefix}source:default/big`, 'status')) ?? 'null');
  const spawns0 = gitStats.spawns;
  t = performance.now();
  await js.publish(
    SUBJECTS.source(ref),
    encodeEvent(makeEvent(EVENT_TYPES.sourceUpserted, 'bench', { ref, origin: 'bench', object })),
  );
  await waitFor(async () => (await status())?.versions === TAGS, {
    timeoutMs: 600_000,
    intervalMs: 20,
    what: 'full index',
  });
  const fullMs = performance.now() - t;
  const fullSpawns = gitStats.spawns - spawns0;

  // No-change rescan, once the catalog events of the full index have left the outbox and the drain has given
  // its lease back (PEXPIRE, DEL: writes of the full index, not of the rescan).
  const keys = catalogKeys(stack.prefix);
  await waitFor(
    async () =>
      (await stack.client.llen(keys.outboxEntries())) === 0 &&
      (await stack.client.exists(keys.outboxLock())) === 0,
    { timeoutMs: 60_000, what: 'outbox drained and its lease given back' },
  );
  const w0 = await redisWriteCount(stack.client);
  const s0 = gitStats.spawns;
  const ls0 = gitStats.byCommand.get('ls-remote') ?? 0;
  const handled0 = ix.handled();
  t = performance.now();
  await js.publish(
    SUBJECTS.sourceRefresh(ref),
    encodeEvent(makeEvent(EVENT_TYPES.sourceRefresh, 'bench', { ref, reason: 'manual' })),
  );
  await waitFor(() => ix.handled() > handled0, { intervalMs: 1, what: 'rescan handled' });
  const rescanMs = performance.now() - t;
  const rescanSpawns = gitStats.spawns - s0;
  const rescanLs = (gitStats.byCommand.get('ls-remote') ?? 0) - ls0;
  const rescanWrites = (await redisWriteCount(stack.client)) - w0;

  // A pushed tag through the webhook.
  const work = await workClone(bare, root);
  await commitFile(work, 'generated/profile.yaml', profileYaml('generated', 'pushed'));
  await sh(work, 'tag', 'generated/v9.0.0');
  await sh(work, 'push', '--quiet', 'origin', 'generated/v9.0.0');
  const body = JSON.stringify({ repository: { clone_url: `file://${bare}` } });
  const sig = 'sha256=' + createHmac('sha256', 'bench').update(body).digest('hex');
  t = performance.now();
  const res = await fetch(`${api}/v1/webhooks/git`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': sig },
    body,
  });
  if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
  await waitFor(
    async () => (await getJson(`${api}/v1/profiles/big/generated`)).body.item?.version === '9.0.0',
    { intervalMs: 2, what: 'pushed tag' },
  );
  const webhookMs = performance.now() - t;

  console.log(`\ntags: ${TAGS}`);
  console.log(`baseline: git clone --bare of the repository   ${cloneMs.toFixed(0)} ms`);
  console.log(`baseline: one git ls-remote                    ${lsMs.toFixed(0)} ms`);
  console.log(
    `full index (${TAGS} versions in the API)        ${fullMs.toFixed(0)} ms   (${fullSpawns} git processes; ${(fullMs / cloneMs).toFixed(1)}x a bare clone)   goal < 10000 ms: ${fullMs < 10_000 ? 'met' : 'NOT met'}`,
  );
  console.log(
    `no-change rescan                               ${rescanMs.toFixed(0)} ms   git processes: ${rescanSpawns} (ls-remote: ${rescanLs}), Redis writes: ${rescanWrites}   goal 1 ls-remote, 0 writes: ${rescanSpawns === 1 && rescanLs === 1 && rescanWrites === 0 ? 'met' : 'NOT met'}`,
  );
  console.log(
    `webhook -> new tag visible in the API          ${webhookMs.toFixed(0)} ms   goal < 1000 ms: ${webhookMs < 1000 ? 'met' : 'NOT met'}`,
  );
} finally {
  await stack.stop();
}
