import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { ProfileSource, ProfileVersionDoc } from '@profiles/shared';
import { contextOf } from '../context.ts';
import { CliError, EXIT, exitCodeForStatus } from '../exit.ts';
import { printDocument, say } from '../output.ts';
import { addProfileOptions, profileInput, type ProfileOpts } from '../profile-input.ts';
import { catalogPath, parseObjectRef } from '../refs.ts';
import { resolvedTree } from '../tree.ts';

interface RenderOpts extends ProfileOpts {
  out: string;
  path: string;
  fluxSource?: string;
  force?: boolean;
}

/** The installer's Flux CRD schemas, from this checkout (the CLI runs in the repository). */
const SCHEMAS = fileURLToPath(new URL('../../services/installer/schemas/flux/', import.meta.url));

export function renderCommand(program: Command): void {
  const cmd = program
    .command('render')
    .description('render an installation into a local folder with no server, for committing it yourself');
  addProfileOptions(cmd);
  cmd
    .requiredOption('--out <dir>', 'the folder to write into (e.g. a clone of the GitOps repository)')
    .option('--path <path>', 'folder under --out the installation folder goes in', '.')
    .option(
      '--flux-source <ref>',
      'NAMESPACE/NAME of the Flux GitRepository (default flux-system/flux-system)',
    )
    .option('--force', 'replace an installation folder that exists already')
    .addHelpText(
      'after',
      `
Examples:
  profiles render --profile-url https://github.com/weaveworks/profiles-examples \\
      --profile-tag weaveworks-nginx/v0.1.1 --out ./fleet --path clusters/dev --name pprof
  profiles render examples/weaveworks-nginx@0.1.1 --out ./fleet --set nginx-chart.replicaCount=2

With --profile-url nothing but git is used (your own credentials, ssh agent and url.insteadOf rewrites apply);
a catalog name asks the API only where that version lives. The files are exactly what the installer commits
(the installer's own renderer), under <out>/<path>/<name>.`,
    )
    .action(async (arg: string | undefined, opts: RenderOpts, c: Command) => {
      const input = await profileInput(arg, opts);
      let source: ProfileSource;
      if ('catalog' in input.ref) {
        const ctx = contextOf(c);
        const doc = await ctx.api.get<ProfileVersionDoc>(
          `${catalogPath({ catalog: input.ref.catalog, profile: input.ref.name })}/versions/${encodeURIComponent(input.ref.version)}`,
        );
        source = {
          url: doc.item.url,
          tag: doc.item.tag,
          catalog: { catalog: input.ref.catalog, name: input.ref.name, version: doc.item.version },
        };
      } else source = input.ref;
      let fluxSource: { name: string; namespace: string } | undefined;
      if (opts.fluxSource) {
        const f = parseObjectRef(opts.fluxSource, '--flux-source');
        fluxSource = { name: f.name, namespace: f.namespace ?? 'flux-system' };
      }
      const { renderLocal } = await import('@profiles/installer/render-local');
      const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'profiles', 'repos');
      const rendered = await renderLocal({
        profile: source,
        name: input.name,
        namespace: opts.namespace,
        path: opts.path,
        values: input.values,
        ...(fluxSource ? { fluxSource } : {}),
        cacheDir: cache,
        fluxSchemasDir: process.env.FLUX_SCHEMAS_DIR || SCHEMAS,
        gitUrlRewrites: (process.env.GIT_URL_REWRITES ?? '').split(',').filter(Boolean),
      }).catch((err: { code?: string; message?: string; status?: number }) => {
        // The installer's errors (AppError) carry the catalogue's code and HTTP status.
        if (err?.code && err.status && typeof err.message === 'string')
          throw new CliError(`${err.message} [${err.code}]`, exitCodeForStatus(err.status));
        throw err;
      });
      const out = resolve(opts.out);
      const dir = resolve(out, rendered.dir);
      if (dir !== out && !dir.startsWith(out + sep))
        throw new CliError(`${rendered.dir} escapes --out`, EXIT.usage);
      const existing = await readdir(dir).catch(() => []);
      if (existing.length && !opts.force)
        throw new CliError(`${dir} exists and is not empty; --force replaces it`, EXIT.usage);
      await rm(dir, { recursive: true, force: true });
      for (const [file, data] of rendered.files) {
        const p = resolve(out, file);
        await mkdir(dirname(p), { recursive: true });
        await writeFile(p, data);
      }
      const findings = rendered.findings;
      const ctx = contextOf(c);
      if (ctx.format !== 'table') {
        await printDocument(ctx.format, {
          dir: rendered.dir,
          files: [...rendered.files.keys()],
          findings,
          tree: rendered.tree,
        });
      } else {
        say(resolvedTree(rendered.tree));
        say(`\nwrote ${rendered.files.size} files under ${join(opts.out, rendered.dir)}`);
        for (const f of findings) console.error(`✗ ${f.file}: ${f.object} ${f.message}`);
      }
      process.exitCode = findings.length ? EXIT.failed : EXIT.ok;
    });
}
