/** The global options every command reads: where the API is, the token, the output format. */
import type { Command } from 'commander';
import { ApiClient } from './http.ts';
import { parseFormat, type Format } from './output.ts';

export const DEFAULT_API = 'http://127.0.0.1:8080';

export interface Context {
  api: ApiClient;
  apiUrl: string;
  format: Format;
}

export function contextOf(cmd: Command): Context {
  const o = cmd.optsWithGlobals<{ api: string; token?: string; output: string }>();
  return {
    api: new ApiClient({ api: o.api, token: o.token, timeoutMs: 120_000 }),
    apiUrl: o.api,
    format: parseFormat(o.output),
  };
}
