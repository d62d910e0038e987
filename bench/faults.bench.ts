/**
 * The fault suite of test/faults-under-load.test.ts with more load and longer faults: SOURCES folder sources
 * rewritten every WRITE_MS, an install request every INSTALL_MS, each fault held BROKEN_MS under that load.
 * The first scenario has no fault: the baseline of the same run. Prints, per fault: time to consistent (from
 * the repair, or from the fault when nothing is repaired; and from the last write), catalog entries still
 * wrong at the end (events lost), installs accepted / without a final status / committed twice, and the load
 * average, since the machine may be shared.
 *
 *   npm run bench:faults        (SOURCES=30 WRITE_MS=50 INSTALL_MS=300 BROKEN_MS=5000 AFTER_MS=2000)
 */
import { loadavg } from 'node:os';
import { catalogDifference, catalogOf } from '../test/harness/load.ts';
import { faults, runScenario, startFaultRig, type ScenarioResult } from '../test/harness/fault-rig.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const timing = {
  warmupMs: env('WARMUP_MS', 2_000),
  brokenMs: env('BROKEN_MS', 5_000),
  afterMs: env('AFTER_MS', 2_000),
  writeIntervalMs: env('WRITE_MS', 50),
  installIntervalMs: env('INSTALL_MS', 300),
  timeoutMs: env('TIMEOUT_MS', 120_000),
};
const sources = env('SOURCES', 30);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

const s = (ms: number) => (Number.isNaN(ms) ? 'not within the bound' : `${(ms / 1000).toFixed(2)} s`);
function row(r: ScenarioResult, loadAtEnd: string): string {
  const i = r.installs;
  return (
    `| ${r.name} | ${r.writes} | ${s(r.repairToConsistentMs)} | ${s(r.lastWriteToConsistentMs)} | ` +
    `${r.catalogDifference} | ${i.accepted} | ${s(r.installsSettledMs)} | ${i.lost.length} | ` +
    `${i.duplicates.length} | ${i.statusLost.length} | ${loadAtEnd} |`
  );
}

console.log(`load average at start: ${load()} (${sources} sources, ${JSON.stringify(timing)})`);
const rig = await startFaultRig({ sources, targets: 3 });
try {
  for (let i = 0; i < sources; i++) await rig.catalog.step();
  const deadline = Date.now() + 60_000;
  while (catalogDifference(await catalogOf(rig.api).catch(() => []), rig.catalog.list()) !== 0) {
    if (Date.now() > deadline) throw new Error('the first catalog was not consistent within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(
    '\n| fault | catalog writes | consistent after repair | after last write | events lost | installs | ' +
      'installs final after repair | installs lost | duplicate commits | statuses lost (wipe) | load avg |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const fault of faults()) console.log(row(await runScenario(rig, fault, timing), load()));
} finally {
  await rig.destroy();
}
console.log(`\nload average at end: ${load()}`);
