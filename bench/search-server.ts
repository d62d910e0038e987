/**
 * The servers the search benchmark loads, in a process of their own (so the load generator does not share its
 * event loop): the real API app, and a bare Fastify app with one trivial route as the baseline.
 * argv: <redis url> <prefix>; prints `{"api": port, "bare": port}` once listening.
 */
import Fastify from 'fastify';
import { connectRedis, silentLogger } from '@profiles/shared';
import { buildApp } from '../services/api/src/app.ts';

const [redisUrl, prefix] = process.argv.slice(2) as [string, string];
const log = silentLogger();
const redis = connectRedis(redisUrl, log, 'bench-api', { failFast: true });
const api = await buildApp({ redis, redisPrefix: prefix, log, rateLimitPerMinute: 0 });
await api.listen({ host: '127.0.0.1', port: 0 });
const bare = Fastify();
bare.get('/bare', async () => ({ items: [], total: 0 }));
await bare.listen({ host: '127.0.0.1', port: 0 });
const port = (a: { server: { address: () => unknown } }) => (a.server.address() as { port: number }).port;
console.log(JSON.stringify({ api: port(api), bare: port(bare) }));
