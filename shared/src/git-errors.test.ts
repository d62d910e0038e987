import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gitErrorSummary } from './git-errors.ts';

test("a git error keeps its cause and drops git's closing advice", () => {
  const ssh = [
    'Host key verification failed.',
    'fatal: Could not read from remote repository.',
    '',
    'Please make sure you have the correct access rights',
    'and the repository exists.',
    '',
  ].join('\n');
  assert.equal(
    gitErrorSummary(ssh),
    'Host key verification failed. fatal: Could not read from remote repository.',
  );
  assert.equal(
    gitErrorSummary("fatal: Authentication failed for 'http://h/r.git/'\n"),
    "fatal: Authentication failed for 'http://h/r.git/'",
  );
  assert.equal(
    gitErrorSummary('hint: try this\nerror: failed to push some refs\n'),
    'error: failed to push some refs',
  );
  assert.ok(gitErrorSummary('x'.repeat(2000)).length <= 501);
  const long = ['warning: first', 'a', 'b', 'c', 'd', 'fatal: the verdict'].join('\n');
  assert.equal(gitErrorSummary(long), 'warning: first … c d fatal: the verdict');
});
