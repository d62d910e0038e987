/**
 * The four services as separate processes running their compiled bundles (`npm run build`), exactly as
 * `npm start` and the image run them: what the metrics and trace suites need, since /metrics, the health port
 * and telemetry set-up live in each service's main.ts.
 */
import { buildAll } from '../../scripts/build.ts';
import { serviceProcess, type ServiceProcess } from './service-process.ts';

export const SERVICE_NAMES = ['watcher', 'indexer', 'api', 'installer'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface RunningServices {
  /** http://127.0.0.1:<port> of each service's health endpoints (the API's own port for the API). */
  health: Record<ServiceName, string>;
  api: string;
  /** Every log line so far, `[service] line`. */
  output: string[];
  stop: () => Promise<void>;
}

export async function startServices(env: NodeJS.ProcessEnv): Promise<RunningServices> {
  await buildAll({ ifStale: true });
  const output: string[] = [];
  const procs: ServiceProcess[] = [];
  for (const name of SERVICE_NAMES) procs.push(await serviceProcess(name, env, { output }));
  const stop = async () => void (await Promise.all(procs.map((p) => p.stop())));
  try {
    await Promise.all(procs.map((p) => p.start()));
  } catch (err) {
    await stop();
    throw err;
  }
  const health = Object.fromEntries(procs.map((p) => [p.name, p.url])) as Record<ServiceName, string>;
  const deadline = Date.now() + 30_000;
  for (const name of SERVICE_NAMES) {
    while (
      !(await fetch(`${health[name]}/readyz`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`${name} not ready within 30 s:\n${output.slice(-30).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { health, api: health.api, output, stop };
}

/** One Prometheus sample: `name{a="b",...} value`, labels other than otel_scope_name kept. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    delete labels.otel_scope_name;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample with this name whose labels include `labels`; undefined when there is none. */
export function sampleValue(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const hits = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${hits.length} samples`);
  return hits[0]?.value;
}
