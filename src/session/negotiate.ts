/**
 * Capability negotiation (RFC 5492): what both speakers enabled, once the peer's OPEN has passed
 * the checks of open-checks.ts, and the WireOptions the session reads and writes UPDATEs with.
 */
import { capabilitiesOf, openAsn } from '../wire/open.js';
import { AddPathMode, addPathMode, wireOptionsFor } from '../wire/wire-options.js';
import { Afi, Safi } from '../wire/iana.js';
import { familyKey, type AfiSafi, type Capability, type OpenMessage, type WireOptions } from '../wire/types.js';
import { keepaliveMs, negotiateHoldTime } from './hold-time.js';

export { AddPathMode };
/** RFC 4724 3: Restart Flags (R, and N from RFC 8538) and the per-family F bit. */
export const GracefulRestartFlag = { RESTART_STATE: 0x8, NOTIFICATION: 0x4, FORWARDING_STATE: 0x80 } as const;

export const IPV4_UNICAST: AfiSafi = { afi: Afi.IPV4, safi: Safi.UNICAST };
export const IPV6_UNICAST: AfiSafi = { afi: Afi.IPV6, safi: Safi.UNICAST };

export interface AddPathResult {
  afi: number;
  safi: number;
  /** We may send path identifiers (we said send, the peer said receive). */
  send: boolean;
  /** The peer may send us path identifiers (we said receive, the peer said send). */
  receive: boolean;
}

export interface PeerGracefulRestart {
  /** RFC 4724 3: Restart Time in seconds. */
  restartTime: number;
  /** R bit: the peer has restarted. */
  restarting: boolean;
  /** N bit (RFC 8538): graceful restart also covers NOTIFICATIONs. */
  notification: boolean;
  /** Families (among those negotiated) the peer keeps forwarding state for across a restart. */
  families: { afi: number; safi: number; forwardingPreserved: boolean }[];
}

export type NextHopEntry = { afi: number; safi: number; nextHopAfi: number };

export interface Negotiated {
  /** The peer's AS (RFC 6793 4.1: from the four-octet AS capability when present). */
  peerAs: number;
  peerBgpId: string;
  /** iBGP: the peer is in our AS. */
  internal: boolean;
  /** RFC 4271 4.2: min(ours, theirs) in seconds; 0 = no hold timer and no keepalives. */
  holdTime: number;
  keepaliveMs: number;
  /** RFC 4760 8: the families both enabled, in our order. */
  families: AfiSafi[];
  fourOctetAs: boolean;
  /** RFC 2918 (code 2, or the pre-standard 128 from the peer): both sides. */
  routeRefresh: boolean;
  /** RFC 7313: both sides (and route refresh). */
  enhancedRouteRefresh: boolean;
  /** RFC 8654: both sides. */
  extendedMessage: boolean;
  /** Whether we advertised graceful restart, and the peer's parameters when it did. */
  gracefulRestart: { local: boolean; peer: PeerGracefulRestart | undefined };
  /** RFC 7911 4, per negotiated family that has either direction. */
  addPath: AddPathResult[];
  /**
   * RFC 8950 3: each side lists the next-hop families it can receive. `send`: what the peer
   * accepts from us; `receive`: what we accept from the peer. Limited to negotiated families.
   */
  extendedNextHop: { send: NextHopEntry[]; receive: NextHopEntry[] };
  /** draft-walton-bgp-hostname-capability. */
  peerHostname: { hostname: string; domain: string } | undefined;
  peerCapabilities: Capability[];
  /** For decoding what the peer sends. */
  decode: WireOptions;
  /** For encoding what we send. */
  encode: WireOptions;
}

/** What `localCapabilities` puts in our OPEN. */
export interface LocalCapabilityOptions {
  localAs: number;
  /** Default: IPv4 unicast. */
  families?: AfiSafi[];
  routeRefresh?: boolean; // default true
  enhancedRouteRefresh?: boolean;
  extendedMessage?: boolean;
  addPath?: { afi: number; safi: number; sendReceive: number }[];
  extendedNextHop?: NextHopEntry[];
  gracefulRestart?: { restartTime: number; flags?: number; families?: { afi: number; safi: number; flags: number }[] };
  hostname?: { hostname: string; domain: string };
}

/** The capabilities weft advertises: one multiprotocol capability per family, four-octet AS always. */
export function localCapabilities(o: LocalCapabilityOptions): Capability[] {
  const caps: Capability[] = (o.families ?? [IPV4_UNICAST]).map((f) => ({ type: 'multiprotocol', afi: f.afi, safi: f.safi }));
  if (o.routeRefresh ?? true) caps.push({ type: 'route-refresh' });
  if (o.enhancedRouteRefresh) caps.push({ type: 'enhanced-route-refresh' });
  caps.push({ type: 'four-octet-as', asn: o.localAs });
  if (o.extendedMessage) caps.push({ type: 'extended-message' });
  if (o.addPath?.length) caps.push({ type: 'add-path', families: o.addPath });
  if (o.extendedNextHop?.length) caps.push({ type: 'extended-next-hop', entries: o.extendedNextHop });
  if (o.gracefulRestart) {
    const gr = o.gracefulRestart;
    caps.push({ type: 'graceful-restart', flags: gr.flags ?? 0, time: gr.restartTime, families: gr.families ?? [] });
  }
  if (o.hostname) caps.push({ type: 'fqdn', hostname: o.hostname.hostname, domain: o.hostname.domain });
  return caps;
}

/**
 * The families a capability list enables. RFC 4760 8: a speaker that sends no multiprotocol
 * capability at all is taken to support IPv4 unicast only.
 */
export function familiesOf(caps: readonly Capability[]): AfiSafi[] {
  const seen = new Set<string>();
  const out: AfiSafi[] = [];
  for (const c of caps) {
    if (c.type !== 'multiprotocol') continue;
    const k = familyKey(c.afi, c.safi);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ afi: c.afi, safi: c.safi });
  }
  return caps.some((c) => c.type === 'multiprotocol') ? out : [IPV4_UNICAST];
}

/** The families in both lists, in the order of `ours`. */
export function intersectFamilies(ours: readonly AfiSafi[], theirs: readonly AfiSafi[]): AfiSafi[] {
  const t = new Set(theirs.map((f) => familyKey(f.afi, f.safi)));
  return ours.filter((f) => t.has(familyKey(f.afi, f.safi)));
}

function has(caps: readonly Capability[], type: Capability['type']): boolean {
  return caps.some((c) => c.type === type);
}

function find<T extends Capability['type']>(caps: readonly Capability[], type: T): Extract<Capability, { type: T }> | undefined {
  return caps.find((c): c is Extract<Capability, { type: T }> => c.type === type);
}

/** RFC 7911 4: "send" needs our Send and their Receive; "receive" the other way round. */
export function negotiateAddPath(ours: readonly Capability[], theirs: readonly Capability[], families: readonly AfiSafi[]): AddPathResult[] {
  const out: AddPathResult[] = [];
  for (const f of families) {
    const o = addPathMode(ours, f);
    const t = addPathMode(theirs, f);
    const send = (o & AddPathMode.SEND) !== 0 && (t & AddPathMode.RECEIVE) !== 0;
    const receive = (o & AddPathMode.RECEIVE) !== 0 && (t & AddPathMode.SEND) !== 0;
    if (send || receive) out.push({ afi: f.afi, safi: f.safi, send, receive });
  }
  return out;
}

function nextHopEntries(caps: readonly Capability[], families: readonly AfiSafi[]): NextHopEntry[] {
  const fam = new Set(families.map((f) => familyKey(f.afi, f.safi)));
  const cap = find(caps, 'extended-next-hop');
  return (cap?.entries ?? []).filter((e) => fam.has(familyKey(e.afi, e.safi))).map((e) => ({ ...e }));
}

function peerGracefulRestart(caps: readonly Capability[], families: readonly AfiSafi[]): PeerGracefulRestart | undefined {
  const gr = find(caps, 'graceful-restart');
  if (!gr) return undefined;
  const fam = new Set(families.map((f) => familyKey(f.afi, f.safi)));
  return {
    restartTime: gr.time,
    restarting: (gr.flags & GracefulRestartFlag.RESTART_STATE) !== 0,
    notification: (gr.flags & GracefulRestartFlag.NOTIFICATION) !== 0,
    families: gr.families
      .filter((f) => fam.has(familyKey(f.afi, f.safi)))
      .map((f) => ({ afi: f.afi, safi: f.safi, forwardingPreserved: (f.flags & GracefulRestartFlag.FORWARDING_STATE) !== 0 })),
  };
}

export interface NegotiationInput {
  localAs: number;
  holdTime: number;
  keepaliveTime: number | undefined;
  capabilities: readonly Capability[];
}

/** Negotiates with a peer OPEN that passed `checkOpen`. */
export function negotiate(local: NegotiationInput, open: OpenMessage): Negotiated {
  const ours = local.capabilities;
  const theirs = capabilitiesOf(open);
  const families = intersectFamilies(familiesOf(ours), familiesOf(theirs));
  const holdTime = negotiateHoldTime(local.holdTime, open.holdTime);
  const fourOctetAs = has(ours, 'four-octet-as') && has(theirs, 'four-octet-as');
  const extendedMessage = has(ours, 'extended-message') && has(theirs, 'extended-message');
  const routeRefresh = has(ours, 'route-refresh') && (has(theirs, 'route-refresh') || has(theirs, 'route-refresh-old'));
  const addPath = negotiateAddPath(ours, theirs, families);
  const fqdn = find(theirs, 'fqdn');
  const peerAs = openAsn(open);

  return {
    peerAs,
    peerBgpId: open.bgpId,
    internal: peerAs === local.localAs,
    holdTime,
    keepaliveMs: keepaliveMs(holdTime, local.keepaliveTime),
    families,
    fourOctetAs,
    routeRefresh,
    enhancedRouteRefresh: routeRefresh && has(ours, 'enhanced-route-refresh') && has(theirs, 'enhanced-route-refresh'),
    extendedMessage,
    gracefulRestart: { local: has(ours, 'graceful-restart'), peer: peerGracefulRestart(theirs, families) },
    addPath,
    extendedNextHop: { send: nextHopEntries(theirs, families), receive: nextHopEntries(ours, families) },
    peerHostname: fqdn ? { hostname: fqdn.hostname, domain: fqdn.domain } : undefined,
    peerCapabilities: theirs,
    decode: wireOptionsFor(theirs, ours, families),
    encode: wireOptionsFor(ours, theirs, families),
  };
}
