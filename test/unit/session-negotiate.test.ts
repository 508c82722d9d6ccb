/** Capability negotiation: intersections, per-direction results and the WireOptions of the session. */
import { describe, expect, it } from 'vitest';
import { familiesOf, localCapabilities, negotiate, type NegotiationInput } from '../../src/session/index.js';
import type { Capability } from '../../src/wire/types.js';
import { peerOpen } from './session-fixtures.js';

const V4 = { afi: 1, safi: 1 };
const V6 = { afi: 2, safi: 1 };

function local(caps: Capability[], over: Partial<NegotiationInput> = {}): NegotiationInput {
  return { localAs: 64512, holdTime: 90, keepaliveTime: undefined, capabilities: caps, ...over };
}

const both = localCapabilities({ localAs: 64512, families: [V4, V6] });

describe('families (RFC 4760 8)', () => {
  it('is the intersection, in our order', () => {
    const peer = peerOpen({ capabilities: localCapabilities({ localAs: 64512, families: [V6, { afi: 1, safi: 2 }, V4] }) });
    expect(negotiate(local(both), peer).families).toEqual([V4, V6]);
    expect(negotiate(local(localCapabilities({ localAs: 64512, families: [V6] })), peerOpen()).families).toEqual([]);
  });

  it('a peer without any multiprotocol capability gets IPv4 unicast only', () => {
    expect(negotiate(local(both), peerOpen({ capabilities: [] })).families).toEqual([V4]);
    expect(familiesOf([{ type: 'route-refresh' }])).toEqual([V4]);
    expect(familiesOf([{ type: 'multiprotocol', afi: 2, safi: 1 }, { type: 'multiprotocol', afi: 2, safi: 1 }])).toEqual([V6]);
  });
});

describe('simple capabilities: both sides needed', () => {
  it('four-octet AS, route refresh (either code), enhanced route refresh, extended message', () => {
    const ours = localCapabilities({ localAs: 64512, enhancedRouteRefresh: true, extendedMessage: true });
    const full = negotiate(local(ours), peerOpen({ capabilities: ours }));
    expect([full.fourOctetAs, full.routeRefresh, full.enhancedRouteRefresh, full.extendedMessage]).toEqual([true, true, true, true]);
    expect(full.decode).toMatchObject({ fourOctetAs: true, extendedMessage: true });

    const old = negotiate(local(ours), peerOpen({ capabilities: [{ type: 'route-refresh-old' }] }));
    expect([old.fourOctetAs, old.routeRefresh, old.enhancedRouteRefresh, old.extendedMessage]).toEqual([false, true, false, false]);
    expect(old.decode).toMatchObject({ fourOctetAs: false, extendedMessage: false });

    const mine = negotiate(local([{ type: 'multiprotocol', afi: 1, safi: 1 }]), peerOpen({ capabilities: ours }));
    expect([mine.fourOctetAs, mine.routeRefresh, mine.enhancedRouteRefresh, mine.extendedMessage]).toEqual([false, false, false, false]);
  });

  it('hold time is the smaller one; keepalive a third of it; internal when the AS is ours', () => {
    const r = negotiate(local(both, { holdTime: 30 }), peerOpen({ holdTime: 240 }));
    expect([r.holdTime, r.keepaliveMs, r.internal, r.peerAs]).toEqual([30, 10_000, true, 64512]);
    const e = negotiate(local(both), peerOpen({ asn: 4_200_000_000, holdTime: 9 }));
    expect([e.holdTime, e.keepaliveMs, e.internal, e.peerAs]).toEqual([9, 3000, false, 4_200_000_000]);
  });
});

describe('add-path (RFC 7911 4)', () => {
  it('send needs our send and their receive; receive the opposite; per family', () => {
    const ours = localCapabilities({ localAs: 64512, families: [V4, V6], addPath: [{ ...V4, sendReceive: 3 }, { ...V6, sendReceive: 1 }] });
    const theirs = localCapabilities({ localAs: 64512, families: [V4, V6], addPath: [{ ...V4, sendReceive: 1 }, { ...V6, sendReceive: 3 }] });
    const r = negotiate(local(ours), peerOpen({ capabilities: theirs }));
    expect(r.addPath).toEqual([
      { ...V4, send: true, receive: false },
      { ...V6, send: false, receive: true },
    ]);
    expect([...r.encode.addPath]).toEqual(['1/1']);
    expect([...r.decode.addPath]).toEqual(['2/1']);
  });

  it('is only for negotiated families', () => {
    const ours = localCapabilities({ localAs: 64512, families: [V4], addPath: [{ ...V6, sendReceive: 3 }] });
    const theirs = localCapabilities({ localAs: 64512, families: [V4, V6], addPath: [{ ...V6, sendReceive: 3 }] });
    expect(negotiate(local(ours), peerOpen({ capabilities: theirs })).addPath).toEqual([]);
  });
});

describe('graceful restart, extended next hop, hostname', () => {
  it('reports the peer graceful restart parameters for negotiated families', () => {
    const theirs: Capability[] = [
      ...localCapabilities({ localAs: 64512, families: [V4] }),
      { type: 'graceful-restart', flags: 0xc, time: 120, families: [{ ...V4, flags: 0x80 }, { ...V6, flags: 0 }] },
    ];
    const r = negotiate(local(both), peerOpen({ capabilities: theirs }));
    expect(r.gracefulRestart).toEqual({
      local: false,
      peer: { restartTime: 120, restarting: true, notification: true, families: [{ ...V4, forwardingPreserved: true }] },
    });
    expect(negotiate(local(both), peerOpen()).gracefulRestart).toEqual({ local: false, peer: undefined });
  });

  it('extended next hop: send what the peer accepts, receive what we accept', () => {
    const ours = localCapabilities({ localAs: 64512, extendedNextHop: [{ ...V4, nextHopAfi: 2 }] });
    const theirs = localCapabilities({ localAs: 64512, extendedNextHop: [{ afi: 1, safi: 1, nextHopAfi: 2 }, { afi: 1, safi: 128, nextHopAfi: 2 }] });
    const r = negotiate(local(ours), peerOpen({ capabilities: theirs }));
    expect(r.extendedNextHop).toEqual({ send: [{ ...V4, nextHopAfi: 2 }], receive: [{ ...V4, nextHopAfi: 2 }] });
    expect(negotiate(local(ours), peerOpen()).extendedNextHop).toEqual({ send: [], receive: [{ ...V4, nextHopAfi: 2 }] });
  });

  it('peer hostname from the FQDN capability', () => {
    const theirs = localCapabilities({ localAs: 64512, hostname: { hostname: 'host-b', domain: 'lab' } });
    expect(negotiate(local(both), peerOpen({ capabilities: theirs })).peerHostname).toEqual({ hostname: 'host-b', domain: 'lab' });
    expect(negotiate(local(both), peerOpen()).peerHostname).toBeUndefined();
  });
});
