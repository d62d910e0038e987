/**
 * Live catalog changes from `GET /v1/events` (Server-Sent Events). Read with fetch rather than EventSource so
 * the bearer token goes along; a dropped stream reconnects with Last-Event-ID, so no event is missed.
 */
import { useEffect } from 'preact/hooks';
import { authHeaders } from './api.ts';

export interface CatalogEvent {
  type: string;
  data: {
    profile?: string;
    catalog?: { namespace: string; name: string };
    ref?: { namespace: string; name: string };
  };
}

const listeners = new Set<(e: CatalogEvent) => void>();
let started = false;
let lastId: string | undefined;

async function follow(): Promise<void> {
  for (;;) {
    try {
      const res = await fetch('/v1/events', {
        headers: {
          accept: 'text/event-stream',
          ...authHeaders(),
          ...(lastId ? { 'last-event-id': lastId } : {}),
        },
      });
      if (!res.ok || !res.body) throw new Error(`events answered ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          dispatch(buf.slice(0, end));
          buf = buf.slice(end + 2);
        }
      }
    } catch {
      // reconnect below
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function dispatch(block: string): void {
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('id: ')) lastId = line.slice(4);
    else if (line.startsWith('data: ')) data += line.slice(6);
  }
  if (!data) return;
  const ev = JSON.parse(data) as CatalogEvent;
  for (const fn of listeners) fn(ev);
}

/** Calls `fn` on every catalog event while the component is mounted. */
export function useCatalogEvents(fn: (e: CatalogEvent) => void, deps: unknown[] = []): void {
  useEffect(() => {
    if (!started) {
      started = true;
      void follow();
    }
    listeners.add(fn);
    return () => void listeners.delete(fn);
  }, deps);
}
