/**
 * The Loc-RIB (RFC 4271 3.2, 9.1): one Map from prefix to a slot. A slot is the single candidate
 * Path itself (the common case: no object per prefix at all), or an Entry with the candidate
 * list and the cached decision when several peers have the prefix.
 *
 * Applying an UPDATE with N prefixes is O(N): the attributes are interned and checked once, each
 * prefix costs one policy check, one Map lookup and, when it has several candidates, one run of
 * the decision process over them.
 */
import type { Prefix } from '../lib/prefix.js';
import { PrefixMap } from '../lib/prefix-map.js';
import { isInvalidNextHop } from '../wire/attr-basic.js';
import type { PathAttribute } from '../wire/types.js';
import { maxPrefixCheck, familyIndex, PeerState, type MaxPrefixExceeded, type RibUpdate } from './adj-rib-in.js';
import { AttrInterner, type InternedAttrs } from './attrs.js';
import { rankPaths, selectBest, type Ranked } from './decision.js';
import { localPeer, Path, type LocalInfo, type PeerInfo } from './peer.js';
import { ACCEPT_ALL, applyVerdict, type Accept, type Policy, type RefusalReason } from './policy.js';
import { importPolicyWidens } from './policy-change.js';

/**
 * RFC 4271 6.3: a NEXT_HOP that is not "a valid IP host address" makes the route unusable (RFC
 * 7606 7.3: treat-as-withdraw). The decoder checks the NEXT_HOP attribute; an IPv4 next hop
 * carried in MP_REACH_NLRI (RFC 4760) arrives unchecked, so the check is made here for every IPv4
 * route, however its next hop came. An IPv6 next hop of an IPv4 route (RFC 8950) is the
 * session's business (update-input.ts).
 */
function unusableNextHop(first: Prefix | undefined, a: InternedAttrs): RefusalReason | undefined {
  if (typeof first !== 'number' || a.nextHop === '' || a.nextHop.includes(':')) return undefined;
  return isInvalidNextHop(a.nextHop) ? 'invalid-next-hop' : undefined;
}

/** A prefix whose best path (or multipath set) changed. */
export interface Change {
  prefix: Prefix;
  best: Path | undefined;
  previous: Path | undefined;
  /** Why `best` won ('only path' when alone), or 'withdrawn' when no path is left. */
  reason: string;
  /** The ECMP set, best first, when it holds more than one path. */
  multipath?: readonly Path[];
}

export interface BestInfo {
  prefix: Prefix;
  best: Path;
  multipath: readonly Path[];
}

class Entry {
  best: Path | undefined = undefined;
  multipath: readonly Path[] = [];
  reason = '';
  constructor(readonly paths: Path[]) {}
}

type Slot = Path | Entry;

export interface RibOptions {
  local: LocalInfo;
  /** ECMP: the most paths in a multipath set (1 = no multipath). */
  maxPaths?: number;
  interner?: AttrInterner;
}

/** Two PeerInfos of the same speaker on the same terms (a returning peer keeps its stale routes only then). */
export const sameInfo = (a: PeerInfo, b: PeerInfo): boolean =>
  a.address === b.address && a.asn === b.asn && a.routerId === b.routerId && a.type === b.type && a.isRrClient === b.isRrClient && a.localAsn === b.localAsn;

const sameList = (a: readonly Path[], b: readonly Path[]): boolean => a.length === b.length && a.every((p, i) => p === b[i]);

export class Rib {
  readonly interner: AttrInterner;
  readonly local: LocalInfo;
  private readonly maxPaths: number;
  private readonly loc = new PrefixMap<Slot>();
  private readonly peers = new Map<string, PeerState>();
  private readonly own: PeerState;
  private readonly clusterId: string;

  constructor(opts: RibOptions) {
    this.local = opts.local;
    this.interner = opts.interner ?? new AttrInterner();
    this.maxPaths = Math.max(1, opts.maxPaths ?? 1);
    this.own = new PeerState(localPeer(opts.local), ACCEPT_ALL, 'local');
    this.clusterId = opts.local.clusterId ?? opts.local.routerId;
  }

  // ----------------------------------------------------------------------- peers

  /**
   * A peer (again). A peer whose routes are all stale (markStale) and whose info is unchanged
   * keeps them: RFC 4724 4.2, they wait for the peer's End-of-RIB (sweepStale).
   */
  addPeer(info: PeerInfo, policy: Policy = ACCEPT_ALL): void {
    const ps = this.peers.get(info.id);
    if (ps !== undefined && ps.total() > 0 && ps.stale === ps.total() && sameInfo(ps.info, info)) {
      ps.policy = policy;
      return;
    }
    if (ps !== undefined && ps.total() > 0) throw new Error(`peer ${info.id} still has routes: call peerDown first`);
    this.peers.set(info.id, new PeerState(info, policy));
  }

  /**
   * A new import policy for the peer, applied at once to the routes held from it (RFC 2918 1:
   * "all prefixes from that peer must be somehow made available and then re-examined against the
   * new policy"). Each held route is checked again on its attributes as received (Path.input,
   * after the eBGP LOCAL_PREF rule, before any policy): refused ones are removed (and counted as
   * refused), accepted ones get the new policy's changes. Returns the Loc-RIB changes, as
   * applyUpdate does. Routes the old policy refused are not held: ask needsRoutesAgain first.
   */
  setPolicy(peerId: string, policy: Policy): Change[] {
    const ps = this.peer(peerId);
    ps.policy = policy;
    const changes: Change[] = [];
    if (ps.total() === 0) return changes;
    // One verdict's result per held path: the routes of a path mostly get the same verdict.
    let lastFrom: Path | undefined;
    let lastVerdict: Accept | undefined;
    let lastPath: Path | undefined;
    for (const [p, slot] of this.loc) {
      const held = slot instanceof Path ? (slot.peer === ps.info ? slot : undefined) : slot.paths.find((x) => x.peer === ps.info);
      if (held === undefined) continue;
      const v = policy.check(p, held.input);
      if (!v.accept) {
        ps.refuse(v.reason);
        this.remove(ps, p, changes); // replaces or deletes the current entry: safe while iterating
        continue;
      }
      if (held !== lastFrom || v !== lastVerdict || lastPath === undefined) {
        const attrs = applyVerdict(this.interner, held.input, v);
        lastPath = held.stale ? this.staleWith(held, attrs) : ps.pathFor(attrs, this.interner, held.input);
        this.interner.dropIfUnused(attrs);
        lastFrom = held;
        lastVerdict = v;
      }
      if (lastPath === held) continue;
      if (lastPath.stale) ps.stale++; // one more stale route; unref of the one it replaces counts one less
      this.set(ps, p, lastPath, changes);
    }
    return changes;
  }

  /**
   * A stale path (RFC 4724 4.2) with the attributes a new policy gives it: still stale, so it
   * still goes at the End-of-RIB unless the peer sends the route again (the same path when the
   * attributes did not change). Like markStale's copies, it is in no cache and holds its sets.
   */
  private staleWith(held: Path, attrs: InternedAttrs): Path {
    if (attrs === held.attrs) return held;
    this.interner.retain(attrs);
    if (held.input !== attrs) this.interner.retain(held.input);
    return new Path(held.source, held.peer, attrs, held.input, true);
  }

  /**
   * Whether giving the peer `next` as its import policy may accept routes that are not held
   * because the current policy (or an earlier one) refused them: then only the peer can send them
   * again (a route refresh, RFC 2918, or a new session). False when no route of the peer was ever
   * refused by policy, or when importPolicyWidens shows the change accepts nothing new; true when
   * that cannot be told (a policy without its configuration). Ask before setPolicy.
   */
  needsRoutesAgain(peerId: string, next: Policy): boolean {
    const ps = this.peer(peerId);
    if (ps.policyRefusals() === 0 || next === ps.policy) return false;
    const before = ps.policy.config;
    const after = next.config;
    return before === undefined || after === undefined || importPolicyWidens(before, after);
  }

  peerInfo(peerId: string): PeerInfo | undefined {
    return this.peers.get(peerId)?.info;
  }

  /** Withdraws all of the peer's routes and forgets the peer. */
  removePeer(peerId: string): Change[] {
    const changes = this.peerDown(peerId);
    this.peers.delete(peerId);
    return changes;
  }

  private peer(peerId: string): PeerState {
    const ps = this.peers.get(peerId);
    if (ps === undefined) throw new Error(`unknown peer ${peerId}`);
    return ps;
  }

  // ----------------------------------------------------------------------- input

  applyUpdate(peerId: string, u: RibUpdate): Change[] {
    const ps = this.peer(peerId);
    const changes: Change[] = [];
    for (const p of u.withdrawn) this.remove(ps, p, changes);
    if (u.announced.length === 0) return changes;
    const received = u.attrs === undefined || Array.isArray(u.attrs) ? this.interner.intern((u.attrs ?? []) as PathAttribute[], u.nextHop) : (u.attrs as InternedAttrs);
    let attrs = received;
    // RFC 4271 5.1.5: LOCAL_PREF "received from an external peer ... MUST be ignored". RFC 9012
    // 11: "For each external BGP (EBGP) session, filtering of the attribute [Tunnel Encapsulation]
    // on incoming UPDATEs MUST be enabled by default."
    if (ps.info.type === 'ebgp' && (attrs.localPref !== undefined || attrs.tunnelEncap !== undefined)) {
      attrs = this.interner.derive(attrs, { localPref: undefined, tunnelEncap: undefined });
    }
    const refused = this.loopCheck(ps.info, attrs) ?? unusableNextHop(u.announced[0], attrs);
    if (refused !== undefined) {
      // The whole UPDATE is refused; an earlier route for these prefixes is withdrawn.
      ps.refuse(refused, u.announced.length);
      for (const p of u.announced) this.remove(ps, p, changes);
    } else {
      let lastVerdict: Accept | undefined;
      let lastPath: Path | undefined;
      for (const p of u.announced) {
        const v = ps.policy.check(p, attrs);
        if (!v.accept) {
          ps.refuse(v.reason);
          this.remove(ps, p, changes);
          continue;
        }
        if (v !== lastVerdict || lastPath === undefined) {
          lastVerdict = v;
          lastPath = ps.pathFor(applyVerdict(this.interner, attrs, v), this.interner, attrs);
        }
        this.set(ps, p, lastPath, changes);
      }
    }
    this.interner.dropIfUnused(attrs);
    if (attrs !== received) this.interner.dropIfUnused(received);
    return changes;
  }

  /** Import-side loop checks, once per UPDATE. */
  private loopCheck(peer: PeerInfo, a: InternedAttrs): RefusalReason | undefined {
    // RFC 4271 9.1.2: "If the AS_PATH attribute of a BGP route contains an AS loop, the BGP route
    // should be excluded from the Phase 2 decision function."
    for (const s of a.asPath) if ((s.kind === 'sequence' || s.kind === 'set') && s.asns.includes(peer.localAsn)) return 'as-loop';
    // RFC 4456 8: "A router that recognizes the ORIGINATOR_ID attribute SHOULD ignore a route
    // received with its BGP Identifier as the ORIGINATOR_ID." ... "If the local CLUSTER_ID is
    // found in the CLUSTER_LIST, the advertisement received SHOULD be ignored."
    if (a.originatorId === this.local.routerId) return 'originator-loop';
    if (a.clusterList.includes(this.clusterId)) return 'cluster-loop';
    return undefined;
  }

  /** All of the peer's routes withdrawn and re-decided (the peer stays known). */
  peerDown(peerId: string): Change[] {
    const ps = this.peer(peerId);
    const changes: Change[] = [];
    if (ps.total() > 0) {
      for (const [p, slot] of this.loc) {
        if (slot instanceof Path) {
          if (slot.peer !== ps.info) continue;
          // The common case inline (deleting the current entry while iterating a Map is safe).
          this.loc.delete(p);
          ps.counts[familyIndex(p)]--;
          ps.unref(slot, this.interner);
          changes.push({ prefix: p, best: undefined, previous: slot, reason: 'withdrawn' });
        } else if (slot.paths.some((x) => x.peer === ps.info)) {
          this.remove(ps, p, changes);
        }
      }
    }
    ps.endOfRib.clear();
    return changes;
  }

  /**
   * RFC 4724 4.2: the session with a peer that advertised graceful restart ended; "retain the
   * routes received from the peer for all the address families that were previously received in
   * the Graceful Restart Capability and ... mark them as stale". `families`: family indexes (0
   * IPv4, 1 IPv6). Each of the peer's paths there is replaced by a stale copy (same attributes,
   * so the forwarding does not change); decisions are made again where the peer's path competes.
   */
  markStale(peerId: string, families: readonly (0 | 1)[]): Change[] {
    const ps = this.peer(peerId);
    const changes: Change[] = [];
    ps.endOfRib.clear();
    if (ps.total() === 0) return changes;
    const copies = new Map<Path, Path>();
    const staleOf = (old: Path): Path => {
      let c = copies.get(old);
      if (c === undefined) {
        c = new Path(old.source, old.peer, old.attrs, old.input, true);
        this.interner.retain(old.attrs);
        if (old.input !== old.attrs) this.interner.retain(old.input);
        copies.set(old, c);
      }
      c.refs++;
      ps.stale++;
      return c;
    };
    for (const [p, slot] of this.loc) {
      if (!families.includes(familyIndex(p))) continue;
      if (slot instanceof Path) {
        if (slot.peer !== ps.info || slot.stale) continue;
        const c = staleOf(slot);
        this.loc.set(p, c);
        ps.unref(slot, this.interner);
        changes.push({ prefix: p, best: c, previous: slot, reason: 'stale: kept through graceful restart' });
        continue;
      }
      const i = slot.paths.findIndex((x) => x.peer === ps.info);
      if (i < 0 || slot.paths[i].stale) continue;
      const old = slot.paths[i];
      slot.paths[i] = staleOf(old);
      ps.unref(old, this.interner);
      this.decide(p, slot, changes);
    }
    return changes;
  }

  /**
   * The peer's stale routes go (RFC 4724 4.2): those of one family when its End-of-RIB arrives
   * (routes the peer announced again are fresh by then and stay), or all of them when the
   * Restart Time or the stale timer runs out. `family`: 0 IPv4, 1 IPv6, undefined both.
   */
  sweepStale(peerId: string, family?: 0 | 1): Change[] {
    const ps = this.peer(peerId);
    const changes: Change[] = [];
    if (ps.stale === 0) return changes;
    for (const [p, slot] of this.loc) {
      if (family !== undefined && familyIndex(p) !== family) continue;
      const mine = slot instanceof Path ? (slot.peer === ps.info ? slot : undefined) : slot.paths.find((x) => x.peer === ps.info);
      if (mine?.stale === true) this.remove(ps, p, changes);
    }
    return changes;
  }

  /** How many of the peer's routes are stale (0 for an unknown peer). */
  staleCount(peerId: string): number {
    return this.peers.get(peerId)?.stale ?? 0;
  }

  /** RFC 4724 2: the peer finished its initial routing update for a family ("afi/safi"). */
  endOfRib(peerId: string, family: string | { afi: number; safi: number }): void {
    this.peer(peerId).endOfRib.add(typeof family === 'string' ? family : `${family.afi}/${family.safi}`);
  }

  hasEndOfRib(peerId: string, family: string | { afi: number; safi: number }): boolean {
    return this.peer(peerId).endOfRib.has(typeof family === 'string' ? family : `${family.afi}/${family.safi}`);
  }

  /** A locally originated route (own block); replaces an earlier one for the prefix. */
  localAdd(prefix: Prefix, attrs: readonly PathAttribute[] | InternedAttrs = []): Change[] {
    const changes: Change[] = [];
    const a = Array.isArray(attrs) ? this.interner.intern(attrs.length > 0 ? attrs : [{ type: 'origin', flags: 0x40, origin: 0 }]) : (attrs as InternedAttrs);
    this.set(this.own, prefix, this.own.pathFor(a, this.interner), changes);
    this.interner.dropIfUnused(a);
    return changes;
  }

  localRemove(prefix: Prefix): Change[] {
    const changes: Change[] = [];
    this.remove(this.own, prefix, changes);
    return changes;
  }

  // ----------------------------------------------------------------------- slots

  private set(ps: PeerState, p: Prefix, path: Path, changes: Change[]): void {
    const slot = this.loc.get(p);
    if (slot === undefined) {
      this.loc.set(p, path);
      path.refs++;
      ps.counts[familyIndex(p)]++;
      changes.push({ prefix: p, best: path, previous: undefined, reason: 'only path' });
      return;
    }
    if (slot === path) return;
    if (slot instanceof Path) {
      path.refs++;
      if (slot.peer === path.peer) {
        // Implicit withdraw (RFC 4271 3.1): the peer's new route replaces its old one.
        this.loc.set(p, path);
        ps.unref(slot, this.interner);
        changes.push({ prefix: p, best: path, previous: slot, reason: 'only path' });
        return;
      }
      ps.counts[familyIndex(p)]++;
      const e = new Entry([slot, path]);
      e.best = slot;
      e.multipath = [slot];
      this.loc.set(p, e);
      this.decide(p, e, changes);
      return;
    }
    const i = slot.paths.findIndex((x) => x.peer === path.peer);
    if (i >= 0) {
      const old = slot.paths[i];
      if (old === path) return;
      slot.paths[i] = path;
      path.refs++;
      ps.unref(old, this.interner);
    } else {
      slot.paths.push(path);
      path.refs++;
      ps.counts[familyIndex(p)]++;
    }
    this.decide(p, slot, changes);
  }

  private remove(ps: PeerState, p: Prefix, changes: Change[]): void {
    const slot = this.loc.get(p);
    if (slot === undefined) return;
    if (slot instanceof Path) {
      if (slot.peer !== ps.info) return;
      this.loc.delete(p);
      ps.counts[familyIndex(p)]--;
      ps.unref(slot, this.interner);
      changes.push({ prefix: p, best: undefined, previous: slot, reason: 'withdrawn' });
      return;
    }
    const i = slot.paths.findIndex((x) => x.peer === ps.info);
    if (i < 0) return;
    const old = slot.paths[i];
    slot.paths.splice(i, 1);
    ps.counts[familyIndex(p)]--;
    ps.unref(old, this.interner);
    if (slot.paths.length === 1) {
      // Back to a bare Path slot.
      const only = slot.paths[0];
      this.loc.set(p, only);
      if (slot.best !== only || slot.multipath.length > 1) changes.push({ prefix: p, best: only, previous: slot.best, reason: 'only path' });
      return;
    }
    this.decide(p, slot, changes);
  }

  private decide(p: Prefix, e: Entry, changes: Change[]): void {
    const before = e.best;
    const beforeMulti = e.multipath;
    const sel = selectBest(e.paths, this.maxPaths);
    e.best = sel.best;
    e.multipath = sel.multipath;
    e.reason = sel.reason;
    if (sel.best !== before || !sameList(sel.multipath, beforeMulti)) {
      const c: Change = { prefix: p, best: sel.best, previous: before, reason: sel.reason };
      if (sel.multipath.length > 1) c.multipath = sel.multipath;
      changes.push(c);
    }
  }

  // ----------------------------------------------------------------------- queries

  best(prefix: Prefix): Path | undefined {
    const s = this.loc.get(prefix);
    return s === undefined ? undefined : s instanceof Path ? s : s.best;
  }

  /** The ECMP set for a prefix, best first ([] when there is no route). */
  multipath(prefix: Prefix): readonly Path[] {
    const s = this.loc.get(prefix);
    return s === undefined ? [] : s instanceof Path ? [s] : s.multipath;
  }

  /** Every candidate with its rank and, for each loser, the step that removed it. */
  paths(prefix: Prefix): Ranked[] {
    const s = this.loc.get(prefix);
    if (s === undefined) return [];
    return s instanceof Path ? [{ path: s, rank: 'best', reason: 'only path' }] : rankPaths(s.paths, this.maxPaths);
  }

  /** Every prefix with its best path. */
  *entries(): IterableIterator<BestInfo> {
    for (const [prefix, s] of this.loc) {
      if (s instanceof Path) yield { prefix, best: s, multipath: [s] };
      else if (s.best !== undefined) yield { prefix, best: s.best, multipath: s.multipath };
    }
  }

  /** The Adj-RIB-In view of one peer: its accepted routes. */
  *adjRibIn(peerId: string): IterableIterator<[Prefix, InternedAttrs]> {
    const info = this.peer(peerId).info;
    for (const [prefix, s] of this.loc) {
      if (s instanceof Path) {
        if (s.peer === info) yield [prefix, s.attrs];
      } else {
        const mine = s.paths.find((x) => x.peer === info);
        if (mine !== undefined) yield [prefix, mine.attrs];
      }
    }
  }

  size(): number {
    return this.loc.size;
  }

  count(peerId: string): { ipv4: number; ipv6: number; total: number } {
    const ps = this.peer(peerId);
    return { ipv4: ps.counts[0], ipv6: ps.counts[1], total: ps.total() };
  }

  localCount(): number {
    return this.own.total();
  }

  refusals(peerId: string): Partial<Record<RefusalReason, number>> {
    return Object.fromEntries(this.peer(peerId).refused);
  }

  /** RFC 4486: set when the peer is over its max-prefix limit; the caller sends Cease/1. */
  checkMaxPrefix(peerId: string): MaxPrefixExceeded | undefined {
    return maxPrefixCheck(this.peer(peerId));
  }

  peerIds(): string[] {
    return [...this.peers.keys()];
  }
}
