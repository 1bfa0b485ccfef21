/** Progress of a long command: a bar redrawn in place on a terminal, a line per update otherwise. */
export interface Progress {
  update(done: number): void;
  /** Ends the bar's line (a terminal) so that later output starts on a fresh one. */
  finish(): void;
}

const BAR_WIDTH = 30;

/** `[██████░░░░░░] 500/1200 41%`; a total that grew past the count shown is taken as `done`. */
export function renderBar(done: number, total: number, width = BAR_WIDTH): string {
  const shownTotal = Math.max(total, done);
  const ratio = shownTotal === 0 ? 1 : done / shownTotal;
  const filled = Math.round(ratio * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${shownTotal} ${Math.floor(ratio * 100)}%`;
}

export function progress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) {
    return {
      update: (done) => stream.write(`${label}: ${done}/${Math.max(total, done)}\n`),
      finish: () => undefined,
    };
  }
  let drawn = false;
  return {
    // \r back to the line's start, \x1b[K clears what a longer earlier line left behind.
    update: (done) => {
      stream.write(`\r${label} ${renderBar(done, total)}\x1b[K`);
      drawn = true;
    },
    finish: () => {
      if (drawn) stream.write('\n');
    },
  };
}
