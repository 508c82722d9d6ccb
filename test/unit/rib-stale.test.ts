/** Stale routes of graceful restart in the Loc-RIB (RFC 4724 4.2): each rule. */
import { describe, expect, it } from 'vitest';
import { Rib } from '../../src/rib/loc-rib.js';
import { DECISION_STEPS } from '../../src/rib/decision.js';
import type { PeerInfo } from '../../src/rib/peer.js';
import { parsePrefix } from '../../src/lib/prefix.js';
import { attr } from '../../src/wire/attr-build.js';
import type { PathAttribute } from '../../src/wire/types.js';

const LOCAL = { asn: 64512, routerId: '10.0.0.9' };
const ibgp = (n: number, over: Partial<PeerInfo> = {}): PeerInfo => ({
  id: `i${n}`, address: `10.0.0.${n}`, asn: 64512, routerId: `10.0.0.${n}`, type: 'ibgp', isRrClient: false, localAsn: 64512, ...over,
});
const attrs = (lp = 100, nh = '10.0.0.100'): PathAttribute[] => [attr.origin(0), attr.asPath([]), attr.nextHop(nh), attr.localPref(lp)];
const P = (s: string) => parsePrefix(s);
const A = P('10.244.1.0/26');
const B = P('10.244.2.0/26');
const V6 = P('fd00:10::/64');

function ribWith(...peers: number[]) {
  const rib = new Rib({ local: LOCAL });
  for (const n of peers) rib.addPeer(ibgp(n));
  return rib;
}

describe('Rib stale routes (graceful restart)', () => {
  it('markStale keeps the routes, same attributes, marked stale, in the listed families only', () => {
    const rib = ribWith(1);
    rib.applyUpdate('i1', { announced: [A, B], withdrawn: [], attrs: attrs() });
    rib.applyUpdate('i1', { announced: [V6], withdrawn: [], attrs: attrs(), nextHop: 'fd00::1' });
    const ch = rib.markStale('i1', [0]);
    expect(ch.map((c) => c.reason)).toEqual(['stale: kept through graceful restart', 'stale: kept through graceful restart']);
    expect(rib.best(A)?.stale).toBe(true);
    expect(rib.best(A)?.attrs).toBe(ch[0].previous?.attrs);
    expect(rib.best(V6)?.stale).toBe(false);
    expect(rib.staleCount('i1')).toBe(2);
    expect(rib.size()).toBe(3);
    // Marking again changes nothing.
    expect(rib.markStale('i1', [0])).toEqual([]);
  });

  it('a fresh path beats a stale one, whatever the other attributes say, with its own reason', () => {
    const rib = ribWith(1, 2);
    rib.applyUpdate('i1', { announced: [A], withdrawn: [], attrs: attrs(300) });
    rib.applyUpdate('i2', { announced: [A], withdrawn: [], attrs: attrs(100, '10.0.0.101') });
    expect(rib.best(A)?.peer.id).toBe('i1');
    const ch = rib.markStale('i1', [0, 1]);
    expect(ch).toHaveLength(1);
    expect(ch[0]).toMatchObject({ reason: 'fresh over stale (graceful restart)' });
    expect(ch[0].best?.peer.id).toBe('i2');
    expect(rib.paths(A).map((r) => [r.path.peer.id, r.rank])).toEqual([['i1', 'lost'], ['i2', 'best']]);
    expect(DECISION_STEPS.map((s) => s.name).slice(0, 2)).toEqual(['local', 'not-stale']);
  });

  it('a stale and a fresh path never form a multipath set', () => {
    const rib = new Rib({ local: LOCAL, maxPaths: 4 });
    rib.addPeer(ibgp(1));
    rib.addPeer(ibgp(2));
    rib.applyUpdate('i1', { announced: [A], withdrawn: [], attrs: attrs(100, '10.0.0.100') });
    rib.applyUpdate('i2', { announced: [A], withdrawn: [], attrs: attrs(100, '10.0.0.101') });
    expect(rib.multipath(A)).toHaveLength(2);
    rib.markStale('i1', [0]);
    expect(rib.multipath(A).map((p) => p.peer.id)).toEqual(['i2']);
  });

  it('the peer comes back (same info): its stale routes stay until End-of-RIB; re-announced ones turn fresh', () => {
    const rib = ribWith(1);
    rib.applyUpdate('i1', { announced: [A, B], withdrawn: [], attrs: attrs() });
    rib.markStale('i1', [0]);
    rib.addPeer(ibgp(1));
    expect(rib.staleCount('i1')).toBe(2);
    const re = rib.applyUpdate('i1', { announced: [A], withdrawn: [], attrs: attrs() });
    expect(re).toHaveLength(1);
    expect(re[0].best?.stale).toBe(false);
    expect(re[0].previous?.stale).toBe(true);
    expect(re[0].best?.attrs).toBe(re[0].previous?.attrs);
    expect(rib.staleCount('i1')).toBe(1);
    // End-of-RIB for IPv4: B, not announced again, goes; A stays.
    const swept = rib.sweepStale('i1', 0);
    expect(swept.map((c) => [c.prefix, c.best])).toEqual([[B, undefined]]);
    expect(rib.best(A)?.stale).toBe(false);
    expect(rib.staleCount('i1')).toBe(0);
    expect(rib.size()).toBe(1);
  });

  it('sweepStale by family leaves the other family stale', () => {
    const rib = ribWith(1);
    rib.applyUpdate('i1', { announced: [A], withdrawn: [], attrs: attrs() });
    rib.applyUpdate('i1', { announced: [V6], withdrawn: [], attrs: attrs(), nextHop: 'fd00::1' });
    rib.markStale('i1', [0, 1]);
    expect(rib.sweepStale('i1', 0)).toHaveLength(1);
    expect(rib.best(V6)?.stale).toBe(true);
    expect(rib.sweepStale('i1')).toHaveLength(1);
    expect(rib.size()).toBe(0);
  });

  it('a peer that comes back as something else (new router id) cannot inherit stale routes', () => {
    const rib = ribWith(1);
    rib.applyUpdate('i1', { announced: [A], withdrawn: [], attrs: attrs() });
    rib.markStale('i1', [0]);
    expect(() => rib.addPeer(ibgp(1, { routerId: '10.9.9.9' }))).toThrow(/still has routes/);
    rib.sweepStale('i1');
    rib.addPeer(ibgp(1, { routerId: '10.9.9.9' }));
    expect(rib.size()).toBe(0);
  });

  it('stale routes are withdrawn by the peer like any other, and peerDown removes them', () => {
    const rib = ribWith(1);
    rib.applyUpdate('i1', { announced: [A, B], withdrawn: [], attrs: attrs() });
    rib.markStale('i1', [0]);
    rib.addPeer(ibgp(1));
    rib.applyUpdate('i1', { announced: [], withdrawn: [A] });
    expect(rib.staleCount('i1')).toBe(1);
    expect(rib.removePeer('i1')).toHaveLength(1);
    expect(rib.size()).toBe(0);
  });

  it('attribute sets are released when the stale routes go (no leak in the interner)', () => {
    const rib = ribWith(1);
    const before = rib.interner.size();
    rib.applyUpdate('i1', { announced: [A, B], withdrawn: [], attrs: attrs() });
    rib.markStale('i1', [0]);
    rib.addPeer(ibgp(1));
    rib.applyUpdate('i1', { announced: [A], withdrawn: [], attrs: attrs() });
    rib.sweepStale('i1');
    rib.removePeer('i1');
    expect(rib.interner.size()).toBe(before);
  });
});
