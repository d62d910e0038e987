/** Installations found in a GitOps repository, their updates as patch/minor/major badges, and upgrades. */
import { useState } from 'preact/hooks';
import type { FoundInstallation } from '../../shared/src/install-messages.ts';
import type { InstallationDoc } from '../../shared/src/installations.ts';
import { api } from './api.ts';
import { follow, Outcome } from './install.tsx';
import { href, navigate, type Route } from './router.ts';

/** How far `to` is from `from`: the first semver field that differs. */
export function change(from: string, to: string): 'major' | 'minor' | 'patch' {
  const a = from.split(/[.-]/).map(Number);
  const b = to.split(/[.-]/).map(Number);
  return a[0] !== b[0] ? 'major' : a[1] !== b[1] ? 'minor' : 'patch';
}

export function InstallationsPage({ route }: { route: Route }) {
  const q = route.query;
  const [form, setForm] = useState({
    url: q.get('url') ?? '',
    branch: q.get('branch') ?? 'main',
    path: q.get('path') ?? '.',
  });
  const [items, setItems] = useState<FoundInstallation[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [upgrading, setUpgrading] = useState<{ item: FoundInstallation; version: string } | null>(null);

  const scan = async () => {
    setProblem(null);
    navigate(href(['installations'], form), false);
    try {
      const p = new URLSearchParams(form);
      setItems((await api<{ items: FoundInstallation[] }>(`/v1/repositories/installations?${p}`)).items);
    } catch (e) {
      setProblem((e as Error).message);
    }
  };
  return (
    <article>
      <h1>Installations</h1>
      <form class="row" onSubmit={(e) => (e.preventDefault(), void scan())}>
        {(['url', 'branch', 'path'] as const).map((k) => (
          <label key={k}>
            {k === 'url' ? 'GitOps repository' : k}
            <input
              name={k}
              required
              value={form[k]}
              onInput={(e) => setForm({ ...form, [k]: e.currentTarget.value })}
            />
          </label>
        ))}
        <button type="submit">Find installations</button>
      </form>
      {problem && (
        <p role="alert" class="error">
          {problem}
        </p>
      )}
      {items && (
        <table>
          <thead>
            <tr>
              <th>installation</th>
              <th>path</th>
              <th>version</th>
              <th>updates</th>
            </tr>
          </thead>
          <tbody>
            {items.map((i) => (
              <tr key={i.path}>
                <td>
                  {i.namespace}/{i.name}
                </td>
                <td class="mono">{i.path}</td>
                <td>{i.profile.version}</td>
                <td>
                  {i.availableUpdates.length === 0 && <span class="muted">up to date</span>}
                  {i.availableUpdates.map((v) => (
                    <button
                      type="button"
                      key={v}
                      class="toggle"
                      onClick={() => setUpgrading({ item: i, version: v })}
                    >
                      <span class={`badge ${change(i.profile.version, v)}`}>
                        {change(i.profile.version, v)}
                      </span>{' '}
                      {v}
                    </button>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {upgrading && (
        <Upgrade
          key={upgrading.item.path + upgrading.version}
          repo={form}
          {...upgrading}
          done={() => void scan()}
        />
      )}
    </article>
  );
}

function Upgrade(props: {
  repo: { url: string; branch: string };
  item: FoundInstallation;
  version: string;
  done: () => void;
}) {
  const [dry, setDry] = useState<InstallationDoc | null>(null);
  const [status, setStatus] = useState<InstallationDoc | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const run = async (dryRun: boolean) => {
    try {
      const body = {
        url: props.repo.url,
        branch: props.repo.branch,
        path: props.item.path,
        version: props.version,
        dryRun,
      };
      const { id } = await api<{ id: string }>('/v1/repositories/installations/upgrade', {
        method: 'POST',
        body,
      });
      await follow(id, dryRun ? setDry : setStatus);
      if (!dryRun) props.done();
    } catch (e) {
      setProblem((e as Error).message);
    }
  };
  return (
    <section aria-label="Upgrade" class="upgrade">
      <h2>
        Upgrade {props.item.name} {props.item.profile.version} → {props.version}
      </h2>
      <button type="button" onClick={() => void run(true)}>
        Show the diff
      </button>{' '}
      <button
        type="button"
        disabled={dry?.status !== 'rendered' || dry.dryRun?.applies === false}
        onClick={() => void run(false)}
      >
        Upgrade
      </button>
      <Outcome problem={problem} dry={dry} status={status} />
    </section>
  );
}
