// Bundles the CLI into dist/ with esbuild: one ESM file for the commands (plus chunks loaded only when needed:
// the table, the spinner, YAML, and the installer's renderer for `render`), so `profiles` starts as plain
// JavaScript, and writes the bin, dist/profiles.js, which turns on Node's compile cache (Node >= 22.1: V8 keeps
// the bundle's compiled code between runs) before loading it. Run by `npm ci` (this package's `prepare`) and by
// `npm run build`.
import { chmod, rm, writeFile } from 'node:fs/promises';
import { build } from 'esbuild';

const here = new URL('.', import.meta.url).pathname;
// Where the bundle goes: dist/ by default; the tests give each of their processes a folder of its own, so that one
// process rebuilding never removes the files another is running.
const out = process.argv[2] ?? `${here}dist`;

/**
 * Commander requires node:child_process at load, for executable subcommands, which this CLI has none of; loading
 * it (and node:net with it) is a fifth of a start. Commander gets a stand-in that loads it on first use.
 */
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes('/node_modules/commander/')
        ? { path: 'child_process', namespace: 'lazy' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      contents:
        "let m; module.exports = new Proxy({}, { get: (_t, k) => (m ??= require('node:child_process'))[k] });",
      loader: 'js',
    }));
  },
};
await rm(out, { recursive: true, force: true });
await build({
  absWorkingDir: here,
  entryPoints: { main: 'src/main.ts' },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  // The Redis, NATS and log clients live behind @profiles/shared/runtime, which the CLI does not import. Kept
  // external so that one reached by mistake (through a contract module) loads instead of bloating.
  external: ['ioredis', '@nats-io/*', 'pino'],
  banner: {
    js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
  },
  plugins: [lazyChildProcess],
  logLevel: 'warning',
});
await writeFile(
  `${out}/profiles.js`,
  "#!/usr/bin/env node\nimport module from 'node:module';\nmodule.enableCompileCache?.();\nawait import('./main.js');\n",
);
await chmod(`${out}/profiles.js`, 0o755);
