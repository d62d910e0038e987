// The README's test command (`npm test`): every unit test beside the code and every cross-service suite in
// test/, run by Node's own test runner through tsx. Files are listed explicitly, so that a path filter decides
// what runs. `npm test -- unit` runs only the unit tests; any other argument filters by path.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
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

// The project runs on the Node 24 it depends on (node_modules/.bin/node, first on PATH under npm scripts).
// Started by hand with an older node, run the tests on that one anyway rather than on the machine's.
const localNode = join(root, 'node_modules', '.bin', 'node');
let node = process.execPath;
if (Number(process.versions.node.split('.')[0]) < 24) {
  if (!existsSync(localNode)) {
    console.error(`Node ${process.version} is too old and ${localNode} is missing: run npm ci first`);
    process.exit(1);
  }
  node = localNode;
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
  node,
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
