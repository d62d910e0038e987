import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from './errors.ts';
import { parseLayout } from './installations.ts';

test('layouts: absent is the default, pctl and profiles are taken, anything else is refused naming the field', () => {
  assert.equal(parseLayout(undefined), 'profiles');
  assert.equal(parseLayout(null), 'profiles');
  assert.equal(parseLayout('pctl'), 'pctl');
  assert.equal(parseLayout('profiles'), 'profiles');
  for (const bad of ['PCTL', '', 'helm', 5, {}, ['pctl']]) {
    assert.throws(
      () => parseLayout(bad, 'spec.layout'),
      (err: unknown) =>
        isAppError(err) &&
        err.code === 'REQUEST_FIELD_INVALID' &&
        err.details?.parameter === 'spec.layout' &&
        /spec\.layout must be one of profiles, pctl/.test(err.message),
      JSON.stringify(bad),
    );
  }
});
