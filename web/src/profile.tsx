/** A profile: its versions, artifacts, nested tree, dependsOn order, freshness, updates and how to install it. */
import { useEffect, useState } from 'preact/hooks';
import type {
  NestedProfileNode,
  ProfileUpdatesDoc,
  ProfileVersionDoc,
  ProfileVersionsDoc,
} from '../../shared/src/api-documents.ts';
import { api, enc, profilePath } from './api.ts';
import { useCatalogEvents } from './live.ts';
import { href, navigate, type Route } from './router.ts';

export function ProfilePage({ route }: { route: Route }) {
  const [, catalog = '', name = ''] = route.path;
  const [versions, setVersions] = useState<ProfileVersionsDoc | null>(null);
  const [doc, setDoc] = useState<ProfileVersionDoc | null>(null);
  const [updates, setUpdates] = useState<ProfileUpdatesDoc | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const version = route.query.get('version') ?? versions?.latest;

  useEffect(() => {
    api<ProfileVersionsDoc>(profilePath(catalog, name)).then(setVersions, (e: Error) => setError(e.message));
  }, [catalog, name, tick]);
  useEffect(() => {
    if (!version) return;
    api<ProfileVersionDoc>(`${profilePath(catalog, name)}/versions/${enc(version)}`).then(
      setDoc,
      (e: Error) => setError(e.message),
    );
    api<ProfileUpdatesDoc>(`${profilePath(catalog, name)}/updates?from=${enc(version)}`).then(
      setUpdates,
      () => setUpdates(null),
    );
  }, [catalog, name, version, tick]);
  useCatalogEvents(
    (e) => {
      if (!e.data.profile || e.data.profile === name) setTick((t) => t + 1);
    },
    [name],
  );

  if (error)
    return (
      <p role="alert" class="error">
        {error}
      </p>
    );
  if (!versions || !doc) return <p class="muted">Loading…</p>;
  const item = doc.item;
  const ref = `${catalog}/${name}@${item.version}`;
  return (
    <article class="profile">
      <h1>
        {name} <span class="version">{item.version}</span>
      </h1>
      <p>{item.description}</p>
      <dl class="facts">
        <dt>Maintainer</dt>
        <dd>{item.maintainer || '—'}</dd>
        <dt>Catalog</dt>
        <dd>{catalog}</dd>
        <dt>Prerequisites</dt>
        <dd>{item.prerequisites.length ? item.prerequisites.join(', ') : 'none'}</dd>
        <dt>Source</dt>
        <dd class="mono">
          {item.url} @ {item.tag}
        </dd>
        <dt>Freshness</dt>
        <dd>
          revision <span class="mono">{doc.freshness.revision?.slice(0, 12) ?? 'unknown'}</span>, indexed{' '}
          {new Date(doc.freshness.indexedAt).toLocaleString()}
        </dd>
      </dl>
      <p>
        <a class="button" href={href(['install', catalog, name, item.version])}>
          Install {item.version}…
        </a>
      </p>

      <h2>Versions</h2>
      <ul class="versions" aria-label="Versions">
        {versions.versions.map((v) => (
          <li key={v.version}>
            <a
              href={href(['profiles', catalog, name], { version: v.version })}
              aria-current={v.version === item.version ? 'page' : undefined}
            >
              {v.version}
            </a>
            {v.version.includes('-') && <span class="badge pre">pre-release</span>}
          </li>
        ))}
      </ul>
      {updates && (
        <p>
          Updates from {updates.from}:{' '}
          {updates.items.length
            ? updates.items.map((u) => (
                <span key={u.version}>
                  <span class={`badge ${u.change}`}>{u.change}</span> {u.version}{' '}
                </span>
              ))
            : 'none, this is the newest.'}
        </p>
      )}

      <h2>Artifacts</h2>
      <table>
        <thead>
          <tr>
            <th>name</th>
            <th>kind</th>
            <th>depends on</th>
          </tr>
        </thead>
        <tbody>
          {doc.artifacts.map((a) => (
            <tr key={a.name}>
              <td>{a.name}</td>
              <td>
                <span class="badge">{a.kind}</span>
              </td>
              <td>{(doc.dependsOn[a.name] ?? a.dependsOn).join(', ') || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Nested profiles</h2>
      {doc.tree.length ? (
        <ul class="tree" role="tree" aria-label="Nested profiles">
          {doc.tree.map((n) => (
            <TreeNode key={n.artifact} node={n} />
          ))}
        </ul>
      ) : (
        <p class="muted">none</p>
      )}

      <h2>Install it</h2>
      <Copyable
        label="CLI"
        text={`npx profiles install ${ref} --repo <git-url> --branch main --path clusters/my-cluster`}
      />
      <Copyable
        label="API"
        text={
          `curl -X POST ${location.origin}/v1/installations -H 'content-type: application/json' -d '` +
          JSON.stringify({
            name,
            namespace: 'default',
            profile: { catalog, name, version: item.version },
            target: { url: '<git-url>', branch: 'main', path: 'clusters/my-cluster' },
            mode: 'commit',
            dryRun: true,
          }) +
          `'`
        }
      />
      <label>
        Another version{' '}
        <select
          value={item.version}
          onChange={(e) => navigate(href(['profiles', catalog, name], { version: e.currentTarget.value }))}
        >
          {versions.versions.map((v) => (
            <option key={v.version}>{v.version}</option>
          ))}
        </select>
      </label>
    </article>
  );
}

function TreeNode({ node }: { node: NestedProfileNode }) {
  const [open, setOpen] = useState(true);
  const r = node.resolved;
  const mark = node.note === 'cycle' ? 'cycle' : !r ? 'unresolved' : node.note;
  return (
    <li role="treeitem" aria-expanded={node.children.length ? open : undefined}>
      {node.children.length > 0 && (
        <button
          type="button"
          class="twisty"
          aria-label={`${open ? 'Collapse' : 'Expand'} ${node.artifact}`}
          onClick={() => setOpen(!open)}
        >
          {open ? '▾' : '▸'}
        </button>
      )}
      <span>{node.artifact}</span>{' '}
      {r ? (
        <a href={href(['profiles', r.catalog, r.profile], { version: r.version })}>
          {r.catalog}/{r.profile}@{r.version}
        </a>
      ) : (
        <span class="mono small">
          {node.source.url} {node.source.tag ?? node.source.branch}
        </span>
      )}
      {mark && <span class={`badge ${mark}`}>{mark}</span>}
      {open && node.children.length > 0 && (
        <ul role="group">
          {node.children.map((c) => (
            <TreeNode key={c.artifact} node={c} />
          ))}
        </ul>
      )}
    </li>
  );
}

export function Copyable({ label, text }: { label: string; text: string }) {
  const [done, setDone] = useState(false);
  return (
    <div class="copyable">
      <pre aria-label={label}>
        <code>{text}</code>
      </pre>
      <button
        type="button"
        onClick={() =>
          void navigator.clipboard?.writeText(text).then(() => {
            setDone(true);
            setTimeout(() => setDone(false), 1500);
          })
        }
      >
        {done ? 'Copied' : `Copy ${label}`}
      </button>
    </div>
  );
}
