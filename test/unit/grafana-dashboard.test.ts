// labs/grafana/weft.json: valid JSON, a Grafana dashboard with the panels an operator needs, and
// every metric name its PromQL uses exists in weft's registry, built as the agent builds it
// (AgentMetrics with a data plane and a BFD peer, so every family registers), histograms with their
// _bucket/_sum/_count series and prom-client's default process_* / nodejs_* metrics included.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AgentMetrics, type PeerStat } from '../../src/agent/observability/metrics.js';

const DASHBOARD = new URL('../../labs/grafana/weft.json', import.meta.url);

/** Series Prometheus adds itself to every scrape target. */
const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

const PROMQL_WORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan',
]);

/** Metric names in a PromQL expression: identifiers outside strings, label matchers, ranges and groupings that are not functions, keywords or numbers. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range selectors
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\boffset\s+\S+/g, ' ') // offset durations
    .replace(/\$\w+/g, ' '); // Grafana variables
  const names: string[] = [];
  // Not inside a number or duration (0.99, 5m, 1e3).
  for (const m of stripped.matchAll(/(?<![\w.:])[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?/g)) {
    if (m[1]) continue; // a function call
    if (PROMQL_WORDS.has(m[0].toLowerCase())) continue;
    names.push(m[0]);
  }
  return names;
}

interface Panel {
  type: string;
  title: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

function expressions(d: { panels: Panel[]; templating?: { list: { query?: unknown; definition?: string }[] } }): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (ps: Panel[]) => {
    for (const p of ps) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  for (const v of d.templating?.list ?? []) {
    // label_values(METRIC, label): the metric is the first argument.
    const lv = /label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,/.exec(v.definition ?? '');
    if (lv) out.push({ where: `variable ${v.definition}`, expr: lv[1] });
  }
  return out;
}

/** Every series name weft's registry exposes. */
async function registryNames(): Promise<Set<string>> {
  const peer: PeerStat = {
    id: 'p', address: '10.0.0.1', kind: 'external', state: 'Established', received: 1, accepted: 1, advertised: 1,
    families: { ipv4: { received: 1, accepted: 1, advertised: 1 } }, updatesIn: 1, updatesOut: 1, establishedTransitions: 1, tooLarge: 0,
    bfd: { state: 'Up', detectionTimeouts: 0, upTransitions: 1, discarded: {} }, gracefulRestart: { stale: 0 },
  };
  const m = new AgentMetrics({
    peerStats: () => [peer],
    ribSize: () => 1,
    startedAt: Date.now(),
    counters: { updatesReceived: 0, updatesSent: 0, bestPathChanges: 0, routesTooLarge: 0 },
    dataplane: () => ({ routes: {}, batches: 0, linesApplied: 0, lineErrors: 0, problems: [], held: 0, inSync: true }),
    bfdDropped: () => ({}),
    ready: () => ({ ready: true, notReady: [] }),
  });
  const names = new Set<string>();
  for (const metric of await m.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    const type = String(metric.type); // prom-client types it as an enum of these strings
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(metric.name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(metric.name + s);
  }
  return names;
}

describe('Grafana dashboard labs/grafana/weft.json', () => {
  const text = readFileSync(DASHBOARD, 'utf8');

  it('is a Grafana dashboard: JSON, title and uid, a Prometheus data source variable, unique panel ids', () => {
    const d = JSON.parse(text) as { title: string; uid: string; panels: (Panel & { id: number })[]; templating: { list: { name: string; type: string; query?: unknown }[] } };
    expect(d.title).toBe('weft');
    expect(d.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(d.templating.list.find((v) => v.type === 'datasource')?.query).toBe('prometheus');
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    // What an operator looks for, each at least once.
    const all = expressions(d).map((e) => e.expr).join('\n');
    for (const needed of ['weft_peer_up', 'weft_peer_state', 'weft_peer_prefixes_accepted', 'weft_update_to_kernel_seconds_bucket', 'weft_dataplane_batches_total', 'weft_dataplane_errors_total', 'process_resident_memory_bytes', 'process_cpu_seconds_total']) {
      expect(all, needed).toContain(needed);
    }
    expect(all).toMatch(/histogram_quantile\(0\.99, sum by \(le, instance\) \(rate\(weft_update_to_kernel_seconds_bucket/);
  });

  it('every metric its PromQL names exists in the registry the agent builds', async () => {
    const known = await registryNames();
    // The registry has what the issue asked for: default process/nodejs metrics, histogram series.
    for (const n of ['process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'weft_update_to_kernel_seconds_bucket', 'weft_dataplane_batch_duration_seconds_count', 'weft_build_info']) expect(known.has(n), n).toBe(true);
    const exprs = expressions(JSON.parse(text) as Parameters<typeof expressions>[0]);
    expect(exprs.length).toBeGreaterThan(20);
    const unknown: string[] = [];
    for (const { where, expr } of exprs) {
      const names = metricNames(expr);
      expect(names.length, `${where}: no metric in ${expr}`).toBeGreaterThan(0);
      for (const n of names) if (!known.has(n) && !PROMETHEUS_SERIES.has(n)) unknown.push(`${where}: ${n} in ${expr}`);
    }
    expect(unknown).toEqual([]);
  });

  it('metricNames reads PromQL: functions, groupings, matchers, ranges and variables are not metrics', () => {
    expect(metricNames('histogram_quantile(0.9, sum by (le, instance) (rate(weft_x_bucket{instance=~"$instance", a="b{c}"}[$__rate_interval])))')).toEqual(['weft_x_bucket']);
    expect(metricNames('sum(rate(a_total[5m])) / on (instance) group_left (version) b_info')).toEqual(['a_total', 'b_info']);
    expect(metricNames('weft_peer_state{state!="none"} == 1 and bool up offset 5m')).toEqual(['weft_peer_state', 'up']);
  });
});
