/**
 * What the YAML pre-scan saves: inputs inside the 1 MiB size limit that are deep or wide, parsed by the `yaml`
 * library without the bounds (CST, document, values) and refused by parseYamlDocuments with them. Prints time
 * and peak RSS growth of each, and the ratio. `npm run bench:yaml`.
 */
import { parseAllDocuments } from 'yaml';
import { parseYamlDocuments } from '../shared/src/yaml.ts';

const inputs: Record<string, string> = {
  'flow nesting, 400 KB': '['.repeat(200_000) + ']'.repeat(200_000),
  'flow maps, 500 KB': '{a: '.repeat(100_000) + '1' + '}'.repeat(100_000),
  'block nesting, 500 KB': Array.from({ length: 1000 }, (_, i) => ' '.repeat(i) + 'a:').join('\n') + ' 1',
  '110,000 entries, 0.9 MB': Array.from({ length: 110_000 }, (_, i) => `- ${i}`).join('\n'),
};

function measure(fn: () => void): { ms: number; mb: number; outcome: string } {
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const t0 = performance.now();
  let outcome = 'parsed';
  try {
    fn();
  } catch (err) {
    outcome = (err as Error).message.slice(0, 70);
  }
  const ms = performance.now() - t0;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { ms, mb: (peak - rss0) / 1e6, outcome };
}

for (const [name, text] of Object.entries(inputs)) {
  const raw = measure(() => {
    const docs = parseAllDocuments(text);
    for (const d of Array.isArray(docs) ? docs : [docs]) d.toJS({ maxAliasCount: 100 });
  });
  const bounded = measure(() => parseYamlDocuments(text));
  console.log(
    `${name.padEnd(24)} unbounded ${raw.ms.toFixed(0).padStart(6)} ms ${raw.mb.toFixed(0).padStart(4)} MB | ` +
      `bounded ${bounded.ms.toFixed(0).padStart(5)} ms ${bounded.mb.toFixed(0).padStart(4)} MB | ` +
      `${(raw.ms / bounded.ms).toFixed(0)}x faster: ${bounded.outcome}`,
  );
}
