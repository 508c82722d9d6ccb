/**
 * Adj-RIB-In (RFC 4271 3.2): what each peer sent us, after import policy.
 *
 * There is no separate table per peer: a peer's accepted routes are the candidates it owns in
 * the Loc-RIB slots (loc-rib.ts), one pointer per route to a Path shared by all of the peer's
 * prefixes with the same attributes. That keeps one Map entry per prefix in the whole RIB, the
 * bulk of the memory at a million routes; the price is that peer-down and per-peer listings walk
 * the Loc-RIB. This file holds the per-peer bookkeeping and turns decoded UPDATEs into RIB input.
 */
import type { Prefix } from '../lib/prefix.js';
import { CeaseSubcode, ErrorCode, Afi, Safi } from '../wire/iana.js';
import type { PathAttribute, UpdateMessage } from '../wire/types.js';
import { updateSeverity } from '../wire/update.js';
import type { AttrInterner, InternedAttrs } from './attrs.js';
import { Path, type PeerInfo } from './peer.js';
import { ACCEPT_ALL, POLICY_REFUSALS, type Policy, type RefusalReason } from './policy.js';

/** One UPDATE's worth of routes for one family (one next hop). */
export interface RibUpdate {
  announced: readonly Prefix[];
  withdrawn: readonly Prefix[];
  /** The decoded attributes (interned once per call), or a set already interned. */
  attrs?: readonly PathAttribute[] | InternedAttrs;
  /** Overrides NEXT_HOP: the MP_REACH_NLRI next hop of IPv6 routes. */
  nextHop?: string;
}

/** Index of a prefix's family in the per-family counters: 0 IPv4, 1 IPv6. */
export const familyIndex = (p: Prefix): 0 | 1 => (typeof p === 'number' ? 0 : 1);
const FAMILIES = [
  { afi: Afi.IPV4, safi: Safi.UNICAST },
  { afi: Afi.IPV6, safi: Safi.UNICAST },
] as const;

export class PeerState {
  /**
   * Path interning: one Path per distinct attribute set this peer uses, keyed by that set, for
   * the paths the import policy left as received (the common case).
   */
  readonly paths = new Map<InternedAttrs, Path>();
  /** Paths the import policy changed: by the set as received, then by the set after policy. */
  readonly changed = new Map<InternedAttrs, Map<InternedAttrs, Path>>();
  /** Accepted routes per family (IPv4, IPv6). */
  readonly counts = [0, 0];
  readonly refused = new Map<RefusalReason, number>();
  readonly endOfRib = new Set<string>();
  /** Routes held on stale paths (graceful restart, RFC 4724 4.2). */
  stale = 0;

  constructor(
    readonly info: PeerInfo,
    public policy: Policy = ACCEPT_ALL,
    readonly source: 'local' | 'peer' = 'peer',
  ) {}

  /**
   * The shared Path for an attribute set after policy and the set it was made from (retains
   * both when the Path is new).
   */
  pathFor(attrs: InternedAttrs, interner: AttrInterner, input: InternedAttrs = attrs): Path {
    if (input === attrs) {
      let p = this.paths.get(attrs);
      if (p === undefined) {
        p = new Path(this.source, this.info, attrs);
        this.paths.set(attrs, p);
        interner.retain(attrs);
      }
      return p;
    }
    let byResult = this.changed.get(input);
    if (byResult === undefined) {
      byResult = new Map();
      this.changed.set(input, byResult);
    }
    let p = byResult.get(attrs);
    if (p === undefined) {
      p = new Path(this.source, this.info, attrs, input);
      byResult.set(attrs, p);
      interner.retain(attrs);
      interner.retain(input);
    }
    return p;
  }

  /** Drops one slot's hold on a path; forgets the path (and releases its sets) at zero. */
  unref(path: Path, interner: AttrInterner): void {
    if (path.stale) {
      // A stale path is in no cache (loc-rib.ts markStale): each release is one stale route gone.
      this.stale--;
      if (--path.refs > 0) return;
      interner.release(path.attrs);
      if (path.input !== path.attrs) interner.release(path.input);
      return;
    }
    if (--path.refs > 0) return;
    interner.release(path.attrs);
    if (path.input === path.attrs) {
      this.paths.delete(path.attrs);
      return;
    }
    const byResult = this.changed.get(path.input);
    if (byResult !== undefined) {
      byResult.delete(path.attrs);
      if (byResult.size === 0) this.changed.delete(path.input);
    }
    interner.release(path.input);
  }

  /** Routes refused by import policy (not by the loop checks) since the peer was added. */
  policyRefusals(): number {
    let n = 0;
    for (const [reason, count] of this.refused) if (POLICY_REFUSALS.has(reason)) n += count;
    return n;
  }

  refuse(reason: RefusalReason, n = 1): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + n);
  }

  total(): number {
    return this.counts[0] + this.counts[1];
  }
}

/** RFC 4486 4: Cease / Maximum Number of Prefixes Reached, for the caller to send. */
export interface MaxPrefixExceeded {
  type: 'max-prefix';
  code: typeof ErrorCode.CEASE;
  subcode: typeof CeaseSubcode.MAX_PREFIXES;
  /** AFI (2), SAFI (1), the upper bound (4). */
  data: Uint8Array;
  afi: number;
  safi: number;
  count: number;
  limit: number;
}

export function maxPrefixCheck(ps: PeerState): MaxPrefixExceeded | undefined {
  const limit = ps.policy.maxPrefix;
  if (limit === undefined) return undefined;
  for (let f = 0; f < 2; f++) {
    if (ps.counts[f] > limit) {
      const { afi, safi } = FAMILIES[f];
      const data = Uint8Array.of(afi >> 8, afi & 255, safi, (limit >>> 24) & 255, (limit >>> 16) & 255, (limit >>> 8) & 255, limit & 255);
      return { type: 'max-prefix', code: ErrorCode.CEASE, subcode: CeaseSubcode.MAX_PREFIXES, data, afi, safi, count: ps.counts[f], limit };
    }
  }
  return undefined;
}

/**
 * The RIB input of a decoded UPDATE: one entry for IPv4 (NLRI / Withdrawn Routes, NEXT_HOP) and
 * one for IPv6 unicast (MP_REACH_NLRI / MP_UNREACH_NLRI, the MP next hop), each only when it has
 * prefixes. RFC 7606 2: an UPDATE marked treat-as-withdraw withdraws everything it announces.
 * Families other than IPv4/IPv6 unicast are ignored.
 */
export function ribUpdatesFromMessage(m: UpdateMessage): RibUpdate[] {
  const withdrawAll = updateSeverity(m) === 'treat-as-withdraw';
  const v4: RibUpdate = { announced: [], withdrawn: m.withdrawn, attrs: m.attributes };
  const v6: { announced: Prefix[]; withdrawn: Prefix[]; attrs: readonly PathAttribute[]; nextHop?: string } = {
    announced: [],
    withdrawn: [],
    attrs: m.attributes,
  };
  const unicast = (afi: number, safi: number) => afi === Afi.IPV6 && safi === Safi.UNICAST;
  for (const a of m.attributes) {
    if (a.type === 'mp-reach' && unicast(a.reach.afi, a.reach.safi)) {
      v6.announced = [...a.reach.nlri];
      v6.nextHop = a.reach.nextHop[0] ?? '';
    } else if (a.type === 'mp-unreach' && unicast(a.unreach.afi, a.unreach.safi)) {
      v6.withdrawn = [...a.unreach.withdrawn];
    }
  }
  const out: RibUpdate[] = [];
  if (withdrawAll) {
    if (m.withdrawn.length + m.nlri.length > 0) out.push({ announced: [], withdrawn: [...m.withdrawn, ...m.nlri] });
    if (v6.withdrawn.length + v6.announced.length > 0) out.push({ announced: [], withdrawn: [...v6.withdrawn, ...v6.announced] });
    return out;
  }
  if (m.withdrawn.length + m.nlri.length > 0) out.push({ ...v4, announced: m.nlri });
  if (v6.withdrawn.length + v6.announced.length > 0) out.push(v6);
  return out;
}

