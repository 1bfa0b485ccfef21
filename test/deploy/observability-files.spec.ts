import { Logger } from '@nestjs/common';
import { DELIVERY_STATUSES, DeliveryStatus } from '@pollarix/database';
import { QueueName } from '@pollarix/queue';
import type { Queue } from 'bullmq';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { ApiMetrics } from '../../apps/api/src/metrics/api-metrics';
import { AttemptReport, WorkerMetrics } from '../../apps/worker/src/ops/worker-metrics';

/**
 * The Prometheus rules and scrape config and the Grafana dashboard under deploy/ may only query
 * metrics the apps export, with label values they emit: a typo there is an alert that never fires.
 * What the apps export is read from their metrics registries, built as the apps build them (the
 * worker's with stand-in queues), not from their source text.
 */

const ROOT = join(__dirname, '..', '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

/** Stand-ins for the worker's two BullMQ queues: a name, and a count for every state asked about. */
const countsAsked: string[][] = [];
const stubQueue = (name: string): Queue =>
  ({
    name,
    getJobCounts: async (...states: string[]) => {
      countsAsked.push(states);
      return Object.fromEntries(states.map((state) => [state, 1]));
    },
  }) as unknown as Queue;
const workerMetrics = new WorkerMetrics(stubQueue(QueueName.Deliveries), stubQueue(QueueName.Events));
const apiMetrics = new ApiMetrics();
const REGISTRIES = { worker: workerMetrics.registry, api: apiMetrics.registry };

/** The families a registry exports: kind and sorted label names, by name. */
function exported(registry: Registry): Map<string, { kind: string; labels: string[] }> {
  return new Map(
    registry.getMetricsAsArray().map((metric) => {
      const labelNames = (metric as { labelNames?: readonly string[] }).labelNames ?? [];
      return [metric.name, { kind: String(metric.type), labels: [...labelNames].sort() }]; // type: a string at run time, whatever index.d.ts says
    }),
  );
}

/** The label values of the series a family has after a scrape (collect callbacks run). */
async function emitted(registry: Registry, name: string): Promise<Record<string, string | number>[]> {
  const family = (await registry.getMetricsAsJSON()).find((metric) => metric.name === name);
  if (!family) throw new Error(`no family ${name}`);
  return (family.values as { labels: Record<string, string | number> }[]).map((value) => value.labels);
}
const distinct = (values: (string | number)[]): string[] => [...new Set(values.map(String))].sort();

// ---------------------------------------------------------------------------------------------------
// The documented contract: the metric families of SPEC §9, their labels and label values.

type Kind = 'counter' | 'gauge' | 'histogram';
/** Allowed values of a label: a list, or a pattern for open sets (routes, error classes). */
type Values = readonly string[] | RegExp;
interface Family {
  kind: Kind;
  labels: Record<string, Values>;
}

/** Every attempt outcome, once: the compiler (npm run typecheck) fails if AttemptReport's union gains or loses one. */
const OUTCOME_KEYS: Record<AttemptReport['outcome'], true> = { success: true, retry: true, failed: true, gone: true };
const OUTCOMES = Object.keys(OUTCOME_KEYS) as AttemptReport['outcome'][];
const QUEUE_STATES = ['waiting', 'delayed', 'active', 'failed'];
const FINAL_STATUSES = ['succeeded', 'failed', 'cancelled'];
const SWEEP_KINDS = ['event', 'delivery'];
const HTTP_METHODS = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)$/;
const HTTP_STATUS = /^[1-5](\d\d|\.\.)$/;
/** A matched route pattern, or "unmatched" (404s, requests refused before routing). */
const ROUTE = /^(\/.*|unmatched)$/;

const WORKER_FAMILIES: Record<string, Family> = {
  pollarix_delivery_attempts_total: { kind: 'counter', labels: { outcome: OUTCOMES, error: /^[a-z_]+$/ } },
  pollarix_delivery_attempt_duration_seconds: { kind: 'histogram', labels: {} },
  pollarix_deliveries_total: { kind: 'counter', labels: { status: FINAL_STATUSES } },
  pollarix_queue_jobs: { kind: 'gauge', labels: { queue: Object.values(QueueName), state: QUEUE_STATES } },
  pollarix_sweeper_scanned_total: { kind: 'counter', labels: { kind: SWEEP_KINDS } },
  pollarix_sweeper_requeued_total: { kind: 'counter', labels: { kind: SWEEP_KINDS } },
  pollarix_sweeper_passes_total: { kind: 'counter', labels: { kind: SWEEP_KINDS } },
  pollarix_sweeper_cursor_timestamp_seconds: { kind: 'gauge', labels: { kind: SWEEP_KINDS } },
  pollarix_delivery_throttled_total: { kind: 'counter', labels: { reason: ['webhook', 'department', 'memory'] } },
  pollarix_delivery_item_failures_total: { kind: 'counter', labels: { stage: ['load', 'log', 'fan_out', 'decrypt'] } },
  pollarix_delivery_attempt_sources_total: { kind: 'counter', labels: { source: ['job', 'database'] } },
  pollarix_delivery_webhook_loads_total: { kind: 'counter', labels: {} },
};
const API_FAMILIES: Record<string, Family> = {
  pollarix_http_requests_total: { kind: 'counter', labels: { method: HTTP_METHODS, route: ROUTE, status: HTTP_STATUS } },
  pollarix_http_request_duration_seconds: { kind: 'histogram', labels: { method: HTTP_METHODS, route: ROUTE } },
  pollarix_events_published_total: { kind: 'counter', labels: { type: /^[A-Z][A-Z0-9_]*$/ } },
};
/** prom-client's default process metrics, under each app's prefix. */
const DEFAULT_METRIC_PREFIXES = { worker: 'pollarix_worker_', api: 'pollarix_api_' };

/** prom-client's default process metrics, as the apps' registries export them (any label value). */
function defaultFamilies(): Record<string, Family> {
  const families: Record<string, Family> = {};
  for (const [app, prefix] of Object.entries(DEFAULT_METRIC_PREFIXES)) {
    for (const [name, { kind, labels }] of exported(REGISTRIES[app as keyof typeof REGISTRIES])) {
      if (name.startsWith(prefix)) families[name] = { kind: kind as Kind, labels: Object.fromEntries(labels.map((label) => [label, /.+/])) };
    }
  }
  return families;
}

// ---------------------------------------------------------------------------------------------------
// deploy/prometheus/prometheus.yml

interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  dns_sd_configs?: { names: string[]; type?: string; port?: number }[];
  static_configs?: { targets: string[] }[];
}
const prometheus = parseYaml(read('deploy/prometheus/prometheus.yml')) as { rule_files?: string[]; scrape_configs: ScrapeConfig[] };
const JOBS = { api: 'pollarix-api', worker: 'pollarix-worker' };
/** Where each app serves /metrics (SPEC §3 defaults): internal ports, the API's apart from its public PORT. */
const METRICS_PORT = { api: { variable: 'API_METRICS_PORT', defaultPort: 9465 }, worker: { variable: 'WORKER_HTTP_PORT', defaultPort: 9464 } };
const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, { profiles?: string[]; volumes?: string[]; environment?: Record<string, string> }>;
};
const scrapeJob = (name: string): ScrapeConfig => {
  const job = prometheus.scrape_configs.find((c) => c.job_name === name);
  if (!job) throw new Error(`prometheus.yml has no job ${name}`);
  return job;
};

/** Every series a query may select: family names (histograms as _bucket/_sum/_count) and Prometheus' `up`. */
function knownSeries(): Map<string, Family> {
  const series = new Map<string, Family>();
  const families = { ...WORKER_FAMILIES, ...API_FAMILIES, ...defaultFamilies() };
  for (const [name, family] of Object.entries(families)) {
    if (family.kind !== 'histogram') series.set(name, family);
    else {
      series.set(`${name}_bucket`, { ...family, labels: { ...family.labels, le: /^(\+Inf|[\d.]+)$/ } });
      series.set(`${name}_sum`, family);
      series.set(`${name}_count`, family);
    }
  }
  series.set('up', { kind: 'gauge', labels: {} });
  return series;
}
const SERIES = knownSeries();
/** Target labels Prometheus puts on every series. */
const TARGET_LABELS: Record<string, Values> = { job: prometheus.scrape_configs.map((c) => c.job_name), instance: /.+/ };

// ---------------------------------------------------------------------------------------------------
// Enough PromQL to find the selectors of an expression.

interface Selector {
  metric: string;
  matchers: { label: string; op: string; value: string }[];
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

function selectors(expr: string): Selector[] {
  // Ranges, subqueries and Grafana's $variables carry no names; neither do grouping label lists.
  const text = expr
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  const found: Selector[] = [];
  const token = /"(?:[^"\\]|\\.)*"|\d+(?:\.\d+)?(?:e[+-]?\d+)?|([A-Za-z_:][\w:]*)\s*(\{[^}]*\})?(\s*\()?|\{[^}]*\}/gi;
  for (const [whole, name, braces, call] of text.matchAll(token)) {
    if (whole.startsWith('{')) throw new Error(`selector without a metric name in: ${expr}`);
    if (!name || call || KEYWORDS.has(name.toLowerCase())) continue;
    const matchers = [...(braces ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map(([, label, op, value]) => ({ label, op, value }));
    found.push({ metric: name, matchers });
  }
  return found;
}

/** What is wrong with an expression's selectors: unknown series, unknown labels, label values never emitted. */
function problems(expr: string): string[] {
  const out: string[] = [];
  for (const { metric, matchers } of selectors(expr)) {
    const family = SERIES.get(metric);
    if (!family) {
      out.push(`unknown metric ${metric}`);
      continue;
    }
    for (const { label, op, value } of matchers) {
      const allowed = family.labels[label] ?? TARGET_LABELS[label];
      if (!allowed) {
        out.push(`${metric} has no label ${label}`);
        continue;
      }
      // A regex matcher made of plain alternatives (a|b|5..) is checked alternative by alternative.
      const values = op.endsWith('~') ? (/^[\w.|-]+$/.test(value) ? value.split('|') : []) : [value];
      for (const v of values) {
        const ok = Array.isArray(allowed) ? allowed.includes(v) : (allowed as RegExp).test(v);
        if (!ok) out.push(`${metric}{${label}${op}"${value}"}: ${label} is never "${v}"`);
      }
    }
  }
  return out;
}

const references = (exprs: string[], metric: string, label?: string, value?: string): boolean =>
  exprs.some((expr) =>
    selectors(expr).some((s) => s.metric === metric && (!label || s.matchers.some((m) => m.label === label && (value === undefined || m.value === value)))),
  );

// ---------------------------------------------------------------------------------------------------

describe('the metric contract', () => {
  beforeAll(() => {
    // recordAttempt writes one log line per attempt; not needed here.
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterAll(() => jest.restoreAllMocks());

  it.each(Object.entries(WORKER_FAMILIES))("worker family %s is in the worker's registry as documented", (name, family) => {
    expect(exported(REGISTRIES.worker).get(name)).toEqual({ kind: family.kind, labels: Object.keys(family.labels).sort() });
  });

  it.each(Object.entries(API_FAMILIES))("API family %s is in the API's registry as documented", (name, family) => {
    expect(exported(REGISTRIES.api).get(name)).toEqual({ kind: family.kind, labels: Object.keys(family.labels).sort() });
  });

  it.each(Object.entries(REGISTRIES))('%s exports no family the contract lacks, besides its prefixed process metrics', (app, registry) => {
    const documented = app === 'worker' ? WORKER_FAMILIES : API_FAMILIES;
    const prefix = DEFAULT_METRIC_PREFIXES[app as keyof typeof DEFAULT_METRIC_PREFIXES];
    expect([...exported(registry).keys()].filter((name) => !(name in documented) && !name.startsWith(prefix))).toEqual([]);
    expect(exported(registry).get(`${prefix}process_resident_memory_bytes`)).toBeDefined();
  });

  it('emits the documented outcomes, and a final status for every final delivery status (pending is not final)', async () => {
    const report = (outcome: AttemptReport['outcome'], status: DeliveryStatus): AttemptReport => ({
      deliveryId: 'msg_1',
      webhookId: 'wh_1',
      departmentId: 'dept_a',
      attempt: 1,
      statusCode: 200,
      durationMs: 12,
      error: null,
      status,
      outcome,
    });
    for (const outcome of OUTCOMES) for (const status of DELIVERY_STATUSES) workerMetrics.recordAttempt(report(outcome, status));
    const attempts = await emitted(REGISTRIES.worker, 'pollarix_delivery_attempts_total');
    expect(distinct(attempts.map((labels) => labels.outcome))).toEqual([...OUTCOMES].sort());
    const deliveries = await emitted(REGISTRIES.worker, 'pollarix_deliveries_total');
    expect(distinct(deliveries.map((labels) => labels.status))).toEqual([...FINAL_STATUSES].sort());
  });

  it('reports the documented states of both queues on a scrape', async () => {
    const series = await emitted(REGISTRIES.worker, 'pollarix_queue_jobs');
    expect(distinct(series.map((labels) => labels.queue))).toEqual(Object.values(QueueName).sort());
    expect(distinct(series.map((labels) => labels.state))).toEqual([...QUEUE_STATES].sort());
    // The scrape asked the queues for counts (an empty list would make the next line true by itself).
    expect(countsAsked.length).toBeGreaterThan(0);
    expect(countsAsked.flat().every((state) => QUEUE_STATES.includes(state))).toBe(true);
  });

  it('is what the checks below hold the files to (a sanity check of the PromQL reader)', () => {
    expect(problems('sum by (outcome) (rate(pollarix_delivery_attempts_total{outcome=~"retry|failed"}[$__rate_interval]))')).toEqual([]);
    expect(problems('max(pollarix_queue_jobs{queue="delivery", state="waiting"})')).toEqual(['pollarix_queue_jobs{queue="delivery"}: queue is never "delivery"']);
    expect(problems('rate(pollarix_delivery_attempt_duration_seconds[5m]) > 1e9')).toEqual(['unknown metric pollarix_delivery_attempt_duration_seconds']);
    expect(problems('up{job="pollarix-workers"} == 0')).toEqual(['up{job="pollarix-workers"}: job is never "pollarix-workers"']);
    expect(problems('pollarix_deliveries_total{outcome="failed"}')).toEqual(['pollarix_deliveries_total has no label outcome']);
  });
});

describe('deploy/prometheus/prometheus.yml', () => {
  it('loads the alert rules beside it', () => {
    expect(prometheus.rule_files).toContain('alerts.yml');
    for (const file of prometheus.rule_files ?? []) expect(existsSync(join(ROOT, 'deploy/prometheus', file))).toBe(true);
  });

  it.each(Object.entries(JOBS))(
    "scrapes every %s of the compose stack on its metrics port (the API's internal one, not its public PORT, which answers 404 for /metrics)",
    (service, jobName) => {
      const job = scrapeJob(jobName);
      const environment = compose.services[service].environment ?? {};
      const { variable, defaultPort } = METRICS_PORT[service as keyof typeof JOBS];
      const port = Number(environment[variable] ?? defaultPort);
      // Only the API has a public port; the worker's one HTTP port is its metrics port.
      if (service === 'api') expect(port).not.toBe(Number(environment.PORT ?? 3000));
      expect(job.metrics_path ?? '/metrics').toBe('/metrics');
      // DNS service discovery: one target per container of the service, so `--scale worker=N` is followed.
      expect(job.dns_sd_configs).toEqual([expect.objectContaining({ names: [service], type: 'A', port })]);
    },
  );

  it('is mounted by the optional prometheus service of docker-compose.yml', () => {
    const service = compose.services.prometheus;
    expect(service.profiles).toEqual(['monitoring']);
    expect(service.volumes).toContain('./deploy/prometheus:/etc/prometheus:ro');
  });
});

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const alertFile = parseYaml(read('deploy/prometheus/alerts.yml')) as { groups: { name: string; rules: Rule[] }[] };
const rules = alertFile.groups.flatMap((group) => group.rules);
const alerts = rules.filter((rule): rule is Rule & { alert: string } => rule.alert !== undefined);

describe('deploy/prometheus/alerts.yml', () => {
  it('has uniquely named groups and alerts', () => {
    const groups = alertFile.groups.map((g) => g.name);
    expect(new Set(groups).size).toBe(groups.length);
    expect(alerts.length).toBeGreaterThan(0);
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
    expect(rules.filter((rule) => rule.record !== undefined)).toEqual([]); // recorded names would need a place in the contract
  });

  it.each(alerts.map((a) => [a.alert, a] as const))('%s waits a while, has a severity and a summary', (_, alert) => {
    expect(alert.for).toMatch(/^(\d+(ms|s|m|h|d|w|y))+$/);
    expect(['critical', 'warning', 'info']).toContain(alert.labels?.severity);
    expect(alert.annotations?.summary?.trim()).toBeTruthy();
  });

  it.each(alerts.map((a) => [a.alert, a] as const))('%s queries only exported metrics and label values', (_, alert) => {
    expect(selectors(alert.expr).length).toBeGreaterThan(0);
    expect(problems(alert.expr)).toEqual([]);
  });

  it('covers backlog, failure rate, workers down, API down and API errors', () => {
    const exprs = alerts.map((a) => a.expr);
    expect(references(exprs, 'pollarix_queue_jobs', 'queue', QueueName.Deliveries)).toBe(true);
    expect(references(exprs, 'pollarix_delivery_attempts_total', 'outcome')).toBe(true);
    expect(references(exprs, 'up', 'job', JOBS.worker)).toBe(true);
    expect(references(exprs, 'up', 'job', JOBS.api)).toBe(true);
    expect(references(exprs, 'pollarix_http_requests_total', 'status')).toBe(true);
  });

  it('never sums queue depths across workers (each worker reports the same shared queues)', () => {
    for (const alert of alerts) expect(alert.expr).not.toMatch(/sum\s*(by\s*\([^)]*\)\s*)?\(\s*pollarix_queue_jobs/);
  });
});

interface Target {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string } | string;
}
interface Panel {
  id?: number;
  type: string;
  title?: string;
  datasource?: Target['datasource'];
  targets?: Target[];
  panels?: Panel[];
  gridPos?: { h: number; w: number; x: number; y: number };
}
interface Dashboard {
  uid?: string;
  title?: string;
  panels: Panel[];
  templating?: { list: { name: string; type: string; query?: string }[] };
  __inputs?: { name: string; type: string; pluginId: string }[];
}

const dashboard = JSON.parse(read('deploy/grafana/pollarix-webhooks.json')) as Dashboard;
const allPanels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
/** Rows only group panels: they have no queries of their own. */
const dataPanels = allPanels.filter((panel) => panel.type !== 'row');
const dashboardExprs = dataPanels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr ?? ''));

describe('deploy/grafana/pollarix-webhooks.json', () => {
  it('is an importable dashboard with a stable uid', () => {
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(dashboard.title).toBeTruthy();
    expect(dataPanels.length).toBeGreaterThan(0);
  });

  it('gives every panel a unique id and a place on the grid', () => {
    const ids = allPanels.map((panel) => panel.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of allPanels) expect(panel.gridPos).toEqual(expect.objectContaining({ h: expect.any(Number), w: expect.any(Number) }));
  });

  it.each(dataPanels.map((p) => [p.title, p] as const))('panel %s has at least one query, each with its own refId', (_, panel) => {
    const targets = panel.targets ?? [];
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) expect(target.expr?.trim()).toBeTruthy();
    expect(new Set(targets.map((t) => t.refId)).size).toBe(targets.length);
  });

  it('takes its Prometheus from a variable, never a data source of the machine it was made on', () => {
    const variables = [
      ...(dashboard.templating?.list ?? []).filter((v) => v.type === 'datasource' && v.query === 'prometheus').map((v) => v.name),
      ...(dashboard.__inputs ?? []).filter((i) => i.type === 'datasource' && i.pluginId === 'prometheus').map((i) => i.name),
    ];
    expect(variables.length).toBeGreaterThan(0);
    const datasources = dataPanels.flatMap((panel) => [panel.datasource, ...(panel.targets ?? []).map((t) => t.datasource)]).filter((d) => d !== undefined);
    for (const datasource of datasources) {
      const uid = typeof datasource === 'string' ? datasource : datasource.uid;
      expect(variables.map((name) => `\${${name}}`)).toContain(uid);
    }
  });

  it('queries only exported metrics and label values', () => {
    expect(dashboardExprs.flatMap((expr) => problems(expr).map((problem) => `${problem} (in ${expr})`))).toEqual([]);
  });

  it('shows throughput, latency, queue depth, failures, API traffic and errors, events, memory and workers', () => {
    for (const metric of [
      'pollarix_delivery_attempts_total',
      'pollarix_delivery_attempt_duration_seconds_bucket',
      'pollarix_deliveries_total',
      'pollarix_queue_jobs',
      'pollarix_http_requests_total',
      'pollarix_http_request_duration_seconds_bucket',
      'pollarix_events_published_total',
      `${DEFAULT_METRIC_PREFIXES.worker}process_resident_memory_bytes`,
    ]) {
      expect({ metric, shown: references(dashboardExprs, metric) }).toEqual({ metric, shown: true });
    }
    expect(references(dashboardExprs, 'pollarix_delivery_attempts_total', 'outcome')).toBe(true);
    expect(references(dashboardExprs, 'pollarix_http_requests_total', 'status')).toBe(true);
    expect(references(dashboardExprs, 'up', 'job', JOBS.worker)).toBe(true);
    for (const quantile of ['0.5', '0.95', '0.99']) {
      expect(dashboardExprs.some((expr) => new RegExp(`histogram_quantile\\(${quantile},.*pollarix_delivery_attempt_duration_seconds_bucket`).test(expr))).toBe(true);
    }
  });

  it('never sums queue depths across workers', () => {
    for (const expr of dashboardExprs) expect(expr).not.toMatch(/sum\s*(by\s*\([^)]*\)\s*)?\(\s*pollarix_queue_jobs/);
  });
});
