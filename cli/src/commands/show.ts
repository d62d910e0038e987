import type { Command } from 'commander';
import type { ProfileVersionDoc, ProfileVersionsDoc } from '@profiles/shared';
import { contextOf } from '../context.ts';
import { ago, color, fields, printDocument, say, table } from '../output.ts';
import { catalogPath, parseCatalogRef } from '../refs.ts';
import { catalogTree } from '../tree.ts';

export function showCommand(program: Command): void {
  program
    .command('show')
    .description(
      'one profile: description, versions, artifacts, nested profiles, freshness, how to install it',
    )
    .argument('<profile>', 'CATALOG/PROFILE[@VERSION] (latest when no version)')
    .addHelpText(
      'after',
      `
Examples:
  profiles show examples/weaveworks-nginx
  profiles show examples/weaveworks-nginx@0.1.0 -o yaml
  profiles show team-a/platform/nginx@1.2.0      (a catalog named with its namespace)

-o json|yaml prints the version document of the API with "versions" (every version, newest first) added.`,
    )
    .action(async (arg: string, _opts: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const ref = parseCatalogRef(arg);
      const base = catalogPath(ref);
      const [all, doc] = await Promise.all([
        ctx.api.get<ProfileVersionsDoc>(base),
        ctx.api.get<ProfileVersionDoc>(`${base}/versions/${encodeURIComponent(ref.version)}`),
      ]);
      const versions = all.versions.map((v) => v.version);
      if (ctx.format !== 'table') return printDocument(ctx.format, { ...doc, versions });
      const e = doc.item;
      const catalog = `${e.catalogNamespace}/${e.catalogSource}`;
      say(`${color.bold(e.name)} ${e.version}  ${color.dim(`catalog ${catalog}`)}`);
      say(
        fields([
          ['Description', e.description],
          ['Maintainer', e.maintainer],
          ['Prerequisites', e.prerequisites.join(', ')],
          ['Versions', versions.map((v) => (v === e.version ? color.bold(v) : v)).join(', ')],
          ['Source', `${e.url} ${e.tag}`],
          [
            'Freshness',
            `indexed ${ago(doc.freshness.indexedAt)} (${doc.freshness.indexedAt})` +
              (doc.freshness.revision ? `, revision ${doc.freshness.revision.slice(0, 12)}` : ''),
          ],
        ]),
      );
      if (doc.artifacts.length) {
        say(`\n${color.bold('Artifacts')}`);
        const rows = doc.artifacts.map((a) => [
          a.name,
          a.kind,
          a.chart
            ? a.chart.path
              ? `chart at ${a.chart.path}`
              : `${a.chart.name ?? ''}${a.chart.version ? ` ${a.chart.version}` : ''} from ${a.chart.url ?? ''}`
            : a.kustomize
              ? a.kustomize.path
              : a.profile
                ? `${a.profile.source.url} ${a.profile.source.tag ?? a.profile.source.branch ?? ''}`
                : '',
          (doc.dependsOn[a.name] ?? a.dependsOn).join(', '),
        ]);
        say(indent(await table(['NAME', 'KIND', 'FROM', 'DEPENDS ON'], rows)));
      }
      if (doc.tree.length) {
        say(`\n${color.bold('Nested profiles')}`);
        say(indent(catalogTree(`${e.name}@${e.version}`, doc.tree)));
      }
      const catalogArg = ref.catalog;
      say(`\n${color.bold('Install')}`);
      say(
        indent(
          `profiles install ${catalogArg}/${e.name}@${e.version} --repo <gitops repository URL> --path <folder> --name ${e.name}`,
        ),
      );
    });
}

const indent = (s: string) =>
  s
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
