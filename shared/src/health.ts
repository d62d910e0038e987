import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { ServiceMetrics } from './metrics.ts';

export type ReadinessCheck = () => Promise<boolean> | boolean;

/**
 * `/healthz` (the process answers), `/readyz` (every named check passes) and `/metrics` (Prometheus text) for
 * the services that have no HTTP API of their own. Kubernetes probes, Prometheus and the local runner use them.
 */
export async function startHealthServer(opts: {
  host: string;
  port: number;
  checks: Record<string, ReadinessCheck>;
  metrics?: ServiceMetrics;
}): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz') {
      void runChecks(opts.checks).then(({ ok, checks }) => {
        res
          .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: ok ? 'ready' : 'not ready', checks }));
      });
      return;
    }
    if (path === '/metrics' && opts.metrics) {
      opts.metrics.render().then(
        (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text),
        () => res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"metrics failed"}'),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return { server, port, close: () => new Promise((r) => server.close(() => r())) };
}

export async function runChecks(
  checks: Record<string, ReadinessCheck>,
): Promise<{ ok: boolean; checks: Record<string, boolean> }> {
  const results: Record<string, boolean> = {};
  for (const [name, check] of Object.entries(checks)) {
    try {
      results[name] = await check();
    } catch {
      results[name] = false;
    }
  }
  return { ok: Object.values(results).every(Boolean), checks: results };
}
