/**
 * Both address families on one session (MP-BGP, RFC 4760): the families our OPEN offers, the
 * NEXT_HOP we put on our routes per family, and the routes a session does not get because it did
 * not negotiate their family (not sent, and said so: `weft status` and one log line per session).
 *
 * Next hop self, per NLRI family (transport and NLRI families differ freely in MP-BGP):
 *  - IPv4: the session's local address when the session is IPv4, else the node's IPv4 underlay
 *    address (node.address or node.address4). A node with no IPv4 address at all sends its IPv4
 *    blocks with its IPv6 address as next hop, only to peers that sent the Extended Next Hop
 *    capability for IPv4 unicast with IPv6 next hops (RFC 8950 4); other peers do not get them.
 *  - IPv6: the session's local address when the session is IPv6, else the node's IPv6 underlay
 *    address (node.address6), else the IPv4-mapped IPv6 address (RFC 4291 2.5.5.2) of its IPv4
 *    underlay address, ::ffff:a.b.c.d: a weft receiver maps it back and carries the IPv6 pods
 *    over its IPv4 VXLAN device (the usual encoding of an IPv4 next hop for IPv6 NLRI, as in RFC
 *    4798 for 6PE).
 */
import { ipv4Mapped } from '../../lib/address.js';
import type { Prefix } from '../../lib/prefix.js';
import type { OutBatch } from '../../rib/export.js';
import { familiesOf, IPV4_UNICAST, IPV6_UNICAST, type Negotiated, type NextHopEntry } from '../../session/index.js';
import { Afi, Safi } from '../../wire/iana.js';
import { familyKey, type AfiSafi } from '../../wire/types.js';
import type { UnderlayAddresses } from '../config/config-helpers.js';
import type { UnsentFamilyView } from '../control/protocol.js';

/** RFC 8950 3: IPv4 unicast NLRI with an IPv6 next hop. */
export const IPV4_OVER_IPV6: NextHopEntry = { afi: Afi.IPV4, safi: Safi.UNICAST, nextHopAfi: Afi.IPV6 };

const isV6 = (a: string) => a.includes(':');

/**
 * Our OPEN's families: IPv4 unicast always; IPv6 unicast when some pool is IPv6. Blocks lie
 * inside pools and import accepts only routes inside pools, so without an IPv6 pool there is no
 * IPv6 route to carry either way.
 */
export function offeredFamilies(pools: readonly { cidr: Prefix }[]): AfiSafi[] {
  return pools.some((p) => typeof p.cidr !== 'number') ? [IPV4_UNICAST, IPV6_UNICAST] : [IPV4_UNICAST];
}

/**
 * The Extended Next Hop capability we send (RFC 8950 3: the next hops we can receive): IPv4
 * unicast over IPv6 when the node has IPv4 pools but no IPv4 underlay address, since the other
 * nodes' IPv4 blocks can then only reach it with IPv6 next hops. Otherwise none: the RFC 8950
 * route is the exception, and an IPv4 next hop is what a host with IPv4 can use directly.
 */
export function offeredExtendedNextHop(pools: readonly { cidr: Prefix }[], under: UnderlayAddresses): NextHopEntry[] {
  return under.v4 === undefined && pools.some((p) => typeof p.cidr === 'number') ? [IPV4_OVER_IPV6] : [];
}

/** RFC 8950 4: the peer takes IPv6 next hops for IPv4 unicast (it sent the capability for it). */
export function peerTakesIpv4OverIpv6(n: Negotiated): boolean {
  return n.extendedNextHop.send.some((e) => e.afi === Afi.IPV4 && e.safi === Safi.UNICAST && e.nextHopAfi === Afi.IPV6);
}

export interface SessionNextHops {
  nextHopSelf: { ipv4?: string; ipv6?: string };
  /** IPv4 routes may go out with an IPv6 next hop (RFC 8950 negotiated). */
  ipv4ExtendedNextHop: boolean;
}

/** Our next hop per family on one session (see the top of this file); `local`: the session's local address. */
export function sessionNextHops(local: string | undefined, under: UnderlayAddresses, n: Negotiated): SessionNextHops {
  const sessionV4 = local !== undefined && !isV6(local) ? local : undefined;
  const sessionV6 = local !== undefined && isV6(local) ? local : undefined;
  const ipv6 = sessionV6 ?? under.v6?.address ?? (under.v4 ? ipv4Mapped(under.v4.address) : undefined);
  const ipv4ExtendedNextHop = peerTakesIpv4OverIpv6(n);
  const v4 = sessionV4 ?? under.v4?.address;
  const ipv4 = v4 ?? (ipv4ExtendedNextHop ? (sessionV6 ?? under.v6?.address) : undefined);
  return { nextHopSelf: { ipv4, ipv6 }, ipv4ExtendedNextHop };
}

/** "ipv4-unicast", "ipv6-unicast", "afi-25-safi-70". */
export function familyText(afi: number, safi: number): string {
  const a = afi === Afi.IPV4 ? 'ipv4' : afi === Afi.IPV6 ? 'ipv6' : `afi-${afi}`;
  return `${a}-${safi === Safi.UNICAST ? 'unicast' : `safi-${safi}`}`;
}

const FAMILY_OF = (p: Prefix) => (typeof p === 'number' ? IPV4_UNICAST : IPV6_UNICAST);

/**
 * The batch without the routes of families the session did not negotiate (RFC 4760 8: only
 * negotiated families may be sent), and how many announcements were left out, by family text.
 */
export function negotiatedOnly(batch: OutBatch, n: Negotiated): { batch: OutBatch; unsent: Map<string, number> } {
  const ok = new Set(n.families.map((f) => familyKey(f.afi, f.safi)));
  const has = (p: Prefix) => {
    const f = FAMILY_OF(p);
    return ok.has(familyKey(f.afi, f.safi));
  };
  const unsent = new Map<string, number>();
  const announce = batch.announce.filter((g) => {
    if (has(g.prefixes[0])) return true;
    const f = FAMILY_OF(g.prefixes[0]);
    const k = familyText(f.afi, f.safi);
    unsent.set(k, (unsent.get(k) ?? 0) + g.prefixes.length);
    return false;
  });
  return { batch: { peerId: batch.peerId, announce, withdraw: batch.withdraw.filter(has) }, unsent };
}

/** Why IPv4 routes cannot go to a session without an IPv4 next hop (sessionNextHops gave none). */
export const NO_IPV4_NEXT_HOP = 'no IPv4 next hop: this node has no IPv4 address and the peer did not send the RFC 8950 extended next hop capability (IPv4 unicast over IPv6)';

/**
 * The negotiated families of an Established session and the routes it does not get: for each
 * family of the routes the export rules give this peer (`counts`, Adj-RIB-Out) that the session
 * did not negotiate, how many and why; and `ipv4WithoutNextHop` of our IPv4 blocks when the
 * session has no IPv4 next hop for them (an IPv6-only node, RFC 8950 not negotiated).
 */
export function familyStatus(n: Negotiated | undefined, counts: { ipv4: number; ipv6: number }, ipv4WithoutNextHop = 0): { families?: string[]; notNegotiated?: UnsentFamilyView[] } {
  if (!n) return {};
  const families = n.families.map((f) => familyText(f.afi, f.safi));
  const theirs = new Set(familiesOf(n.peerCapabilities).map((f) => familyKey(f.afi, f.safi)));
  const notNegotiated: UnsentFamilyView[] = [];
  for (const [f, routes] of [[IPV4_UNICAST, counts.ipv4], [IPV6_UNICAST, counts.ipv6]] as const) {
    const text = familyText(f.afi, f.safi);
    if (routes === 0 || families.includes(text)) continue;
    // Negotiated = offered by both: a family the peer offered and the session lacks is one we did not offer.
    notNegotiated.push({ family: text, routes, why: `not negotiated: ${theirs.has(familyKey(f.afi, f.safi)) ? 'we did not offer it' : 'the peer did not offer it'}` });
  }
  const v4 = familyText(IPV4_UNICAST.afi, IPV4_UNICAST.safi);
  if (ipv4WithoutNextHop > 0 && families.includes(v4)) notNegotiated.push({ family: v4, routes: ipv4WithoutNextHop, why: NO_IPV4_NEXT_HOP });
  return notNegotiated.length > 0 ? { families, notNegotiated } : { families };
}
