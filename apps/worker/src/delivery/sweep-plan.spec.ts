import { jobPresence, MAX_SWEEP_BUDGET_MS, parseSweepCursor, planRequeue, sweepBudgetMs } from './sweep-plan';

describe('sweep plan', () => {
  it('budget: one interval, never more than 10 s', () => {
    expect(sweepBudgetMs(1_000)).toBe(1_000);
    expect(sweepBudgetMs(30_000)).toBe(MAX_SWEEP_BUDGET_MS);
    expect(sweepBudgetMs(0)).toBe(1);
  });

  it('reads a pipelined HMGET timestamp finishedOn reply as missing, live or finished', () => {
    const before = 1764600002000;
    expect(jobPresence([null, [null, null]], before)).toBe('missing');
    expect(jobPresence([null, ['1764600000000', null]], before)).toBe('live');
    expect(jobPresence([null, ['1764600000000', '1764600001000']], before)).toBe('finished');
  });

  it('a job finished after the cutoff counts as live: the row read may predate its finish', () => {
    expect(jobPresence([null, ['1764600000000', '1764600003000']], 1764600002000)).toBe('live');
  });

  it('throws on a command error or a short reply instead of guessing', () => {
    expect(() => jobPresence([new Error('WRONGTYPE'), null], 0)).toThrow('WRONGTYPE');
    expect(() => jobPresence(undefined, 0)).toThrow(/fewer commands/);
  });

  it('adds the missing, confirms the finished, leaves the live alone', () => {
    const jobs = ['a', 'b', 'c', 'd', 'e'];
    expect(planRequeue(jobs, ['missing', 'live', 'finished', 'missing', 'live'])).toEqual({ add: ['a', 'd'], confirm: ['c'], live: 2 });
    expect(planRequeue([], [])).toEqual({ add: [], confirm: [], live: 0 });
    expect(() => planRequeue(jobs, ['missing'])).toThrow();
  });

  it('reads a stored cursor; an absent or corrupted one starts from the beginning', () => {
    const cursor = { at: '2026-12-01T22:55:02.794745Z', id: 'msg_x' };
    expect(parseSweepCursor(JSON.stringify(cursor))).toEqual(cursor);
    expect(parseSweepCursor(null)).toBeNull();
    expect(parseSweepCursor('{')).toBeNull();
    expect(parseSweepCursor('null')).toBeNull();
    expect(parseSweepCursor(JSON.stringify({ at: 'yesterday', id: 'msg_x' }))).toBeNull();
    expect(parseSweepCursor(JSON.stringify({ at: cursor.at }))).toBeNull();
  });
});
