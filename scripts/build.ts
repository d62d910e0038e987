/**
 * `npm run build`: compiles every workspace that has an entry point (`src/main.ts`: the four services, and any
 * other workspace shaped like them) to one JavaScript module, `<workspace>/dist/main.js`, with esbuild. The
 * workspace's own code and `shared/` (its `@profiles/*` imports) are bundled in; every other package stays an
 * import from node_modules, so the image installs the same production dependencies as before. Production runs
 * `node --enable-source-maps <workspace>/dist/main.js`: no TypeScript loader, one file to load. `--if-stale`
 * builds only the workspaces whose bundle is older than one of its inputs (esbuild's metafile lists them).
 * The web catalog (web/) is built by Vite into web/dist, which the API serves at `/`; it is stale when a file
 * under web/src, web/index.html or shared/src is newer than web/dist/index.html.
 * Types are not checked here: `npm run typecheck` does that.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = 'src/main.ts';
const OUT = 'dist/main.js';
const META = 'dist/meta.json';

/**
 * The workspaces (root package.json `workspaces`, `dir/*` globs expanded) that have an entry point. A workspace
 * with a build script of its own (the CLI, bundled whole into cli/dist by `npm ci`) builds itself.
 */
export function buildableWorkspaces(): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  const dirs = pkg.workspaces.flatMap((w) => {
    if (!w.endsWith('/*')) return [w];
    const parent = join(root, w.slice(0, -2));
    return existsSync(parent) ? readdirSync(parent).map((n) => `${w.slice(0, -2)}/${n}`) : [];
  });
  const ownBuild = (d: string) =>
    Boolean((JSON.parse(readFileSync(join(root, d, 'package.json'), 'utf8')) as PackageJson).scripts?.build);
  return dirs.filter((d) => existsSync(join(root, d, ENTRY)) && !ownBuild(d)).sort();
}

interface PackageJson {
  scripts?: Record<string, string>;
}

/** Bare imports stay imports, except the project's own workspaces, which are compiled in. */
const externalPackages: Plugin = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@profiles/') ? undefined : { path: args.path, external: true },
    );
  },
};

/** True when the bundle is missing or older than one of the files it was built from. */
export function isStale(workspace: string): boolean {
  const out = join(root, workspace, OUT);
  const meta = join(root, workspace, META);
  if (!existsSync(out) || !existsSync(meta)) return true;
  const built = statSync(out).mtimeMs;
  const inputs = Object.keys((JSON.parse(readFileSync(meta, 'utf8')) as { inputs: object }).inputs);
  return inputs.some((f) => !existsSync(join(root, f)) || statSync(join(root, f)).mtimeMs > built);
}

export async function buildWorkspace(workspace: string): Promise<void> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(workspace, ENTRY)],
    outfile: join(workspace, OUT),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
    plugins: [externalPackages],
  });
  await writeFile(join(root, workspace, META), JSON.stringify({ inputs: result.metafile.inputs }));
}

const WEB = 'web';
const WEB_OUT = join(root, WEB, 'dist/index.html');

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((n) => newestMtime(join(path, n))));
}

export function isWebStale(): boolean {
  if (!existsSync(WEB_OUT)) return true;
  const built = statSync(WEB_OUT).mtimeMs;
  return ['web/src', 'web/index.html', 'web/vite.config.ts', 'shared/src'].some(
    (p) => newestMtime(join(root, p)) > built,
  );
}

/** The web catalog's static files, web/dist (Vite, loaded only when needed). */
export async function buildWeb(): Promise<void> {
  const { build: viteBuild } = await import('vite');
  await viteBuild({ root: join(root, WEB), configFile: join(root, WEB, 'vite.config.ts'), logLevel: 'warn' });
}

/** Gzip bytes of the JavaScript the first page loads: the entry script and what index.html preloads. */
export function webFirstPageGzip(): { files: string[]; bytes: number } {
  const html = readFileSync(WEB_OUT, 'utf8');
  const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  const bytes = files.reduce((n, f) => n + gzipSync(readFileSync(join(root, WEB, 'dist', f))).length, 0);
  return { files, bytes };
}

/** Builds every workspace (or only the stale ones); returns the ones it built. */
export async function buildAll(opts: { ifStale?: boolean } = {}): Promise<string[]> {
  const todo = buildableWorkspaces().filter((w) => !opts.ifStale || isStale(w));
  const web = !opts.ifStale || isWebStale();
  await Promise.all([...todo.map(buildWorkspace), ...(web ? [buildWeb()] : [])]);
  return web ? [...todo, WEB] : todo;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const built = await buildAll({ ifStale: process.argv.includes('--if-stale') });
  const what = built.length
    ? built.map((w) => (w === WEB ? 'web/dist' : relative(root, join(root, w, OUT)))).join(', ')
    : 'nothing stale';
  console.log(`built ${what} in ${Date.now() - started} ms`);
  if (existsSync(WEB_OUT)) {
    const js = webFirstPageGzip();
    console.log(
      `web catalog: first page loads ${(js.bytes / 1024).toFixed(1)} KB of JavaScript gzipped (goal < 150 KB)`,
    );
  }
}
