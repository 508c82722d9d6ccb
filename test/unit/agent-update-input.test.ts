// The agent's RIB input (src/agent/update-input.ts): IPv4 unicast in MP_REACH_NLRI with an IPv6
// next hop (as GoBGP sends it over an IPv6 session) is treated as withdrawn and counted as
// refused for 'next-hop-family' unless RFC 8950 extended next hop was negotiated.
import { describe, expect, it } from 'vitest';
import { ribInput } from '../../src/agent/peers/update-input.js';
import { formatPrefix, parsePrefix } from '../../src/lib/prefix.js';
import { Rib } from '../../src/rib/loc-rib.js';
import type { PeerInfo } from '../../src/rib/peer.js';
import { attr } from '../../src/wire/attr-build.js';
import { decodeMessage, encodeMessage } from '../../src/wire/message.js';
import type { PathAttribute, UpdateMessage } from '../../src/wire/types.js';

const P = (t: string) => parsePrefix(t);
const BASE: PathAttribute[] = [attr.origin(0), attr.asPath([65010])];

/** Through the real codec, as the bytes would arrive from the peer. */
function wire(attributes: PathAttribute[], nlri: string[] = [], withdrawn: string[] = []): UpdateMessage {
  const m = decodeMessage(encodeMessage({ type: 'update', withdrawn: withdrawn.map(P) as never, attributes, nlri: nlri.map(P) as never }));
  if (m.type !== 'update') throw new Error('not an UPDATE');
  return m;
}

const v4Reach = (nextHop: string[], nlri: string[]) => attr.mpReach({ afi: 1, safi: 1, nextHop, nlri: nlri.map(P) });

const PEER: PeerInfo = { id: 'gobgp', address: 'fd00::13', asn: 65010, routerId: '10.0.0.13', type: 'ebgp', isRrClient: false, localAsn: 64512 };

function ribWithPeer(): Rib {
  const rib = new Rib({ local: { asn: 64512, routerId: '10.0.0.1' } });
  rib.addPeer(PEER);
  return rib;
}

describe('ribInput', () => {
  it('IPv4 NLRI in MP_REACH_NLRI with an IPv6 next hop, no extended next hop: withdrawn, refused as next-hop-family', () => {
    const m = wire([...BASE, v4Reach(['fd00::13'], ['10.112.1.0/24', '10.112.2.0/24'])]);
    const r = ribInput(m, { ipv4ExtendedNextHop: false });
    expect(r.announced).toBe(2);
    expect(r.refused).toEqual({ 'next-hop-family': 2 });
    expect(r.updates.every((u) => u.announced.length === 0)).toBe(true);
    expect(r.updates.flatMap((u) => u.withdrawn).map(formatPrefix)).toEqual(['10.112.1.0/24', '10.112.2.0/24']);

    // A route the peer had announced before with a usable next hop goes away.
    const rib = ribWithPeer();
    for (const u of ribInput(wire([...BASE, v4Reach(['10.0.0.13'], ['10.112.1.0/24'])]), { ipv4ExtendedNextHop: false }).updates) rib.applyUpdate('gobgp', u);
    expect(rib.size()).toBe(1);
    for (const u of r.updates) rib.applyUpdate('gobgp', u);
    expect(rib.size()).toBe(0);
  });

  it('with RFC 8950 negotiated the same routes are kept with the IPv6 next hop', () => {
    const m = wire([...BASE, v4Reach(['fd00::13'], ['10.112.1.0/24'])]);
    const r = ribInput(m, { ipv4ExtendedNextHop: true });
    expect(r.refused).toEqual({});
    expect(r.updates).toHaveLength(1);
    expect(r.updates[0]).toMatchObject({ nextHop: 'fd00::13', withdrawn: [] });
    expect(r.updates[0].announced.map(formatPrefix)).toEqual(['10.112.1.0/24']);
  });

  it('IPv4 in MP_REACH_NLRI with an IPv4 next hop is announced with that next hop; MP_UNREACH_NLRI IPv4 withdraws', () => {
    const rib = ribWithPeer();
    const r = ribInput(wire([...BASE, v4Reach(['10.0.0.13'], ['10.112.1.0/24'])]), { ipv4ExtendedNextHop: false });
    expect(r).toMatchObject({ announced: 1, refused: {} });
    for (const u of r.updates) rib.applyUpdate('gobgp', u);
    expect([...rib.entries()].map((e) => [formatPrefix(e.prefix), e.best.attrs.nextHop])).toEqual([['10.112.1.0/24', '10.0.0.13']]);
    const w = ribInput(wire([attr.mpUnreach({ afi: 1, safi: 1, withdrawn: [P('10.112.1.0/24')] })]), { ipv4ExtendedNextHop: false });
    expect(w.announced).toBe(0);
    for (const u of w.updates) rib.applyUpdate('gobgp', u);
    expect(rib.size()).toBe(0);
  });

  it('the IPv4 NLRI field and IPv6 MP_REACH_NLRI pass as before, counted as announced', () => {
    const m = wire([...BASE, attr.nextHop('10.0.0.13'), attr.mpReach({ afi: 2, safi: 1, nextHop: ['fd00::13'], nlri: [P('fd11:3::/48')] })], ['10.113.1.0/24']);
    const r = ribInput(m, { ipv4ExtendedNextHop: false });
    expect(r.announced).toBe(2);
    expect(r.refused).toEqual({});
    expect(r.updates.flatMap((u) => u.announced).map(formatPrefix).sort()).toEqual(['10.113.1.0/24', 'fd11:3::/48']);
  });
});
