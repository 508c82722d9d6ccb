/**
 * Attribute interning: one shared, frozen `InternedAttrs` per distinct attribute set.
 *
 * A million routes from one peer typically carry a handful of distinct attribute sets, so the
 * RIB stores a pointer per route and the sets once. The key is a canonical string built once per
 * UPDATE (never per prefix) from the decoded attributes, in type-code order, so two UPDATEs with
 * the same attributes in a different wire order share one object. Flags of known attributes are
 * not part of the key (they carry no meaning once checked by the codec); those of unknown
 * attributes are.
 *
 * Sets are reference counted: `retain`/`release` by their holders (a Path in the Loc-RIB, an
 * Adj-RIB-Out entry); a set whose count drops to zero is removed, and `sweep` removes sets that
 * were interned but never retained (an UPDATE whose prefixes were all refused).
 */
import { AS_TRANS, AttrFlag, AttrType } from '../wire/iana.js';
import { tunnelTlvsKey } from '../wire/attr-tunnel-encap.js';
import type { AsPathSegment, ExtCommunity, PathAttribute, TunnelTlv } from '../wire/types.js';

export interface Aggregator {
  readonly asn: number;
  readonly address: string;
}

export interface InternedAttrs {
  /** The canonical key; equal keys mean equal sets. */
  readonly key: string;
  /** RFC 4271 5.1.1: 0 IGP, 1 EGP, 2 INCOMPLETE. */
  readonly origin: number;
  /** AS_PATH (merged with AS4_PATH per RFC 6793 4.2.3 when that was present). */
  readonly asPath: readonly AsPathSegment[];
  /** NEXT_HOP, or the first MP_REACH_NLRI next hop for IPv6 ('' when none). */
  readonly nextHop: string;
  readonly med?: number;
  readonly localPref?: number;
  readonly communities: readonly number[];
  readonly largeCommunities: readonly (readonly [number, number, number])[];
  readonly extCommunities: readonly ExtCommunity[];
  readonly originatorId?: string;
  readonly clusterList: readonly string[];
  readonly atomicAggregate: boolean;
  readonly aggregator?: Aggregator;
  /** RFC 9012 Tunnel Encapsulation: the Tunnel TLVs (those RFC 9012 13 removes are not here). */
  readonly tunnelEncap?: readonly TunnelTlv[];
  /** Unknown optional transitive attributes, kept to be passed on (RFC 4271 5). */
  readonly unknown: readonly Extract<PathAttribute, { type: 'unknown' }>[];
  /** RFC 4271 9.1.2.2 a: AS_SET counts 1, AS_SEQUENCE its AS count, confederation segments 0. */
  readonly asPathLength: number;
  /** The first AS of the path (RFC 4271 9.1.2.2 c neighborAS); undefined for an empty path. */
  readonly neighborAs: number | undefined;
}

/** The fields an attribute set is built from (everything but the derived ones). */
export type AttrParts = Omit<InternedAttrs, 'key' | 'asPathLength' | 'neighborAs'>;

// ------------------------------------------------------------------------- from the wire

/** RFC 6793 4.2.3: rebuild the path from AS_PATH (with AS_TRANS) and AS4_PATH. */
function mergeAs4Path(asPath: readonly AsPathSegment[], as4: readonly AsPathSegment[]): AsPathSegment[] {
  const count = (segs: readonly AsPathSegment[]) => segs.reduce((n, s) => n + (s.kind === 'set' || s.kind === 'confed-set' ? 1 : s.asns.length), 0);
  const n2 = count(asPath);
  const n4 = count(as4);
  // "if the number of AS numbers in the AS_PATH attribute is less than the number of AS numbers
  // in the AS4_PATH attribute, then the AS4_PATH attribute SHALL be ignored"
  if (n2 < n4) return [...asPath];
  let keep = n2 - n4;
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    if (keep === 0) break;
    if (s.kind === 'set' || s.kind === 'confed-set') {
      out.push(s);
      keep--;
    } else {
      const take = Math.min(keep, s.asns.length);
      out.push({ kind: s.kind, asns: s.asns.slice(0, take) });
      keep -= take;
    }
  }
  return [...out, ...as4];
}

/**
 * The parts of a decoded attribute list. MP_REACH_NLRI / MP_UNREACH_NLRI are not part of the
 * set (their prefixes are the routes); `nextHop` overrides the NEXT_HOP attribute (the caller
 * passes the MP_REACH_NLRI next hop for IPv6 routes). Unknown non-transitive attributes are
 * dropped (RFC 4271 5: "MUST be quietly ignored and not passed along").
 */
export function partsFromAttributes(attributes: readonly PathAttribute[], nextHop?: string): AttrParts {
  let origin = 2;
  let asPath: readonly AsPathSegment[] = [];
  let as4Path: readonly AsPathSegment[] | undefined;
  let nh = '';
  let med: number | undefined;
  let localPref: number | undefined;
  let communities: readonly number[] = [];
  let largeCommunities: readonly (readonly [number, number, number])[] = [];
  let extCommunities: readonly ExtCommunity[] = [];
  let originatorId: string | undefined;
  let clusterList: readonly string[] = [];
  let atomicAggregate = false;
  let aggregator: Aggregator | undefined;
  let as4Aggregator: Aggregator | undefined;
  let tunnelEncap: readonly TunnelTlv[] | undefined;
  const unknown: Extract<PathAttribute, { type: 'unknown' }>[] = [];
  for (const a of attributes) {
    switch (a.type) {
      case 'origin': origin = a.origin; break;
      case 'as-path': asPath = a.segments; break;
      case 'as4-path': as4Path = a.segments; break;
      case 'next-hop': nh = a.nextHop; break;
      case 'med': med = a.med; break;
      case 'local-pref': localPref = a.localPref; break;
      case 'atomic-aggregate': atomicAggregate = true; break;
      case 'aggregator': aggregator = { asn: a.asn, address: a.address }; break;
      case 'as4-aggregator': as4Aggregator = { asn: a.asn, address: a.address }; break;
      case 'communities': communities = a.communities; break;
      case 'originator-id': originatorId = a.originatorId; break;
      case 'cluster-list': clusterList = a.clusterIds; break;
      case 'ext-communities': extCommunities = a.communities; break;
      case 'large-communities': largeCommunities = a.communities; break;
      case 'tunnel-encap': tunnelEncap = a.tunnels; break;
      case 'mp-reach': if (nh === '' && a.reach.nextHop.length > 0) nh = a.reach.nextHop[0]; break;
      case 'mp-unreach': break;
      case 'unknown':
        if ((a.flags & AttrFlag.OPTIONAL) !== 0 && (a.flags & AttrFlag.TRANSITIVE) !== 0) unknown.push(a);
        break;
    }
  }
  if (as4Path !== undefined) asPath = mergeAs4Path(asPath, as4Path);
  // RFC 6793 4.2.3: AS4_AGGREGATOR counts only when AGGREGATOR carries AS_TRANS.
  if (as4Aggregator !== undefined && aggregator !== undefined && aggregator.asn === AS_TRANS) aggregator = as4Aggregator;
  return {
    origin,
    asPath,
    nextHop: nextHop ?? nh,
    med,
    localPref,
    communities,
    largeCommunities,
    extCommunities,
    originatorId,
    clusterList,
    atomicAggregate,
    aggregator,
    tunnelEncap,
    unknown,
  };
}

// ------------------------------------------------------------------------- derived fields

export function asPathLength(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segments) {
    if (s.kind === 'sequence') n += s.asns.length;
    else if (s.kind === 'set') n += 1;
    // RFC 5065 5.3: confederation segments do not count.
  }
  return n;
}

/** The first AS of the first non-confederation segment (RFC 4271 9.1.2.2 c, RFC 5065 5.3). */
export function firstAs(segments: readonly AsPathSegment[]): number | undefined {
  for (const s of segments) if (s.kind === 'sequence' || s.kind === 'set') return s.asns[0];
  return undefined;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

function extKey(c: ExtCommunity): string {
  switch (c.type) {
    case 'encapsulation': return `e${c.tunnelType}`;
    case 'router-mac': return `m${c.mac}`;
    case 'route-target': return `t${c.global}:${c.local}`;
    case 'route-origin': return `o${c.global}:${c.local}`;
    case 'raw': return `r${c.hex}`;
  }
}

/** The canonical key of a set: fields in type-code order. */
export function keyOf(p: AttrParts): string {
  let k = `${AttrType.ORIGIN}=${p.origin}|2=`;
  for (const s of p.asPath) k += `${s.kind[0]}${s.kind.length}:${s.asns.join(',')};`;
  k += `|3=${p.nextHop}`;
  if (p.med !== undefined) k += `|4=${p.med}`;
  if (p.localPref !== undefined) k += `|5=${p.localPref}`;
  if (p.atomicAggregate) k += '|6';
  if (p.aggregator !== undefined) k += `|7=${p.aggregator.asn}@${p.aggregator.address}`;
  if (p.communities.length > 0) k += `|8=${p.communities.join(',')}`;
  if (p.originatorId !== undefined) k += `|9=${p.originatorId}`;
  if (p.clusterList.length > 0) k += `|10=${p.clusterList.join(',')}`;
  if (p.extCommunities.length > 0) k += `|16=${p.extCommunities.map(extKey).join(',')}`;
  if (p.tunnelEncap !== undefined) k += `|23=${tunnelTlvsKey(p.tunnelEncap)}`;
  if (p.largeCommunities.length > 0) k += `|32=${p.largeCommunities.map((c) => c.join(':')).join(',')}`;
  for (const u of p.unknown) k += `|u${u.code}/${u.flags & (AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE | AttrFlag.PARTIAL)}=${hex(u.data)}`;
  return k;
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o) && !ArrayBuffer.isView(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

/** The PathAttribute list of a set, in type-code order, with the builders' flags. */
export function toPathAttributes(a: InternedAttrs): PathAttribute[] {
  const WK = AttrFlag.TRANSITIVE;
  const OT = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE;
  const ON = AttrFlag.OPTIONAL;
  const out: PathAttribute[] = [
    { type: 'origin', flags: WK, origin: a.origin },
    { type: 'as-path', flags: WK, segments: a.asPath as AsPathSegment[] },
  ];
  if (a.nextHop !== '') out.push({ type: 'next-hop', flags: WK, nextHop: a.nextHop });
  if (a.med !== undefined) out.push({ type: 'med', flags: ON, med: a.med });
  if (a.localPref !== undefined) out.push({ type: 'local-pref', flags: WK, localPref: a.localPref });
  if (a.atomicAggregate) out.push({ type: 'atomic-aggregate', flags: WK });
  if (a.aggregator !== undefined) out.push({ type: 'aggregator', flags: OT, asn: a.aggregator.asn, address: a.aggregator.address });
  if (a.communities.length > 0) out.push({ type: 'communities', flags: OT, communities: a.communities as number[] });
  if (a.originatorId !== undefined) out.push({ type: 'originator-id', flags: ON, originatorId: a.originatorId });
  if (a.clusterList.length > 0) out.push({ type: 'cluster-list', flags: ON, clusterIds: a.clusterList as string[] });
  if (a.extCommunities.length > 0) out.push({ type: 'ext-communities', flags: OT, communities: a.extCommunities as ExtCommunity[] });
  if (a.tunnelEncap !== undefined) out.push({ type: 'tunnel-encap', flags: OT, tunnels: a.tunnelEncap as TunnelTlv[] });
  if (a.largeCommunities.length > 0) {
    out.push({ type: 'large-communities', flags: OT, communities: a.largeCommunities as [number, number, number][] });
  }
  // RFC 4271 5: unknown optional transitive attributes are passed on with the Partial bit set.
  for (const u of a.unknown) out.push({ ...u, flags: u.flags | AttrFlag.PARTIAL });
  return out;
}

// ------------------------------------------------------------------------- the interner

interface Slot {
  readonly attrs: InternedAttrs;
  refs: number;
}

export class AttrInterner {
  private readonly sets = new Map<string, Slot>();

  /** The shared set for a decoded attribute list (`nextHop` overrides NEXT_HOP, see partsFromAttributes). */
  intern(attributes: readonly PathAttribute[], nextHop?: string): InternedAttrs {
    return this.internParts(partsFromAttributes(attributes, nextHop));
  }

  /** The shared set for the given parts (used by policy and export to derive sets). */
  internParts(parts: AttrParts): InternedAttrs {
    const key = keyOf(parts);
    const hit = this.sets.get(key);
    if (hit !== undefined) return hit.attrs;
    const attrs: InternedAttrs = deepFreeze({
      key,
      ...parts,
      asPathLength: asPathLength(parts.asPath),
      neighborAs: firstAs(parts.asPath),
    });
    this.sets.set(key, { attrs, refs: 0 });
    return attrs;
  }

  /** `with` applied to a set: the shared set with some fields replaced. */
  derive(base: InternedAttrs, change: Partial<AttrParts>): InternedAttrs {
    const { key: _k, asPathLength: _l, neighborAs: _n, ...parts } = base;
    return this.internParts({ ...parts, ...change });
  }

  retain(a: InternedAttrs, n = 1): void {
    const s = this.sets.get(a.key);
    if (s === undefined) {
      // Swept while a holder still had it: put it back (the object stays the shared one).
      this.sets.set(a.key, { attrs: a, refs: n });
    } else {
      s.refs += n;
    }
  }

  release(a: InternedAttrs, n = 1): void {
    const s = this.sets.get(a.key);
    if (s === undefined) return;
    s.refs -= n;
    if (s.refs <= 0) this.sets.delete(a.key);
  }

  /** Drops the set if nothing holds it (after an UPDATE whose prefixes were all refused). */
  dropIfUnused(a: InternedAttrs): void {
    const s = this.sets.get(a.key);
    if (s !== undefined && s.refs <= 0) this.sets.delete(a.key);
  }

  /** Removes every set no holder retains; returns how many were removed. */
  sweep(): number {
    let n = 0;
    for (const [k, s] of this.sets) {
      if (s.refs <= 0) {
        this.sets.delete(k);
        n++;
      }
    }
    return n;
  }

  refs(a: InternedAttrs): number {
    return this.sets.get(a.key)?.refs ?? 0;
  }

  size(): number {
    return this.sets.size;
  }
}
