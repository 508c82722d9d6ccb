/**
 * Prometheus metrics (text format over HTTP, prom-client), following its conventions: a counter
 * is a Counter named `_total`; a value that goes up and down is a Gauge without it; states are
 * state sets (one series per state, 1 for the current one); durations are histograms in seconds.
 *
 * - per peer (metrics-peers.ts): session up/state, prefixes per family, UPDATEs, BFD, graceful
 *   restart;
 * - the agent: Loc-RIB size, process-wide UPDATE and best-path counters, the data plane (routes
 *   by shape, batches, lines, errors, in sync), readiness, weft_build_info;
 * - histograms: update-to-kernel latency (observed once per UPDATE, kernel-latency.ts) and
 *   data-plane batch durations (once per batch) - never per route;
 * - prom-client's default process_* and nodejs_* metrics.
 *
 * Gauges and most counters are read from the agent when scraped (no bookkeeping on the hot
 * path). Loaded only when metrics are enabled (the agent imports this module on demand: prom-client
 * costs ~12 MB of RSS); the agent keeps its counters as plain numbers (AgentCounters) either way.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { KernelLatency } from './kernel-latency.js';
import { listenMetrics, metricsServer } from './metrics-http.js';
import { registerPeerMetrics, type PeerStat } from './metrics-peers.js';
import type { Readiness } from './readiness.js';

export type { PeerStat };

/** What the metrics read from the agent at scrape time. */
export interface MetricsSource {
  peerStats(): PeerStat[];
  /** BFD packets dropped before reaching a session, by reason (monotonic). */
  bfdDropped?(): Readonly<Record<string, number>>;
  ribSize(): number;
  startedAt: number;
  counters: AgentCounters;
  /** The kernel data plane; absent when it is not enabled (no dataplane series then). */
  dataplane?(): { routes: Record<string, number>; batches: number; linesApplied: number; lineErrors: number; problems: readonly string[]; held: number; inSync?: boolean } | undefined;
  /** /readyz (readiness.ts); without it the agent counts as ready. */
  ready?(): Readiness;
}

/** Process-wide counters the agent bumps; monotonic for the life of the process. */
export interface AgentCounters {
  updatesReceived: number;
  updatesSent: number;
  bestPathChanges: number;
  /** Routes not sent to a peer because their attributes do not fit its maximum message size (once per prefix and session). */
  routesTooLarge: number;
}

/** Update-to-kernel: a local change is milliseconds; a table of 1M routes tens of seconds. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** One iproute2 batch: a few lines take a millisecond, a full plan at 1M routes ~15 s. */
export const BATCH_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** weft's version, from its package.json (dist/agent/observability -> the package root, as from src). */
function weftVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** A counter whose value the agent keeps (a plain number, monotonic) and the scrape reads. */
function readCounter(registry: Registry, name: string, help: string, read: () => number | undefined): void {
  new Counter({ name, help, registers: [registry], collect() {
    this.reset();
    const v = read();
    if (v !== undefined) this.inc(v);
  } });
}

/** A gauge read at scrape time. */
function readGauge(registry: Registry, name: string, help: string, read: () => number | undefined): void {
  new Gauge({ name, help, registers: [registry], collect() {
    this.reset();
    const v = read();
    if (v !== undefined) this.set(v);
  } });
}

export class AgentMetrics {
  readonly registry = new Registry();
  private server: Server | undefined;
  private readonly updateToKernel: Histogram<string>;
  private readonly batchDuration: Histogram<'kind'>;

  constructor(private readonly src: MetricsSource) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'weft_build_info',
      help: 'always 1; the labels say which weft and which Node.js runs',
      labelNames: ['version', 'node', 'arch'],
      registers,
    }).set({ version: weftVersion(), node: process.version, arch: process.arch }, 1);

    registerPeerMetrics(this.registry, () => src.peerStats());

    // Process-wide counters, read from the agent's own at scrape time (monotonic there).
    const r = this.registry;
    const c = src.counters;
    readCounter(r, 'weft_updates_received_total', 'UPDATE messages received from all peers since the agent started', () => c.updatesReceived);
    readCounter(r, 'weft_updates_sent_total', 'UPDATE messages sent to all peers since the agent started', () => c.updatesSent);
    readCounter(r, 'weft_best_path_changes_total', 'Loc-RIB best-path changes', () => c.bestPathChanges);
    readCounter(r, 'weft_routes_too_large_total', 'routes not sent to a peer because their attributes do not fit its maximum message size (once per prefix and session)', () => c.routesTooLarge);
    new Counter({
      name: 'weft_bfd_packets_dropped_total',
      help: 'BFD packets dropped before reaching a session, by reason (malformed, unknown source, unknown discriminator)',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(src.bfdDropped?.() ?? {})) this.inc({ reason }, n);
      },
    });
    readGauge(r, 'weft_loc_rib_prefixes', 'prefixes in the Loc-RIB', () => src.ribSize());
    readGauge(r, 'weft_uptime_seconds', 'seconds since the agent started', () => (Date.now() - src.startedAt) / 1000);
    readGauge(r, 'weft_ready', '1 when /readyz answers 200 (started, every peer attempted, data plane in sync), else 0', () => (src.ready?.().ready === false ? 0 : 1));
    // Without a kernel data plane (dataplane.enabled false) there are no dataplane series at all.
    if (src.dataplane) this.registerDataplane(src.dataplane);

    this.updateToKernel = new Histogram({
      name: 'weft_update_to_kernel_seconds',
      help: "from an UPDATE's arrival to the acknowledgement of the kernel batch that carried its routes (once per UPDATE that changed the Loc-RIB)",
      buckets: LATENCY_BUCKETS,
      registers: src.dataplane ? registers : [],
    });
    this.batchDuration = new Histogram({
      name: 'weft_dataplane_batch_duration_seconds',
      help: 'time to write one batch of iproute2 lines, by kind (full plan | incremental slice)',
      labelNames: ['kind'],
      buckets: BATCH_BUCKETS,
      registers: src.dataplane ? registers : [],
    });
  }

  private registerDataplane(dp: NonNullable<MetricsSource['dataplane']>): void {
    const r = this.registry;
    new Gauge({
      name: 'weft_dataplane_routes',
      help: 'routes weft keeps in the kernel, by shape (blackhole|direct|vxlan|ipip): the data plane desired state',
      labelNames: ['shape'],
      registers: [r],
      collect() {
        this.reset();
        for (const [shape, n] of Object.entries(dp()?.routes ?? {})) this.set({ shape }, n);
      },
    });
    readCounter(r, 'weft_dataplane_batches_total', 'iproute2 batches the data plane applied', () => dp()?.batches);
    readCounter(r, 'weft_dataplane_lines_total', 'iproute2 lines the data plane applied without error', () => dp()?.linesApplied);
    readCounter(r, 'weft_dataplane_errors_total', 'iproute2 lines that failed', () => dp()?.lineErrors);
    readGauge(r, 'weft_dataplane_problems', 'desired entries not written in the last plan (a foreign route in the way, ...)', () => dp()?.problems.length);
    readGauge(r, 'weft_dataplane_held_routes', 'routes kept from before a restart, waiting for End-of-RIB', () => dp()?.held);
    readGauge(r, 'weft_dataplane_in_sync', '1 when the kernel has everything asked for so far (nothing queued or being written)', () => {
      const d = dp();
      return d?.inSync === undefined ? undefined : d.inSync ? 1 : 0;
    });
  }

  /** The kernel bridge's observer (kernel-latency.ts): feeds the two histograms. */
  dataplaneObserver(now: () => number): KernelLatency {
    return new KernelLatency(
      now,
      (s) => this.updateToKernel.observe(s),
      (s, full) => this.batchDuration.observe({ kind: full ? 'full' : 'incremental' }, s),
    );
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Serves /metrics, /healthz and /readyz (metrics-http.ts); resolves with the bound port. */
  async listen(host: string, port: number, log: Logger): Promise<number> {
    const server = metricsServer({
      metrics: async () => ({ contentType: this.registry.contentType, body: await this.text() }),
      ready: () => this.src.ready?.() ?? { ready: true, notReady: [] },
    });
    this.server = server;
    return listenMetrics(server, host, port, log);
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
