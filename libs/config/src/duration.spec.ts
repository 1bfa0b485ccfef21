import { parseDuration, parseDurationList } from './duration';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['5s', 5_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['5d', 432_000_000],
    ['1500', 1_500],
    [' 10 h ', 36_000_000],
  ])('%s → %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', 'h', '5w', '-5s', 'five', '5s5'])('rejects %p', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('parseDurationList', () => {
  it('parses the default retry schedule', () => {
    expect(parseDurationList('5s,5m,30m,2h,5h,10h,10h')).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
  });
  it('rejects a list with one bad item', () => expect(parseDurationList('5s,soon')).toBeUndefined());
});
