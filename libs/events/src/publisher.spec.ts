import fc from 'fast-check';
import { commitRounds } from './publisher';

const request = (...ids: string[]) => ids.map((id) => ({ id }));

describe('commitRounds', () => {
  it('stores requests with distinct ids in one round, in order', () => {
    const rounds = commitRounds([request('a', 'b'), request('c'), request('d')]);
    expect(rounds.map((round) => round.map((r) => r.index))).toEqual([[0, 1, 2]]);
  });

  it('defers a request that repeats an id of an earlier one to the next round, with everything of it', () => {
    const rounds = commitRounds([request('a'), request('b', 'a'), request('c'), request('a')]);
    expect(rounds.map((round) => round.map((r) => r.index))).toEqual([[0, 2], [1], [3]]);
  });

  it('is empty for no requests', () => {
    expect(commitRounds([])).toEqual([]);
  });

  it('places every request exactly once, never one id twice in a round, and keeps order within rounds', () => {
    const requests = fc.array(fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { minLength: 1, maxLength: 3 }), { maxLength: 12 });
    fc.assert(
      fc.property(requests, (lists) => {
        const deduplicated = lists.map((ids) => request(...new Set(ids)));
        const rounds = commitRounds(deduplicated);
        expect(
          rounds
            .flat()
            .map((r) => r.index)
            .sort((x, y) => x - y),
        ).toEqual(deduplicated.map((_, i) => i));
        for (const round of rounds) {
          const ids = round.flatMap((r) => r.request.map((e) => e.id));
          expect(new Set(ids).size).toBe(ids.length);
          expect(round.map((r) => r.index)).toEqual([...round.map((r) => r.index)].sort((x, y) => x - y));
        }
      }),
    );
  });
});
