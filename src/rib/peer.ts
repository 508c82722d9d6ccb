/**
 * Who a route came from, and the Path: a (source, attribute set) pair. Paths are shared by every
 * prefix with the same source and attributes (one object per peer per distinct set, not per
 * prefix), so the Loc-RIB holds a pointer per route.
 */
import type { InternedAttrs } from './attrs.js';

export interface PeerInfo {
  /** Stable key (e.g. the peer address, or a configured name). */
  readonly id: string;
  /** The peer's address (dotted quad or RFC 5952 text): the last tie-breaker. */
  readonly address: string;
  readonly asn: number;
  /** The peer's BGP Identifier, dotted. */
  readonly routerId: string;
  readonly type: 'ibgp' | 'ebgp';
  /** RFC 4456: this peer is a route-reflector client of ours. */
  readonly isRrClient: boolean;
  /** Our AS on this session. */
  readonly localAsn: number;
}

/** What this node is: needed by the decision process, loop checks and export. */
export interface LocalInfo {
  readonly asn: number;
  /** Our BGP Identifier, dotted. */
  readonly routerId: string;
  /** RFC 4456 7: the cluster id when we reflect; defaults to routerId. */
  readonly clusterId?: string;
}

export type PathSource = 'local' | 'peer';

export class Path {
  /**
   * How many Loc-RIB slots hold this path (maintained by the Rib; when it drops to zero the path
   * is forgotten and its attribute set released).
   */
  refs = 0;
  /**
   * @param attrs the set the decision process and export see (after import policy)
   * @param input the set as received, before import policy changed it (LOCAL_PREF set,
   *   communities added); the same object when the policy changed nothing. Kept so a new policy
   *   can be applied to the routes already held (Rib.setPolicy) without asking the peer again.
   * @param stale kept from a session that ended with graceful restart (RFC 4724 4.2: "MUST mark
   *   them as stale routing information"); a stale path is never shared with fresh routes
   *   (PeerState.pathFor hands out fresh ones only) and loses to any fresh path (decision.ts).
   */
  constructor(
    readonly source: PathSource,
    readonly peer: PeerInfo,
    readonly attrs: InternedAttrs,
    readonly input: InternedAttrs = attrs,
    readonly stale = false,
  ) {}

  toString(): string {
    return `${this.source === 'local' ? 'local' : this.peer.id}${this.stale ? ' (stale)' : ''} ${this.attrs.key}`;
  }
}

/** The pseudo peer that owns locally originated routes. */
export function localPeer(local: LocalInfo): PeerInfo {
  return Object.freeze({
    id: '<local>',
    address: '0.0.0.0',
    asn: local.asn,
    routerId: local.routerId,
    type: 'ibgp' as const,
    isRrClient: false,
    localAsn: local.asn,
  });
}
