/**
 * The ROUTE-REFRESH message (RFC 2918 3), with the RFC 7313 3 message subtype.
 *
 *  0       7      15      23      31
 * +-------+-------+-------+-------+
 * |      AFI      |Subtype| SAFI  |
 * +-------+-------+-------+-------+
 *
 * Subtype (formerly Reserved): 0 normal request, 1 Beginning of Route Refresh (BoRR), 2 End of
 * Route Refresh (EoRR).
 */
import { WireError } from './errors.js';
import { finishMessage, startMessage } from './header.js';
import { HEADER_LENGTH, MessageType } from './iana.js';
import { Reader } from './reader.js';
import type { RouteRefreshMessage } from './types.js';
import { Writer } from './writer.js';

/** RFC 2918 3: header plus 4 octets. */
export const ROUTE_REFRESH_LENGTH = HEADER_LENGTH + 4;

export function decodeRouteRefresh(msg: Uint8Array): RouteRefreshMessage {
  // RFC 7313 5: "If the length, excluding the fixed-size message header, of the received
  // ROUTE-REFRESH message with Message Subtype 1 and 2 is not 4, then the BGP speaker MUST send
  // a NOTIFICATION message with the Error Code of 'ROUTE-REFRESH Message Error' and the subcode of
  // 'Invalid Message Length'. The Data field of the NOTIFICATION message MUST contain the complete
  // ROUTE-REFRESH message." weft applies this to every subtype: no subtype defines more octets.
  if (msg.length !== ROUTE_REFRESH_LENGTH) {
    throw new WireError('route-refresh.bad-length', `ROUTE-REFRESH message is ${msg.length} octets, not ${ROUTE_REFRESH_LENGTH}`, {
      data: new Uint8Array(msg),
    });
  }
  const r = new Reader(msg, HEADER_LENGTH, msg.length, 'route-refresh.bad-length');
  const afi = r.u16('AFI');
  const subtype = r.u8('message subtype');
  const safi = r.u8('SAFI');
  return { type: 'route-refresh', afi, safi, subtype };
}

export function encodeRouteRefresh(m: RouteRefreshMessage): Uint8Array {
  const w = new Writer(ROUTE_REFRESH_LENGTH);
  const start = startMessage(w, MessageType.ROUTE_REFRESH);
  w.u16(m.afi).u8(m.subtype).u8(m.safi);
  finishMessage(w, start);
  return w.finish();
}
