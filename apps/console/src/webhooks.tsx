import { useEffect, useState } from 'preact/hooks';
import { api, endpoints, type EventType, type SessionInfo, type TestSendResult, type Webhook } from './api';
import { canWrite, href, navigate } from './routes';
import { Errors, Field, Heading, messagesOf, useAction } from './ui';

/** Set by a create, read once by the webhook's screen: the secret is shown there, once. */
export const flash: { secret?: string } = {};

const FORM_FIELDS = ['name', 'url', 'events', 'headers', 'isActive', 'webhookId'] as const;

function headersToText(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n');
}

/** "Name: value" lines; the API validates the names and values themselves. */
function textToHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const colon = line.indexOf(':');
    if (colon < 0) headers[line.trim()] = '';
    else headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

export function TestSendResultView({ result }: { result: TestSendResult }) {
  return (
    <p class={result.delivered ? 'ok' : 'error'} role="status">
      {result.delivered ? 'Delivered' : 'Not delivered'}: status {result.statusCode}, {result.durationMs} ms
    </p>
  );
}

/** POST …/test-send to a URL, or as a webhook (its secret and headers); the outcome, or the API's error. */
export function TestSend({ dept, webhookId, url: initialUrl = '' }: { dept: string; webhookId?: string; url?: string }) {
  const [url, setUrl] = useState(initialUrl);
  const [result, setResult] = useState<TestSendResult | null>(null);
  const id = webhookId ? 'test-url-webhook' : 'test-url';
  const action = useAction(async () => {
    setResult(null);
    setResult(await api<TestSendResult>('POST', endpoints.testSend(dept), { url, ...(webhookId ? { webhookId } : {}) }));
  });
  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Send a test</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.start();
        }}
      >
        <Field id={id} label="Test URL" error={action.error} field="url">
          <input id={id} type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
        </Field>
        <button type="submit" disabled={action.busy}>
          Send test
        </button>
      </form>
      {action.busy && <p aria-live="polite">Sending…</p>}
      {result && <TestSendResultView result={result} />}
      <Errors messages={action.error ? action.error.general(['url']) : []} />
    </section>
  );
}

export function WebhookList({ session, dept }: { session: SessionInfo; dept: string }) {
  const [webhooks, setWebhooks] = useState<Webhook[] | null>(null);
  const load = useAction(async () => setWebhooks((await api<{ webhooks: Webhook[] }>('GET', endpoints.webhooks(dept))).webhooks));
  useEffect(() => void load.start(), [dept]);
  const writable = canWrite(session);
  return (
    <main id="main">
      <Heading>Webhooks of {dept}</Heading>
      {writable && (
        <p>
          <a class="button" href={href.create(dept)}>
            New webhook
          </a>
        </p>
      )}
      <Errors messages={messagesOf(load.error)} />
      {webhooks === null && !load.error && <p aria-live="polite">Loading…</p>}
      {webhooks?.length === 0 && <p>No webhooks yet.</p>}
      {webhooks && webhooks.length > 0 && (
        <table>
          <caption>Webhooks</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">URL</th>
              <th scope="col">Events</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {webhooks.map((w) => (
              <tr key={w.id}>
                <td>
                  <a href={href.webhook(dept, w.id)}>{w.name}</a>
                </td>
                <td class="url">{w.url}</td>
                <td>{w.events.join(', ')}</td>
                <td>{w.isActive ? 'Active' : w.disabledReason ? `Disabled: ${w.disabledReason}` : 'Inactive'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {writable && <TestSend dept={dept} />}
    </main>
  );
}

let eventTypesCache: Promise<EventType[]> | undefined;
function eventTypes(): Promise<EventType[]> {
  eventTypesCache ??= api<{ types: EventType[] }>('GET', endpoints.eventTypes).then((body) => body.types.filter((t) => t.subscribable));
  eventTypesCache.catch(() => (eventTypesCache = undefined));
  return eventTypesCache;
}

/** Create (no id) or edit: name, URL, events from /events/types, custom headers, active. */
export function WebhookForm({ session, dept, id }: { session: SessionInfo; dept: string; id?: string }) {
  const [types, setTypes] = useState<EventType[]>([]);
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>([]);
  const [headers, setHeaders] = useState('');
  const [active, setActive] = useState(true);
  const [loaded, setLoaded] = useState(!id);
  const load = useAction(async () => {
    setTypes(await eventTypes());
    if (id) {
      const [w] = (await api<{ webhooks: Webhook[] }>('GET', endpoints.webhook(dept, id))).webhooks;
      setName(w.name);
      setUrl(w.url);
      setEvents(w.events);
      setHeaders(headersToText(w.headers));
      setActive(w.isActive);
      setLoaded(true);
    }
  });
  useEffect(() => void load.start(), []);
  const save = useAction(async () => {
    const body = { name, url, events, headers: textToHeaders(headers), isActive: active };
    if (id) {
      await api('PUT', endpoints.webhook(dept, id), body);
      navigate(href.webhook(dept, id));
    } else {
      const created = await api<{ webhooks: (Webhook & { secret: string })[] }>('POST', endpoints.webhooks(dept), body);
      flash.secret = created.webhooks[0].secret;
      navigate(href.webhook(dept, created.webhooks[0].id));
    }
  });
  const toggle = (type: string, checked: boolean) => setEvents((current) => (checked ? [...current, type] : current.filter((t) => t !== type)));
  if (!canWrite(session)) {
    return (
      <main id="main">
        <Heading>Not allowed</Heading>
        <p>This token is read-only (scope webhooks:read).</p>
      </main>
    );
  }
  return (
    <main id="main">
      <Heading>{id ? 'Edit webhook' : 'New webhook'}</Heading>
      <p>
        <a href={id ? href.webhook(dept, id) : href.list(dept)}>Back</a>
      </p>
      <Errors messages={messagesOf(load.error)} />
      {loaded && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void save.start();
          }}
        >
          <Field id="name" label="Name" error={save.error} field="name">
            <input id="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <Field id="url" label="URL" error={save.error} field="url">
            <input id="url" type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
          </Field>
          <fieldset>
            <legend>Events</legend>
            {types.map((t) => (
              <div class="check" key={t.type}>
                <input id={`event-${t.type}`} type="checkbox" checked={events.includes(t.type)} onChange={(e) => toggle(t.type, e.currentTarget.checked)} />
                <label for={`event-${t.type}`}>
                  {t.type} <small>{t.description}</small>
                </label>
              </div>
            ))}
            <Errors messages={save.error ? save.error.about('events') : []} />
          </fieldset>
          <Field id="headers" label="Custom headers" error={save.error} field="headers" hint="One per line: Name: value">
            <textarea id="headers" rows={3} value={headers} onInput={(e) => setHeaders(e.currentTarget.value)} />
          </Field>
          <div class="check">
            <input id="active" type="checkbox" checked={active} onChange={(e) => setActive(e.currentTarget.checked)} />
            <label for="active">Active</label>
          </div>
          <Errors messages={save.error ? save.error.about('isActive').concat(save.error.general(FORM_FIELDS)) : []} />
          <button type="submit" disabled={save.busy}>
            {id ? 'Save' : 'Create webhook'}
          </button>
        </form>
      )}
    </main>
  );
}
