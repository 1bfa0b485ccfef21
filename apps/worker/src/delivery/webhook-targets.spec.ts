import type { Database, HeldTarget, WebhookTargetLoad } from '@pollarix/database';
import { deliveryTargetAt } from '@pollarix/database';
import { WebhookChangeListener, WebhookChanges } from '@pollarix/redis';
import { WebhookTargets } from './webhook-targets';
import { unscrapedWorkerMetrics } from '../ops/worker-metrics';

function row(id: string, departmentId: string, url = `https://example.com/${id}`): WebhookTargetLoad {
  const held: HeldTarget = {
    webhook: {
      id,
      departmentId,
      name: id,
      url,
      events: ['SURVEY_COMPLETED'],
      headers: {},
      headersUnreadable: false,
      isActive: true,
      disabledReason: null,
      createdAt: new Date(0),
      updatedAt: new Date(0),
    },
    secret: 'whsec_current',
    previous: null,
  };
  return { id, departmentId, isActive: true, updatedAt: new Date(0), target: held, error: null };
}

/** Waits, turn by turn of the event loop, until `condition` holds (instead of sleeping a fixed time). */
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setImmediate(resolve));
}

/** The cache over a stand-in repository (the webhooks in `table`) and a stand-in announcement. */
function setup(ttlMs = 60_000) {
  const table = new Map<string, WebhookTargetLoad>();
  const queries: string[][] = [];
  let gate: Promise<void> | null = null;
  const db = {
    repos: {
      webhooks: {
        async findTargets(ids: string[]) {
          queries.push(ids);
          const snapshot = new Map(ids.filter((id) => table.has(id)).map((id) => [id, table.get(id)!]));
          if (gate) await gate;
          return snapshot;
        },
      },
    },
  } as unknown as Database;
  const listeners: WebhookChangeListener[] = [];
  const changes = { listen: (listener: WebhookChangeListener) => listeners.push(listener) } as unknown as WebhookChanges;
  const targets = new WebhookTargets(db, changes, unscrapedWorkerMetrics(), { ttlMs });
  return {
    table,
    queries,
    targets,
    change: (departmentId: string) => listeners.forEach((l) => l.onChange(departmentId)),
    stale: () => listeners.forEach((l) => l.onStale()),
    /** Holds reads after they took their snapshot, until the returned function is called. */
    hold: () => {
      let open!: () => void;
      gate = new Promise((resolve) => (open = resolve));
      return () => {
        gate = null;
        open();
      };
    },
  };
}

describe('WebhookTargets', () => {
  it('reads all misses in one query and serves hits without one; a deleted webhook is cached as null', async () => {
    const { table, queries, targets } = setup();
    table.set('wh_a', row('wh_a', 'd1'));
    table.set('wh_b', row('wh_b', 'd2'));

    const first = await targets.get(['wh_a', 'wh_b', 'wh_gone', 'wh_a']);
    expect(queries).toEqual([['wh_a', 'wh_b', 'wh_gone']]);
    expect(first.get('wh_a')?.target?.webhook.url).toBe('https://example.com/wh_a');
    expect(first.get('wh_gone')).toBeNull();

    const again = await targets.get(['wh_a', 'wh_b', 'wh_gone']);
    expect(queries).toHaveLength(1);
    expect([...again.keys()].sort()).toEqual(['wh_a', 'wh_b', 'wh_gone']);
  });

  it('gives concurrent misses of one webhook one read', async () => {
    const { table, queries, targets, hold } = setup();
    table.set('wh_a', row('wh_a', 'd1'));
    const release = hold();
    const callers = [targets.get(['wh_a']), targets.get(['wh_a'])];
    await until(() => queries.length === 1);
    const late = targets.get(['wh_a']);
    release();
    const results = await Promise.all([...callers, late]);
    expect(queries).toEqual([['wh_a']]);
    expect(results.every((r) => r.get('wh_a')?.id === 'wh_a')).toBe(true);
  });

  it("drops a department's entries on its change, and only its", async () => {
    const { table, queries, targets, change } = setup();
    table.set('wh_a', row('wh_a', 'd1'));
    table.set('wh_b', row('wh_b', 'd2'));
    await targets.get(['wh_a', 'wh_b']);
    table.set('wh_a', row('wh_a', 'd1', 'https://example.com/new'));
    change('d1');
    const after = await targets.get(['wh_a', 'wh_b']);
    expect(queries).toEqual([['wh_a', 'wh_b'], ['wh_a']]);
    expect(after.get('wh_a')?.target?.webhook.url).toBe('https://example.com/new');
  });

  it('drops everything when announcements may have been missed', async () => {
    const { table, queries, targets, stale } = setup();
    table.set('wh_a', row('wh_a', 'd1'));
    await targets.get(['wh_a', 'wh_gone']);
    stale();
    await targets.get(['wh_a', 'wh_gone']);
    expect(queries).toEqual([
      ['wh_a', 'wh_gone'],
      ['wh_a', 'wh_gone'],
    ]);
  });

  it('does not keep a read that raced a change of its department, and reads again for later callers', async () => {
    const { table, queries, targets, change, hold } = setup();
    table.set('wh_a', row('wh_a', 'd1', 'https://example.com/old'));
    const release = hold();
    const racing = targets.get(['wh_a']);
    await until(() => queries.length === 1);
    table.set('wh_a', row('wh_a', 'd1', 'https://example.com/new'));
    change('d1');
    const later = targets.get(['wh_a']);
    release();
    expect((await racing).get('wh_a')?.target?.webhook.url).toBe('https://example.com/old');
    expect((await later).get('wh_a')?.target?.webhook.url).toBe('https://example.com/new');
    expect((await targets.get(['wh_a'])).get('wh_a')?.target?.webhook.url).toBe('https://example.com/new');
    expect(queries).toEqual([['wh_a'], ['wh_a']]);
  });

  it('keeps a read that raced another department’s change', async () => {
    const { table, queries, targets, change, hold } = setup();
    table.set('wh_a', row('wh_a', 'd1'));
    const release = hold();
    const racing = targets.get(['wh_a']);
    await until(() => queries.length === 1);
    change('d2');
    release();
    await racing;
    await targets.get(['wh_a']);
    expect(queries).toEqual([['wh_a']]);
  });

  it('reads again once an entry is older than the TTL', async () => {
    const { table, queries, targets } = setup(50);
    table.set('wh_a', row('wh_a', 'd1'));
    await targets.get(['wh_a']);
    // Read again once the entry has outlived its 50 ms.
    await until(async () => (await targets.get(['wh_a']), queries.length === 2));
  });

  it('keeps an undecryptable webhook with its error, beside the others', async () => {
    const { table, targets } = setup();
    table.set('wh_a', row('wh_a', 'd1'));
    table.set('wh_bad', { id: 'wh_bad', departmentId: 'd1', isActive: true, updatedAt: new Date(0), target: null, error: 'Unknown key id' });
    const found = await targets.get(['wh_a', 'wh_bad']);
    expect(found.get('wh_bad')).toMatchObject({ target: null, error: 'Unknown key id' });
    expect(found.get('wh_a')?.error).toBeNull();
  });
});

describe('deliveryTargetAt', () => {
  it('signs with the previous secret until it expires, whenever the target was read', () => {
    const expiresAt = new Date('2026-12-01T12:00:00Z');
    const held: HeldTarget = { ...row('wh_a', 'd1').target!, previous: { secret: 'whsec_previous', expiresAt } };
    expect(deliveryTargetAt(held, new Date(expiresAt.getTime() - 1)).secrets).toEqual(['whsec_current', 'whsec_previous']);
    expect(deliveryTargetAt(held, expiresAt).secrets).toEqual(['whsec_current']);
    expect(deliveryTargetAt(row('wh_a', 'd1').target!, new Date(0)).secrets).toEqual(['whsec_current']);
  });
});
