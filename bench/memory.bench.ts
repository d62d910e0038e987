/**
 * Resident memory (VmRSS) of each service, compiled as the image runs it, against the limit deploy/services.yaml
 * gives its container: idle (ready, empty catalog folder: the baseline of the same run), the peak while a
 * catalog of VERSIONS versions (folder sources of 1,000 inline versions each) is indexed and INSTALLS install
 * requests run, and 5 s after the load. Sampled every 100 ms. Private redis-server and nats-server (8 MB
 * max_payload); the load average is printed, since the machine may be shared.
 *
 *   npm run bench:memory        (VERSIONS=50000 INSTALLS=20)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { buildAll } from '../scripts/build.ts';
import { startNats, startRedis } from '../scripts/lib/servers.ts';
import { catalogSourceObject } from '../test/fixtures/catalog-generator.ts';
import { examplesRepo, gitopsRepo } from '../test/harness/installer.ts';
import { InstallLoad } from '../test/harness/load.ts';
import { localServiceEnv, serviceProcess, type ServiceProcess } from '../test/harness/service-process.ts';
import { SERVICE_NAMES, type ServiceName } from '../test/harness/services.ts';

const VERSIONS = Number(process.env.VERSIONS ?? 50_000);
const INSTALLS = Number(process.env.INSTALLS ?? 20);
const root = join(import.meta.dirname, '..');
const MiB = 1024 * 1024;
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

/** limits.memory of each service's container in deploy/services.yaml, MiB. */
function deployLimits(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of parseAllDocuments(readFileSync(join(root, 'deploy/services.yaml'), 'utf8'))) {
    const doc = d.toJSON() as any;
    if (doc?.kind !== 'Deployment') continue;
    const c = doc.spec.template.spec.containers[0];
    const m = /^(\d+)(Mi|Gi)$/.exec(String(c.resources?.limits?.memory ?? ''));
    if (m) out[c.name] = Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
  }
  return out;
}

/** The largest RSS of each service seen while `during` runs, sampled every 100 ms. */
async function peakDuring(
  services: Record<ServiceName, ServiceProcess>,
  during: () => Promise<void>,
): Promise<Record<ServiceName, number>> {
  const peak = Object.fromEntries(SERVICE_NAMES.map((n) => [n, 0])) as Record<ServiceName, number>;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      for (const n of SERVICE_NAMES) peak[n] = Math.max(peak[n], await services[n].rssBytes().catch(() => 0));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await during();
  } finally {
    sampling = false;
    await sampler;
  }
  return peak;
}

const dir = await mkdtemp(join(tmpdir(), 'profiles-memory-'));
const [redis, nats] = await Promise.all([startRedis(), startNats()]);
const services = {} as Record<ServiceName, ServiceProcess>;
try {
  await buildAll({ ifStale: true });
  const watchDir = join(dir, 'sources');
  mkdirSync(watchDir);
  const examples = examplesRepo(dir);
  const target = gitopsRepo(dir, 'gitops');
  const env = localServiceEnv({ redisUrl: redis.url, natsUrl: nats.url, watchDir, examples, dir });

  for (const n of SERVICE_NAMES) {
    services[n] = await serviceProcess(n, env);
    await services[n].start();
  }
  console.log(`load average at start: ${load()}; ${VERSIONS} versions, ${INSTALLS} installs`);
  await new Promise((r) => setTimeout(r, 3_000));
  const idle = await peakDuring(services, () => new Promise((r) => setTimeout(r, 2_000)));

  const installs = new InstallLoad(
    () => services.api.url,
    { url: `file://${examples}`, tag: 'bitnami-nginx/v0.0.2' },
    [target],
  );
  const sources = Math.ceil(VERSIONS / 1000);
  const started = Date.now();
  const peak = await peakDuring(services, async () => {
    for (let i = 0; i < sources; i++)
      writeFileSync(join(watchDir, `catalog-${i}.yaml`), stringify(catalogSourceObject(i, 1000, 'default')));
    installs.start(Math.max(10, Math.floor(10_000 / INSTALLS)));
    while (installs.accepted.size < INSTALLS) await new Promise((r) => setTimeout(r, 50));
    await installs.stop();
    for (;;) {
      const r = await fetch(`${services.api.url}/v1/sources`).then((x) => x.json() as Promise<any>);
      const indexed = (r.items as { versions: number }[]).reduce((a, s) => a + s.versions, 0);
      if (indexed >= sources * 1000 && (await installs.unsettled()).length === 0) break;
      if (Date.now() - started > 600_000) throw new Error(`only ${indexed} versions indexed in 10 min`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });
  console.log(
    `indexed ${sources * 1000} versions and ${INSTALLS} installs in ${(Date.now() - started) / 1000} s`,
  );
  await new Promise((r) => setTimeout(r, 5_000));
  const after = await peakDuring(services, () => new Promise((r) => setTimeout(r, 1_000)));
  const limits = deployLimits();
  const f = (b: number) => (b / MiB).toFixed(0);
  console.log('\n| service | limit (deploy/) | RSS idle | RSS peak under load | RSS after | peak / limit |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const n of SERVICE_NAMES)
    console.log(
      `| ${n} | ${limits[n]} MiB | ${f(idle[n])} MiB | ${f(peak[n])} MiB | ${f(after[n])} MiB | ` +
        `${((peak[n] / MiB / limits[n]!) * 100).toFixed(0)} % |`,
    );
  console.log(`\nload average at end: ${load()}`);
} finally {
  await Promise.all(Object.values(services).map((s) => s.stop()));
  await Promise.all([redis.destroy(), nats.destroy()]);
  await rm(dir, { recursive: true, force: true });
}
