/**
 * The agent's RIB input of one decoded UPDATE: ribUpdatesFromMessage (src/rib) for the IPv4 NLRI
 * field and IPv6 unicast in MP_REACH/MP_UNREACH, plus IPv4 unicast carried in MP_REACH_NLRI /
 * MP_UNREACH_NLRI (RFC 4760), which some speakers (GoBGP over an IPv6 session) use for IPv4
 * routes whose next hop they can only give as an IPv6 address.
 *
 * RFC 8950 4: an IPv6 next hop for IPv4 NLRI is only used between speakers that both sent the
 * Extended Next Hop Encoding capability for that family. Without it the route has no next hop
 * this node can use (the IPv4 route cannot point at an IPv6 address), which RFC 7606 7.11 counts
 * as a malformed next hop: such routes are treated as withdrawn (RFC 7606 2, "treat-as-withdraw")
 * and counted as refused with the reason 'next-hop-family'.
 */
import type { Prefix } from '../../lib/prefix.js';
import { ribUpdatesFromMessage, type RibUpdate } from '../../rib/adj-rib-in.js';
import { Afi, Safi } from '../../wire/iana.js';
import type { UpdateMessage } from '../../wire/types.js';
import { updateSeverity } from '../../wire/update.js';

/** Refusals decided on the agent's input path (before the RIB's own import policy). */
export const INPUT_REFUSALS = ['next-hop-family'] as const;
export type InputRefusal = (typeof INPUT_REFUSALS)[number];

export interface RibInput {
  updates: RibUpdate[];
  /** Prefixes the peer announced in the message (refused ones included). */
  announced: number;
  /** Of those, IPv6 prefixes (metrics count received prefixes per family). */
  announcedIpv6: number;
  refused: Partial<Record<InputRefusal, number>>;
}

export interface RibInputOptions {
  /** RFC 8950: the session negotiated IPv6 next hops for IPv4 unicast (we receive them). */
  ipv4ExtendedNextHop: boolean;
}

const isV4Unicast = (afi: number, safi: number) => afi === Afi.IPV4 && safi === Safi.UNICAST;

export function ribInput(m: UpdateMessage, o: RibInputOptions): RibInput {
  const updates = ribUpdatesFromMessage(m);
  const refused: RibInput['refused'] = {};
  let announced = 0;
  let announcedIpv6 = 0;
  for (const u of updates) {
    announced += u.announced.length;
    // One family per RibUpdate (the NLRI field, or one MP_REACH_NLRI).
    if (typeof u.announced[0] === 'string') announcedIpv6 += u.announced.length;
  }
  const withdrawAll = updateSeverity(m) === 'treat-as-withdraw';
  const withdrawn: Prefix[] = [];
  for (const a of m.attributes) {
    if (a.type === 'mp-unreach' && isV4Unicast(a.unreach.afi, a.unreach.safi)) {
      withdrawn.push(...a.unreach.withdrawn);
    } else if (a.type === 'mp-reach' && isV4Unicast(a.reach.afi, a.reach.safi) && a.reach.nlri.length > 0) {
      const nlri = a.reach.nlri;
      announced += nlri.length;
      const nextHop = a.reach.nextHop[0] ?? '';
      if (withdrawAll) {
        withdrawn.push(...nlri);
      } else if (!nextHop.includes(':') || o.ipv4ExtendedNextHop) {
        updates.push({ announced: [...nlri], withdrawn: [], attrs: m.attributes, nextHop });
      } else {
        // An IPv6 next hop for IPv4 routes without RFC 8950 negotiated: treat as withdrawn.
        withdrawn.push(...nlri);
        refused['next-hop-family'] = (refused['next-hop-family'] ?? 0) + nlri.length;
      }
    }
  }
  if (withdrawn.length > 0) updates.push({ announced: [], withdrawn });
  return { updates, announced, announcedIpv6, refused };
}
