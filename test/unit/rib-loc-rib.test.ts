import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ribUpdatesFromMessage } from '../../src/rib/adj-rib-in.js';
import { AttrInterner } from '../../src/rib/attrs.js';
import { selectBest } from '../../src/rib/decision.js';
import { Rib, type Change } from '../../src/rib/loc-rib.js';
import { Path, type PeerInfo } from '../../src/rib/peer.js';
import { compileImportPolicy } from '../../src/rib/policy.js';
import { parsePrefix, type Prefix } from '../../src/lib/prefix.js';
import { attr } from '../../src/wire/attr-build.js';
import { WireError } from '../../src/wire/errors.js';
import type { PathAttribute, UpdateMessage } from '../../src/wire/types.js';

const LOCAL = { asn: 64512, routerId: '10.0.0.9' };
const ibgp = (n: number, over: Partial<PeerInfo> = {}): PeerInfo => ({
  id: `i${n}`, address: `10.0.0.${n}`, asn: 64512, routerId: `10.0.0.${n}`, type: 'ibgp', isRrClient: false, localAsn: 64512, ...over,
});
const ebgp = (n: number, asn = 65001): PeerInfo => ({ id: `e${n}`, address: `10.0.1.${n}`, asn, routerId: `10.0.1.${n}`, type: 'ebgp', isRrClient: false, localAsn: 64512 });
const attrs = (lp = 100, path: number[] = [65001], extra: PathAttribute[] = []): PathAttribute[] => [
  attr.origin(0), attr.asPath(path), attr.nextHop('10.0.0.100'), attr.localPref(lp), ...extra,
];
const P = (s: string) => parsePrefix(s);

function rib2() {
  const rib = new Rib({ local: LOCAL });
  rib.addPeer(ibgp(1));
  rib.addPeer(ibgp(2));
  return rib;
}

describe('Rib: announce, withdraw, peer down', () => {
  it('reports new, better, withdrawn best paths with reasons', () => {
    const rib = rib2();
    const p = P('10.244.1.0/26');
    let ch = rib.applyUpdate('i1', { announced: [p], withdrawn: [], attrs: attrs(100) });
    expect(ch).toHaveLength(1);
    expect(ch[0]).toMatchObject({ prefix: p, previous: undefined, reason: 'only path' });
    expect(ch[0].best?.peer.id).toBe('i1');
    ch = rib.applyUpdate('i2', { announced: [p], withdrawn: [], attrs: attrs(200) });
    expect(ch[0].best?.peer.id).toBe('i2');
    expect(ch[0].previous?.peer.id).toBe('i1');
    expect(ch[0].reason).toBe('higher LOCAL_PREF 200 vs 100');
    // A worse path from a third peer changes nothing.
    rib.addPeer(ibgp(3));
    expect(rib.applyUpdate('i3', { announced: [p], withdrawn: [], attrs: attrs(50) })).toEqual([]);
    expect(rib.paths(p).map((r) => [r.path.peer.id, r.rank])).toEqual([['i1', 'lost'], ['i2', 'best'], ['i3', 'lost']]);
    // Withdrawing the best re-decides among the rest.
    ch = rib.applyUpdate('i2', { announced: [], withdrawn: [p] });
    expect(ch[0].best?.peer.id).toBe('i1');
    expect(ch[0].reason).toBe('higher LOCAL_PREF 100 vs 50');
    ch = rib.applyUpdate('i1', { announced: [], withdrawn: [p] });
    expect(ch[0]).toMatchObject({ reason: 'only path' });
    ch = rib.applyUpdate('i3', { announced: [], withdrawn: [p] });
    expect(ch[0]).toMatchObject({ best: undefined, reason: 'withdrawn' });
    expect(rib.size()).toBe(0);
  });

  it('treats a re-announcement as an implicit withdraw of the old route, and a duplicate as nothing', () => {
    const rib = rib2();
    const p = P('10.244.1.0/26');
    rib.applyUpdate('i1', { announced: [p], withdrawn: [], attrs: attrs(100) });
    expect(rib.applyUpdate('i1', { announced: [p], withdrawn: [], attrs: attrs(100) })).toEqual([]);
    const ch = rib.applyUpdate('i1', { announced: [p], withdrawn: [], attrs: attrs(300) });
    expect(ch[0].best?.attrs.localPref).toBe(300);
    expect(rib.count('i1')).toEqual({ ipv4: 1, ipv6: 0, total: 1 });
  });

  it('peer down withdraws all its routes and re-decides', () => {
    const rib = rib2();
    const ps = [P('10.244.1.0/26'), P('10.244.2.0/26'), P('fd00:1::/64')];
    rib.applyUpdate('i1', { announced: ps, withdrawn: [], attrs: attrs(200) });
    rib.applyUpdate('i2', { announced: [ps[0]], withdrawn: [], attrs: attrs(100) });
    expect(rib.count('i1')).toEqual({ ipv4: 2, ipv6: 1, total: 3 });
    const ch = rib.peerDown('i1');
    expect(ch).toHaveLength(3);
    expect(ch.find((c) => c.prefix === ps[0])?.best?.peer.id).toBe('i2');
    expect(ch.filter((c) => c.best === undefined).map((c) => c.prefix).sort()).toEqual([ps[1], ps[2]].sort());
    expect(rib.count('i1').total).toBe(0);
    expect([...rib.entries()].map((e) => e.prefix)).toEqual([ps[0]]);
  });

  it('prefers own blocks over learned routes', () => {
    const rib = rib2();
    const p = P('10.244.3.0/26');
    rib.applyUpdate('i1', { announced: [p], withdrawn: [], attrs: attrs(1000) });
    const ch = rib.localAdd(p);
    expect(ch[0]).toMatchObject({ reason: 'locally originated' });
    expect(ch[0].best?.source).toBe('local');
    expect(rib.localCount()).toBe(1);
    expect(rib.localRemove(p)[0].best?.peer.id).toBe('i1');
  });

  it('reports ECMP set changes when multipath is on', () => {
    const rib = new Rib({ local: LOCAL, maxPaths: 4 });
    rib.addPeer(ibgp(1));
    rib.addPeer(ibgp(2));
    const p = P('10.244.1.0/26');
    rib.applyUpdate('i1', { announced: [p], withdrawn: [], attrs: [attr.origin(0), attr.asPath([65001]), attr.nextHop('10.0.0.1')] });
    const ch = rib.applyUpdate('i2', { announced: [p], withdrawn: [], attrs: [attr.origin(0), attr.asPath([65001]), attr.nextHop('10.0.0.2')] });
    expect(ch).toHaveLength(1); // best unchanged (i1: lower router id), multipath grew
    expect(ch[0].best?.peer.id).toBe('i1');
    expect(ch[0].multipath?.map((x) => x.peer.id)).toEqual(['i1', 'i2']);
    expect(rib.multipath(p).map((x) => x.peer.id)).toEqual(['i1', 'i2']);
    const down = rib.peerDown('i2');
    expect(down).toHaveLength(1);
    expect(down[0].multipath).toBeUndefined();
  });

  it('ignores LOCAL_PREF from eBGP peers (RFC 4271 5.1.5)', () => {
    const rib = new Rib({ local: LOCAL });
    rib.addPeer(ebgp(1));
    const p = P('10.244.1.0/26');
    rib.applyUpdate('e1', { announced: [p], withdrawn: [], attrs: attrs(999) });
    expect(rib.best(p)?.attrs.localPref).toBeUndefined();
  });

  it('drops routes with our AS, our ORIGINATOR_ID or our CLUSTER_ID (import-side loop checks)', () => {
    const rib = new Rib({ local: { ...LOCAL, clusterId: '1.1.1.1' } });
    rib.addPeer(ebgp(1));
    rib.addPeer(ibgp(1));
    const p = P('10.244.1.0/26');
    rib.applyUpdate('e1', { announced: [p], withdrawn: [], attrs: attrs(100, [65001]) });
    // The same peer now sends a looped path: the old route goes too (treated as withdraw).
    const ch = rib.applyUpdate('e1', { announced: [p], withdrawn: [], attrs: attrs(100, [65001, 64512, 65003]) });
    expect(ch[0]).toMatchObject({ best: undefined, reason: 'withdrawn' });
    rib.applyUpdate('i1', { announced: [p], withdrawn: [], attrs: attrs(100, [], [attr.originatorId('10.0.0.9')]) });
    rib.applyUpdate('i1', { announced: [p, P('10.244.2.0/26')], withdrawn: [], attrs: attrs(100, [], [attr.clusterList(['2.2.2.2', '1.1.1.1'])]) });
    expect(rib.size()).toBe(0);
    expect(rib.refusals('e1')).toEqual({ 'as-loop': 1 });
    expect(rib.refusals('i1')).toEqual({ 'originator-loop': 1, 'cluster-loop': 2 });
  });

  it('keeps End-of-RIB bookkeeping per family until the peer goes down', () => {
    const rib = rib2();
    rib.endOfRib('i1', { afi: 1, safi: 1 });
    expect(rib.hasEndOfRib('i1', '1/1')).toBe(true);
    expect(rib.hasEndOfRib('i1', '2/1')).toBe(false);
    rib.peerDown('i1');
    expect(rib.hasEndOfRib('i1', '1/1')).toBe(false);
  });

  it('turns a decoded UPDATE into per-family input; treat-as-withdraw withdraws what it announces', () => {
    const m: UpdateMessage = {
      type: 'update',
      withdrawn: [P('10.9.0.0/24') as number],
      attributes: [
        attr.origin(0), attr.asPath([65001]), attr.nextHop('10.0.0.1'),
        attr.mpReach({ afi: 2, safi: 1, nextHop: ['fd00::1'], nlri: [P('fd00:1::/64')] }),
        attr.mpUnreach({ afi: 2, safi: 1, withdrawn: [P('fd00:2::/64')] }),
      ],
      nlri: [P('10.1.0.0/24') as number],
    };
    const [v4, v6] = ribUpdatesFromMessage(m);
    expect(v4).toMatchObject({ announced: [P('10.1.0.0/24')], withdrawn: [P('10.9.0.0/24')] });
    expect(v6).toMatchObject({ announced: [P('fd00:1::/64')], withdrawn: [P('fd00:2::/64')], nextHop: 'fd00::1' });
    const rib = rib2();
    rib.applyUpdate('i1', v6);
    expect(rib.best(P('fd00:1::/64'))?.attrs.nextHop).toBe('fd00::1');
    const bad = { ...m, problems: [new WireError('update.malformed-as-path', 'x', { severity: 'treat-as-withdraw' })] };
    const tw = ribUpdatesFromMessage(bad);
    expect(tw.every((u) => u.announced.length === 0)).toBe(true);
    expect(tw.flatMap((u) => u.withdrawn)).toContain(P('10.1.0.0/24'));
  });
});

describe('Rib: unusable next hops', () => {
  it('refuses an IPv4 route whose next hop is no unicast host address, however it came (MP_REACH_NLRI too)', () => {
    const rib = rib2();
    const p = P('10.244.1.0/26');
    rib.applyUpdate('i1', { announced: [p], withdrawn: [], attrs: attrs() });
    // RFC 4760: the next hop of IPv4 routes in MP_REACH_NLRI overrides NEXT_HOP; the decoder does not check it.
    const ch = rib.applyUpdate('i1', { announced: [p], withdrawn: [], attrs: attrs(), nextHop: '232.0.0.24' });
    expect(ch).toMatchObject([{ prefix: p, best: undefined, reason: 'withdrawn' }]);
    rib.applyUpdate('i1', { announced: [p], withdrawn: [], attrs: attrs(), nextHop: '0.0.0.0' });
    expect(rib.refusals('i1')).toEqual({ 'invalid-next-hop': 2 });
    // An IPv6 next hop (RFC 8950, allowed or not by the session) and IPv6 routes are not this check's.
    rib.applyUpdate('i1', { announced: [p, P('fd00:1::/64')], withdrawn: [], attrs: attrs(), nextHop: 'fd00::1' });
    expect(rib.size()).toBe(2);
  });
});

describe('Rib: import policy and max-prefix', () => {
  it('applies the peer policy per prefix and counts refusals per reason', () => {
    const rib = new Rib({ local: LOCAL });
    rib.addPeer(ibgp(1), compileImportPolicy({ kind: 'mesh', pools: ['10.244.0.0/16'], underlay: '10.0.0.0/24' }));
    rib.applyUpdate('i1', {
      announced: [P('10.244.1.0/26'), P('0.0.0.0/0'), P('10.0.0.0/16'), P('192.168.0.0/24')],
      withdrawn: [],
      attrs: attrs(),
    });
    expect([...rib.entries()].map((e) => e.prefix)).toEqual([P('10.244.1.0/26')]);
    expect(rib.refusals('i1')).toEqual({ 'default-route': 1, 'covers-underlay': 1, 'outside-pools': 1 });
  });

  it('asks for Cease/1 (RFC 4486) once accepted prefixes exceed the limit', () => {
    const rib = new Rib({ local: LOCAL });
    rib.addPeer(ibgp(1), compileImportPolicy({ kind: 'mesh', pools: ['10.244.0.0/16'], maxPrefix: 2 }));
    rib.applyUpdate('i1', { announced: [P('10.244.1.0/26'), P('10.244.2.0/26'), P('10.1.0.0/24')], withdrawn: [], attrs: attrs() });
    expect(rib.checkMaxPrefix('i1')).toBeUndefined(); // 2 accepted, the third refused
    rib.applyUpdate('i1', { announced: [P('10.244.3.0/26')], withdrawn: [], attrs: attrs() });
    const r = rib.checkMaxPrefix('i1');
    expect(r).toMatchObject({ type: 'max-prefix', code: 6, subcode: 1, afi: 1, safi: 1, count: 3, limit: 2 });
    expect([...(r?.data ?? [])]).toEqual([0, 1, 1, 0, 0, 0, 2]);
  });
});

// ------------------------------------------------------------------ property: incremental == brute force

const PEERS: PeerInfo[] = [ibgp(1), ibgp(2, { isRrClient: true }), ebgp(3, 65001), ebgp(4, 65002)];
const PREFIXES: Prefix[] = ['10.244.0.0/26', '10.244.0.64/26', '10.244.1.0/24', 'fd00:1::/64', 'fd00:2::/64'].map(P);
const SPECS: PathAttribute[][] = [
  attrs(100, [65001]),
  attrs(200, [65001, 65005]),
  [attr.origin(1), attr.asPath([65001]), attr.nextHop('10.0.0.101'), attr.med(5)],
  [attr.origin(0), attr.asPath([65001]), attr.nextHop('10.0.0.102'), attr.med(1)],
  [attr.origin(0), attr.asPath([65002]), attr.nextHop('10.0.0.103')],
];

type Ev =
  | { type: 'announce'; peer: number; prefixes: number[]; spec: number }
  | { type: 'withdraw'; peer: number; prefixes: number[] }
  | { type: 'down'; peer: number }
  | { type: 'local-add'; prefix: number; spec: number }
  | { type: 'local-remove'; prefix: number };

const idx = (n: number) => fc.integer({ min: 0, max: n - 1 });
const prefixSet = fc.uniqueArray(idx(PREFIXES.length), { minLength: 1, maxLength: PREFIXES.length });
const event: fc.Arbitrary<Ev> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ type: fc.constant('announce' as const), peer: idx(PEERS.length), prefixes: prefixSet, spec: idx(SPECS.length) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('withdraw' as const), peer: idx(PEERS.length), prefixes: prefixSet }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('down' as const), peer: idx(PEERS.length) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('local-add' as const), prefix: idx(PREFIXES.length), spec: idx(SPECS.length) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('local-remove' as const), prefix: idx(PREFIXES.length) }) },
);

const id = (p: Path | undefined) => (p === undefined ? '-' : `${p.source}:${p.peer.id}:${p.attrs.key}`);

describe('Rib property: incremental Loc-RIB equals a brute-force recomputation', () => {
  it.each([1, 3])('after any event sequence (maxPaths %i)', (maxPaths) => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), (events) => {
        const rib = new Rib({ local: LOCAL, maxPaths });
        for (const p of PEERS) rib.addPeer(p);
        const model = new Map<string, Map<Prefix, number>>(); // peer id ('<local>' for own) -> prefix -> spec
        const seen = new Map<Prefix, string>(); // the best as told by the changes
        const oracle = new AttrInterner();
        const localInfo = { id: '<local>', address: '0.0.0.0', asn: 64512, routerId: LOCAL.routerId, type: 'ibgp' as const, isRrClient: false, localAsn: 64512 };
        const put = (peer: string, p: Prefix, spec: number | undefined) => {
          const m = model.get(peer) ?? new Map<Prefix, number>();
          model.set(peer, m);
          if (spec === undefined) m.delete(p);
          else m.set(p, spec);
        };
        const record = (cs: Change[]) => cs.forEach((c) => seen.set(c.prefix, id(c.best)));
        for (const ev of events) {
          switch (ev.type) {
            case 'announce':
              record(rib.applyUpdate(PEERS[ev.peer].id, { announced: ev.prefixes.map((i) => PREFIXES[i]), withdrawn: [], attrs: SPECS[ev.spec] }));
              ev.prefixes.forEach((i) => put(PEERS[ev.peer].id, PREFIXES[i], ev.spec));
              break;
            case 'withdraw':
              record(rib.applyUpdate(PEERS[ev.peer].id, { announced: [], withdrawn: ev.prefixes.map((i) => PREFIXES[i]) }));
              ev.prefixes.forEach((i) => put(PEERS[ev.peer].id, PREFIXES[i], undefined));
              break;
            case 'down':
              record(rib.peerDown(PEERS[ev.peer].id));
              model.delete(PEERS[ev.peer].id);
              break;
            case 'local-add':
              record(rib.localAdd(PREFIXES[ev.prefix], SPECS[ev.spec]));
              put('<local>', PREFIXES[ev.prefix], ev.spec);
              break;
            case 'local-remove':
              record(rib.localRemove(PREFIXES[ev.prefix]));
              put('<local>', PREFIXES[ev.prefix], undefined);
              break;
          }
          for (const prefix of PREFIXES) {
            const candidates: Path[] = [];
            for (const [peerId, m] of model) {
              const spec = m.get(prefix);
              if (spec === undefined) continue;
              const info = peerId === '<local>' ? localInfo : PEERS.find((p) => p.id === peerId)!;
              // Import: eBGP LOCAL_PREF is ignored.
              const list = info.type === 'ebgp' ? SPECS[spec].filter((a) => a.type !== 'local-pref') : SPECS[spec];
              candidates.push(new Path(peerId === '<local>' ? 'local' : 'peer', info, oracle.intern(list)));
            }
            const want = selectBest(candidates, maxPaths);
            expect(id(rib.best(prefix))).toBe(id(want.best));
            expect(rib.multipath(prefix).map(id)).toEqual(want.multipath.map(id));
            expect(seen.get(prefix) ?? '-').toBe(id(want.best));
          }
          for (const p of PEERS) expect(rib.count(p.id).total).toBe(model.get(p.id)?.size ?? 0);
        }
        // Everything withdrawn: nothing interned is left over.
        for (const p of PEERS) rib.peerDown(p.id);
        for (const prefix of PREFIXES) rib.localRemove(prefix);
        expect(rib.size()).toBe(0);
        expect(rib.interner.size()).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

// ------------------------------------------------------------------ policy changes on held paths

describe('Rib.setPolicy: the routes held from the peer are re-examined (RFC 2918 1)', () => {
  const POOLS = ['10.244.0.0/16', '10.99.0.0/16'];
  const inPools = [P('10.244.1.0/26'), P('10.244.2.0/26'), P('10.99.1.0/24')];

  it('a removed pool withdraws the routes in it at once, without a route refresh (issue 10 item 6)', () => {
    const rib = new Rib({ local: LOCAL });
    rib.addPeer(ibgp(1), compileImportPolicy({ kind: 'mesh', pools: POOLS }));
    rib.applyUpdate('i1', { announced: inPools, withdrawn: [], attrs: attrs() });
    expect(rib.size()).toBe(3);
    const changes = rib.setPolicy('i1', compileImportPolicy({ kind: 'mesh', pools: ['10.244.0.0/16'] }));
    expect(changes).toEqual([{ prefix: P('10.99.1.0/24'), best: undefined, previous: expect.anything(), reason: 'withdrawn' }]);
    expect([...rib.entries()].map((e) => e.prefix)).toEqual(inPools.slice(0, 2));
    expect(rib.refusals('i1')).toEqual({ 'outside-pools': 1 });
    expect(rib.count('i1').total).toBe(2);
    rib.peerDown('i1');
    expect(rib.interner.size()).toBe(0);
  });

  it('applies the new policy to the attributes as received, not on top of the old policy\'s changes', () => {
    const rib = new Rib({ local: LOCAL });
    const tag = 64512 * 65536 + 7;
    const old = compileImportPolicy({
      kind: 'mesh',
      pools: POOLS,
      rules: [{ prefixList: [{ action: 'permit', prefix: '10.244.0.0/16', le: 32 }], action: 'accept', setLocalPref: 300, addCommunities: [tag] }],
    });
    rib.addPeer(ibgp(1), old);
    rib.addPeer(ibgp(2), compileImportPolicy({ kind: 'mesh', pools: POOLS }));
    rib.applyUpdate('i1', { announced: inPools, withdrawn: [], attrs: attrs(100) });
    rib.applyUpdate('i2', { announced: inPools, withdrawn: [], attrs: attrs(200) });
    expect(rib.best(inPools[0])?.peer.id).toBe('i1'); // 300 beats 200
    expect(rib.best(inPools[0])?.attrs).toMatchObject({ localPref: 300, communities: [tag] });
    expect(rib.best(inPools[2])?.peer.id).toBe('i2');

    // The rule goes: i1's routes are back to LOCAL_PREF 100 and no community, so i2 wins.
    const changes = rib.setPolicy('i1', compileImportPolicy({ kind: 'mesh', pools: POOLS }));
    expect(changes.map((c) => [c.prefix, c.best?.peer.id, c.previous?.peer.id])).toEqual([
      [inPools[0], 'i2', 'i1'],
      [inPools[1], 'i2', 'i1'],
    ]);
    const held = new Map(rib.adjRibIn('i1'));
    expect(held.get(inPools[0])).toMatchObject({ localPref: 100, communities: [] });
    // A rule setting another LOCAL_PREF: on the as-received set again.
    rib.setPolicy('i1', compileImportPolicy({ kind: 'mesh', pools: POOLS, rules: [{ action: 'accept', setLocalPref: 250 }] }));
    expect(rib.best(inPools[2])?.attrs).toMatchObject({ localPref: 250, communities: [] });
    expect(rib.best(inPools[2])?.peer.id).toBe('i1');
    for (const p of ['i1', 'i2']) rib.peerDown(p);
    expect(rib.interner.size()).toBe(0);
  });

  it('eBGP routes keep ignoring a received LOCAL_PREF (RFC 4271 5.1.5) when re-examined', () => {
    const rib = new Rib({ local: LOCAL });
    rib.addPeer(ebgp(3), compileImportPolicy({ kind: 'external', pools: POOLS, rules: [{ action: 'accept', setLocalPref: 120 }] }));
    rib.applyUpdate('e3', { announced: [inPools[0]], withdrawn: [], attrs: attrs(999) });
    expect(rib.best(inPools[0])?.attrs.localPref).toBe(120);
    rib.setPolicy('e3', compileImportPolicy({ kind: 'external', pools: POOLS }));
    expect(rib.best(inPools[0])?.attrs.localPref).toBeUndefined();
  });

  it('stale routes (graceful restart, RFC 4724 4.2) stay stale when re-examined, with the new policy\'s changes', () => {
    const rib = new Rib({ local: LOCAL });
    rib.addPeer(ibgp(1), compileImportPolicy({ kind: 'mesh', pools: POOLS }));
    rib.applyUpdate('i1', { announced: inPools, withdrawn: [], attrs: attrs(100) });
    rib.markStale('i1', [0]);
    expect(rib.staleCount('i1')).toBe(3);
    // Unchanged by the new policy: nothing to do. Changed: still stale. Refused: gone.
    expect(rib.setPolicy('i1', compileImportPolicy({ kind: 'mesh', pools: POOLS }))).toEqual([]);
    rib.setPolicy('i1', compileImportPolicy({ kind: 'mesh', pools: ['10.244.0.0/16'], rules: [{ action: 'accept', setLocalPref: 70 }] }));
    expect(rib.staleCount('i1')).toBe(2);
    expect(rib.paths(inPools[0]).map((r) => [r.path.stale, r.path.attrs.localPref])).toEqual([[true, 70]]);
    // The End-of-RIB sweep still finds them.
    rib.sweepStale('i1');
    expect(rib.size()).toBe(0);
    expect(rib.interner.size()).toBe(0);
  });

  it('needsRoutesAgain: only when something was refused and the new policy may accept more', () => {
    const rib = new Rib({ local: LOCAL });
    const narrow = compileImportPolicy({ kind: 'mesh', pools: ['10.244.0.0/16'] });
    const wide = compileImportPolicy({ kind: 'mesh', pools: POOLS });
    rib.addPeer(ibgp(1), narrow);
    rib.applyUpdate('i1', { announced: [inPools[0]], withdrawn: [], attrs: attrs() });
    expect(rib.needsRoutesAgain('i1', wide)).toBe(false); // nothing was ever refused
    rib.applyUpdate('i1', { announced: [inPools[2]], withdrawn: [], attrs: attrs() }); // outside: refused
    expect(rib.needsRoutesAgain('i1', wide)).toBe(true);
    expect(rib.needsRoutesAgain('i1', narrow)).toBe(false);
    expect(rib.needsRoutesAgain('i1', compileImportPolicy({ kind: 'mesh', pools: ['10.244.0.0/17'] }))).toBe(false);
    expect(rib.needsRoutesAgain('i1', { check: narrow.check })).toBe(true); // no configuration: assume it may
    // After a narrowing setPolicy the peer's dropped routes count too.
    const rib2 = new Rib({ local: LOCAL });
    rib2.addPeer(ibgp(1), wide);
    rib2.applyUpdate('i1', { announced: inPools, withdrawn: [], attrs: attrs() });
    expect(rib2.needsRoutesAgain('i1', narrow)).toBe(false);
    rib2.setPolicy('i1', narrow);
    expect(rib2.needsRoutesAgain('i1', wide)).toBe(true);
  });

  it('property: update under A, then setPolicy(B) == every update under "A, then B" from the start', () => {
    const tag = 64512 * 65536 + 9;
    const CFGS = [
      { kind: 'mesh' as const, pools: ['10.244.0.0/16', 'fd00::/16'] },
      { kind: 'mesh' as const, pools: ['10.244.0.0/24', 'fd00:1::/32'] },
      { kind: 'mesh' as const, pools: ['10.244.0.0/16'], rules: [{ prefixList: [{ action: 'permit' as const, prefix: '10.244.0.0/24', le: 32 }], action: 'accept' as const, setLocalPref: 500 }] },
      { kind: 'external' as const, pools: ['10.244.0.0/16', 'fd00::/16'], rules: [{ action: 'accept' as const, addCommunities: [tag], setLocalPref: 90 }] },
      { kind: 'external' as const, pools: ['fd00::/16'], rules: [{ prefixList: [{ action: 'permit' as const, prefix: '10.244.1.0/24' }], action: 'reject' as const }] },
    ];
    const announce = fc.record({ peer: idx(PEERS.length), prefixes: prefixSet, spec: idx(SPECS.length) });
    fc.assert(
      fc.property(fc.array(announce, { maxLength: 25 }), idx(CFGS.length), idx(CFGS.length), idx(PEERS.length), (events, a, b, who) => {
        const A = compileImportPolicy(CFGS[a]);
        const B = compileImportPolicy(CFGS[b]);
        const both = { check: (p: Prefix, x: Parameters<typeof A.check>[1]) => { const v = A.check(p, x); return v.accept ? B.check(p, x) : v; } };
        const real = new Rib({ local: LOCAL });
        const oracle = new Rib({ local: LOCAL });
        PEERS.forEach((p, i) => {
          real.addPeer(p, i === who ? A : undefined);
          oracle.addPeer(p, i === who ? both : undefined);
        });
        const seen = new Map<Prefix, string>();
        for (const ev of events) {
          const u = { announced: ev.prefixes.map((i) => PREFIXES[i]), withdrawn: [], attrs: SPECS[ev.spec] };
          for (const c of real.applyUpdate(PEERS[ev.peer].id, u)) seen.set(c.prefix, id(c.best));
          oracle.applyUpdate(PEERS[ev.peer].id, u);
        }
        for (const c of real.setPolicy(PEERS[who].id, B)) seen.set(c.prefix, id(c.best));
        const view = (r: Rib) => PREFIXES.map((p) => `${p} ${id(r.best(p))} ${r.paths(p).map((x) => id(x.path)).join(' ')}`);
        expect(view(real)).toEqual(view(oracle));
        for (const p of PREFIXES) expect(seen.get(p) ?? '-').toBe(id(real.best(p))); // the changes told the truth
        expect(real.count(PEERS[who].id)).toEqual(oracle.count(PEERS[who].id));
        for (const p of PEERS) real.peerDown(p.id);
        expect(real.interner.size()).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
