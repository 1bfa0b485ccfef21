import { useEffect, useState } from 'preact/hooks';
import { api, DELIVERY_STATUSES, endpoints, type DeliveryDetail, type DeliverySummary, type SessionInfo, type Stats, type Webhook } from './api';
import { LatencyChart, OutcomeChart, StatsTable } from './charts';
import { canWrite, href, navigate } from './routes';
import { Confirm, Errors, Field, formatDate, Heading, messagesOf, SecretBox, useAction } from './ui';
import { flash, TestSend } from './webhooks';

/**
 * Inactive: why, and Re-enable. Not when its headers no longer decrypt: the webhook lists them as {}, and
 * re-enabling with those would overwrite the stored ones for good; the edit form is where they are entered again.
 */
function DisabledNotice({ webhook, dept, writable, onEnable, error }: { webhook: Webhook; dept: string; writable: boolean; onEnable: () => void; error: string[] }) {
  if (webhook.isActive) return null;
  return (
    <div class="notice" role="status">
      <p>
        <strong>{webhook.disabledReason ? `Disabled by the service: ${webhook.disabledReason}.` : 'Inactive: it receives no deliveries.'}</strong>
      </p>
      {(webhook.disabledReason || !webhook.headersError) && (
        <p>
          {webhook.disabledReason
            ? 'Fix the receiver (a test send tells whether it answers 2xx), then re-enable it; failed deliveries can then be recovered.'
            : 'Re-enable it to receive deliveries again.'}
        </p>
      )}
      {writable && webhook.headersError && (
        <p>
          To re-enable it, <a href={href.edit(dept, webhook.id)}>edit it</a>: enter its custom headers again, tick Active and save.
        </p>
      )}
      {writable && !webhook.headersError && (
        <button type="button" onClick={onEnable}>
          Re-enable
        </button>
      )}
      <Errors messages={error} />
    </div>
  );
}

/** The API's own words when the webhook's stored headers no longer decrypt; saving the form with its headers heals it. */
function HeadersNotice({ webhook }: { webhook: Webhook }) {
  if (!webhook.headersError) return null;
  return (
    <div class="notice" role="status">
      <p>
        <strong>{webhook.headersError}.</strong>
      </p>
      <p>Enter its custom headers again and save to resume deliveries.</p>
    </div>
  );
}

function StatsPanel({ dept, id }: { dept: string; id: string }) {
  const [stats, setStats] = useState<Stats | null>(null);
  const load = useAction(async () => setStats(await api<Stats>('GET', endpoints.stats(dept, id))));
  useEffect(() => void load.start(), []);
  return (
    <section aria-labelledby="stats-title">
      <h2 id="stats-title">Last 24 hours</h2>
      <Errors messages={messagesOf(load.error)} />
      {stats && (
        <div class="charts">
          <div>
            <h3>Deliveries by outcome</h3>
            <OutcomeChart stats={stats} />
          </div>
          <div>
            <h3>Attempt latency</h3>
            <LatencyChart stats={stats} />
          </div>
          <StatsTable stats={stats} />
        </div>
      )}
    </section>
  );
}

function DeliveryLog({ dept, webhook }: { dept: string; webhook: Webhook }) {
  const [status, setStatus] = useState('');
  const [eventType, setEventType] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const [page, setPage] = useState<{ deliveries: DeliverySummary[]; nextCursor: string | null } | null>(null);
  const load = useAction(async (cursor?: string) => {
    const query = new URLSearchParams({ limit: '20' });
    if (status) query.set('status', status);
    if (eventType) query.set('eventType', eventType);
    if (cursor) query.set('cursor', cursor);
    setPage(await api('GET', endpoints.deliveries(dept, webhook.id, query)));
  });
  const current = cursors[cursors.length - 1];
  useEffect(() => void load.start(current), [cursors]);
  return (
    <section aria-labelledby="log-title">
      <h2 id="log-title">Delivery log</h2>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          setCursors([]);
        }}
      >
        <Field id="filter-status" label="Status">
          <select id="filter-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">Any</option>
            {DELIVERY_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </Field>
        <Field id="filter-event" label="Event type">
          <select id="filter-event" value={eventType} onChange={(e) => setEventType(e.currentTarget.value)}>
            <option value="">Any</option>
            {webhook.events.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </Field>
        <button type="submit">Apply filters</button>
        <button type="button" onClick={() => void load.start(current)} disabled={load.busy}>
          Refresh
        </button>
      </form>
      <Errors messages={messagesOf(load.error)} />
      {page && page.deliveries.length === 0 && <p>No deliveries{status || eventType ? ' match these filters' : ' yet'}.</p>}
      {page && page.deliveries.length > 0 && (
        <table>
          <caption>Deliveries, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Created</th>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last status code</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {page.deliveries.map((d) => (
              <tr key={d.id}>
                <td>
                  <a href={href.delivery(dept, webhook.id, d.id)}>{formatDate(d.createdAt)}</a>
                </td>
                <td>{d.eventType}</td>
                <td>
                  <span class={`status status-${d.status}`}>{d.status}</span>
                </td>
                <td>{d.attempts}</td>
                <td>{d.lastStatusCode ?? '—'}</td>
                <td>{d.lastError ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav class="row" aria-label="Delivery log pages">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button type="button" disabled={!page?.nextCursor} onClick={() => page?.nextCursor && setCursors([...cursors, page.nextCursor])}>
          Next page
        </button>
      </nav>
    </section>
  );
}

function Recover({ dept, id }: { dept: string; id: string }) {
  const [since, setSince] = useState(() => new Date(Date.now() - 24 * 3600_000 - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16));
  const [queued, setQueued] = useState<number | null>(null);
  const action = useAction(async () => {
    setQueued(null);
    const instant = new Date(since);
    const body = { since: Number.isNaN(instant.getTime()) ? since : instant.toISOString() };
    setQueued((await api<{ requeued: number }>('POST', endpoints.recover(dept, id), body)).requeued);
  });
  return (
    <section aria-labelledby="recover-title">
      <h2 id="recover-title">Recover failed deliveries</h2>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void action.start();
        }}
      >
        <Field id="recover-since" label="Since (your local time)" error={action.error} field="since">
          <input id="recover-since" type="datetime-local" required value={since} onInput={(e) => setSince(e.currentTarget.value)} />
        </Field>
        <button type="submit" disabled={action.busy}>
          Recover
        </button>
      </form>
      {queued !== null && <p role="status">Queued {queued === 1 ? '1 delivery' : `${queued} deliveries`} again.</p>}
      <Errors messages={action.error ? action.error.general(['since']) : []} />
    </section>
  );
}

export function WebhookView({ session, dept, id }: { session: SessionInfo; dept: string; id: string }) {
  const [webhook, setWebhook] = useState<Webhook | null>(null);
  const [secret, setSecret] = useState<{ value: string; label: string } | null>(() => {
    const value = flash.secret;
    flash.secret = undefined;
    return value ? { value, label: 'Webhook created: its signing secret' } : null;
  });
  const [confirming, setConfirming] = useState(false);
  const writable = canWrite(session);
  const load = useAction(async () => setWebhook((await api<{ webhooks: Webhook[] }>('GET', endpoints.webhook(dept, id))).webhooks[0]));
  useEffect(() => void load.start(), []);
  const rotate = useAction(async () => {
    const { secret: value } = await api<{ secret: string }>('POST', endpoints.rotate(dept, id));
    setSecret({ value, label: 'Secret rotated: the new signing secret' });
  });
  const remove = useAction(async () => {
    setConfirming(false);
    await api('DELETE', endpoints.webhook(dept, id));
    navigate(href.list(dept));
  });
  const enable = useAction(async () => {
    if (!webhook) return;
    const { name, url, events, headers } = webhook;
    setWebhook((await api<{ webhooks: Webhook[] }>('PUT', endpoints.webhook(dept, id), { name, url, events, headers, isActive: true })).webhooks[0]);
  });
  return (
    <main id="main">
      <Heading>{webhook ? webhook.name : 'Webhook'}</Heading>
      <p>
        <a href={href.list(dept)}>All webhooks</a>
      </p>
      <Errors messages={messagesOf(load.error)} />
      {secret && <SecretBox secret={secret.value} label={secret.label} onDismiss={() => setSecret(null)} />}
      {webhook && (
        <>
          <DisabledNotice webhook={webhook} dept={dept} writable={writable} onEnable={() => void enable.start()} error={messagesOf(enable.error)} />
          <HeadersNotice webhook={webhook} />
          <dl class="facts">
            <dt>ID</dt>
            <dd>{webhook.id}</dd>
            <dt>URL</dt>
            <dd class="url">{webhook.url}</dd>
            <dt>Events</dt>
            <dd>{webhook.events.join(', ')}</dd>
            <dt>Custom headers</dt>
            <dd>{Object.keys(webhook.headers).length ? Object.keys(webhook.headers).join(', ') : 'none'}</dd>
            <dt>State</dt>
            <dd>{webhook.isActive ? 'Active' : 'Inactive'}</dd>
          </dl>
          {writable && (
            <div class="row actions">
              <a class="button" href={href.edit(dept, id)}>
                Edit
              </a>
              <button type="button" disabled={rotate.busy} onClick={() => void rotate.start()}>
                Rotate secret
              </button>
              <button type="button" class="danger" onClick={() => setConfirming(true)}>
                Delete
              </button>
            </div>
          )}
          <Errors messages={[...messagesOf(rotate.error), ...messagesOf(remove.error)]} />
          {confirming && (
            <Confirm
              title={`Delete ${webhook.name}?`}
              body="Its pending deliveries are cancelled. This cannot be undone."
              confirmLabel="Delete webhook"
              onConfirm={() => void remove.start()}
              onCancel={() => setConfirming(false)}
            />
          )}
          <StatsPanel dept={dept} id={id} />
          {writable && <TestSend dept={dept} webhookId={id} url={webhook.url} />}
          <DeliveryLog dept={dept} webhook={webhook} />
          {writable && <Recover dept={dept} id={id} />}
        </>
      )}
    </main>
  );
}

export function DeliveryView({ session, dept, webhook, id }: { session: SessionInfo; dept: string; webhook: string; id: string }) {
  const [delivery, setDelivery] = useState<DeliveryDetail | null>(null);
  const [redelivered, setRedelivered] = useState(false);
  const load = useAction(async () => setDelivery(await api<DeliveryDetail>('GET', endpoints.delivery(dept, webhook, id))));
  useEffect(() => void load.start(), []);
  const redeliver = useAction(async () => {
    setRedelivered(false);
    await api('POST', endpoints.redeliver(dept, webhook, id));
    setRedelivered(true);
    await load.start();
  });
  return (
    <main id="main">
      <Heading>Delivery {id}</Heading>
      <p>
        <a href={href.webhook(dept, webhook)}>Back to the webhook</a>
      </p>
      <Errors messages={messagesOf(load.error)} />
      {delivery && (
        <>
          <dl class="facts">
            <dt>Event</dt>
            <dd>
              {delivery.eventType} ({delivery.eventId})
            </dd>
            <dt>Status</dt>
            <dd>
              <span class={`status status-${delivery.status}`}>{delivery.status}</span>
            </dd>
            <dt>Created</dt>
            <dd>{formatDate(delivery.createdAt)}</dd>
            <dt>Next attempt</dt>
            <dd>{formatDate(delivery.nextAttemptAt)}</dd>
          </dl>
          <div class="row actions">
            {canWrite(session) && (
              <button type="button" disabled={redeliver.busy} onClick={() => void redeliver.start()}>
                Redeliver
              </button>
            )}
            <button type="button" disabled={load.busy} onClick={() => void load.start()}>
              Refresh
            </button>
          </div>
          {redelivered && <p role="status">Queued for redelivery.</p>}
          <Errors messages={messagesOf(redeliver.error)} />
          <h2>Attempts</h2>
          {delivery.attempts.length === 0 && <p>No attempt yet.</p>}
          <ol class="attempts">
            {delivery.attempts.map((a) => (
              <li key={a.attempt}>
                <h3>
                  Attempt {a.attempt}: {a.statusCode ?? 'no response'}, {a.durationMs} ms
                </h3>
                <p>
                  {formatDate(a.requestedAt)}
                  {a.error && (
                    <>
                      {' '}
                      — error <code>{a.error}</code>
                      {a.errorMessage ? `: ${a.errorMessage}` : ''}
                    </>
                  )}
                </p>
                {a.responseBody && (
                  <pre tabIndex={0} role="region" aria-label={`Response body of attempt ${a.attempt}`}>
                    {a.responseBody}
                    {a.responseBodyTruncated ? '\n… (truncated)' : ''}
                  </pre>
                )}
              </li>
            ))}
          </ol>
          <details>
            <summary>Payload</summary>
            <pre tabIndex={0} role="region" aria-label="Payload">
              {JSON.stringify(delivery.payload, null, 2)}
            </pre>
          </details>
        </>
      )}
    </main>
  );
}
