import fc from 'fast-check';
import { call, JsonResponse, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { departmentRows } from '../support/department-rows';
import { anyText, expectErrorFormatOrSuccess, FUZZ_RUNS, fuzzTimeout, FuzzOutcomes, holdsUnstorable, junkRaw, mixedText, TextKit } from '../support/fuzz';

/** Stand-ins for the departments, which exist only once the suite runs. */
const SELF = '<self>';
const OTHER = '<other>';

const isoDate = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
const anyDate = fc.date({ noInvalidDate: true }).map((d) => d.toISOString());

/** SURVEY_COMPLETED data, valid but for its text (from the kit), plus extra properties of any JSON. */
const surveyData = (t: TextKit) =>
  fc
    .record(
      {
        surveyId: t.text(20).filter((id) => id.length > 0),
        responseId: t.text(20).filter((id) => id.length > 0),
        completedAt: isoDate,
        respondent: fc.dictionary(t.text(10), t.json(2), { maxKeys: 3 }),
        answers: fc.array(fc.record({ questionId: t.text(10).filter((id) => id.length > 0), value: t.json(2) }), { maxLength: 4 }),
        score: fc.double({ noNaN: true, noDefaultInfinity: true }),
        extra: fc.dictionary(t.text(10), t.json(), { maxKeys: 3 }),
      },
      { requiredKeys: ['surveyId', 'responseId', 'completedAt'] },
    )
    .map(({ extra, ...data }) => ({ ...extra, ...data }));

/** A valid SURVEY_COMPLETED event to the fuzzed department, but for its text (from the kit). */
const validEvent = (t: TextKit) =>
  fc.record(
    {
      type: fc.constant('SURVEY_COMPLETED'),
      departmentId: fc.constant(SELF),
      data: surveyData(t),
      // true: a fresh valid id is given at send time (a repeated id would be answered with the first event).
      id: fc.constant(true),
      // One in ten: any date JavaScript holds (±275,760 years), most beyond what the service stores (a 422; a 500 until fixed).
      timestamp: fc.oneof({ weight: 9, arbitrary: isoDate }, { weight: 1, arbitrary: anyDate }),
    },
    { requiredKeys: ['type', 'departmentId', 'data'] },
  );

/** Each field valid, absent, of another JSON type, or wrong in its own way. */
const nearlyValidEvent = (t: TextKit) =>
  fc
    .record(
      {
        type: fc.oneof(fc.constant('SURVEY_COMPLETED'), fc.constantFrom('COUPON_REDEEMED', 'WEBHOOK_DISABLED', 'WEBHOOK_TEST', 'NOPE', ''), t.text()),
        departmentId: fc.oneof(fc.constant(SELF), fc.constant(OTHER), t.text(), t.json()),
        data: fc.oneof(surveyData(t), t.json()),
        id: fc.oneof(fc.constant(true), t.text(), t.json()),
        timestamp: fc.oneof(isoDate, anyDate, t.text(), t.json()),
        extra: t.json(),
      },
      { requiredKeys: [] },
    )
    .map((event) => Object.fromEntries(Object.entries(event).filter(([, v]) => v !== undefined)));

/** Events from valid ones (`validWeight` in one more) and nearly valid ones. */
const anyEvent = (t: TextKit, validWeight: number) => fc.oneof({ weight: validWeight, arbitrary: validEvent(t) }, { weight: 1, arbitrary: nearlyValidEvent(t) });

type Spec = { raw: string } | { event: Record<string, unknown> } | { events: Record<string, unknown>[] };

describe('property: random events published (single and batch) never cause a 500 or a stray write', () => {
  let api: TestApi;
  let dept: string;
  let otherDept: string;
  let publisher: string;
  let nextId = 0;

  beforeAll(async () => {
    api = await startApi({ DELIVERY_ALLOW_PRIVATE_NETWORKS: 'false' });
    dept = uniqueDepartment('fuzz');
    otherDept = uniqueDepartment('other');
    // Each department has a subscribed webhook, so an accepted event also stores a delivery.
    for (const id of [dept, otherDept]) {
      const token = await api.token([id]);
      const hook = { name: 'Sink', url: 'https://example.com/sink', events: ['SURVEY_COMPLETED'] };
      expect((await call(api.baseUrl, 'POST', `/department/${id}/webhook/`, { token, body: hook })).status).toBe(201);
    }
    publisher = await api.token([dept], ['events:publish']);
  });
  afterAll(() => api.close());

  const rows = () => departmentRows(api.db.dataSource, [dept, otherDept]);

  /** The event as sent: departments filled in, and a fresh id where the spec asked for one. */
  function materialize(event: Record<string, unknown>): Record<string, unknown> {
    const departmentId = event.departmentId === SELF ? dept : event.departmentId === OTHER ? otherDept : event.departmentId;
    return { ...event, departmentId, ...(event.id === true && { id: `evt_fuzz_${process.pid}_${nextId++}` }) };
  }

  /** A 202 answers with each event as sent (data byte for byte) and stored each with its delivery. */
  async function expectStoredAsSent(published: JsonResponse['body'][], sent: Record<string, unknown>[]): Promise<void> {
    expect(published).toHaveLength(sent.length);
    for (const [i, event] of sent.entries()) {
      expect(published[i]).toEqual({ id: event.id ?? expect.any(String), type: event.type, departmentId: dept, timestamp: expect.any(String), data: event.data });
      expect(await api.db.repos.events.findData(published[i].id)).toEqual(event.data);
    }
  }

  /** One fuzzed request: never a 500; stored as sent, or refused with nothing written anywhere. */
  async function check(outcomes: FuzzOutcomes, path: string, raw: string, sent: Record<string, unknown>[] | undefined): Promise<void> {
    const before = await rows();
    const res = await call(api.baseUrl, 'POST', path, { token: publisher, raw, headers: { 'content-type': 'application/json' } });
    expectErrorFormatOrSuccess(res);
    const unstorable = holdsUnstorable(sent);
    outcomes.record(res.status === 202, unstorable);
    if (res.status === 202) {
      expect(unstorable).toBe(false);
      // What the API parsed: JSON.stringify drops undefined and writes -0 as 0, as a client's would.
      const parsed = (JSON.parse(raw) as { events?: Record<string, unknown>[] }).events ?? [JSON.parse(raw) as Record<string, unknown>];
      await expectStoredAsSent(res.body.events ?? [res.body], parsed);
      const [self, other] = await rows();
      expect(self).toEqual({ ...before[0], events: Number(before[0].events) + parsed.length, deliveries: Number(before[0].deliveries) + parsed.length });
      expect(other).toEqual(before[1]);
      return;
    }
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(await rows()).toEqual(before);
  }

  it(
    `POST /internal/events: 202 stored as sent, or a 4xx in the error format that stores nothing (${FUZZ_RUNS} bodies)`,
    async () => {
      const outcomes = new FuzzOutcomes();
      const spec: fc.Arbitrary<Spec> = fc.oneof(
        { weight: 6, arbitrary: mixedText((t) => anyEvent(t, 2)).map((event) => ({ event })) },
        junkRaw.map((raw) => ({ raw })),
      );
      await fc.assert(
        fc.asyncProperty(spec, async (given) => {
          if ('raw' in given) return check(outcomes, '/internal/events', given.raw, undefined);
          const event = materialize((given as { event: Record<string, unknown> }).event);
          return check(outcomes, '/internal/events', JSON.stringify(event), [event]);
        }),
        { numRuns: FUZZ_RUNS },
      );
      outcomes.expectBothPaths();
      console.info(`publish fuzz: ${outcomes.summary()}`);
    },
    fuzzTimeout(),
  );

  it(
    `POST /internal/events/batch: 202 stores all as sent, or a 4xx in the error format that stores none (${FUZZ_RUNS} bodies)`,
    async () => {
      const outcomes = new FuzzOutcomes();
      const spec: fc.Arbitrary<Spec> = fc.oneof(
        { weight: 6, arbitrary: mixedText((t) => fc.array(anyEvent(t, 12), { maxLength: 6 })).map((events) => ({ events })) },
        junkRaw.map((raw) => ({ raw })),
        anyText.json().map((events) => ({ raw: JSON.stringify({ events }) })),
      );
      await fc.assert(
        fc.asyncProperty(spec, async (given) => {
          if ('raw' in given) return check(outcomes, '/internal/events/batch', given.raw, undefined);
          const events = (given as { events: Record<string, unknown>[] }).events.map(materialize);
          return check(outcomes, '/internal/events/batch', JSON.stringify({ events }), events);
        }),
        { numRuns: FUZZ_RUNS },
      );
      outcomes.expectBothPaths();
      console.info(`publish batch fuzz: ${outcomes.summary()}`);
    },
    fuzzTimeout(),
  );
});
