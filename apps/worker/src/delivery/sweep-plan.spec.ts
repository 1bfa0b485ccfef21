import { jobPresence, MAX_SWEEP_BUDGET_MS, planRequeue, sweepBudgetMs } from './sweep-plan';

describe('sweep plan', () => {
  it('budget: one interval, never more than 10 s', () => {
    expect(sweepBudgetMs(1_000)).toBe(1_000);
    expect(sweepBudgetMs(30_000)).toBe(MAX_SWEEP_BUDGET_MS);
    expect(sweepBudgetMs(0)).toBe(1);
  });

  it('reads a pipelined HMGET timestamp finishedOn reply as missing, live or finished', () => {
    expect(jobPresence([null, [null, null]])).toBe('missing');
    expect(jobPresence([null, ['1764600000000', null]])).toBe('live');
    expect(jobPresence([null, ['1764600000000', '1764600001000']])).toBe('finished');
  });

  it('throws on a command error or a short reply instead of guessing', () => {
    expect(() => jobPresence([new Error('WRONGTYPE'), null])).toThrow('WRONGTYPE');
    expect(() => jobPresence(undefined)).toThrow(/fewer commands/);
  });

  it('adds the missing, confirms the finished, leaves the live alone', () => {
    const jobs = ['a', 'b', 'c', 'd', 'e'];
    expect(planRequeue(jobs, ['missing', 'live', 'finished', 'missing', 'live'])).toEqual({ add: ['a', 'd'], confirm: ['c'], live: 2 });
    expect(planRequeue([], [])).toEqual({ add: [], confirm: [], live: 0 });
    expect(() => planRequeue(jobs, ['missing'])).toThrow();
  });
});
