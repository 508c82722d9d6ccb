import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AttrInterner } from '../../src/rib/attrs.js';
import { COMPARATORS, DECISION_STEPS, comparePaths, rankPaths, selectBest } from '../../src/rib/decision.js';
import { Path, type PeerInfo } from '../../src/rib/peer.js';
import { attr } from '../../src/wire/attr-build.js';
import type { PathAttribute } from '../../src/wire/types.js';

const interner = new AttrInterner();

function peer(over: Partial<PeerInfo> & { id: string }): PeerInfo {
  return { address: '10.0.0.2', asn: 64512, routerId: '10.0.0.2', type: 'ibgp', isRrClient: false, localAsn: 64512, ...over };
}

interface Spec {
  localPref?: number;
  asPath?: PathAttribute;
  origin?: number;
  med?: number;
  originatorId?: string;
  clusterList?: string[];
  nextHop?: string;
}

function attrsOf(s: Spec): PathAttribute[] {
  const out: PathAttribute[] = [attr.origin(s.origin ?? 0), s.asPath ?? attr.asPath([65001, 65002]), attr.nextHop(s.nextHop ?? '10.0.0.100')];
  out.push(attr.localPref(s.localPref ?? 100));
  if (s.med !== undefined) out.push(attr.med(s.med));
  if (s.originatorId !== undefined) out.push(attr.originatorId(s.originatorId));
  if (s.clusterList !== undefined) out.push(attr.clusterList(s.clusterList));
  return out;
}

const path = (p: PeerInfo, s: Spec = {}, source: 'peer' | 'local' = 'peer') => new Path(source, p, interner.intern(attrsOf(s)));

const A = peer({ id: 'a', address: '10.0.0.2', routerId: '10.0.0.2' });
const B = peer({ id: 'b', address: '10.0.0.3', routerId: '10.0.0.3' });
const baseline = path(A);

interface Row {
  step: string;
  winner: Path;
  loser: Path;
  reason: string;
}

// Each row: a path differing from a baseline in exactly one attribute (or peer property), the
// winner of the pair, and the reason the chain gives. The loser side is built so every earlier
// step ties.
const rows: Row[] = [
  { step: 'local', winner: path(B, {}, 'local'), loser: path(A), reason: 'locally originated' },
  // RFC 4724 4.2: a stale path (graceful restart) loses to a fresh one even with a higher LOCAL_PREF.
  { step: 'not-stale', winner: path(B), loser: new Path('peer', A, interner.intern(attrsOf({ localPref: 500 })), undefined, true), reason: 'fresh over stale (graceful restart)' },
  { step: 'local-pref', winner: path(B, { localPref: 200 }), loser: baseline, reason: 'higher LOCAL_PREF 200 vs 100' },
  { step: 'as-path', winner: path(B, { asPath: attr.asPath([65001]) }), loser: baseline, reason: 'shorter AS_PATH 1 vs 2' },
  { step: 'origin', winner: baseline, loser: path(B, { origin: 2 }), reason: 'lower ORIGIN IGP vs INCOMPLETE' },
  { step: 'med', winner: path(B, { med: 10 }), loser: path(A, { med: 20 }), reason: 'lower MED 10 vs 20 (same neighbour AS 65001)' },
  { step: 'ebgp-over-ibgp', winner: path(peer({ id: 'e', address: '10.0.0.3', routerId: '10.0.0.3', type: 'ebgp', asn: 65001 })), loser: baseline, reason: 'eBGP over iBGP' },
  { step: 'router-id', winner: baseline, loser: path(B), reason: 'lower router id 10.0.0.2 vs 10.0.0.3 (ORIGINATOR_ID when reflected)' },
  {
    step: 'router-id (ORIGINATOR_ID)',
    winner: path(B, { originatorId: '10.0.0.1' }),
    loser: baseline,
    reason: 'lower router id 10.0.0.1 vs 10.0.0.2 (ORIGINATOR_ID when reflected)',
  },
  {
    step: 'cluster-list',
    winner: path(B, { originatorId: '10.9.9.9', clusterList: ['1.1.1.1'] }),
    loser: path(A, { originatorId: '10.9.9.9', clusterList: ['1.1.1.1', '2.2.2.2'] }),
    reason: 'shorter CLUSTER_LIST 1 vs 2',
  },
  {
    step: 'peer-address',
    winner: path(peer({ id: 'x', address: '10.0.0.2', routerId: '9.9.9.9' })),
    loser: path(peer({ id: 'y', address: '10.0.0.10', routerId: '9.9.9.9' })),
    reason: 'lower peer address 10.0.0.2 vs 10.0.0.10',
  },
];

describe('decision process (RFC 4271 9.1): one row per tie-breaker', () => {
  it.each(rows)('$step', ({ winner, loser, reason }) => {
    for (const order of [[winner, loser], [loser, winner]]) {
      const sel = selectBest(order);
      expect(sel.best).toBe(winner);
      expect(sel.reason).toBe(reason);
    }
    expect(comparePaths(winner, loser)).toEqual({ result: -1, reason });
    expect(comparePaths(loser, winner)).toEqual({ result: 1, reason });
  });

  it('has the steps in RFC order, each citing its section', () => {
    expect(DECISION_STEPS.map((s) => s.name)).toEqual([
      'local', 'not-stale', 'local-pref', 'as-path', 'origin', 'med', 'ebgp-over-ibgp', 'router-id', 'cluster-list', 'peer-address',
    ]);
    for (const s of DECISION_STEPS) expect(s.rfc).toMatch(/RFC \d+/);
    expect(COMPARATORS[2](path(A, { localPref: 50 }), baseline)).toEqual({ result: 1, reason: 'higher LOCAL_PREF 100 vs 50' });
  });

  it('counts an AS_SET as one AS (9.1.2.2 a) and confederation segments as none', () => {
    const withSet = path(B, { asPath: attr.asPath([{ kind: 'sequence', asns: [65001] }, { kind: 'set', asns: [1, 2, 3] }]) });
    expect(withSet.attrs.asPathLength).toBe(2);
    const confed = path(B, { asPath: attr.asPath([{ kind: 'confed-sequence', asns: [1, 2] }, { kind: 'sequence', asns: [65001, 65002] }]) });
    expect(confed.attrs.asPathLength).toBe(2);
    expect(confed.attrs.neighborAs).toBe(65001);
    // Equal length: the AS_PATH step ties, the router id decides.
    expect(selectBest([withSet, baseline]).reason).toMatch(/^lower router id/);
  });

  it('compares MED only between paths from the same neighbour AS; a missing MED is 0', () => {
    const otherAs = path(B, { asPath: attr.asPath([65009, 65002]), med: 0 });
    const highMed = path(A, { med: 500 });
    // Different neighbour AS: MED is skipped, the router id decides (A = 10.0.0.2 wins).
    expect(selectBest([otherAs, highMed]).best).toBe(highMed);
    const noMed = path(B);
    expect(selectBest([noMed, path(A, { med: 1 })]).reason).toBe('lower MED 0 vs 1 (same neighbour AS 65001)');
  });

  it('eliminates by MED within each neighbour AS, whatever the candidate order (non-transitive MED)', () => {
    const C = peer({ id: 'c', address: '10.0.0.4', routerId: '10.0.0.4' });
    // Classic MED cycle: x beats y on MED (same AS 65001), y beats z on router id, z beats x on router id.
    const x = path(C, { med: 1 });
    const y = path(B, { med: 5 });
    const z = path(A, { asPath: attr.asPath([65002, 65003]) });
    const winners = new Set([[x, y, z], [x, z, y], [y, x, z], [y, z, x], [z, x, y], [z, y, x]].map((o) => selectBest(o).best));
    expect(winners.size).toBe(1);
    expect([...winners][0]).toBe(z); // y removed by MED; z (10.0.0.2) beats x (10.0.0.4) on router id
  });

  it('ranks every candidate with the reason it lost', () => {
    const lp = path(B, { localPref: 200 });
    const ranked = rankPaths([baseline, lp]);
    expect(ranked.find((r) => r.path === lp)).toMatchObject({ rank: 'best' });
    expect(ranked.find((r) => r.path === baseline)?.reason).toBe('higher LOCAL_PREF 200 vs 100 [RFC 4271 9.1.1, 9.1.2]');
  });

  it('is order-independent for any candidate set (property)', () => {
    const peers = Array.from({ length: 6 }, (_, i) =>
      peer({ id: `p${i}`, address: `10.0.0.${i + 1}`, routerId: `10.0.${i % 3}.1`, type: i % 2 === 0 ? 'ibgp' : 'ebgp', asn: i % 2 === 0 ? 64512 : 65001 }),
    );
    const arbPath = fc
      .record({ peer: fc.integer({ min: 0, max: 5 }), lp: fc.constantFrom(100, 200), len: fc.integer({ min: 1, max: 3 }), nas: fc.constantFrom(65001, 65002), med: fc.integer({ min: 0, max: 3 }), origin: fc.integer({ min: 0, max: 2 }) })
      .map((r) => ({ peer: r.peer, spec: { localPref: r.lp, origin: r.origin, med: r.med, asPath: attr.asPath([r.nas, 1, 2].slice(0, r.len)) } }));
    fc.assert(
      fc.property(fc.uniqueArray(arbPath, { minLength: 1, maxLength: 6, selector: (p) => p.peer }), fc.integer(), (specs, seed) => {
        const paths = specs.map((s) => path(peers[s.peer], s.spec));
        const shuffled = [...paths].sort((a, b) => ((a.peer.id.charCodeAt(1) * 7919 + seed) % 13) - ((b.peer.id.charCodeAt(1) * 7919 + seed) % 13));
        expect(selectBest(shuffled).best).toBe(selectBest(paths).best);
      }),
      { numRuns: 300 },
    );
  });
});

describe('multipath (ECMP)', () => {
  const C = peer({ id: 'c', address: '10.0.0.4', routerId: '10.0.0.4' });
  it('groups paths equal up to the router id step, best first, distinct next hops, at most maxPaths', () => {
    const a = path(A, { nextHop: '10.0.0.2' });
    const b = path(B, { nextHop: '10.0.0.3' });
    const c = path(C, { nextHop: '10.0.0.4' });
    const worse = path(peer({ id: 'd', address: '10.0.0.1', routerId: '10.0.0.1' }), { nextHop: '10.0.0.1', origin: 1 });
    const sel = selectBest([c, worse, b, a], 4);
    expect(sel.best).toBe(a);
    expect(sel.multipath).toEqual([a, b, c]);
    expect(selectBest([c, b, a], 2).multipath).toEqual([a, b]);
    expect(selectBest([c, b, a], 1).multipath).toEqual([a]);
    // Same next hop adds no forwarding path.
    const sameHop = path(C, { nextHop: '10.0.0.2' });
    expect(selectBest([a, sameHop], 4).multipath).toEqual([a]);
  });
  it('leaves out paths that lose before the router id step', () => {
    const a = path(A, { nextHop: '10.0.0.2' });
    const b = path(B, { nextHop: '10.0.0.3', med: 7 });
    expect(selectBest([a, b], 4).multipath).toEqual([a]);
  });
});
