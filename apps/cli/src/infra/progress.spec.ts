import { PassThrough } from 'node:stream';
import { progress, renderBar } from './progress';

describe('renderBar', () => {
  it('fills in proportion and shows done/total and the percentage', () => {
    expect(renderBar(0, 4, 8)).toBe('[░░░░░░░░] 0/4 0%');
    expect(renderBar(1, 4, 8)).toBe('[██░░░░░░] 1/4 25%');
    expect(renderBar(4, 4, 8)).toBe('[████████] 4/4 100%');
  });

  it('never overflows when more was done than counted, and shows an empty total as complete', () => {
    expect(renderBar(5, 4, 8)).toBe('[████████] 5/5 100%');
    expect(renderBar(0, 0, 8)).toBe('[████████] 0/0 100%');
  });
});

describe('progress', () => {
  const capture = (isTTY: boolean) => {
    const stream = Object.assign(new PassThrough(), { isTTY }) as unknown as NodeJS.WriteStream & PassThrough;
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    return { stream, text: () => text };
  };

  it('prints a line per update when not on a terminal', () => {
    const out = capture(false);
    const bar = progress('Re-queued', 700, out.stream);
    bar.update(500);
    bar.update(700);
    bar.finish();
    expect(out.text()).toBe('Re-queued: 500/700\nRe-queued: 700/700\n');
  });

  it('redraws one line in place on a terminal and ends it once', () => {
    const out = capture(true);
    const bar = progress('Re-queued', 2, out.stream);
    bar.update(1);
    bar.update(2);
    bar.finish();
    // eslint-disable-next-line no-control-regex -- the terminal's erase-line sequence (ESC [K) is what is checked
    expect(out.text().split('\n')).toEqual([expect.stringMatching(/^\rRe-queued \[.*\] 1\/2 50%\x1b\[K\rRe-queued \[.*\] 2\/2 100%\x1b\[K$/), '']);
  });
});
