/** The web catalog's shell: navigation, the sign-in field when the API answers 401, and the page of the route. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { onUnauthorized, token } from './api.ts';
import { InstallPage } from './install.tsx';
import { InstallationsPage } from './installations.tsx';
import { ProfilePage } from './profile.tsx';
import { href, useRoute } from './router.ts';
import { SearchPage } from './search.tsx';
import { SourcesPage } from './sources.tsx';
import './style.css';

function SignIn() {
  const [value, setValue] = useState('');
  return (
    <form
      class="signin"
      onSubmit={(e) => {
        e.preventDefault();
        token.set(value);
        location.reload();
      }}
    >
      <label>
        The API asks for a token:{' '}
        <input type="password" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
      </label>
      <button type="submit">Sign in</button>
    </form>
  );
}

function App() {
  const route = useRoute();
  const [needToken, setNeedToken] = useState(false);
  useEffect(() => onUnauthorized(() => setNeedToken(true)), []);
  const page = route.path[0];
  const nav = (to: string, label: string, on: boolean) => (
    <a href={to} aria-current={on ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <header>
        <nav aria-label="Main">
          <a class="brand" href="#/">
            Profiles
          </a>
          {nav(href([]), 'Search', !page)}
          {nav(href(['installations']), 'Installations', page === 'installations')}
          {nav(href(['sources']), 'Sources', page === 'sources')}
        </nav>
      </header>
      <main>
        {needToken && <SignIn />}
        {page === 'profiles' ? (
          <ProfilePage route={route} />
        ) : page === 'install' ? (
          <InstallPage route={route} />
        ) : page === 'installations' ? (
          <InstallationsPage route={route} />
        ) : page === 'sources' ? (
          <SourcesPage />
        ) : (
          <SearchPage route={route} />
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
