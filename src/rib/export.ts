/**
 * Adj-RIB-Out (RFC 4271 3.2, 9.2): what each peer should be sent, what it was sent, and the
 * UPDATE messages that take it from one to the other.
 *
 * Loc-RIB changes go into one shared log of prefixes; each peer has a cursor into it, so a
 * change costs one array slot however many peers there are. `pendingFor(peer)` walks the log
 * from the peer's cursor, computes what the peer should have for each prefix now, compares it
 * with what it was sent, and returns the difference grouped by attribute set (so each group
 * packs into full UPDATEs). `fullTable(peer)` re-sends everything (initial table, route refresh).
 *
 * Export rules:
 *  - never back to the peer the best path came from;
 *  - RFC 1997: NO_ADVERTISE to nobody, NO_EXPORT / NO_EXPORT_SUBCONFED not to eBGP peers;
 *  - own blocks to every peer with NEXT_HOP self;
 *  - RFC 4271 9.2 split horizon: iBGP-learned routes not to iBGP peers, unless we reflect
 *    (RFC 4456 8: client routes to all clients and non-clients, non-client routes to clients
 *    only; ORIGINATOR_ID set when absent, our CLUSTER_ID prepended to CLUSTER_LIST);
 *  - eBGP peers: confederation segments removed and our AS prepended, NEXT_HOP self, no
 *    LOCAL_PREF, no MED learned from a peer, no ORIGINATOR_ID / CLUSTER_LIST;
 *  - iBGP peers: LOCAL_PREF (default 100); NEXT_HOP unchanged on learned routes unless the
 *    peer is configured with forceNextHopSelf (RFC 4456 10: never changed when reflecting);
 *  - an IPv4 route with an IPv6 next hop (RFC 8950) goes only to a peer that negotiated IPv6 next
 *    hops for IPv4 unicast (ipv4ExtendedNextHop), in MP_REACH_NLRI; an IPv6 route's next hop is
 *    always IPv6 (an IPv4 underlay as ::ffff:a.b.c.d).
 *
 * Encoding (batchMessages): a route whose attributes, re-encoded for the peer, leave no room in
 * the peer's maximum message size is not announced to that peer but withdrawn from it, and
 * reported (BIRD: "attribute list too long"); the rest of the batch is sent.
 */
import type { Prefix } from '../lib/prefix.js';
import { AS_TRANS, WellKnownCommunity } from '../wire/iana.js';
import type { AsPathSegment, PathAttribute, WireOptions } from '../wire/types.js';
import { packRoutes, type TooLarge } from '../wire/update-pack.js';
import { toPathAttributes, type AttrInterner, type InternedAttrs } from './attrs.js';
import type { Change, Rib } from './loc-rib.js';
import type { LocalInfo, Path, PeerInfo } from './peer.js';
import { ACCEPT_ALL, applyVerdict, type Policy } from './policy.js';

export interface ExportPeerConfig {
  info: PeerInfo;
  /**
   * The addresses we put in NEXT_HOP when it is "self", per NLRI family. ipv4 may be an IPv6
   * address only with ipv4ExtendedNextHop.
   */
  nextHopSelf: { ipv4?: string; ipv6?: string };
  /** RFC 8950: the peer takes IPv6 next hops for IPv4 unicast (it sent the capability). */
  ipv4ExtendedNextHop?: boolean;
  /** NEXT_HOP self also on eBGP-learned routes sent to this iBGP peer. */
  forceNextHopSelf?: boolean;
  policy?: Policy;
}

export interface ExportOptions {
  local: LocalInfo;
  /** We reflect routes (RFC 4456); defaults to "some peer is a client". */
  routeReflector?: boolean;
}

export interface OutGroup {
  attrs: InternedAttrs;
  prefixes: Prefix[];
}

export interface OutBatch {
  peerId: string;
  /** Grouped by attribute set; each group holds one family. */
  announce: OutGroup[];
  withdraw: Prefix[];
}

const DEFAULT_LOCAL_PREF = 100;

/** Per-peer export state (internal). */
export interface OutPeer {
  cfg: ExportPeerConfig;
  policy: Policy;
  sent: Map<Prefix, InternedAttrs>;
  /** How many of `sent` are IPv4, IPv6. */
  counts: [number, number];
  cursor: number;
}

/** Our AS in front of the path (RFC 4271 5.1.2 b: prepend to a leading AS_SEQUENCE, else a new one). */
export function prependAs(segments: readonly AsPathSegment[], asn: number): AsPathSegment[] {
  const first = segments[0];
  if (first !== undefined && first.kind === 'sequence' && first.asns.length < 255) {
    return [{ kind: 'sequence', asns: [asn, ...first.asns] }, ...segments.slice(1)];
  }
  return [{ kind: 'sequence', asns: [asn] }, ...segments];
}

/** The path without AS_CONFED_SEQUENCE / AS_CONFED_SET segments (RFC 5065 3); the same array when it has none. */
export function withoutConfed(segments: readonly AsPathSegment[]): readonly AsPathSegment[] {
  return segments.some((s) => s.kind === 'confed-sequence' || s.kind === 'confed-set') ? segments.filter((s) => s.kind === 'sequence' || s.kind === 'set') : segments;
}

export class AdjRibOut {
  private readonly peers = new Map<string, OutPeer>();
  private log: Prefix[] = [];
  private logBase = 0;
  readonly interner: AttrInterner;
  private readonly clusterId: string;

  constructor(
    readonly rib: Rib,
    private readonly opts: ExportOptions,
  ) {
    this.interner = rib.interner;
    this.clusterId = opts.local.clusterId ?? opts.local.routerId;
  }

  private get reflector(): boolean {
    if (this.opts.routeReflector !== undefined) return this.opts.routeReflector;
    for (const p of this.peers.values()) if (p.cfg.info.isRrClient) return true;
    return false;
  }

  addPeer(cfg: ExportPeerConfig): void {
    this.removePeer(cfg.info.id);
    this.peers.set(cfg.info.id, { cfg, policy: cfg.policy ?? ACCEPT_ALL, sent: new Map(), counts: [0, 0], cursor: this.logEnd() });
  }

  removePeer(peerId: string): void {
    const p = this.peers.get(peerId);
    if (p === undefined) return;
    this.clearSent(p);
    this.peers.delete(peerId);
    this.trim();
  }

  /** The session went down: nothing is held by the peer any more, nothing is pending. */
  peerDown(peerId: string): void {
    const p = this.out(peerId);
    this.clearSent(p);
    p.cursor = this.logEnd();
    this.trim();
  }

  /** Records Loc-RIB changes for every peer (only best-path changes matter: no ADD-PATH). */
  onChanges(changes: readonly Change[]): void {
    if (this.peers.size === 0) return;
    for (const c of changes) if (c.best !== c.previous) this.log.push(c.prefix);
  }

  /** What was sent to a peer and is still held by it. */
  sentTo(peerId: string): ReadonlyMap<Prefix, InternedAttrs> {
    return this.out(peerId).sent;
  }

  /** How many routes of sentTo are IPv4 and IPv6. */
  sentCounts(peerId: string): { ipv4: number; ipv6: number } {
    const [ipv4, ipv6] = this.out(peerId).counts;
    return { ipv4, ipv6 };
  }

  /** The changes to send since the last call (or since fullTable). */
  pendingFor(peerId: string): OutBatch {
    const p = this.out(peerId);
    const b = new Builder(p, this);
    const end = this.logEnd();
    for (let i = p.cursor - this.logBase; i < end - this.logBase; i++) b.diff(this.log[i], false);
    p.cursor = end;
    this.trim();
    return b.finish();
  }

  /** Everything the peer should have (announced again even if sent before), and withdrawals for the rest. */
  fullTable(peerId: string): OutBatch {
    const p = this.out(peerId);
    const b = new Builder(p, this);
    const seen = new Set<Prefix>();
    for (const e of this.rib.entries()) {
      seen.add(e.prefix);
      b.diff(e.prefix, true);
    }
    for (const prefix of [...p.sent.keys()]) if (!seen.has(prefix)) b.diff(prefix, true);
    p.cursor = this.logEnd();
    this.trim();
    return b.finish();
  }

  /** The attribute set the peer should have for a prefix now (undefined: nothing). */
  desired(peerId: string, prefix: Prefix): InternedAttrs | undefined {
    const p = this.out(peerId);
    const best = this.rib.best(prefix);
    if (best === undefined) return undefined;
    const base = this.transform(p, best, typeof prefix === 'number');
    if (base === undefined) return undefined;
    const v = p.policy.check(prefix, base);
    return v.accept ? applyVerdict(this.interner, base, v) : undefined;
  }

  /**
   * The set a best path becomes towards one peer, before that peer's export policy; undefined
   * when the rules say it must not be sent. Depends only on (path, peer, family): Builder caches it.
   */
  transform(p: OutPeer, best: Path, v4: boolean): InternedAttrs | undefined {
    const to = p.cfg.info;
    if (best.source === 'peer' && best.peer.id === to.id) return undefined;
    const a = best.attrs;
    if (a.communities.length > 0) {
      if (a.communities.includes(WellKnownCommunity.NO_ADVERTISE)) return undefined;
      if (to.type === 'ebgp' && (a.communities.includes(WellKnownCommunity.NO_EXPORT) || a.communities.includes(WellKnownCommunity.NO_EXPORT_SUBCONFED))) {
        return undefined;
      }
    }
    const self = v4 ? p.cfg.nextHopSelf.ipv4 : p.cfg.nextHopSelf.ipv6;
    const local = best.source === 'local';
    if (to.type === 'ebgp') {
      if (self === undefined) return undefined;
      return this.interner.derive(a, {
        // weft is never a member of a confederation, so an eBGP peer is outside any: the
        // confederation segments an iBGP peer may have sent stay inside (RFC 5065 4.1, AS_PATH
        // modification rules: they are removed before the path leaves the confederation).
        asPath: prependAs(withoutConfed(a.asPath), to.localAsn),
        nextHop: self,
        localPref: undefined,
        // RFC 4271 5.1.4: a MED received from a neighbouring AS "MUST NOT be propagated to other
        // neighboring ASes"; one we set on our own blocks may be.
        med: local ? a.med : undefined,
        originatorId: undefined,
        clusterList: [],
        // RFC 9012 11: "For each EBGP session, filtering of the attribute on outgoing UPDATEs
        // MUST be enabled by default."
        tunnelEncap: undefined,
      });
    }
    let reflected = false;
    if (!local && best.peer.type === 'ibgp') {
      // RFC 4271 9.2: "When a BGP speaker receives an UPDATE message from an internal peer, the
      // receiving BGP speaker SHALL NOT re-distribute the routing information contained in that
      // UPDATE message to other internal peers (unless the speaker acts as a BGP Route Reflector)."
      if (!this.reflector) return undefined;
      // RFC 4456 8: "A route from a Non-Client IBGP peer: Reflect to all the Clients." /
      // "A route from a Client peer: Reflect to all the Non-Client peers and also to the Client peers."
      if (!best.peer.isRrClient && !to.isRrClient) return undefined;
      reflected = true;
    }
    const nextHop = local || (!reflected && p.cfg.forceNextHopSelf === true) ? self : a.nextHop;
    if (nextHop === undefined || nextHop === '') return undefined;
    // An IPv4 route with an IPv6 next hop (learned over RFC 8950, or ours on an IPv6-only node)
    // cannot be put in a NEXT_HOP attribute (RFC 4271 5.1.3: an IPv4 address): it goes only to a
    // peer that takes RFC 8950 encoding. An IPv6 route's next hop is never IPv4 (RFC 2545 3).
    if (nextHop.includes(':') !== !v4 && !(v4 && p.cfg.ipv4ExtendedNextHop === true)) return undefined;
    return this.interner.derive(a, {
      nextHop,
      localPref: a.localPref ?? DEFAULT_LOCAL_PREF,
      ...(reflected
        ? {
            // RFC 4456 8: ORIGINATOR_ID "created by an RR ... will carry the BGP Identifier of the
            // originator of the route in the local AS"; "When an RR reflects a route, it MUST
            // prepend the local CLUSTER_ID to the CLUSTER_LIST."
            originatorId: a.originatorId ?? best.peer.routerId,
            clusterList: [this.clusterId, ...a.clusterList],
          }
        : { originatorId: undefined, clusterList: [] }),
    });
  }

  /**
   * The announcements of a batch that were not sent after all (batchMessages found them too
   * large for the peer and withdrew them instead): the peer holds nothing for these prefixes now,
   * so they leave `sentTo` and a later change announces them again.
   */
  notSent(peerId: string, prefixes: readonly Prefix[]): void {
    const p = this.out(peerId);
    for (const prefix of prefixes) {
      const have = p.sent.get(prefix);
      if (have === undefined) continue;
      p.sent.delete(prefix);
      p.counts[typeof prefix === 'number' ? 0 : 1]--;
      this.interner.release(have);
    }
  }

  /**
   * batchMessages for one of this RIB's batches, keeping `sentTo` true to what went out: the
   * routes found too large are reported to `onTooLarge` and forgotten as sent (notSent).
   */
  messages(batch: OutBatch, opts: WireOptions, onTooLarge?: (t: TooLarge) => void): Uint8Array[] {
    return batchMessages(batch, opts, (t) => {
      this.notSent(batch.peerId, t.prefixes);
      onTooLarge?.(t);
    });
  }

  private out(peerId: string): OutPeer {
    const p = this.peers.get(peerId);
    if (p === undefined) throw new Error(`unknown export peer ${peerId}`);
    return p;
  }

  private clearSent(p: OutPeer): void {
    for (const a of p.sent.values()) this.interner.release(a);
    p.sent.clear();
    p.counts = [0, 0];
  }

  private logEnd(): number {
    return this.logBase + this.log.length;
  }

  /** Drops the log entries every peer has read. */
  private trim(): void {
    let min = this.logEnd();
    for (const p of this.peers.values()) min = Math.min(min, p.cursor);
    const drop = min - this.logBase;
    if (drop <= 0) return;
    if (drop === this.log.length) this.log = [];
    else if (drop >= 1024 || drop * 2 >= this.log.length) this.log = this.log.slice(drop);
    else return;
    this.logBase = min;
  }
}

/** One pass of diffing for one peer, with the per-(path, family) transform cached. */
class Builder {
  private readonly cache = [new Map<Path, InternedAttrs | null>(), new Map<Path, InternedAttrs | null>()];
  private readonly groups = [new Map<InternedAttrs, Prefix[]>(), new Map<InternedAttrs, Prefix[]>()];
  private readonly withdraw: Prefix[] = [];

  constructor(
    private readonly p: OutPeer,
    private readonly ribOut: AdjRibOut,
  ) {}

  private want(prefix: Prefix, best: Path | undefined): InternedAttrs | undefined {
    if (best === undefined) return undefined;
    const f = typeof prefix === 'number' ? 0 : 1;
    let base = this.cache[f].get(best);
    if (base === undefined) {
      base = this.ribOut.transform(this.p, best, f === 0) ?? null;
      this.cache[f].set(best, base);
    }
    if (base === null) return undefined;
    const v = this.p.policy.check(prefix, base);
    return v.accept ? applyVerdict(this.ribOut.interner, base, v) : undefined;
  }

  diff(prefix: Prefix, force: boolean): void {
    const want = this.want(prefix, this.ribOut.rib.best(prefix));
    const have = this.p.sent.get(prefix);
    if (want === have && !(force && want !== undefined)) return;
    const interner = this.ribOut.interner;
    const f = typeof prefix === 'number' ? 0 : 1;
    if (want === undefined) {
      this.withdraw.push(prefix);
      this.p.sent.delete(prefix);
      if (have !== undefined) this.p.counts[f]--;
    } else {
      const g = this.groups[f];
      const list = g.get(want);
      if (list === undefined) g.set(want, [prefix]);
      else list.push(prefix);
      if (want !== have) {
        this.p.sent.set(prefix, want);
        interner.retain(want);
        if (have === undefined) this.p.counts[f]++;
      }
    }
    if (have !== undefined && want !== have) interner.release(have);
  }

  finish(): OutBatch {
    const interner = this.ribOut.interner;
    for (const m of this.cache) for (const a of m.values()) if (a !== null) interner.dropIfUnused(a);
    const announce: OutGroup[] = [];
    for (const g of this.groups) for (const [attrs, prefixes] of g) announce.push({ attrs, prefixes });
    return { peerId: this.p.cfg.info.id, announce, withdraw: this.withdraw };
  }
}

/**
 * RFC 6793 4.2.2: towards a 2-octet-AS speaker, AS numbers above 65535 become AS_TRANS in
 * AS_PATH, and the real path goes in AS4_PATH.
 */
function forTwoOctet(attrs: PathAttribute[]): PathAttribute[] {
  const out: PathAttribute[] = [];
  for (const a of attrs) {
    if (a.type === 'as-path' && a.segments.some((s) => s.asns.some((n) => n > 0xffff))) {
      out.push({ ...a, segments: a.segments.map((s) => ({ kind: s.kind, asns: s.asns.map((n) => (n > 0xffff ? AS_TRANS : n)) })) });
      out.push({ type: 'as4-path', flags: 0xc0, segments: a.segments.filter((s) => s.kind === 'sequence' || s.kind === 'set') });
    } else if (a.type === 'aggregator' && a.asn > 0xffff) {
      out.push({ ...a, asn: AS_TRANS });
      out.push({ type: 'as4-aggregator', flags: 0xc0, asn: a.asn, address: a.address });
    } else out.push(a);
  }
  return out;
}

/**
 * The UPDATE messages for a batch: withdrawals first, then one run per attribute set. A group
 * whose attributes (as encoded for this peer) leave no room for its prefixes in the peer's
 * maximum message size is not announced: its prefixes are withdrawn instead (the peer may hold
 * an earlier, smaller version of the route, which must not stay) and reported to `onTooLarge`,
 * once per group and family. RFC 8654 5: "A BGP speaker ... MUST NOT send a BGP UPDATE message
 * that exceeds the maximum message size". The other groups are sent as usual. A caller that
 * keeps the batch's Adj-RIB-Out should use AdjRibOut.messages, which also forgets them as sent.
 */
export function batchMessages(batch: OutBatch, opts: WireOptions, onTooLarge?: (t: TooLarge) => void): Uint8Array[] {
  const announced: Uint8Array[] = [];
  const dropped: Prefix[] = [];
  for (const g of batch.announce) {
    let attributes = toPathAttributes(g.attrs);
    if (!opts.fourOctetAs) attributes = forTwoOctet(attributes);
    const v6 = typeof g.prefixes[0] !== 'number';
    // RFC 8950: an IPv4 group whose next hop is IPv6 (transform allows it only where negotiated).
    const nh6 = v6 || g.attrs.nextHop.includes(':') ? [g.attrs.nextHop] : undefined;
    const r = packRoutes({ attributes, announce: g.prefixes, ...(v6 ? { ipv6NextHop: nh6 } : nh6 ? { ipv4NextHop6: nh6 } : {}) }, opts);
    for (const m of r.messages) announced.push(m);
    for (const t of r.tooLarge) {
      for (const p of t.prefixes) dropped.push(p);
      onTooLarge?.(t);
    }
  }
  const withdraw = dropped.length === 0 ? batch.withdraw : [...batch.withdraw, ...dropped];
  if (withdraw.length === 0) return announced;
  const out = packRoutes({ withdraw }, opts).messages;
  for (const m of announced) out.push(m);
  return out;
}
