// Bundles the CLI into dist/ with esbuild: one ESM file for the commands (plus chunks loaded only when needed:
// the spinner, and the installer's renderer for `render`), so `profiles` starts as plain JavaScript. Run by
// `npm ci` (this package's `prepare`) and by `npm run build`.
import { chmod, rm } from 'node:fs/promises';
import { build } from 'esbuild';

const here = new URL('.', import.meta.url).pathname;
await rm(`${here}dist`, { recursive: true, force: true });
await build({
  absWorkingDir: here,
  entryPoints: { profiles: 'src/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  // The Redis and NATS clients are reached only through shared's index, never used by the CLI.
  external: ['ioredis', '@nats-io/*', 'pino'],
  banner: {
    js: "#!/usr/bin/env node\nimport{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
  },
  logLevel: 'warning',
});
await chmod(`${here}dist/profiles.js`, 0o755);
