/**
 * Faults under load, on real servers over loopback: while catalog sources change continuously and install
 * requests arrive, each service is killed with SIGKILL, the installer is killed in the middle of a push (before
 * and after the ref moves), Redis restarts without its data, the leader of the R3 streams of a three-server NATS
 * cluster is killed, and a Redis replica is promoted. After each, the whole catalog must equal the folder,
 * every accepted install must end in a final status that the API still answers (after a wiped Redis too), and no
 * installation may have two commits.
 * CI-sized (short load, each scenario bounded); `npm run bench:faults` runs the same scenarios longer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogDifference, catalogOf } from './harness/load.ts';
import {
  faults,
  runScenario,
  startFaultRig,
  type FaultRig,
  type ScenarioTiming,
} from './harness/fault-rig.ts';
import { waitFor } from './harness/index.ts';

const TIMING: ScenarioTiming = {
  warmupMs: 500,
  brokenMs: 1_500,
  afterMs: 500,
  writeIntervalMs: 150,
  installIntervalMs: 700,
  timeoutMs: 45_000,
};

describe('faults under load', () => {
  let rig: FaultRig;
  before(async () => {
    rig = await startFaultRig({ sources: 8, targets: 2 });
    for (let i = 0; i < 8; i++) await rig.catalog.step();
    await waitFor(async () => catalogDifference(await catalogOf(rig.api), rig.catalog.list()) === 0, {
      timeoutMs: 30_000,
      what: 'the first catalog',
    });
  });
  after(() => rig?.destroy());

  for (const fault of faults()) {
    test(`${fault.name}: the catalog equals the sources, no install lost or committed twice`, async (t) => {
      const r = await runScenario(rig, fault, TIMING);
      t.diagnostic(JSON.stringify(r));
      assert.ok(r.writes > 0 && r.installs.accepted > 0, 'the load ran');
      assert.equal(r.catalogDifference, 0, 'catalog entries missing or stale (events lost)');
      assert.ok(!Number.isNaN(r.repairToConsistentMs), `consistent within ${TIMING.timeoutMs} ms`);
      assert.deepEqual(r.installs.lost, [], 'accepted installs without a final status');
      assert.deepEqual(r.installs.duplicates, [], 'installations committed more than once');
      assert.deepEqual(r.installs.missingCommits, [], 'committed installs whose commit is missing');
      // Wiped Redis too: a final status is kept in JetStream beside Redis, and the API restores it.
      if (fault.afterAFinalInstall)
        assert.ok(r.finalBeforeFault > 0, 'an install had finished before the fault');
      assert.deepEqual(r.installs.statusLost, [], 'final statuses lost (404 although the commit is in git)');
      assert.deepEqual(Object.keys(r.installs.byStatus), ['committed'], JSON.stringify(r.installs.byStatus));
    });
  }
});
