// Prometheus metric types and names (src/agent/observability/metrics.ts, metrics-peers.ts):
// every weft counter is a Counter named `_total` and every weft `_total` is a counter; per-peer
// session state as weft_peer_up and the weft_peer_state state set; prefixes per family; the
// default process_* / nodejs_* metrics; weft_build_info; the two histograms.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AgentMetrics, type MetricsSource, type PeerStat } from '../../src/agent/observability/metrics.js';
import { countUpdates } from '../../src/agent/peers/peer.js';
import { endOfRibBytes } from '../../src/wire/eor.js';
import { encodeRouteRefresh } from '../../src/wire/route-refresh.js';

const peer = (id: string, updatesIn: number, updatesOut: number, state = 'Established'): PeerStat => ({
  id,
  address: `10.0.0.${id.length}`,
  kind: 'mesh',
  state,
  received: 3,
  accepted: 2,
  advertised: 1,
  families: { ipv4: { received: 2, accepted: 1, advertised: 1 }, ipv6: { received: 1, accepted: 1, advertised: 0 } },
  updatesIn,
  updatesOut,
  establishedTransitions: 1,
  tooLarge: 0,
  gracefulRestart: { stale: 0, negotiated: true, state: 'waiting for End-of-RIB' },
});

const counters = () => ({ updatesReceived: 0, updatesSent: 0, bestPathChanges: 0, routesTooLarge: 0 });
const dataplane = { routes: { blackhole: 1, direct: 2, vxlan: 0, ipip: 0 }, batches: 4, linesApplied: 9, lineErrors: 1, problems: [], held: 0, inSync: true };

function source(over: Partial<MetricsSource> = {}): MetricsSource {
  return { peerStats: () => [peer('a', 3, 4)], ribSize: () => 5, startedAt: Date.now(), counters: counters(), dataplane: () => dataplane, ...over };
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** TYPE per metric family and every sample (labels parsed; values are plain here). */
function parse(text: string) {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) types.set(t[1], t[2]);
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!s) continue;
    const labels: Record<string, string> = {};
    for (const m of (s[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]] = m[2];
    samples.push({ name: s[1], labels, value: Number(s[3]) });
  }
  const value = (name: string, match: Record<string, string> = {}) => {
    const found = samples.filter((x) => x.name === name && Object.entries(match).every(([k, v]) => x.labels[k] === v));
    expect(found.length, `${name}${JSON.stringify(match)}: one sample`).toBe(1);
    return found[0].value;
  };
  return { types, samples, value };
}

describe('AgentMetrics', () => {
  it('every weft counter is named _total and every weft _total is a counter; the renamed metrics', async () => {
    const { types } = parse(await new AgentMetrics(source()).text());
    const weft = [...types].filter(([n]) => n.startsWith('weft_'));
    expect(weft.length).toBeGreaterThan(30);
    for (const [name, type] of weft) expect(name.endsWith('_total'), `${name} is a ${type}`).toBe(type === 'counter');
    for (const name of [
      'weft_peer_updates_received_total',
      'weft_peer_updates_sent_total',
      'weft_peer_established_transitions_total',
      'weft_dataplane_batches_total',
      'weft_dataplane_lines_total',
      'weft_dataplane_errors_total',
      'weft_updates_received_total',
      'weft_updates_sent_total',
    ]) {
      expect(types.get(name), name).toBe('counter');
    }
    // The old names are gone.
    for (const name of ['weft_peer_updates_received', 'weft_peer_updates_sent', 'weft_peer_established_transitions', 'weft_peer_established', 'weft_peer_session_state']) {
      expect(types.has(name), name).toBe(false);
    }
    expect(types.get('weft_update_to_kernel_seconds')).toBe('histogram');
    expect(types.get('weft_dataplane_batch_duration_seconds')).toBe('histogram');
    expect(types.get('weft_peer_up')).toBe('gauge');
    expect(types.get('weft_peer_state')).toBe('gauge');
  });

  it("prom-client's default process_* and nodejs_* metrics, and weft_build_info with the package version", async () => {
    const m = parse(await new AgentMetrics(source()).text());
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_version_info']) {
      expect(m.types.has(name), name).toBe(true);
    }
    expect(m.value('process_resident_memory_bytes')).toBeGreaterThan(1e6);
    const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    expect(m.value('weft_build_info', { version, node: process.version, arch: process.arch })).toBe(1);
  });

  it('session up and state set per peer; prefixes per family; graceful restart state', async () => {
    const peers = [peer('a', 3, 4), peer('bb', 0, 0, 'Active')];
    const m = parse(await new AgentMetrics(source({ peerStats: () => peers })).text());
    const a = { peer: 'a', address: '10.0.0.1', type: 'mesh' };
    const b = { peer: 'bb', address: '10.0.0.2', type: 'mesh' };
    expect(m.value('weft_peer_up', a)).toBe(1);
    expect(m.value('weft_peer_up', b)).toBe(0);
    // A state set: one series per FSM state, exactly one of them 1.
    const states = m.samples.filter((s) => s.name === 'weft_peer_state' && s.labels.peer === 'bb');
    expect(states.map((s) => s.labels.state).sort()).toEqual(['Active', 'Connect', 'Established', 'Idle', 'OpenConfirm', 'OpenSent']);
    expect(states.filter((s) => s.value === 1).map((s) => s.labels.state)).toEqual(['Active']);
    expect(m.value('weft_peer_updates_received_total', a)).toBe(3);
    expect(m.value('weft_peer_updates_sent_total', a)).toBe(4);
    expect(m.value('weft_peer_prefixes_received', { ...a, family: 'ipv4' })).toBe(2);
    expect(m.value('weft_peer_prefixes_received', { ...a, family: 'ipv6' })).toBe(1);
    expect(m.value('weft_peer_prefixes_accepted', { ...a, family: 'ipv6' })).toBe(1);
    expect(m.value('weft_peer_prefixes_advertised', { ...a, family: 'ipv4' })).toBe(1);
    expect(m.value('weft_peer_graceful_restart_negotiated', a)).toBe(1);
    expect(m.value('weft_peer_graceful_restart_state', { ...a, state: 'waiting_for_eor' })).toBe(1);
    expect(m.value('weft_peer_graceful_restart_state', { ...a, state: 'none' })).toBe(0);
    // No BFD configured: no BFD series.
    expect(m.samples.some((s) => s.name.startsWith('weft_peer_bfd_'))).toBe(false);
  });

  it('the data plane: counters, routes by shape, in sync; none of it without a data plane', async () => {
    const m = parse(await new AgentMetrics(source()).text());
    expect(m.value('weft_dataplane_batches_total')).toBe(4);
    expect(m.value('weft_dataplane_lines_total')).toBe(9);
    expect(m.value('weft_dataplane_errors_total')).toBe(1);
    expect(m.value('weft_dataplane_routes', { shape: 'direct' })).toBe(2);
    expect(m.value('weft_dataplane_in_sync')).toBe(1);
    const off = parse(await new AgentMetrics(source({ dataplane: undefined })).text());
    expect(off.samples.filter((s) => s.name.startsWith('weft_dataplane_') || s.name.startsWith('weft_update_to_kernel'))).toEqual([]);
  });

  it('the process-wide UPDATE counters only go up, also when a peer is removed', async () => {
    let peers = [peer('a', 0, 0)];
    const c = counters();
    const m = new AgentMetrics(source({ peerStats: () => peers, counters: c }));
    c.updatesReceived += 2;
    c.updatesSent += 3;
    let v = parse(await m.text());
    expect([v.value('weft_updates_received_total'), v.value('weft_updates_sent_total')]).toEqual([2, 3]);
    peers = []; // the peer goes: the totals stay, its own series go
    v = parse(await m.text());
    expect([v.value('weft_updates_received_total'), v.value('weft_updates_sent_total')]).toEqual([2, 3]);
    expect(v.samples.some((s) => s.labels.peer === 'a')).toBe(false);
    c.bestPathChanges += 7;
    expect(parse(await m.text()).value('weft_best_path_changes_total')).toBe(7);
  });

  it('the histograms count what the kernel bridge observes: once per UPDATE, once per batch', async () => {
    let now = 1000;
    const metrics = new AgentMetrics(source());
    const o = metrics.dataplaneObserver(() => now);
    o.arrived();
    o.arrived();
    o.handedOff({ v4: 10, v6: 0 });
    now += 40;
    o.batch(12, false);
    o.applied({ v4: 10, v6: 0 });
    o.batch(1500, true);
    const m = parse(await metrics.text());
    expect(m.value('weft_update_to_kernel_seconds_count')).toBe(2);
    expect(m.value('weft_update_to_kernel_seconds_sum')).toBeCloseTo(0.08, 6);
    expect(m.value('weft_update_to_kernel_seconds_bucket', { le: '0.025' })).toBe(0);
    expect(m.value('weft_update_to_kernel_seconds_bucket', { le: '0.05' })).toBe(2);
    expect(m.value('weft_dataplane_batch_duration_seconds_count', { kind: 'incremental' })).toBe(1);
    expect(m.value('weft_dataplane_batch_duration_seconds_count', { kind: 'full' })).toBe(1);
    expect(m.value('weft_dataplane_batch_duration_seconds_sum', { kind: 'full' })).toBeCloseTo(1.5, 6);
  });

  it('countUpdates counts UPDATEs (End-of-RIB included), not ROUTE-REFRESH messages', () => {
    const borr = encodeRouteRefresh({ type: 'route-refresh', afi: 1, safi: 1, subtype: 1 });
    expect(countUpdates([borr, endOfRibBytes(1, 1), endOfRibBytes(2, 1), borr])).toBe(2);
  });
});
