/**
 * The install wizard: version, target, name, values per artifact (YAML, checked before sending, errors at the
 * line), optional pull request; a dry run shows the file tree and diff; the real run's status follows live.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ProfileVersionDoc, ProfileVersionsDoc } from '../../shared/src/api-documents.ts';
import type { InstallationDoc, ProfileTreeNode } from '../../shared/src/installations.ts';
import { api, enc, profilePath } from './api.ts';
import { href, type Route } from './router.ts';

const TERMINAL = ['committed', 'pr-opened', 'failed', 'rendered', 'unchanged'];

/** Polls an installation until it ends, calling `on` with each new status document. */
export async function follow(id: string, on: (d: InstallationDoc) => void): Promise<InstallationDoc> {
  for (;;) {
    const d = await api<InstallationDoc>(`/v1/installations/${enc(id)}`);
    on(d);
    if (TERMINAL.includes(d.status)) return d;
    await new Promise((r) => setTimeout(r, 400));
  }
}

/** Parses each artifact's YAML; returns the values or the first error of each with its line. */
async function parseValues(texts: Record<string, string>) {
  const { parseDocument } = await import('yaml');
  const values: Record<string, Record<string, unknown>> = {};
  const errors: Record<string, string> = {};
  for (const [artifact, text] of Object.entries(texts)) {
    if (!text.trim()) continue;
    const doc = parseDocument(text, { prettyErrors: true });
    const err = doc.errors[0];
    const v = err ? undefined : (doc.toJS() as unknown);
    if (err) errors[artifact] = `line ${err.linePos?.[0].line ?? '?'}: ${err.message.split('\n')[0]}`;
    else if (v === null || typeof v !== 'object' || Array.isArray(v))
      errors[artifact] = 'line 1: values must be a mapping (key: value)';
    else values[artifact] = v as Record<string, unknown>;
  }
  return { values, errors };
}

export function InstallPage({ route }: { route: Route }) {
  const [, catalog = '', name = '', initial = ''] = route.path;
  const [versions, setVersions] = useState<ProfileVersionsDoc | null>(null);
  const [version, setVersion] = useState(initial);
  const [doc, setDoc] = useState<ProfileVersionDoc | null>(null);
  const [form, setForm] = useState({
    url: '',
    branch: 'main',
    path: 'clusters/my-cluster',
    name,
    namespace: 'default',
  });
  const [pr, setPr] = useState<{ on: boolean; provider: string; apiUrl: string; repository: string }>({
    on: false,
    provider: 'github',
    apiUrl: '',
    repository: '',
  });
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [status, setStatus] = useState<InstallationDoc | null>(null);
  const [dry, setDry] = useState<InstallationDoc | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(
    () => void api<ProfileVersionsDoc>(profilePath(catalog, name)).then(setVersions),
    [catalog, name],
  );
  useEffect(() => {
    if (version)
      void api<ProfileVersionDoc>(`${profilePath(catalog, name)}/versions/${enc(version)}`).then(setDoc);
  }, [catalog, name, version]);

  const submit = async (dryRun: boolean) => {
    setProblem(null);
    const parsed = await parseValues(texts);
    setErrors(parsed.errors);
    if (Object.keys(parsed.errors).length) return;
    setBusy(true);
    try {
      const body = {
        name: form.name,
        namespace: form.namespace,
        profile: { catalog, name, version },
        target: {
          url: form.url,
          branch: form.branch,
          path: form.path,
          ...(pr.on
            ? { pullRequest: { provider: pr.provider, apiUrl: pr.apiUrl, repository: pr.repository } }
            : {}),
        },
        values: parsed.values,
        mode: pr.on ? 'pull-request' : 'commit',
        dryRun,
      };
      const { id } = await api<{ id: string }>('/v1/installations', { method: 'POST', body });
      const end = await follow(id, dryRun ? setDry : setStatus);
      if (dryRun) setDry(end);
    } catch (e) {
      setProblem((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const field = (k: keyof typeof form, label: string, placeholder = '') => (
    <label>
      {label}
      <input
        name={k}
        required
        value={form[k]}
        placeholder={placeholder}
        onInput={(e) => setForm({ ...form, [k]: e.currentTarget.value })}
      />
    </label>
  );

  return (
    <article class="wizard">
      <h1>
        Install <a href={href(['profiles', catalog, name])}>{name}</a>
      </h1>
      <form onSubmit={(e) => (e.preventDefault(), void submit(true))}>
        <label>
          Version
          <select name="version" value={version} onChange={(e) => setVersion(e.currentTarget.value)}>
            {versions?.versions.map((v) => (
              <option key={v.version}>{v.version}</option>
            ))}
          </select>
        </label>
        {field('url', 'Target repository', 'https://git.example/fleet.git')}
        {field('branch', 'Branch')}
        {field('path', 'Path')}
        {field('name', 'Installation name')}
        {field('namespace', 'Namespace')}
        <label class="inline">
          <input
            type="checkbox"
            checked={pr.on}
            onChange={(e) => setPr({ ...pr, on: e.currentTarget.checked })}
          />{' '}
          Open a pull request instead of committing
        </label>
        {pr.on && (
          <div class="pr">
            <label>
              Provider
              <select value={pr.provider} onChange={(e) => setPr({ ...pr, provider: e.currentTarget.value })}>
                <option>github</option>
                <option>gitlab</option>
              </select>
            </label>
            <label>
              API URL
              <input value={pr.apiUrl} onInput={(e) => setPr({ ...pr, apiUrl: e.currentTarget.value })} />
            </label>
            <label>
              Repository (owner/name)
              <input
                value={pr.repository}
                onInput={(e) => setPr({ ...pr, repository: e.currentTarget.value })}
              />
            </label>
          </div>
        )}
        <h2>Values</h2>
        {doc?.artifacts
          .filter((a) => a.kind !== 'profile')
          .map((a) => (
            <label key={a.name} class="values">
              <span>
                {a.name} <span class="badge">{a.kind}</span>
              </span>
              <textarea
                name={`values-${a.name}`}
                spellcheck={false}
                rows={4}
                placeholder="key: value"
                aria-invalid={Boolean(errors[a.name])}
                aria-describedby={errors[a.name] ? `err-${a.name}` : undefined}
                value={texts[a.name] ?? ''}
                onInput={(e) => setTexts({ ...texts, [a.name]: e.currentTarget.value })}
              />
              {errors[a.name] && (
                <span id={`err-${a.name}`} role="alert" class="error">
                  {errors[a.name]}
                </span>
              )}
            </label>
          ))}
        <div class="actions">
          <button type="submit" disabled={busy}>
            Dry run
          </button>
          <button
            type="button"
            disabled={busy || dry?.status !== 'rendered'}
            onClick={() => void submit(false)}
          >
            {pr.on ? 'Open pull request' : 'Commit'}
          </button>
        </div>
      </form>
      <Outcome problem={problem} dry={dry} status={status} />
    </article>
  );
}

/** What a run came to: the API's refusal, the dry run's files and diff, the real run's status. */
export function Outcome(p: {
  problem: string | null;
  dry: InstallationDoc | null;
  status: InstallationDoc | null;
}) {
  return (
    <>
      {p.problem && (
        <p role="alert" class="error">
          {p.problem}
        </p>
      )}
      {p.dry && <DryRun doc={p.dry} />}
      {p.status && <Status doc={p.status} />}
    </>
  );
}

export function DryRun({ doc }: { doc: InstallationDoc }) {
  if (doc.status !== 'rendered') return <Status doc={doc} />;
  const r = doc.dryRun;
  return (
    <section aria-label="Dry run" class="dryrun">
      <h2>Dry run {r?.applies === false ? '(would not apply)' : ''}</h2>
      <Status doc={doc} />
      {doc.conflicts?.length ? <p class="error">Conflicts: {doc.conflicts.join(', ')}</p> : null}
      {r?.findings.map((f, i) => (
        <p key={i} class="error">
          {f.file}: {f.message}
        </p>
      ))}
      {doc.files && (
        <details>
          <summary>{doc.files.length} files</summary>
          <ul class="files" aria-label="Files">
            {doc.files.map((f) => (
              <li key={f} class="mono">
                {f}
              </li>
            ))}
          </ul>
        </details>
      )}
      {r && <TreeView node={r.tree} />}
      <pre class="diff" aria-label="Diff" tabIndex={0}>
        {r?.diff.split('\n').map((l, i) => (
          <span key={i} class={l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : ''}>
            {l}
            {'\n'}
          </span>
        ))}
      </pre>
    </section>
  );
}

function TreeView({ node }: { node: ProfileTreeNode }) {
  return (
    <ul class="tree">
      <li>
        {node.name} <span class="mono small">{node.ref}</span>
        <ul>
          {node.artifacts.map((a) => (
            <li key={a.name}>
              {a.name} <span class="badge">{a.kind}</span>
              {a.profile && <TreeView node={a.profile} />}
            </li>
          ))}
        </ul>
      </li>
    </ul>
  );
}

export function Status({ doc }: { doc: InstallationDoc }) {
  return (
    <section aria-label="Status" class="status" aria-live="polite">
      <p>
        Status: <strong data-status={doc.status}>{doc.status}</strong>
        {doc.commit && (
          <>
            {' '}
            commit <span class="mono">{doc.commit}</span>
          </>
        )}
        {doc.pullRequest && (
          <>
            {' '}
            <a href={doc.pullRequest.url}>pull request #{doc.pullRequest.number}</a>
          </>
        )}
      </p>
      {doc.reason && <p class="error">{doc.reason}</p>}
      {doc.findings?.map((f, i) => (
        <p key={i} class="error">
          {f.artifact ?? f.file} {f.path ?? ''}: {f.message}
        </p>
      ))}
    </section>
  );
}
