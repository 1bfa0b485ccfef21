import { validateEvent } from './event-validation';

const completed = { surveyId: 's1', responseId: 'r1', completedAt: '2026-11-26T10:00:00Z' };

describe('validateEvent', () => {
  it('accepts every catalog example with extra data properties', () => {
    expect(validateEvent({ type: 'SURVEY_COMPLETED', departmentId: 'dept_1', data: { ...completed, extra: true } })).toEqual([]);
    expect(
      validateEvent({
        type: 'SURVEY_STATUS_CHANGED',
        departmentId: 'd',
        data: { surveyId: 's', previousStatus: 'draft', status: 'active', changedAt: '2026-11-26T10:00:00.000Z' },
      }),
    ).toEqual([]);
    expect(
      validateEvent({
        type: 'COUPON_REDEEMED',
        departmentId: 'd',
        id: 'evt_1',
        data: { couponId: 'c', code: 'X', redeemedAt: '2026-11-26T10:00:00Z', value: { amount: 5, currency: 'EUR' } },
      }),
    ).toEqual([]);
  });

  it('names a missing required data field', () => {
    const problems = validateEvent({ type: 'SURVEY_COMPLETED', departmentId: 'd', data: { surveyId: 's1', completedAt: '2026-11-26T10:00:00Z' } });
    expect(problems).toEqual([expect.objectContaining({ loc: ['data', 'responseId'] })]);
  });

  it.each([
    ['an unknown type', { type: 'NOPE', departmentId: 'd', data: {} }, ['type']],
    ['a missing department', { type: 'SURVEY_COMPLETED', data: completed }, ['departmentId']],
    ['data not an object', { type: 'SURVEY_COMPLETED', departmentId: 'd', data: [1] }, ['data']],
    ['a bad date-time', { type: 'SURVEY_COMPLETED', departmentId: 'd', data: { ...completed, completedAt: 'yesterday' } }, ['data', 'completedAt']],
    [
      'a bad status',
      { type: 'SURVEY_STATUS_CHANGED', departmentId: 'd', data: { surveyId: 's', previousStatus: 'x', status: 'active', changedAt: '2026-11-26T10:00:00Z' } },
      ['data', 'previousStatus'],
    ],
    ['a bad id', { type: 'SURVEY_COMPLETED', departmentId: 'd', id: 'has space', data: completed }, ['id']],
    ['an unknown field', { type: 'SURVEY_COMPLETED', departmentId: 'd', data: completed, colour: 1 }, ['colour']],
  ])('rejects %s', (_label, event, loc) => {
    expect(validateEvent(event).map((p) => p.loc)).toContainEqual(loc);
  });

  it("refuses the service's own types from producers, and accepts them from the service", () => {
    const disabled = { type: 'WEBHOOK_DISABLED', departmentId: 'd', data: { webhookId: 'wh_1', reason: 'gone', disabledAt: '2026-11-26T10:00:00Z' } };
    expect(validateEvent(disabled).map((p) => p.loc)).toEqual([['type']]);
    expect(validateEvent({ type: 'WEBHOOK_TEST', departmentId: 'd', data: {} }).map((p) => p.loc)).toEqual([['type']]);
    expect(validateEvent(disabled, { serviceTypes: true })).toEqual([]);
  });

  it('rejects events over 1 MiB', () => {
    const problems = validateEvent({ type: 'SURVEY_COMPLETED', departmentId: 'd', data: { ...completed, blob: 'x'.repeat(1024 * 1024) } });
    expect(problems).toEqual([expect.objectContaining({ msg: expect.stringContaining('1 MiB') })]);
  });

  it('refuses text PostgreSQL cannot store, wherever it is, as the API does (CLI and TypeScript publishers too)', () => {
    const answers = [
      { questionId: 'q1', value: 'fine 😀' },
      { questionId: 'q2', value: 'half \uD800' },
    ];
    const problems = validateEvent({ type: 'SURVEY_COMPLETED', departmentId: 'd', data: { ...completed, note: 'a\u0000', answers } });
    expect(problems).toEqual([
      { loc: ['data', 'note'], msg: expect.stringContaining('data.note holds U+0000 (NUL)') },
      { loc: ['data', 'answers', 1, 'value'], msg: expect.stringContaining('data.answers[1].value holds a lone surrogate (U+D800)') },
    ]);
    expect(validateEvent({ type: 'SURVEY_COMPLETED', departmentId: 'd', 'x\u0000': 1, data: completed }).map((p) => p.loc)).toEqual([['x\\u0000'], ['x\\u0000']]);
  });

  it('leaves the walk for unstorable text to a caller that made it already (the API, whose pipe refuses such bodies)', () => {
    const event = { type: 'SURVEY_COMPLETED', departmentId: 'd', data: { ...completed, note: 'a\u0000' } };
    expect(validateEvent(event)).toHaveLength(1);
    expect(validateEvent(event, { storableChecked: true })).toEqual([]);
  });
});
