import { getQueueToken } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { newId } from '@pollarix/common';
import { EventIdConflictError, EventPublisher } from '@pollarix/events';
import { deliverJobId, QueueName } from '@pollarix/queue';
import type { Queue } from 'bullmq';
import { call, startApi, TestApi, uniqueDepartment } from './support/api-harness';

const data = { surveyId: 'srv_1', responseId: 'rsp_1', completedAt: '2026-11-26T10:00:00.000Z' };
const event = (departmentId: string, extra: object = {}) => ({ type: 'SURVEY_COMPLETED', departmentId, data, ...extra });

/**
 * The publisher's group commit (issue 12): publish calls made while a commit is in flight, or in the same
 * turn, are stored by one statement, each with its deliveries, and each call learns its own fate. One
 * call that cannot be stored (another department's id, a value PostgreSQL refuses) fails alone; a repeat
 * of an id within one commit is stored once and answered with the first event. Two departments side by side.
 */
describe('publisher group commit', () => {
  let api: TestApi;
  let publisher: EventPublisher;
  let queue: Queue;
  const departments = [uniqueDepartment(), uniqueDepartment()];
  const webhookIds: string[] = [];

  beforeAll(async () => {
    api = await startApi();
    publisher = api.app.get(EventPublisher);
    queue = api.app.get<Queue>(getQueueToken(QueueName.Deliveries));
    for (const department of departments) {
      const res = await call(api.baseUrl, 'POST', `/department/${department}/webhook/`, {
        token: await api.token([department]),
        body: { name: 'w', url: 'https://example.com/hook', events: ['SURVEY_COMPLETED'] },
      });
      expect(res.status).toBe(201);
      webhookIds.push(res.body.webhooks[0].id);
    }
  });
  afterAll(async () => {
    await api?.close();
  });

  /** Each event's transaction (rows inserted by one statement's transaction share xmin) and its deliveries. */
  async function stored(ids: string[]): Promise<Map<string, { tx: string; deliveries: string[] }>> {
    const rows: { id: string; tx: string; deliveries: string[] }[] = await api.db.dataSource.query(
      `SELECT e.id, e.xmin::text AS tx, array_remove(array_agg(d.id ORDER BY d.id), NULL) AS deliveries
         FROM events e LEFT JOIN deliveries d ON d.event_id = e.id WHERE e.id = ANY($1) GROUP BY e.id, e.xmin`,
      [ids],
    );
    return new Map(rows.map((r) => [r.id, { tx: r.tx, deliveries: r.deliveries }]));
  }

  it('stores concurrent calls of two departments in one transaction, each event with its delivery and its first attempt queued', async () => {
    const ids = Array.from({ length: 30 }, () => newId('evt'));
    const answers = await Promise.all(ids.map((id, i) => publisher.publish(event(departments[i % 2], { id }))));
    expect(answers.map((a) => a.id)).toEqual(ids);
    const rows = await stored(ids);
    expect(rows.size).toBe(30);
    expect(new Set([...rows.values()].map((r) => r.tx)).size).toBe(1);
    for (const { deliveries } of rows.values()) {
      expect(deliveries).toHaveLength(1);
      expect(await queue.getJobState(deliverJobId(deliveries[0], 1))).not.toBe('unknown');
    }
  });

  it("fails only the call holding another department's id, storing nothing of it; the others commit together", async () => {
    const taken = newId('evt');
    await publisher.publish(event(departments[1], { id: taken }));
    const fresh = newId('evt');
    const others = Array.from({ length: 10 }, () => newId('evt'));
    const [conflicting, ...rest] = await Promise.allSettled([
      publisher.publishBatch([event(departments[0], { id: fresh }), event(departments[0], { id: taken })]),
      ...others.map((id, i) => publisher.publish(event(departments[i % 2], { id }))),
    ]);
    expect(conflicting).toMatchObject({ status: 'rejected', reason: expect.any(EventIdConflictError) as unknown });
    expect(rest.every((r) => r.status === 'fulfilled')).toBe(true);
    const rows = await stored([fresh, ...others]);
    expect(rows.has(fresh)).toBe(false);
    expect(new Set(others.map((id) => rows.get(id)?.tx)).size).toBe(1);
  });

  it('stores an id repeated by concurrent calls once, answering both with the first event', async () => {
    const id = newId('evt');
    const [first, second] = await Promise.all([
      publisher.publish(event(departments[0], { id })),
      publisher.publish(event(departments[0], { id, data: { ...data, surveyId: 'srv_other' } })),
    ]);
    expect(second).toEqual(first);
    const rows = await stored([id]);
    expect(rows.get(id)?.deliveries).toHaveLength(1);
  });

  it('fails only the call whose values PostgreSQL refuses inside the group commit; the others of that commit are stored', async () => {
    const warnings = jest.spyOn(Logger.prototype, 'warn');
    const good = Array.from({ length: 5 }, () => newId('evt'));
    const bad = newId('evt');
    // PostgreSQL itself refuses that one row (a CHECK constraint naming its id, added for this test only,
    // NOT VALID so that existing rows are not read): it fails the statement of the whole commit (SQLSTATE
    // 23514), which then stores each request alone (onItemFailure).
    const constraint = `test_refuse_${bad.slice(4).toLowerCase()}`;
    await api.db.dataSource.query(`ALTER TABLE events ADD CONSTRAINT ${constraint} CHECK (id <> '${bad}') NOT VALID`);
    let results: PromiseSettledResult<unknown>[];
    try {
      results = await Promise.allSettled([
        publisher.publish(event(departments[0], { id: bad })),
        ...good.map((id, i) => publisher.publish(event(departments[i % 2], { id }))),
      ]);
    } finally {
      await api.db.dataSource.query(`ALTER TABLE events DROP CONSTRAINT ${constraint}`);
    }
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { code: '23514' } });
    expect(results.slice(1).every((r) => r.status === 'fulfilled')).toBe(true);
    expect(warnings).toHaveBeenCalledWith(expect.stringMatching(new RegExp(`^Could not store 1 event\\(s\\) \\(.*${constraint}`)));
    warnings.mockRestore();
    const rows = await stored([bad, ...good]);
    expect(rows.has(bad)).toBe(false);
    expect(good.every((id) => rows.get(id)?.deliveries.length === 1)).toBe(true);
  });
});
