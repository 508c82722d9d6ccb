// BFD in the Prometheus metrics: weft_peer_bfd_up per peer that has BFD (none for the others) and
// the packets dropped before any session, by reason.
import { describe, expect, it } from 'vitest';
import { AgentMetrics, type MetricsSource } from '../../src/agent/observability/metrics.js';

type PeerStat = ReturnType<MetricsSource['peerStats']>[number];
const peer = (id: string, bfd?: PeerStat['bfd']): PeerStat => ({
  id,
  address: `10.0.0.${id.length}`,
  kind: 'mesh',
  state: 'Established',
  received: 0,
  accepted: 0,
  advertised: 0,
  updatesIn: 0,
  updatesOut: 0,
  establishedTransitions: 1,
  tooLarge: 0,
  ...(bfd ? { bfd } : {}),
});

describe('BFD metrics', () => {
  it('weft_peer_bfd_up is 1 when Up, 0 otherwise, absent without BFD; drops counted by reason', async () => {
    const peers = [
      peer('a', { state: 'Up', detectionTimeouts: 2, upTransitions: 3, discarded: { 'your-discriminator-zero': 4 } }),
      peer('bb', { state: 'Down', detectionTimeouts: 0, upTransitions: 0, discarded: {} }),
      peer('ccc'),
    ];
    const m = new AgentMetrics({
      peerStats: () => peers,
      ribSize: () => 0,
      startedAt: Date.now(),
      counters: { updatesReceived: 0, updatesSent: 0, bestPathChanges: 0, routesTooLarge: 0 },
      bfdDropped: () => ({ 'unknown-peer': 5, version: 1 }),
    });
    const text = await m.text();
    expect(text).toContain('weft_peer_bfd_up{peer="a",address="10.0.0.1",type="mesh"} 1');
    expect(text).toContain('weft_peer_bfd_up{peer="bb",address="10.0.0.2",type="mesh"} 0');
    expect(text).not.toMatch(/weft_peer_bfd_up\{peer="ccc"/);
    expect(text).toContain('weft_peer_bfd_detection_timeouts_total{peer="a",address="10.0.0.1",type="mesh"} 2');
    expect(text).toContain('weft_peer_bfd_discarded_total{peer="a",address="10.0.0.1",type="mesh"} 4');
    expect(text).toContain('weft_peer_bfd_up_transitions_total{peer="a",address="10.0.0.1",type="mesh"} 3');
    expect(text).toContain('# TYPE weft_peer_bfd_detection_timeouts_total counter');
    // The state set: one series per RFC 5880 state, 1 for the current one; none without BFD.
    expect(text).toContain('weft_peer_bfd_state{peer="a",address="10.0.0.1",type="mesh",state="Up"} 1');
    expect(text).toContain('weft_peer_bfd_state{peer="a",address="10.0.0.1",type="mesh",state="Down"} 0');
    expect(text).toContain('weft_peer_bfd_state{peer="bb",address="10.0.0.2",type="mesh",state="Down"} 1');
    expect(text).not.toMatch(/weft_peer_bfd_state\{peer="ccc"/);
    expect(text).toContain('# TYPE weft_bfd_packets_dropped_total counter');
    expect(text).toContain('weft_bfd_packets_dropped_total{reason="unknown-peer"} 5');
    expect(text).toContain('weft_bfd_packets_dropped_total{reason="version"} 1');
  });
});

describe('BFD in weft status', () => {
  it('the BFD cell: state, detection time when Up, the socket error, "-" without BFD', async () => {
    const { bfdCell } = await import('../../src/cli/status.js');
    const b = { state: 'Up', detectTimeMs: 900 } as unknown as NonNullable<Parameters<typeof bfdCell>[0]['bfd']>;
    expect(bfdCell({ bfd: b })).toBe('Up 900ms');
    expect(bfdCell({ bfd: { ...b, state: 'Down' } })).toBe('Down');
    expect(bfdCell({ bfd: { ...b, state: 'Down', error: 'cannot bind UDP 3784: EADDRINUSE' } })).toBe('Down (cannot bind UDP 3784: EADDRINUSE)');
    expect(bfdCell({})).toBe('-');
  });
});
