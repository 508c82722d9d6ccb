// Prometheus metric types and names (src/agent/metrics.ts): `_total` names are real counters,
// monotonic when a peer goes; per-peer session values are gauges without the suffix.
import { describe, expect, it } from 'vitest';
import { AgentMetrics, type MetricsSource } from '../../src/agent/observability/metrics.js';
import { countUpdates } from '../../src/agent/peers/peer.js';
import { endOfRibBytes } from '../../src/wire/eor.js';
import { encodeRouteRefresh } from '../../src/wire/route-refresh.js';

type PeerStat = ReturnType<MetricsSource['peerStats']>[number];
const peer = (id: string, updatesIn: number, updatesOut: number): PeerStat => ({
  id,
  address: `10.0.0.${id.length}`,
  kind: 'mesh',
  state: 'Established',
  received: 1,
  accepted: 1,
  advertised: 1,
  updatesIn,
  updatesOut,
  establishedTransitions: 1,
  tooLarge: 0,
});

/** TYPE per metric name and the value of unlabelled samples. */
function parse(text: string) {
  const types = new Map<string, string>();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) types.set(t[1], t[2]);
    const v = /^([a-z_]+) (\S+)$/.exec(line);
    if (v) values.set(v[1], Number(v[2]));
  }
  return { types, values };
}

describe('AgentMetrics', () => {
  it('every _total metric is a counter; the per-peer values are gauges without _total', async () => {
    const peers = [peer('a', 3, 4)];
    const m = new AgentMetrics({ peerStats: () => peers, ribSize: () => 0, startedAt: Date.now(), counters: { updatesReceived: 0, updatesSent: 0, bestPathChanges: 0, routesTooLarge: 0 } });
    const { types } = parse(await m.text());
    for (const [name, type] of types) if (name.endsWith('_total') && !name.startsWith('weft_dataplane_')) expect(type, name).toBe('counter');
    for (const name of ['weft_peer_updates_received', 'weft_peer_updates_sent', 'weft_peer_established_transitions']) expect(types.get(name), name).toBe('gauge');
    for (const name of ['weft_peer_updates_received_total', 'weft_peer_updates_sent_total', 'weft_peer_established_transitions_total']) expect(types.has(name), name).toBe(false);
    expect(types.get('weft_updates_received_total')).toBe('counter');
    expect(types.get('weft_updates_sent_total')).toBe('counter');
  });

  it('the process-wide UPDATE counters only go up, also when a peer is removed', async () => {
    let peers = [peer('a', 0, 0)];
    const counters = { updatesReceived: 0, updatesSent: 0, bestPathChanges: 0, routesTooLarge: 0 };
    const m = new AgentMetrics({ peerStats: () => peers, ribSize: () => 0, startedAt: Date.now(), counters });
    counters.updatesReceived++;
    counters.updatesReceived++;
    counters.updatesSent += 3;
    let v = parse(await m.text()).values;
    expect([v.get('weft_updates_received_total'), v.get('weft_updates_sent_total')]).toEqual([2, 3]);
    peers = []; // the peer goes: the totals stay
    v = parse(await m.text()).values;
    expect([v.get('weft_updates_received_total'), v.get('weft_updates_sent_total')]).toEqual([2, 3]);
    counters.bestPathChanges += 7;
    expect(parse(await m.text()).values.get('weft_best_path_changes_total')).toBe(7);
  });

  it('countUpdates counts UPDATEs (End-of-RIB included), not ROUTE-REFRESH messages', () => {
    const borr = encodeRouteRefresh({ type: 'route-refresh', afi: 1, safi: 1, subtype: 1 });
    expect(countUpdates([borr, endOfRibBytes(1, 1), endOfRibBytes(2, 1), borr])).toBe(2);
  });
});
