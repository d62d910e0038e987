import { Option, type Command } from 'commander';
import type { SearchResult } from '@profiles/shared';
import { contextOf } from '../context.ts';
import { CliError, EXIT } from '../exit.ts';
import { color, printDocument, say, table, terminalWidth } from '../output.ts';

interface SearchOpts {
  catalog?: string;
  maintainer?: string;
  kind?: string;
  version?: string;
  prerelease?: string;
  sort?: string;
  allVersions?: boolean;
  limit?: string;
  facets?: boolean;
  all?: boolean;
}

const MAX_PAGE = 100;

export function searchCommand(program: Command): void {
  program
    .command('search')
    .description('search the catalog: name, description, maintainer and prerequisites')
    .argument('[query...]', 'words to find (none: every profile)')
    .option('--catalog <catalog>', 'only this catalog (NAME or NAMESPACE/NAME)')
    .option('--maintainer <maintainer>', 'only profiles of this maintainer')
    .addOption(
      new Option('--kind <kind>', 'only profiles with an artifact of this kind').choices([
        'helm',
        'chart',
        'kustomize',
        'profile',
      ]),
    )
    .option('--version <range>', 'only profiles with a version in this semver range (^1.2, ">=2 <3")')
    .addOption(new Option('--prerelease <which>', 'pre-releases').choices(['include', 'exclude', 'only']))
    .addOption(new Option('--sort <order>', 'order of the hits').choices(['relevance', 'name', 'updated']))
    .option('--all-versions', 'every matching version, not one hit per profile')
    .option('--limit <n>', 'hits per page (1-100)', '20')
    .option('--facets', 'also count hits by catalog, maintainer, kind')
    .option('--all', 'follow the cursors: every page')
    .addHelpText(
      'after',
      `
Examples:
  profiles search nginx
  profiles search --kind kustomize --catalog examples
  profiles search --version '^0.1' --prerelease exclude -o json
  profiles search --all --sort name`,
    )
    .action(async (words: string[], opts: SearchOpts, cmd: Command) => {
      const ctx = contextOf(cmd);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE)
        throw new CliError(`--limit ${opts.limit}: a whole number from 1 to ${MAX_PAGE}`, EXIT.usage);
      const query = {
        q: words.join(' '),
        limit: opts.all ? MAX_PAGE : limit,
        catalog: opts.catalog,
        maintainer: opts.maintainer,
        kind: opts.kind === 'helm' ? 'chart' : opts.kind,
        version: opts.version,
        prerelease: opts.prerelease,
        sort: opts.sort,
        versions: opts.allVersions ? 'all' : undefined,
        // Facet counts cost the API work; ask for them only when they are shown or a script may read them.
        facetLimit: opts.facets || ctx.format !== 'table' ? undefined : 0,
      };
      let page = await ctx.api.get<SearchResult>('/v1/search', query);
      const result: SearchResult = { ...page, items: [...page.items] };
      while (opts.all && page.nextCursor) {
        page = await ctx.api.get<SearchResult>('/v1/search', { ...query, cursor: page.nextCursor });
        result.items.push(...page.items);
      }
      if (opts.all) result.nextCursor = null;
      if (ctx.format !== 'table') return printDocument(ctx.format, result);
      await printSearch(result, Boolean(opts.allVersions), Boolean(opts.facets));
    });
}

async function printSearch(r: SearchResult, allVersions: boolean, facets: boolean): Promise<void> {
  if (r.items.length === 0) {
    say('No profiles match.');
    return;
  }
  const rows = r.items.map((h) => [
    h.name,
    h.catalog,
    allVersions ? (h.versions ?? [h.latest]).map((v) => v.version).join(', ') : h.latest.version,
    h.latest.description.replace(/\s+/g, ' ').trim(),
    h.latest.maintainer,
  ]);
  const head = ['NAME', 'CATALOG', allVersions ? 'VERSIONS' : 'LATEST', 'DESCRIPTION', 'MAINTAINER'];
  say(await table(head, rows, { flexible: 3, width: terminalWidth() }));
  if (r.items.length < r.total)
    console.error(
      color.dim(`${r.items.length} of ${r.total} shown; --all for every page, --limit for bigger pages`),
    );
  if (facets) {
    for (const [facet, counts] of Object.entries(r.facets)) {
      const more = (r.facetTotals[facet] ?? 0) - Object.keys(counts).length;
      const list = Object.entries(counts).map(([v, n]) => `${v} (${n})`);
      say(`${color.bold(`${facet}:`)} ${list.join(', ')}${more > 0 ? `, +${more} more` : ''}`);
    }
  }
}
