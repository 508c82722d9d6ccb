/**
 * The decision process (RFC 4271 9.1) as an ordered list of steps. Each step compares two paths
 * and says which is preferred and why; `selectBest` runs them the way RFC 4271 9.1.2.2 writes
 * them: as eliminations over the whole candidate set ("remove from consideration..."), so the
 * result does not depend on the order of the candidates, even for MED, which is not a total order.
 *
 * Next-hop reachability (9.1.2 "If the NEXT_HOP attribute of a BGP route depicts an address that
 * is not resolvable ... the route SHOULD be excluded") and IGP cost (9.1.2.2 e) are out of scope:
 * every next hop is treated as reachable at equal cost.
 *
 * Multipath (ECMP) rule: paths that survive every step up to and including "eBGP over iBGP" (the
 * steps before the router id, i.e. up to where IGP cost would be) are equal cost. With
 * maxPaths > 1, up to maxPaths of them, ordered by the remaining tie-breakers, form the multipath
 * set (best first); a path whose NEXT_HOP equals that of a member already taken is skipped, since
 * it adds no forwarding path.
 */
import { ipv4ToNumber, ipv6ToBytes } from '../lib/address.js';
import type { Path } from './peer.js';

export interface StepResult {
  /** -1: a is preferred, 1: b is preferred, 0: this step does not tell them apart. */
  readonly result: -1 | 0 | 1;
  readonly reason: string;
}

export interface DecisionStep {
  readonly name: string;
  readonly rfc: string;
  /** Part of the equal-cost prefix of the chain (see the multipath rule above). */
  readonly ecmp: boolean;
  /** Negative when a is preferred, positive when b is, 0 when equal (the hot path uses this). */
  readonly order: (a: Path, b: Path) => number;
  /** The reason text for "a is preferred over b" at this step. */
  readonly explain: (a: Path, b: Path) => string;
}

const DEFAULT_LOCAL_PREF = 100;
const ORIGIN_NAMES = ['IGP', 'EGP', 'INCOMPLETE'];

const localPref = (p: Path): number => p.attrs.localPref ?? DEFAULT_LOCAL_PREF;
const med = (p: Path): number => p.attrs.med ?? 0;
/**
 * RFC 4271 9.1.2.2 c: "If the route is learned via IBGP, and the other IBGP speaker either (a)
 * originated the route, or (b) created the route by aggregation and the aggregate route has an
 * AS_PATH attribute with an empty AS_SEQUENCE or AS_SET, then it is the local AS."
 */
const neighborAs = (p: Path): number => p.attrs.neighborAs ?? (p.peer.type === 'ebgp' ? p.peer.asn : p.peer.localAsn);
const originName = (o: number): string => ORIGIN_NAMES[o] ?? String(o);

/** RFC 4456 9: "the ORIGINATOR_ID SHOULD be treated as the BGP Identifier". */
const routerIdText = (p: Path): string => p.attrs.originatorId ?? p.peer.routerId;

const numbers = new Map<string, number>();
function routerIdNumber(text: string): number {
  let n = numbers.get(text);
  if (n === undefined) {
    try {
      n = ipv4ToNumber(text);
    } catch {
      n = 0xffffffff + 1; // not a dotted quad: sorts last
    }
    numbers.set(text, n);
  }
  return n;
}

const addressKeys = new Map<string, string>();
/** A string that sorts addresses numerically, IPv4 before IPv6. */
function addressKey(text: string): string {
  let k = addressKeys.get(text);
  if (k === undefined) {
    try {
      k = text.includes(':')
        ? `6${Array.from(ipv6ToBytes(text), (b) => b.toString(16).padStart(2, '0')).join('')}`
        : `4${ipv4ToNumber(text).toString(16).padStart(8, '0')}`;
    } catch {
      k = `9${text}`;
    }
    addressKeys.set(text, k);
  }
  return k;
}

const sign = (n: number): -1 | 0 | 1 => (n < 0 ? -1 : n > 0 ? 1 : 0);

export const DECISION_STEPS: readonly DecisionStep[] = [
  {
    // RFC 4271 9.1.1: the degree of preference is "computed ... based on ... local policy";
    // weft's policy ranks its own blocks above anything learned (like a locally originated route).
    name: 'local',
    rfc: 'RFC 4271 9.1.1',
    ecmp: true,
    order: (a, b) => (a.source === 'local' ? 0 : 1) - (b.source === 'local' ? 0 : 1),
    explain: () => 'locally originated',
  },
  {
    // RFC 4724 4.2: routes kept from a restarting peer are "stale routing information"; how much
    // they are worth is local policy (RFC 4271 9.1.1). A fresh path always wins over a stale one
    // (as RFC 9494 4.3 asks for long-lived stale routes), and the two never share a multipath set.
    name: 'not-stale',
    rfc: 'RFC 4724 4.2, RFC 4271 9.1.1',
    ecmp: true,
    order: (a, b) => (a.stale ? 1 : 0) - (b.stale ? 1 : 0),
    explain: () => 'fresh over stale (graceful restart)',
  },
  {
    // RFC 4271 9.1.1: "If the route is learned from an internal peer, ... the value of the
    // LOCAL_PREF attribute" (external routes: set by import policy, default 100);
    // 9.1.2: "the route with the highest degree of preference".
    name: 'local-pref',
    rfc: 'RFC 4271 9.1.1, 9.1.2',
    ecmp: true,
    order: (a, b) => localPref(b) - localPref(a),
    explain: (a, b) => `higher LOCAL_PREF ${localPref(a)} vs ${localPref(b)}`,
  },
  {
    // RFC 4271 9.1.2.2 a: "Remove from consideration all routes that are not tied for having the
    // smallest number of AS numbers present in their AS_PATH attributes. Note that when counting
    // this number, an AS_SET counts as 1, no matter how many ASes are in the set."
    name: 'as-path',
    rfc: 'RFC 4271 9.1.2.2 a',
    ecmp: true,
    order: (a, b) => a.attrs.asPathLength - b.attrs.asPathLength,
    explain: (a, b) => `shorter AS_PATH ${a.attrs.asPathLength} vs ${b.attrs.asPathLength}`,
  },
  {
    // RFC 4271 9.1.2.2 b: "Remove from consideration all routes that are not tied for having the
    // lowest Origin number in their Origin attribute."
    name: 'origin',
    rfc: 'RFC 4271 9.1.2.2 b',
    ecmp: true,
    order: (a, b) => a.attrs.origin - b.attrs.origin,
    explain: (a, b) => `lower ORIGIN ${originName(a.attrs.origin)} vs ${originName(b.attrs.origin)}`,
  },
  {
    // RFC 4271 9.1.2.2 c: "Remove from consideration routes with less-preferred
    // MULTI_EXIT_DISC attributes. MULTI_EXIT_DISC is only comparable between routes learned from
    // the same neighboring AS ... If a route has no MULTI_EXIT_DISC attribute, ... the lowest
    // value" (0).
    name: 'med',
    rfc: 'RFC 4271 9.1.2.2 c',
    ecmp: true,
    order: (a, b) => (neighborAs(a) === neighborAs(b) ? med(a) - med(b) : 0),
    explain: (a, b) => `lower MED ${med(a)} vs ${med(b)} (same neighbour AS ${neighborAs(a)})`,
  },
  {
    // RFC 4271 9.1.2.2 d: "if at least one of the candidate routes was received via EBGP, remove
    // from consideration all routes that were received via IBGP."
    name: 'ebgp-over-ibgp',
    rfc: 'RFC 4271 9.1.2.2 d',
    ecmp: true,
    order: (a, b) => (a.peer.type === 'ebgp' ? 0 : 1) - (b.peer.type === 'ebgp' ? 0 : 1),
    explain: () => 'eBGP over iBGP',
  },
  // RFC 4271 9.1.2.2 e (lowest interior cost to the NEXT_HOP): out of scope, all equal.
  {
    // RFC 4271 9.1.2.2 f: "Remove from consideration all routes other than the route that was
    // advertised by the BGP speaker with the lowest BGP Identifier value."; RFC 4456 9: with an
    // ORIGINATOR_ID, that value stands for the BGP Identifier.
    name: 'router-id',
    rfc: 'RFC 4271 9.1.2.2 f, RFC 4456 9',
    ecmp: false,
    order: (a, b) => routerIdNumber(routerIdText(a)) - routerIdNumber(routerIdText(b)),
    explain: (a, b) => `lower router id ${routerIdText(a)} vs ${routerIdText(b)} (ORIGINATOR_ID when reflected)`,
  },
  {
    // RFC 4456 9: "a BGP Speaker SHOULD ... prefer a route with the shorter CLUSTER_LIST length."
    name: 'cluster-list',
    rfc: 'RFC 4456 9',
    ecmp: false,
    order: (a, b) => a.attrs.clusterList.length - b.attrs.clusterList.length,
    explain: (a, b) => `shorter CLUSTER_LIST ${a.attrs.clusterList.length} vs ${b.attrs.clusterList.length}`,
  },
  {
    // RFC 4271 9.1.2.2 g: "Prefer the route received from the lowest peer address."
    name: 'peer-address',
    rfc: 'RFC 4271 9.1.2.2 g',
    ecmp: false,
    order: (a, b) => {
      const ka = addressKey(a.peer.address);
      const kb = addressKey(b.peer.address);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    },
    explain: (a, b) => `lower peer address ${a.peer.address} vs ${b.peer.address}`,
  },
];

/** The comparators in the `(a, b) => {result, reason}` form, in order. */
export const COMPARATORS: readonly ((a: Path, b: Path) => StepResult)[] = DECISION_STEPS.map(
  (s) =>
    (a: Path, b: Path): StepResult => {
      const r = sign(s.order(a, b));
      return { result: r, reason: r < 0 ? s.explain(a, b) : r > 0 ? s.explain(b, a) : '' };
    },
);

/** Compares two paths through the whole chain: the first step that tells them apart decides. */
export function comparePaths(a: Path, b: Path): StepResult {
  for (const c of COMPARATORS) {
    const r = c(a, b);
    if (r.result !== 0) return r;
  }
  return { result: 0, reason: 'equal' };
}

/** Last resort for two paths no step separates (cannot happen between distinct peers). */
const lastResort = (a: Path, b: Path): number => (a.peer.id < b.peer.id ? -1 : a.peer.id > b.peer.id ? 1 : 0);

export interface Selection {
  best: Path | undefined;
  /** The equal-cost set, best first ([best] without multipath, [] with no path). */
  multipath: readonly Path[];
  /** Why the best won over the last path to be removed ('only path' for a single candidate). */
  reason: string;
}

export interface Ranked {
  path: Path;
  rank: 'best' | 'multipath' | 'lost';
  /** For a lost path: the step that removed it, as "winner over it" text. */
  reason: string;
}

interface Run {
  best: Path;
  ecmpSet: Path[];
  /** For each removed path (when asked for), the step index and a path that beat it there. */
  removed: Map<Path, { step: number; by: Path }> | undefined;
  /** The last step that removed anything, and what it removed (with who beat it). */
  lastStep: number;
  lastRemoved: Path[];
  lastBy: Path[];
}

function run(paths: readonly Path[], wantRemoved: boolean): Run {
  let alive = paths.slice();
  let ecmpSet = alive;
  const removed = wantRemoved ? new Map<Path, { step: number; by: Path }>() : undefined;
  let lastStep = -1;
  let lastRemoved: Path[] = [];
  let lastBy: Path[] = [];
  for (let s = 0; s < DECISION_STEPS.length && alive.length > 1; s++) {
    const order = DECISION_STEPS[s].order;
    const next: Path[] = [];
    let gone: Path[] | undefined;
    let by: Path[] | undefined;
    for (const c of alive) {
      let beaten: Path | undefined;
      for (const d of alive) {
        if (d !== c && order(d, c) < 0) {
          beaten = d;
          break;
        }
      }
      if (beaten === undefined) next.push(c);
      else {
        (gone ??= []).push(c);
        (by ??= []).push(beaten);
        removed?.set(c, { step: s, by: beaten });
      }
    }
    if (gone !== undefined && by !== undefined) {
      lastStep = s;
      lastRemoved = gone;
      lastBy = by;
    }
    alive = next;
    if (DECISION_STEPS[s].ecmp) ecmpSet = alive;
  }
  if (alive.length > 1) alive.sort(lastResort);
  return { best: alive[0], ecmpSet, removed, lastStep, lastRemoved, lastBy };
}

function orderedEcmp(best: Path, set: Path[], maxPaths: number): Path[] {
  if (maxPaths <= 1 || set.length <= 1) return [best];
  const rest = set.filter((p) => p !== best);
  rest.sort((a, b) => {
    for (let s = 0; s < DECISION_STEPS.length; s++) {
      if (DECISION_STEPS[s].ecmp) continue;
      const r = DECISION_STEPS[s].order(a, b);
      if (r !== 0) return r;
    }
    return lastResort(a, b);
  });
  const out = [best];
  const hops = new Set([best.attrs.nextHop]);
  for (const p of rest) {
    if (out.length >= maxPaths) break;
    if (hops.has(p.attrs.nextHop)) continue;
    hops.add(p.attrs.nextHop);
    out.push(p);
  }
  return out;
}

/** RFC 4271 9.1.2: picks the best path (and the multipath set) among candidates. */
export function selectBest(paths: readonly Path[], maxPaths = 1): Selection {
  if (paths.length === 0) return { best: undefined, multipath: [], reason: 'no path' };
  if (paths.length === 1) return { best: paths[0], multipath: paths, reason: 'only path' };
  const r = run(paths, false);
  const step = DECISION_STEPS[r.lastStep];
  let reason = 'equal';
  if (step !== undefined) {
    // The best against a path removed at the last deciding step (for MED: one of its own AS).
    const i = r.lastRemoved.findIndex((p) => step.order(r.best, p) < 0);
    reason = i >= 0 ? step.explain(r.best, r.lastRemoved[i]) : step.explain(r.lastBy[0], r.lastRemoved[0]);
  }
  return { best: r.best, multipath: orderedEcmp(r.best, r.ecmpSet, maxPaths), reason };
}

/** Every candidate with its rank and, for the losers, the step that removed it. */
export function rankPaths(paths: readonly Path[], maxPaths = 1): Ranked[] {
  if (paths.length === 0) return [];
  const sel = selectBest(paths, maxPaths);
  const r = run(paths, true);
  return paths.map((path): Ranked => {
    if (path === sel.best) return { path, rank: 'best', reason: sel.reason };
    if (sel.multipath.includes(path)) return { path, rank: 'multipath', reason: 'equal cost up to the router id step' };
    const rm = r.removed?.get(path);
    if (rm === undefined) return { path, rank: 'lost', reason: `${DECISION_STEPS[DECISION_STEPS.length - 1].name}: tie` };
    return { path, rank: 'lost', reason: `${DECISION_STEPS[rm.step].explain(rm.by, path)} [${DECISION_STEPS[rm.step].rfc}]` };
  });
}
