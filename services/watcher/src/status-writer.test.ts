import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, desiredStatus } from './status-writer.ts';

const result = {
  ref: { namespace: 'default', name: 'c' },
  uid: 'u1',
  generation: 3,
  profiles: 2,
  versions: 3,
  entryErrors: [],
  message: 'indexed 3 versions of 2 profiles',
  ready: true,
  reason: 'Indexed',
};

test('a good result is Ready=True, not Stalled, with counts and observedGeneration', () => {
  const s = desiredStatus(result, undefined, 'T1') as any;
  assert.deepEqual(
    s.conditions.map((c: any) => [c.type, c.status]),
    [
      ['Ready', 'True'],
      ['Reconciling', 'False'],
      ['Stalled', 'False'],
    ],
  );
  assert.equal(s.observedGeneration, 3);
  assert.equal(s.profiles, 2);
  assert.equal(s.conditions[0].lastTransitionTime, 'T1');
});

test('the transition time moves only when a condition changes status; an invalid source is Stalled', () => {
  const first = desiredStatus(result, undefined, 'T1');
  assert.equal((desiredStatus(result, first, 'T2') as any).conditions[0].lastTransitionTime, 'T1');
  const failed = desiredStatus(
    { ...result, ready: false, reason: 'InvalidSource', message: 'spec.profiles must be a list' },
    first,
    'T3',
  ) as any;
  assert.equal(failed.conditions[0].status, 'False');
  assert.equal(failed.conditions[0].lastTransitionTime, 'T3');
  assert.equal(failed.conditions[2].status, 'True');
  assert.equal(failed.conditions[2].message, 'spec.profiles must be a list');
});

test('a status compares equal whatever the order of its keys (the API server sorts them)', () => {
  const built = { conditions: [{ type: 'Ready', status: 'True' }], profiles: 1, entryErrors: [] };
  const served = { entryErrors: [], profiles: 1, conditions: [{ status: 'True', type: 'Ready' }] };
  assert.equal(canonicalJson(built), canonicalJson(served));
  assert.notEqual(canonicalJson(built), canonicalJson({ ...served, profiles: 2 }));
});
