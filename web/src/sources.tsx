/** Every catalog source with its health, counts, last scan and entry errors; follows catalog events. */
import { useEffect, useState } from 'preact/hooks';
import type { SourceView } from '../../shared/src/api-documents.ts';
import { api } from './api.ts';
import { useCatalogEvents } from './live.ts';

export function SourcesPage() {
  const [items, setItems] = useState<SourceView[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    api<{ items: SourceView[] }>('/v1/sources').then(
      (r) => setItems(r.items),
      (e: Error) => setProblem(e.message),
    );
  }, [tick]);
  useCatalogEvents(() => setTick((t) => t + 1));
  return (
    <article>
      <h1>Sources</h1>
      {problem && (
        <p role="alert" class="error">
          {problem}
        </p>
      )}
      <ul class="sources">
        {items?.map((s) => {
          const scanned = s.scannedRepositories
            .map((r) => r.scannedAt)
            .filter(Boolean)
            .sort()
            .pop();
          return (
            <li key={`${s.namespace}/${s.name}`} class="card">
              <h2>
                {s.namespace}/{s.name}{' '}
                <span class={`badge ${s.ready ? 'ok' : 'bad'}`}>
                  {s.ready ? 'ready' : s.reason || 'not ready'}
                </span>
              </h2>
              <p class="muted small">{s.origin}</p>
              <p>
                {s.profiles} profiles, {s.versions} versions
                {scanned ? ` · last scan ${new Date(scanned).toLocaleString()}` : ''}
                {s.indexedAt ? ` · indexed ${new Date(s.indexedAt).toLocaleString()}` : ''}
              </p>
              {s.message && <p>{s.message}</p>}
              {s.lastError && <p class="error">{s.lastError}</p>}
              {s.entryErrors.length > 0 && (
                <ul aria-label="Entry errors">
                  {s.entryErrors.map((e) => (
                    <li key={e.entry} class="error">
                      {e.entry}: {e.reason}
                    </li>
                  ))}
                </ul>
              )}
              {s.scannedRepositories
                .filter((r) => r.error || r.tagErrors?.length)
                .map((r) => (
                  <p key={r.url} class="error small">
                    {r.url}: {r.error ?? r.tagErrors?.map((t) => `${t.tag}: ${t.reason}`).join('; ')}
                  </p>
                ))}
            </li>
          );
        })}
      </ul>
    </article>
  );
}
