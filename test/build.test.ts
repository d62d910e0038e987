/**
 * `npm run build`: every service compiles to one JavaScript module that carries the project's own code
 * (`@profiles/shared` included) and imports only packages from node_modules, so production needs no TypeScript
 * loader. `npm start` and the image run these bundles; test/run-local.test.ts runs all four end to end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildAll, buildableWorkspaces, isStale } from '../scripts/build.ts';

const root = join(import.meta.dirname, '..');

test('every service builds to dist/main.js, imports no TypeScript and no workspace, and starts without tsx', async () => {
  const workspaces = buildableWorkspaces();
  for (const s of ['api', 'indexer', 'installer', 'watcher']) assert.ok(workspaces.includes(`services/${s}`));
  await buildAll({ ifStale: true });
  for (const w of workspaces) {
    assert.equal(isStale(w), false, `${w} is fresh after a build`);
    const js = readFileSync(join(root, w, 'dist/main.js'), 'utf8');
    const specifiers = [...js.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]!);
    assert.ok(specifiers.length > 0, `${w}: imports found`);
    for (const s of specifiers) {
      assert.doesNotMatch(s, /^@profiles\//, `${w}: ${s} is compiled in`);
      assert.doesNotMatch(s, /\.ts$|^\./, `${w}: ${s} is bundled`);
    }
    // With a configuration it rejects, the compiled service gets as far as reading it, on plain node.
    const r = spawnSync(process.execPath, [join(root, w, 'dist/main.js')], {
      env: { PATH: process.env.PATH, HEALTH_PORT: 'nope' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.notEqual(r.status, 0, `${w} exits on a bad configuration`);
    assert.match(r.stdout + r.stderr, /CONFIG_INVALID.*HEALTH_PORT/, `${w} names the bad variable`);
  }
});
