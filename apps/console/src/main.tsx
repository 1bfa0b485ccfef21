import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, endpoints, SIGNED_OUT_EVENT, type SessionInfo } from './api';
import { Errors, Field, Heading, messagesOf, useAction } from './ui';
import { WebhookForm, WebhookList } from './webhooks';
import { DeliveryView, WebhookView } from './webhook';
import { canWrite, href, navigate, parseRoute, type Route } from './routes';

function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const action = useAction(async () => {
    await api('POST', endpoints.session, { token });
    onSignedIn();
  });
  return (
    <main id="main">
      <Heading>Sign in</Heading>
      <p>Paste an API token (plx_…). The console keeps a session cookie, not the token.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.start();
        }}
      >
        <Field id="token" label="API token" error={action.error} field="token">
          <input id="token" type="password" autoComplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        </Field>
        <Errors messages={action.error ? action.error.general(['token']) : []} />
        <button type="submit" disabled={action.busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

/** A token of several departments picks one; an operator token ("*") types one. */
function DepartmentPicker({ session, current }: { session: SessionInfo; current?: string }) {
  const [typed, setTyped] = useState(current ?? '');
  const all = session.departments.includes('*');
  if (all) {
    return (
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (typed.trim()) navigate(href.list(typed.trim()));
        }}
      >
        <label for="department-id">Department</label>
        <input id="department-id" value={typed} required onInput={(e) => setTyped(e.currentTarget.value)} />
        <button type="submit">Open</button>
      </form>
    );
  }
  if (session.departments.length < 2) return current ? <span class="dept">Department {current}</span> : null;
  // A button, not on change: arrowing through the options must not navigate at each one.
  return (
    <form
      class="row"
      onSubmit={(e) => {
        e.preventDefault();
        if (typed) navigate(href.list(typed));
      }}
    >
      <label for="department">Department</label>
      <select id="department" value={typed} onChange={(e) => setTyped(e.currentTarget.value)}>
        {!current && <option value="">Choose…</option>}
        {session.departments.map((dept) => (
          <option key={dept} value={dept}>
            {dept}
          </option>
        ))}
      </select>
      <button type="submit">Switch</button>
    </form>
  );
}

function Home({ session }: { session: SessionInfo }) {
  return (
    <main id="main">
      <Heading>Departments</Heading>
      {session.departments.includes('*') ? (
        <p>This token reaches every department: type one above.</p>
      ) : (
        <ul>
          {session.departments.map((dept) => (
            <li key={dept}>
              <a href={href.list(dept)}>{dept}</a>
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}

function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [route, setRoute] = useState(parseRoute(location.hash));
  const [loadError, setLoadError] = useState<string[]>([]);

  const load = async () => {
    try {
      setSession(await api<SessionInfo>('GET', endpoints.session));
      setLoadError([]);
    } catch (error) {
      setSession(null);
      if (!(error instanceof ApiError && error.status === 401)) setLoadError(messagesOf(error));
    }
  };
  useEffect(() => {
    void load();
    const onHash = () => setRoute(parseRoute(location.hash));
    const onSignedOut = () => {
      setSession(null);
      setLoadError(['Your session has ended: sign in again.']);
    };
    addEventListener('hashchange', onHash);
    addEventListener(SIGNED_OUT_EVENT, onSignedOut);
    return () => {
      removeEventListener('hashchange', onHash);
      removeEventListener(SIGNED_OUT_EVENT, onSignedOut);
    };
  }, []);
  useEffect(() => {
    // One department: straight to its webhooks.
    if (session && route.page === 'home' && session.departments.length === 1 && session.departments[0] !== '*') {
      history.replaceState(null, '', href.list(session.departments[0]));
      setRoute(parseRoute(location.hash));
    }
  }, [session, route.page]);

  const signOut = useAction(async () => {
    await api('DELETE', endpoints.session);
    setSession(null);
    history.replaceState(null, '', '#/');
    setRoute({ page: 'home' });
  });

  if (session === undefined) return <p aria-live="polite">Loading…</p>;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.querySelector<HTMLElement>('#main h1')?.focus())}>
        Skip to content
      </a>
      <header>
        <a class="brand" href="#/">
          Pollarix Webhooks
        </a>
        {session && <DepartmentPicker session={session} current={route.dept} />}
        {session && (
          <div class="row">
            {!canWrite(session) && <span class="badge">Read-only</span>}
            <button type="button" disabled={signOut.busy} onClick={() => void signOut.start()}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <Errors messages={[...loadError, ...messagesOf(signOut.error)]} />
      {session === null ? <SignIn onSignedIn={() => void load()} /> : <Screen session={session} route={route} />}
    </>
  );
}

function Screen({ session, route }: { session: SessionInfo; route: Route }) {
  const { dept, webhook, delivery } = route;
  const key = `${route.page}:${dept ?? ''}:${webhook ?? ''}:${delivery ?? ''}`;
  if (!dept) return <Home session={session} />;
  switch (route.page) {
    case 'new':
      return <WebhookForm key={key} session={session} dept={dept} />;
    case 'edit':
      return <WebhookForm key={key} session={session} dept={dept} id={webhook} />;
    case 'webhook':
      return <WebhookView key={key} session={session} dept={dept} id={webhook!} />;
    case 'delivery':
      return <DeliveryView key={key} session={session} dept={dept} webhook={webhook!} id={delivery!} />;
    default:
      return <WebhookList key={key} session={session} dept={dept} />;
  }
}

render(<App />, document.getElementById('app')!);
