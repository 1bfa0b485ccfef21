import type { DeliveryStatus, Stats } from './api';

const W = 480;
const H = 120;
const PAD = 24;
/** The radius of a lone hour's dot. */
const DOT = 3;
const OUTCOMES: { status: DeliveryStatus; label: string }[] = [
  { status: 'succeeded', label: 'Succeeded' },
  { status: 'failed', label: 'Failed' },
  { status: 'pending', label: 'Pending' },
  { status: 'cancelled', label: 'Cancelled' },
];

const hour = (iso: string) => `${new Date(iso).getHours().toString().padStart(2, '0')}:00`;

/** Deliveries by outcome per hour, stacked bars in plain SVG; the numbers are in the table below it. */
export function OutcomeChart({ stats }: { stats: Stats }) {
  const totals = stats.buckets.map((b) => OUTCOMES.reduce((sum, o) => sum + b.deliveries[o.status], 0));
  const max = Math.max(1, ...totals);
  const step = (W - PAD) / Math.max(1, stats.buckets.length);
  const all = totals.reduce((a, b) => a + b, 0);
  const failed = stats.buckets.reduce((sum, b) => sum + b.deliveries.failed, 0);
  return (
    <figure>
      <svg viewBox={`0 0 ${W} ${H + 16}`} role="img" aria-label={`Deliveries per hour: ${all} in all, ${failed} failed`} class="chart">
        <line x1={PAD} y1={H} x2={W} y2={H} class="axis" />
        <text x={0} y={12} class="tick">
          {max}
        </text>
        {stats.buckets.map((b, i) => {
          let y = H;
          return (
            <g key={b.start}>
              {OUTCOMES.map((o) => {
                const h = (b.deliveries[o.status] / max) * (H - 8);
                y -= h;
                return h > 0 ? <rect key={o.status} x={PAD + i * step + 1} y={y} width={Math.max(1, step - 2)} height={h} class={`bar-${o.status}`} /> : null;
              })}
              {i % 6 === 0 && i < stats.buckets.length - 2 && (
                <text x={PAD + i * step} y={H + 14} class="tick">
                  {hour(b.start)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>
        {OUTCOMES.map((o) => (
          <span key={o.status} class="legend">
            <span class={`swatch bar-${o.status}`} aria-hidden="true" /> {o.label}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

/** Attempt latency p50 and p95 per hour, two lines; hours without attempts leave a gap. */
export function LatencyChart({ stats }: { stats: Stats }) {
  const max = Math.max(1, ...stats.buckets.map((b) => b.latencyMs?.p95 ?? 0));
  const step = (W - PAD) / Math.max(1, stats.buckets.length - 1);
  /** One polyline per run of hours with attempts: an hour without any breaks the line. */
  const runs = (key: 'p50' | 'p95'): [number, number][][] => {
    const lines: [number, number][][] = [[]];
    stats.buckets.forEach((b, i) => {
      if (!b.latencyMs) {
        if (lines[lines.length - 1].length) lines.push([]);
        return;
      }
      // The last hour sits a dot's width inside the edge, so that its dot is not cut in half.
      lines[lines.length - 1].push([Math.min(W - DOT, PAD + i * step), H - (b.latencyMs[key] / max) * (H - 8)]);
    });
    return lines.filter((line) => line.length);
  };
  const points = (line: [number, number][]) => line.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  /** A run of hours is a line; a lone hour (the only one with attempts, often the current one) a dot. */
  const draw = (key: 'p50' | 'p95') =>
    runs(key).map((line) =>
      line.length === 1 ? (
        <circle key={`${key}${points(line)}`} cx={line[0][0]} cy={line[0][1]} r={DOT} class={`dot-${key}`} />
      ) : (
        <polyline key={`${key}${points(line)}`} points={points(line)} class={`line-${key}`} />
      ),
    );
  return (
    <figure>
      <svg viewBox={`0 0 ${W} ${H + 16}`} role="img" aria-label={`Attempt latency per hour, p50 and p95, up to ${max} ms`} class="chart">
        <line x1={PAD} y1={H} x2={W} y2={H} class="axis" />
        <text x={0} y={12} class="tick">
          {max} ms
        </text>
        {(['p95', 'p50'] as const).flatMap(draw)}
      </svg>
      <figcaption>
        <span class="legend">
          <span class="swatch line-p50" aria-hidden="true" /> p50
        </span>
        <span class="legend">
          <span class="swatch line-p95" aria-hidden="true" /> p95
        </span>
      </figcaption>
    </figure>
  );
}

/** The same numbers as a table, for screen readers and for exact values. */
export function StatsTable({ stats }: { stats: Stats }) {
  return (
    <details>
      <summary>Hourly numbers</summary>
      <table>
        <caption>Last 24 hours by hour</caption>
        <thead>
          <tr>
            <th scope="col">Hour</th>
            {OUTCOMES.map((o) => (
              <th scope="col" key={o.status}>
                {o.label}
              </th>
            ))}
            <th scope="col">Attempts</th>
            <th scope="col">p50 ms</th>
            <th scope="col">p95 ms</th>
          </tr>
        </thead>
        <tbody>
          {stats.buckets.map((b) => (
            <tr key={b.start}>
              <th scope="row">{hour(b.start)}</th>
              {OUTCOMES.map((o) => (
                <td key={o.status}>{b.deliveries[o.status]}</td>
              ))}
              <td>{b.attempts}</td>
              <td>{b.latencyMs?.p50 ?? '—'}</td>
              <td>{b.latencyMs?.p95 ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
