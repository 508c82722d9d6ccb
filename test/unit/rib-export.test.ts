import { describe, expect, it } from 'vitest';
import { AdjRibOut, batchMessages, prependAs, type ExportPeerConfig } from '../../src/rib/export.js';
import { Rib } from '../../src/rib/loc-rib.js';
import type { PeerInfo } from '../../src/rib/peer.js';
import { compileExportPolicy } from '../../src/rib/policy.js';
import { formatPrefix, parsePrefix, type Prefix } from '../../src/lib/prefix.js';
import { attr } from '../../src/wire/attr-build.js';
import { AS_TRANS, WellKnownCommunity } from '../../src/wire/iana.js';
import { DEFAULT_WIRE_OPTIONS, type PathAttribute } from '../../src/wire/types.js';
import { decodeUpdate, encodeUpdate } from '../../src/wire/update.js';
import type { TooLarge } from '../../src/wire/update-pack.js';
import { ribUpdatesFromMessage } from '../../src/rib/adj-rib-in.js';

const LOCAL = { asn: 64512, routerId: '10.0.0.9', clusterId: '9.9.9.9' };
const SELF = { ipv4: '10.0.0.9', ipv6: 'fd00::9' };
const ib = (n: number, isRrClient = false): PeerInfo => ({
  id: `i${n}`, address: `10.0.0.${n}`, asn: 64512, routerId: `10.0.0.${n}`, type: 'ibgp', isRrClient, localAsn: 64512,
});
const eb = (n: number): PeerInfo => ({ id: `e${n}`, address: `10.0.1.${n}`, asn: 65000 + n, routerId: `10.0.1.${n}`, type: 'ebgp', isRrClient: false, localAsn: 64512 });
const P = (s: string) => parsePrefix(s);
const learned = (extra: PathAttribute[] = [], path = [65001]): PathAttribute[] => [
  attr.origin(0), attr.asPath(path), attr.nextHop('10.0.0.77'), attr.localPref(150), attr.med(20), ...extra,
];

function setup(peers: PeerInfo[], opts: { reflector?: boolean; cfg?: Partial<ExportPeerConfig> } = {}) {
  const rib = new Rib({ local: LOCAL });
  const out = new AdjRibOut(rib, { local: LOCAL, routeReflector: opts.reflector });
  for (const p of peers) {
    rib.addPeer(p);
    out.addPeer({ info: p, nextHopSelf: SELF, ...opts.cfg });
  }
  const apply = (cs: ReturnType<Rib['applyUpdate']>) => out.onChanges(cs);
  return { rib, out, apply };
}

describe('Adj-RIB-Out: export rules', () => {
  it('sends own blocks to every peer with NEXT_HOP self; eBGP gets our AS prepended and no LOCAL_PREF', () => {
    const { rib, out, apply } = setup([ib(1), eb(2)]);
    const v4 = P('10.244.3.0/26');
    const v6 = P('fd00:244:3::/64');
    apply(rib.localAdd(v4));
    apply(rib.localAdd(v6));
    const toI = out.desired('i1', v4);
    expect(toI).toMatchObject({ nextHop: '10.0.0.9', localPref: 100, asPath: [] });
    expect(out.desired('i1', v6)?.nextHop).toBe('fd00::9');
    const toE = out.desired('e2', v4);
    expect(toE).toMatchObject({ nextHop: '10.0.0.9', localPref: undefined, asPath: [{ kind: 'sequence', asns: [64512] }] });
  });

  it('split horizon: iBGP-learned routes go to eBGP peers only when not reflecting', () => {
    const { rib, out, apply } = setup([ib(1), ib(2), eb(3)]);
    const p = P('10.244.7.0/26');
    apply(rib.applyUpdate('i1', { announced: [p], withdrawn: [], attrs: learned([attr.originatorId('10.0.0.55')]) }));
    expect(out.desired('i2', p)).toBeUndefined();
    expect(out.desired('i1', p)).toBeUndefined(); // never back to the sender
    const e = out.desired('e3', p);
    expect(e).toMatchObject({
      asPath: [{ kind: 'sequence', asns: [64512, 65001] }],
      nextHop: '10.0.0.9',
      localPref: undefined,
      med: undefined, // RFC 4271 5.1.4: not passed to another AS
      originatorId: undefined,
      clusterList: [],
    });
  });

  it('eBGP-learned routes to iBGP peers: NEXT_HOP unchanged (or self when forced), LOCAL_PREF added, MED kept', () => {
    const { rib, out, apply } = setup([ib(1), eb(2)]);
    const p = P('10.244.8.0/26');
    apply(rib.applyUpdate('e2', { announced: [p], withdrawn: [], attrs: learned([], [65002]) }));
    expect(out.desired('i1', p)).toMatchObject({ nextHop: '10.0.0.77', localPref: 100, med: 20 });
    expect(out.desired('e2', p)).toBeUndefined();
    out.addPeer({ info: ib(1), nextHopSelf: SELF, forceNextHopSelf: true });
    expect(out.desired('i1', p)?.nextHop).toBe('10.0.0.9');
  });

  describe('route reflection (RFC 4456 8): client / non-client matrix', () => {
    const c1 = ib(1, true);
    const c2 = ib(2, true);
    const n3 = ib(3, false);
    const n4 = ib(4, false);
    const rows: [string, PeerInfo, PeerInfo, boolean][] = [
      ['client -> other client', c1, c2, true],
      ['client -> non-client', c1, n3, true],
      ['non-client -> client', n3, c1, true],
      ['non-client -> non-client', n3, n4, false],
    ];
    it.each(rows)('%s', (_name, from, to, sent) => {
      const { rib, out, apply } = setup([c1, c2, n3, n4]);
      const p = P('10.244.9.0/26');
      apply(rib.applyUpdate(from.id, { announced: [p], withdrawn: [], attrs: learned() }));
      const got = out.desired(to.id, p);
      if (!sent) {
        expect(got).toBeUndefined();
        return;
      }
      expect(got).toMatchObject({
        nextHop: '10.0.0.77', // RFC 4456 10: unchanged when reflecting
        localPref: 150,
        originatorId: from.routerId, // set when absent
        clusterList: ['9.9.9.9'],
      });
    });

    it('keeps an existing ORIGINATOR_ID and prepends our CLUSTER_ID', () => {
      const { rib, out, apply } = setup([c1, n3]);
      const p = P('10.244.9.0/26');
      apply(rib.applyUpdate('i1', { announced: [p], withdrawn: [], attrs: learned([attr.originatorId('10.0.0.55'), attr.clusterList(['7.7.7.7'])]) }));
      expect(out.desired('i3', p)).toMatchObject({ originatorId: '10.0.0.55', clusterList: ['9.9.9.9', '7.7.7.7'] });
    });
  });

  it('honours NO_ADVERTISE and NO_EXPORT (RFC 1997), and the per-peer export policy', () => {
    const { rib, out, apply } = setup([ib(1), eb(2), eb(3)]);
    const a = P('10.244.10.0/26');
    const b = P('10.244.11.0/26');
    apply(rib.localAdd(a, [attr.origin(0), attr.communities([WellKnownCommunity.NO_EXPORT])]));
    apply(rib.localAdd(b, [attr.origin(0), attr.communities([WellKnownCommunity.NO_ADVERTISE])]));
    expect(out.desired('i1', a)).toBeDefined();
    expect(out.desired('e2', a)).toBeUndefined();
    expect(out.desired('i1', b)).toBeUndefined();
    const c = P('10.244.12.0/26');
    apply(rib.localAdd(c));
    out.addPeer({ info: eb(3), nextHopSelf: SELF, policy: compileExportPolicy([{ prefixList: [{ action: 'permit', prefix: c }], action: 'reject' }]) });
    expect(out.desired('e3', c)).toBeUndefined();
    expect(out.desired('e2', c)).toBeDefined();
  });

  it('removes confederation segments before the path leaves for an eBGP peer (RFC 5065), keeps them towards iBGP', () => {
    const { rib, out, apply } = setup([ib(1), ib(2, true), eb(3)], { reflector: true });
    const p = P('10.244.13.0/26');
    const path = [{ kind: 'confed-sequence' as const, asns: [65501, 65502] }, { kind: 'sequence' as const, asns: [65010] }];
    apply(rib.applyUpdate('i1', { announced: [p], withdrawn: [], attrs: [attr.origin(0), attr.asPath(path), attr.nextHop('10.0.0.77')] }));
    expect(out.desired('e3', p)?.asPath).toEqual([{ kind: 'sequence', asns: [64512, 65010] }]);
    expect(out.desired('i2', p)?.asPath).toEqual(path);
    // Towards a 2-octet-AS eBGP peer the AS4_PATH then merges back to the same path (RFC 6793 4.2.3).
    const opts = { ...DEFAULT_WIRE_OPTIONS, fourOctetAs: false };
    const [m] = batchMessages(out.pendingFor('e3'), opts);
    expect(decodeUpdate(m, opts).attributes.find((a) => a.type === 'as-path')).toMatchObject({ segments: [{ kind: 'sequence', asns: [64512, 65010] }] });
  });

  it('prepends into a leading AS_SEQUENCE, or adds one', () => {
    expect(prependAs([{ kind: 'set', asns: [1, 2] }], 7)).toEqual([{ kind: 'sequence', asns: [7] }, { kind: 'set', asns: [1, 2] }]);
    expect(prependAs([{ kind: 'sequence', asns: [1] }], 7)).toEqual([{ kind: 'sequence', asns: [7, 1] }]);
  });
});

describe('Adj-RIB-Out: pending, full table, messages', () => {
  const sorted = (xs: Prefix[]) => xs.map(formatPrefix).sort();

  it('tracks what was sent: incremental changes, withdrawals, nothing twice', () => {
    const { rib, out, apply } = setup([ib(1), eb(2)]);
    const ps = ['10.244.1.0/26', '10.244.2.0/26', '10.244.3.0/26'].map(P);
    apply(rib.applyUpdate('i1', { announced: ps, withdrawn: [], attrs: learned() }));
    let b = out.pendingFor('e2');
    expect(b.withdraw).toEqual([]);
    expect(b.announce).toHaveLength(1);
    expect(sorted(b.announce[0].prefixes)).toEqual(sorted(ps));
    expect(out.pendingFor('e2').announce).toEqual([]); // drained
    apply(rib.applyUpdate('i1', { announced: [ps[0]], withdrawn: [ps[1]], attrs: learned([], [65001, 65009]) }));
    b = out.pendingFor('e2');
    expect(b.withdraw).toEqual([ps[1]]);
    expect(b.announce.map((g) => g.prefixes)).toEqual([[ps[0]]]);
    expect(b.announce[0].attrs.asPath).toEqual([{ kind: 'sequence', asns: [64512, 65001, 65009] }]);
    expect(out.sentTo('e2').size).toBe(2);
    // i1 got nothing: the routes came from it.
    expect(out.pendingFor('i1')).toMatchObject({ announce: [], withdraw: [] });
  });

  it('fullTable re-sends everything and withdraws what is no longer there', () => {
    const { rib, out, apply } = setup([ib(1), eb(2)]);
    const ps = ['10.244.1.0/26', '10.244.2.0/26'].map(P);
    apply(rib.applyUpdate('i1', { announced: ps, withdrawn: [], attrs: learned() }));
    out.pendingFor('e2');
    let b = out.fullTable('e2');
    expect(sorted(b.announce.flatMap((g) => g.prefixes))).toEqual(sorted(ps));
    rib.applyUpdate('i1', { announced: [], withdrawn: [ps[0]] }); // not logged: fullTable must still see it
    b = out.fullTable('e2');
    expect(b.withdraw).toEqual([ps[0]]);
    expect(b.announce.flatMap((g) => g.prefixes)).toEqual([ps[1]]);
    out.peerDown('e2');
    expect(out.sentTo('e2').size).toBe(0);
    rib.peerDown('i1');
    expect(rib.interner.size()).toBe(0); // nothing held by Adj-RIB-Out any more
  });

  it('packs the batch into UPDATEs that decode back to the same routes', () => {
    const { rib, out, apply } = setup([ib(1), eb(2)]);
    const v4 = Array.from({ length: 1500 }, (_, i) => P(`10.${100 + (i >> 8)}.${i & 255}.0/24`));
    apply(rib.applyUpdate('i1', { announced: v4, withdrawn: [], attrs: learned() }));
    apply(rib.localAdd(P('fd00:244:3::/64')));
    const msgs = batchMessages(out.pendingFor('e2'), DEFAULT_WIRE_OPTIONS);
    expect(msgs.length).toBeGreaterThan(1);
    const got: Prefix[] = [];
    let v6hop: string | undefined;
    for (const m of msgs) {
      expect(m.length).toBeLessThanOrEqual(4096);
      const u = decodeUpdate(m, DEFAULT_WIRE_OPTIONS);
      got.push(...u.nlri);
      for (const a of u.attributes) {
        if (a.type === 'mp-reach') {
          got.push(...a.reach.nlri);
          v6hop = a.reach.nextHop[0];
        }
        if (a.type === 'as-path') expect(a.segments[0].asns[0]).toBe(64512);
        expect(a.type).not.toBe('local-pref');
      }
    }
    expect(got.length).toBe(1501);
    expect(v6hop).toBe('fd00::9');
    // Withdrawals pack too.
    apply(rib.peerDown('i1'));
    const wd = batchMessages(out.pendingFor('e2'), DEFAULT_WIRE_OPTIONS);
    expect(wd.flatMap((m) => decodeUpdate(m, DEFAULT_WIRE_OPTIONS).withdrawn)).toHaveLength(1500);
  });

  it('writes AS_TRANS and AS4_PATH towards a 2-octet-AS speaker (RFC 6793 4.2.2)', () => {
    const local = { asn: 4200000001, routerId: '10.0.0.9' };
    const rib = new Rib({ local });
    const out = new AdjRibOut(rib, { local });
    const peer = { ...eb(2), localAsn: 4200000001 };
    rib.addPeer(peer);
    out.addPeer({ info: peer, nextHopSelf: SELF });
    out.onChanges(rib.localAdd(P('10.244.3.0/26')));
    const opts = { ...DEFAULT_WIRE_OPTIONS, fourOctetAs: false };
    const [m] = batchMessages(out.pendingFor('e2'), opts);
    const u = decodeUpdate(m, opts);
    expect(u.attributes.find((a) => a.type === 'as-path')).toMatchObject({ segments: [{ kind: 'sequence', asns: [AS_TRANS] }] });
    expect(u.attributes.find((a) => a.type === 'as4-path')).toMatchObject({ segments: [{ kind: 'sequence', asns: [4200000001] }] });
  });
});

describe('Adj-RIB-Out: routes too large for a peer are skipped, reported and withdrawn (BIRD: "attribute list too long")', () => {
  /**
   * One valid 4096-octet UPDATE from an eBGP peer, as it would arrive: ORIGIN, AS_PATH, NEXT_HOP,
   * a large optional transitive attribute, one /24. Re-encoded for another peer it grows (our AS
   * prepended: +4 octets; LOCAL_PREF added towards iBGP: +7) and no longer fits 4096 octets.
   */
  function fullSizeUpdate(prefix: number): Uint8Array {
    const base = [attr.origin(0), attr.asPath([65002, 65100]), attr.nextHop('10.0.1.2')];
    const fixed = encodeUpdate({ type: 'update', withdrawn: [], attributes: base, nlri: [prefix] }, DEFAULT_WIRE_OPTIONS).length;
    const big = attr.unknown(241, new Uint8Array(4096 - fixed - 4).fill(7), 0xc0 | 0x10);
    const bytes = encodeUpdate({ type: 'update', withdrawn: [], attributes: [...base, big], nlri: [prefix] }, DEFAULT_WIRE_OPTIONS);
    expect(bytes.length).toBe(4096);
    return bytes;
  }

  function receive(rib: Rib, peer: string, bytes: Uint8Array) {
    const m = decodeUpdate(bytes, DEFAULT_WIRE_OPTIONS);
    expect(m.problems).toBeUndefined();
    return ribUpdatesFromMessage(m).flatMap((u) => rib.applyUpdate(peer, u));
  }

  const decodeAllChecked = (msgs: Uint8Array[], max = 4096) =>
    msgs.map((b) => {
      expect(b.length).toBeLessThanOrEqual(max);
      const u = decodeUpdate(b, DEFAULT_WIRE_OPTIONS);
      expect(u.problems).toBeUndefined();
      return u;
    });

  for (const [kind, to] of [
    ['eBGP (our AS prepended)', eb(3)],
    ['iBGP (LOCAL_PREF added)', ib(1)],
  ] as const) {
    it(`to ${kind}: the full-size route is left out, the other groups of the batch go out`, () => {
      const { rib, out, apply } = setup([eb(2), to]);
      const big = P('10.244.20.0/24') as number;
      const small = P('10.244.21.0/24');
      apply(receive(rib, 'e2', fullSizeUpdate(big)));
      apply(rib.applyUpdate('e2', { announced: [small], withdrawn: [], attrs: learned([], [65002]) }));
      apply(rib.localAdd(P('fd00:244:3::/64')));
      const batch = out.pendingFor(to.id);
      expect(batch.announce).toHaveLength(3);
      const reported: TooLarge[] = [];
      const msgs = out.messages(batch, DEFAULT_WIRE_OPTIONS, (t) => reported.push(t));
      expect(reported).toHaveLength(1);
      expect(reported[0]).toMatchObject({ type: 'too-large', prefixes: [big], maxOctets: 4096 });
      // header 19 + two length fields 4 + attributes + the /24 (4 octets) would be over 4096.
      expect(23 + reported[0].attributeOctets + 4).toBeGreaterThan(4096);
      const decoded = decodeAllChecked(msgs);
      // The big prefix is withdrawn (the peer may hold an older version), never announced.
      expect(decoded.flatMap((u) => u.withdrawn)).toEqual([big]);
      expect(decoded.flatMap((u) => u.nlri)).toEqual([small]);
      expect(decoded.flatMap((u) => u.attributes.flatMap((a) => (a.type === 'mp-reach' ? a.reach.nlri : [])))).toEqual(['fd00:244:3::/64']);
      // Not recorded as sent: a later, smaller version is announced again.
      expect(out.sentTo(to.id).has(big)).toBe(false);
      expect(out.sentTo(to.id).has(small)).toBe(true);
      apply(rib.applyUpdate('e2', { announced: [big], withdrawn: [], attrs: learned([], [65002]) }));
      const again = decodeAllChecked(out.messages(out.pendingFor(to.id), DEFAULT_WIRE_OPTIONS, () => expect.unreachable()));
      expect(again.flatMap((u) => u.nlri)).toEqual([big]);
    });
  }

  it('without a callback, batchMessages still returns valid messages (and withdraws what did not fit)', () => {
    const { rib, out, apply } = setup([eb(2), eb(3)]);
    const big = P('10.244.20.0/24') as number;
    apply(receive(rib, 'e2', fullSizeUpdate(big)));
    const msgs = batchMessages(out.pendingFor('e3'), DEFAULT_WIRE_OPTIONS);
    expect(decodeAllChecked(msgs).map((u) => [u.withdrawn, u.nlri])).toEqual([[[big], []]]);
  });

  it('the same route still goes to a peer with extended messages (RFC 8654)', () => {
    const { rib, out, apply } = setup([eb(2), eb(3)]);
    const big = P('10.244.20.0/24') as number;
    apply(receive(rib, 'e2', fullSizeUpdate(big)));
    const ext = { ...DEFAULT_WIRE_OPTIONS, extendedMessage: true };
    const msgs = batchMessages(out.pendingFor('e3'), ext, () => expect.unreachable());
    expect(msgs).toHaveLength(1);
    expect(msgs[0].length).toBe(4100);
    expect(decodeUpdate(msgs[0], ext).nlri).toEqual([big]);
  });

  it('an IPv4 route learned over an IPv6 next hop (RFC 8950) is not sent with that next hop (it cannot be encoded)', () => {
    const { rib, out, apply } = setup([eb(2), ib(1), eb(3)]);
    const p = P('10.244.30.0/24');
    apply(rib.applyUpdate('e2', { announced: [p], withdrawn: [], attrs: learned([], [65002]), nextHop: 'fd00::77' }));
    expect(out.desired('i1', p)).toBeUndefined();
    expect(() => batchMessages(out.pendingFor('i1'), DEFAULT_WIRE_OPTIONS)).not.toThrow();
    // Next hop self (eBGP, or forced) makes it sendable.
    expect(out.desired('e3', p)?.nextHop).toBe('10.0.0.9');
    out.addPeer({ info: ib(1), nextHopSelf: SELF, forceNextHopSelf: true });
    expect(out.desired('i1', p)?.nextHop).toBe('10.0.0.9');
  });
});
