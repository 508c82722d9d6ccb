/**
 * Prometheus metrics (text format over HTTP, prom-client): per peer the session state and the
 * prefix counts, UPDATEs in and out, best-path changes, uptime. Gauges are read from the agent
 * when scraped (no bookkeeping on the hot path); counters the agent bumps itself.
 *
 * Loaded only when metrics are enabled (the agent imports this module on demand: prom-client
 * costs ~12 MB of RSS); the agent keeps its counters as plain numbers (AgentCounters) either way.
 *
 * Naming (Prometheus conventions): a `_total` name is a real counter, monotonic for the life of
 * the process (weft_updates_{received,sent}_total, weft_best_path_changes_total); the per-peer
 * values belong to a configured peer, start again when it is re-added, vanish with it, and so
 * are gauges without the suffix.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import { STATE_NAMES } from '../../session/types.js';
import { logEvent } from './log-events.js';

/** What the metrics read from the agent at scrape time. */
export interface MetricsSource {
  peerStats(): {
    id: string;
    address: string;
    kind: string;
    state: string;
    received: number;
    accepted: number;
    advertised: number;
    updatesIn: number;
    updatesOut: number;
    establishedTransitions: number;
    tooLarge: number;
    /** Present when the peer has BFD. */
    bfd?: { state: string; detectionTimeouts: number; upTransitions: number; discarded: Record<string, number> };
    /** Graceful restart (RFC 4724): the peer's routes kept stale. */
    gracefulRestart?: { stale: number };
  }[];
  /** BFD packets dropped before reaching a session, by reason (monotonic). */
  bfdDropped?(): Readonly<Record<string, number>>;
  ribSize(): number;
  startedAt: number;
  counters: AgentCounters;
  /** The kernel data plane, when enabled. */
  dataplane?(): { routes: Record<string, number>; batches: number; linesApplied: number; lineErrors: number; problems: readonly string[]; held: number } | undefined;
}

/** Process-wide counters the agent bumps; monotonic for the life of the process. */
export interface AgentCounters {
  updatesReceived: number;
  updatesSent: number;
  bestPathChanges: number;
  /** Routes not sent to a peer because their attributes do not fit its maximum message size (once per prefix and session). */
  routesTooLarge: number;
}

export class AgentMetrics {
  readonly registry = new Registry();
  private server: Server | undefined;

  constructor(src: MetricsSource) {
    const registers = [this.registry];
    const labelNames = ['peer', 'address', 'type'] as const;
    /** A gauge per peer; a peer whose `read` gives undefined has no series. */
    const perPeer = (name: string, help: string, read: (p: ReturnType<MetricsSource['peerStats']>[number]) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const p of src.peerStats()) {
            const v = read(p);
            if (v !== undefined) this.set({ peer: p.id, address: p.address, type: p.kind }, v);
          }
        },
      });
    new Gauge({
      name: 'weft_peer_session_state',
      help: `BGP session state per peer: 1 for the current state (labels state=${STATE_NAMES.join('|')}), 0 otherwise`,
      labelNames: [...labelNames, 'state'],
      registers,
      collect() {
        this.reset();
        for (const p of src.peerStats()) {
          for (const s of STATE_NAMES) this.set({ peer: p.id, address: p.address, type: p.kind, state: s }, p.state === s ? 1 : 0);
        }
      },
    });
    perPeer('weft_peer_established', '1 when the session is Established', (p) => (p.state === 'Established' ? 1 : 0));
    perPeer('weft_peer_prefixes_received', 'prefixes announced by the peer in this session (before import policy)', (p) => p.received);
    perPeer('weft_peer_prefixes_accepted', 'prefixes of the peer in the Loc-RIB candidates (after import policy)', (p) => p.accepted);
    perPeer('weft_peer_prefixes_advertised', 'prefixes we currently advertise to the peer', (p) => p.advertised);
    perPeer('weft_peer_updates_received', 'UPDATE messages received from the peer since it was configured', (p) => p.updatesIn);
    perPeer('weft_peer_updates_sent', 'UPDATE messages sent to the peer since it was configured', (p) => p.updatesOut);
    perPeer('weft_peer_established_transitions', 'times the session reached Established since the peer was configured', (p) => p.establishedTransitions);
    perPeer('weft_peer_stale_routes', 'routes of the peer kept stale through its graceful restart (RFC 4724 4.2)', (p) => p.gracefulRestart?.stale ?? 0);
    // Counters read from the agent's own at scrape time (monotonic there).
    const counter = (name: string, help: string, read: (c: AgentCounters) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read(src.counters));
        },
      });
    counter('weft_updates_received_total', 'UPDATE messages received from all peers since the agent started', (c) => c.updatesReceived);
    counter('weft_updates_sent_total', 'UPDATE messages sent to all peers since the agent started', (c) => c.updatesSent);
    new Gauge({ name: 'weft_loc_rib_prefixes', help: 'prefixes in the Loc-RIB', registers, collect() { this.set(src.ribSize()); } });
    new Gauge({
      name: 'weft_uptime_seconds',
      help: 'seconds since the agent started',
      registers,
      collect() {
        this.set((Date.now() - src.startedAt) / 1000);
      },
    });
    const dp = () => src.dataplane?.();
    new Gauge({
      name: 'weft_dataplane_routes',
      help: 'routes weft keeps in the kernel, by shape (blackhole|direct|vxlan|ipip): the data plane desired state',
      labelNames: ['shape'],
      registers,
      collect() {
        this.reset();
        for (const [shape, n] of Object.entries(dp()?.routes ?? {})) this.set({ shape }, n);
      },
    });
    const dpGauge = (name: string, help: string, read: (d: NonNullable<ReturnType<typeof dp>>) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.reset();
          const d = dp();
          if (d) this.set(read(d));
        },
      });
    dpGauge('weft_dataplane_batches_total', 'iproute2 batches the data plane applied', (d) => d.batches);
    dpGauge('weft_dataplane_lines_total', 'iproute2 lines the data plane applied without error', (d) => d.linesApplied);
    dpGauge('weft_dataplane_errors_total', 'iproute2 lines that failed', (d) => d.lineErrors);
    dpGauge('weft_dataplane_problems', 'desired entries not written in the last plan (a foreign route in the way, ...)', (d) => d.problems.length);
    dpGauge('weft_dataplane_held_routes', 'routes kept from before a restart, waiting for End-of-RIB', (d) => d.held);
    counter('weft_best_path_changes_total', 'Loc-RIB best-path changes', (c) => c.bestPathChanges);
    counter('weft_routes_too_large_total', 'routes not sent to a peer because their attributes do not fit its maximum message size (once per prefix and session)', (c) => c.routesTooLarge);
    const bfdPeer = (name: string, help: string, read: (b: NonNullable<ReturnType<MetricsSource['peerStats']>[number]['bfd']>) => number) =>
      perPeer(name, help, (p) => (p.bfd ? read(p.bfd) : undefined));
    bfdPeer('weft_peer_bfd_up', 'BFD (RFC 5880) session of the peer: 1 when Up, 0 otherwise (peers without BFD have no series)', (b) => (b.state === 'Up' ? 1 : 0));
    bfdPeer('weft_peer_bfd_up_transitions', 'times the BFD session came Up since the peer was configured', (b) => b.upTransitions);
    bfdPeer('weft_peer_bfd_detection_timeouts', 'times the BFD session went Down because no packet came for a Detection Time', (b) => b.detectionTimeouts);
    bfdPeer('weft_peer_bfd_discarded', 'BFD packets of this session discarded (RFC 5880 6.8.6) since the peer was configured', (b) => Object.values(b.discarded).reduce((x, y) => x + y, 0));
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
    perPeer('weft_peer_routes_too_large', 'routes not sent to the peer in this session: attributes too large for its maximum message size', (p) => p.tooLarge);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Serves GET /metrics; resolves with the bound port. */
  async listen(host: string, port: number, log: Logger): Promise<number> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics\n');
        return;
      }
      this.text().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.message}\n`),
      );
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address();
    const bound = typeof a === 'object' && a ? a.port : port;
    logEvent(log, 'metrics.listening', { host, port: bound });
    return bound;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
