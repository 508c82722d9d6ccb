/**
 * What a session is sent when it comes up and when it asks for a refresh: one implementation for
 * `weft agent` (routes from the Adj-RIB-Out) and `weft peer` (configured static routes). The
 * caller supplies the UPDATEs of its table for a family (all families when none is given).
 */
import type { Negotiated } from '../../session/index.js';
import { endOfRibBytes } from '../../wire/eor.js';
import { RouteRefreshSubtype } from '../../wire/iana.js';
import { encodeRouteRefresh } from '../../wire/route-refresh.js';
import type { AfiSafi } from '../../wire/types.js';

export type TableUpdates = (family: AfiSafi | undefined) => Uint8Array[];

/**
 * A session that just became Established: the whole table, then End-of-RIB for every negotiated
 * family (RFC 4724 2: "the End-of-RIB marker ... MUST be sent ... after ... the initial update").
 */
export function initialAdvertisement(n: Negotiated, updates: TableUpdates): Uint8Array[] {
  const msgs = updates(undefined);
  for (const f of n.families) msgs.push(endOfRibBytes(f.afi, f.safi, n.encode));
  return msgs;
}

/**
 * The answer to a ROUTE-REFRESH, or undefined when there is none to give:
 * - RFC 7313 3: only subtype 0 is a request; BoRR (1) and EoRR (2) bracket the peer's own answer
 *   and are never answered (answering them made two reloading agents refresh each other forever).
 * - RFC 2918 4: a request for a family the session did not negotiate is ignored.
 * - RFC 2918 4 / RFC 7313 4: otherwise the family's whole table, bracketed by BoRR and EoRR when
 *   Enhanced Route Refresh was negotiated.
 */
export function refreshAnswer(n: Negotiated, afi: number, safi: number, subtype: number, updates: TableUpdates): Uint8Array[] | undefined {
  if (subtype !== RouteRefreshSubtype.NORMAL) return undefined;
  if (!n.families.some((f) => f.afi === afi && f.safi === safi)) return undefined;
  const msgs: Uint8Array[] = [];
  if (n.enhancedRouteRefresh) msgs.push(encodeRouteRefresh({ type: 'route-refresh', afi, safi, subtype: RouteRefreshSubtype.BORR }));
  for (const m of updates({ afi, safi })) msgs.push(m);
  if (n.enhancedRouteRefresh) msgs.push(encodeRouteRefresh({ type: 'route-refresh', afi, safi, subtype: RouteRefreshSubtype.EORR }));
  return msgs;
}
