import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredStatus, statusMatches } from './status-writer.ts';

const ok = {
  ref: { namespace: 'a', name: 'c' },
  uid: 'u',
  generation: 2,
  profiles: 1,
  versions: 2,
  entryErrors: [],
  message: 'indexed 2 versions of 1 profile',
};

test('a result becomes kstatus conditions; an unchanged status keeps its transition time and matches', () => {
  const s = desiredStatus(false, ok, undefined, 't1');
  assert.equal(s.observedGeneration, 2);
  assert.deepEqual(
    s.conditions.map((c) => [c.type, c.status, c.reason, c.lastTransitionTime]),
    [
      ['Ready', 'True', 'Indexed', 't1'],
      ['Reconciling', 'False', 'Indexed', 't1'],
      ['Stalled', 'False', 'Indexed', 't1'],
    ],
  );
  assert.equal(statusMatches(s, s), true);
  const again = desiredStatus(false, ok, s, 't2');
  assert.equal(again.conditions[0]!.lastTransitionTime, 't1', 'no transition, time kept');
  assert.equal(statusMatches(again, s), true, 'nothing to write');
  assert.equal(statusMatches(again, { ...s, scannedRepositories: [] }), true, 'fields of others ignored');
});

test('a failed result is Ready=False and Stalled=True naming the entry; it differs from a ready status', () => {
  const failed = {
    ...ok,
    generation: 3,
    entryErrors: [
      { entry: 'spec.profiles[1] (bad v1.0)', reason: 'tag "v1.0" is not a valid semver version' },
    ],
    message: 'indexed 1 version of 1 profile; 1 invalid: spec.profiles[1] (bad v1.0): ...',
  };
  const before = desiredStatus(false, ok, undefined, 't1');
  const s = desiredStatus(true, failed, before, 't2');
  const ready = s.conditions.find((c) => c.type === 'Ready')!;
  assert.equal(ready.status, 'False');
  assert.equal(ready.reason, 'InvalidEntries');
  assert.equal(ready.lastTransitionTime, 't2');
  assert.match(ready.message, /spec\.profiles\[1\] \(bad v1\.0\)/);
  assert.equal(s.conditions.find((c) => c.type === 'Stalled')!.status, 'True');
  assert.equal(s.conditions.find((c) => c.type === 'Reconciling')!.lastTransitionTime, 't1');
  assert.equal(statusMatches(s, before), false);
});
