/**
 * The End-of-RIB marker (RFC 4724 2): "An UPDATE message with no reachable Network Layer
 * Reachability Information (NLRI) and empty withdrawn NLRI is specified as the End-of-RIB marker
 * that can be used by a BGP speaker to indicate to its peer the completion of the initial
 * routing update after the session is established. For the IPv4 unicast address family, the
 * End-of-RIB marker is an UPDATE message with the minimum length [RFC4271]. For any other
 * address family, it is an UPDATE message that contains only the MP_UNREACH_NLRI attribute
 * [RFC4760] with no withdrawn routes for that <AFI, SAFI>."
 */
import { ATTRIBUTES } from './attributes.js';
import { Afi, Safi } from './iana.js';
import { encodeUpdate } from './update.js';
import { DEFAULT_WIRE_OPTIONS, type AfiSafi, type UpdateMessage, type WireOptions } from './types.js';

/** The family an UPDATE marks the end of, or null when it is not an End-of-RIB marker. */
export function isEndOfRib(m: UpdateMessage): AfiSafi | null {
  if (m.withdrawn.length > 0 || m.nlri.length > 0) return null;
  if (m.attributes.length === 0) return { afi: Afi.IPV4, safi: Safi.UNICAST };
  if (m.attributes.length !== 1) return null;
  const a = m.attributes[0];
  if (a.type !== 'mp-unreach') return null;
  const u = a.unreach;
  if (u.withdrawn.length > 0 || (u.raw !== undefined && u.raw.length > 0)) return null;
  return { afi: u.afi, safi: u.safi };
}

/** The End-of-RIB marker for a family, as a message to encode (see endOfRibBytes). */
export function buildEndOfRib(afi: number, safi: number): UpdateMessage {
  if (afi === Afi.IPV4 && safi === Safi.UNICAST) return { type: 'update', withdrawn: [], attributes: [], nlri: [] };
  return {
    type: 'update',
    withdrawn: [],
    attributes: [{ type: 'mp-unreach', flags: ATTRIBUTES['mp-unreach'].flags, unreach: { afi, safi, withdrawn: [] } }],
    nlri: [],
  };
}

/** The End-of-RIB marker for a family, encoded (23 octets for IPv4 unicast, 29 otherwise). */
export function endOfRibBytes(afi: number, safi: number, opts: WireOptions = DEFAULT_WIRE_OPTIONS): Uint8Array {
  return encodeUpdate(buildEndOfRib(afi, safi), opts);
}
