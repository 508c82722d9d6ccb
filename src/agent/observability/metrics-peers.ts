/**
 * The per-peer Prometheus metrics, read from the agent at scrape time (no bookkeeping on the hot
 * path). Labels: peer (id), address, type (mesh | external | ...). A peer's series start with it
 * and vanish when it is de-configured; its counters (`_total`) start again from zero when it is
 * re-added, which Prometheus' rate()/increase() treat as a counter reset.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { STATE_NAMES } from '../../session/types.js';
import { BFD_STATE_NAMES } from '../../wire/bfd.js';

export type PrefixFamily = 'ipv4' | 'ipv6';

/** One configured peer, as the metrics see it. */
export interface PeerStat {
  id: string;
  address: string;
  kind: string;
  state: string;
  received: number;
  accepted: number;
  advertised: number;
  /** The three prefix counts per address family (when known). */
  families?: Partial<Record<PrefixFamily, { received: number; accepted: number; advertised: number }>>;
  updatesIn: number;
  updatesOut: number;
  establishedTransitions: number;
  tooLarge: number;
  /** Present when the peer has BFD. */
  bfd?: { state: string; detectionTimeouts: number; upTransitions: number; discarded: Record<string, number> };
  /** Graceful restart (RFC 4724): the peer's routes kept stale, and where the restart stands. */
  gracefulRestart?: { stale: number; negotiated?: boolean; state?: string };
}

/** Graceful restart per peer (peers/graceful-restart.ts view().state), as label values. */
export const GR_STATES = { none: undefined, peer_restarting: 'peer restarting', waiting_for_eor: 'waiting for End-of-RIB', deferred: 'our table deferred (we restarted)' } as const;

const LABELS = ['peer', 'address', 'type'] as const;
type Labels = Record<(typeof LABELS)[number], string>;
const labelsOf = (p: PeerStat): Labels => ({ peer: p.id, address: p.address, type: p.kind });

export function registerPeerMetrics(registry: Registry, peers: () => readonly PeerStat[]): void {
  const registers = [registry];
  /** `put` for each peer whose `read` gives a value (the others have no series). */
  const each = (read: (p: PeerStat) => number | undefined, put: (labels: Labels, v: number) => void) => {
    for (const p of peers()) {
      const v = read(p);
      if (v !== undefined) put(labelsOf(p), v);
    }
  };
  const gauge = (name: string, help: string, read: (p: PeerStat) => number | undefined) =>
    new Gauge({ name, help, labelNames: LABELS, registers, collect() {
      this.reset();
      each(read, (l, v) => this.set(l, v));
    } });
  /** A counter per peer, monotonic while the peer is configured. */
  const counter = (name: string, help: string, read: (p: PeerStat) => number | undefined) =>
    new Counter({ name, help, labelNames: LABELS, registers, collect() {
      this.reset();
      each(read, (l, v) => this.inc(l, v));
    } });
  /** A gauge per peer with one more label: `values` gives [label value, number] pairs. */
  const labelled = (name: string, help: string, extra: string, values: (p: PeerStat) => [string, number][]) =>
    new Gauge({ name, help, labelNames: [...LABELS, extra], registers, collect() {
      this.reset();
      for (const p of peers()) for (const [x, v] of values(p)) this.set({ ...labelsOf(p), [extra]: x }, v);
    } });
  /** A state set: one series per possible state, 1 for the current one (OpenMetrics StateSet). */
  const stateSet = (name: string, help: string, states: readonly string[], read: (p: PeerStat) => string | undefined) =>
    labelled(name, help, 'state', (p) => {
      const current = read(p);
      return current === undefined ? [] : states.map((s) => [s, s === current ? 1 : 0]);
    });

  gauge('weft_peer_up', '1 when the BGP session is Established, 0 otherwise', (p) => (p.state === 'Established' ? 1 : 0));
  stateSet('weft_peer_state', `BGP session state (RFC 4271 8.2.2): 1 for the current state, 0 for the others (state=${STATE_NAMES.join('|')})`, STATE_NAMES, (p) => p.state);
  counter('weft_peer_established_transitions_total', 'times the session reached Established since the peer was configured', (p) => p.establishedTransitions);
  counter('weft_peer_updates_received_total', 'UPDATE messages received from the peer since it was configured (End-of-RIB included)', (p) => p.updatesIn);
  counter('weft_peer_updates_sent_total', 'UPDATE messages sent to the peer since it was configured (End-of-RIB included)', (p) => p.updatesOut);

  type Counts = NonNullable<NonNullable<PeerStat['families']>[PrefixFamily]>;
  const prefixes = (name: string, help: string, read: (f: Counts) => number) =>
    labelled(name, help, 'family', (p) => (['ipv4', 'ipv6'] as const).flatMap((family): [string, number][] => {
      const f = p.families?.[family];
      return f ? [[family, read(f)]] : [];
    }));
  prefixes('weft_peer_prefixes_received', 'prefixes announced by the peer in this session, before import policy, by family (ipv4|ipv6)', (f) => f.received);
  prefixes('weft_peer_prefixes_accepted', 'prefixes of the peer among the Loc-RIB candidates (after import policy), by family', (f) => f.accepted);
  prefixes('weft_peer_prefixes_advertised', 'prefixes we currently advertise to the peer, by family', (f) => f.advertised);
  gauge('weft_peer_routes_too_large', 'routes not sent to the peer in this session: their attributes do not fit its maximum message size', (p) => p.tooLarge);

  // Graceful restart (RFC 4724), for every peer (its state is 'none' unless a restart is under way).
  gauge('weft_peer_stale_routes', 'routes of the peer kept stale through its graceful restart (RFC 4724 4.2)', (p) => p.gracefulRestart?.stale ?? 0);
  gauge('weft_peer_graceful_restart_negotiated', '1 when both sides sent the Graceful Restart capability (while Established)', (p) => (p.gracefulRestart?.negotiated ? 1 : 0));
  const grLabel = (s: string | undefined) => (Object.entries(GR_STATES).find(([, v]) => v === s)?.[0] ?? 'none');
  stateSet('weft_peer_graceful_restart_state', 'graceful restart of the session: 1 for the current state (none|peer_restarting|waiting_for_eor|deferred)', Object.keys(GR_STATES), (p) => grLabel(p.gracefulRestart?.state));

  // BFD (RFC 5880), only for peers that have it.
  gauge('weft_peer_bfd_up', 'BFD session of the peer: 1 when Up, 0 otherwise (peers without BFD have no series)', (p) => (p.bfd ? (p.bfd.state === 'Up' ? 1 : 0) : undefined));
  stateSet('weft_peer_bfd_state', `BFD session state (RFC 5880 4.1): 1 for the current state (state=${BFD_STATE_NAMES.join('|')})`, BFD_STATE_NAMES, (p) => p.bfd?.state);
  counter('weft_peer_bfd_up_transitions_total', 'times the BFD session came Up since the peer was configured', (p) => p.bfd?.upTransitions);
  counter('weft_peer_bfd_detection_timeouts_total', 'times the BFD session went Down because no packet came within a Detection Time', (p) => p.bfd?.detectionTimeouts);
  counter('weft_peer_bfd_discarded_total', 'BFD packets of this session discarded (RFC 5880 6.8.6) since the peer was configured', (p) => (p.bfd ? Object.values(p.bfd.discarded).reduce((x, y) => x + y, 0) : undefined));
}
