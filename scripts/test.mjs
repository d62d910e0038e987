// The README's test command (`npm test`): every unit test beside the code and every cross-service suite in
// test/, run by Node's own test runner through tsx. Files are listed explicitly: `node --test` alone finds no
// .ts files on Node 20. `npm test -- unit` runs only the unit tests; any other argument filters by path.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const skip = new Set(['node_modules', '.git', '.cache', '.local', 'tools']);

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (skip.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const args = process.argv.slice(2);
let files = walk(root).sort();
if (args[0] === 'unit') files = files.filter((f) => !f.startsWith('test/'));
else if (args.length) files = files.filter((f) => args.some((a) => f.includes(a)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
    '--test-timeout=300000',
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);
process.exit(r.status ?? 1);
