/**
 * How the UPDATEs one speaker sends to another are encoded, from the two speakers' capabilities:
 * the one rule that `weft agent` (session/negotiate.ts) and `weft decode` (reading a capture) use.
 * - RFC 6793 4: 4-octet AS numbers only when both advertise the 4-octet AS capability.
 * - RFC 8654 3: extended messages only when both advertise the Extended Message capability.
 * - RFC 7911 4/5: path identifiers for a family when the sender advertised Send and the receiver
 *   Receive for it (Send/Receive field: 1 receive, 2 send, 3 both).
 */
import { familyKey, type AfiSafi, type Capability, type WireOptions } from './types.js';

/** RFC 7911 4: the Send/Receive field of the ADD-PATH capability. */
export const AddPathMode = { RECEIVE: 1, SEND: 2, BOTH: 3 } as const;

export function addPathMode(caps: readonly Capability[], f: AfiSafi): number {
  for (const c of caps) {
    if (c.type !== 'add-path') continue;
    const e = c.families.find((x) => x.afi === f.afi && x.safi === f.safi);
    if (e) return e.sendReceive;
  }
  return 0;
}

const has = (caps: readonly Capability[], type: Capability['type']) => caps.some((c) => c.type === type);

/** The options for messages from `sender` to `receiver`; ADD-PATH is looked at for `families` only. */
export function wireOptionsFor(sender: readonly Capability[], receiver: readonly Capability[], families: readonly AfiSafi[]): WireOptions {
  const addPath = new Set<string>();
  for (const f of families) if ((addPathMode(sender, f) & AddPathMode.SEND) !== 0 && (addPathMode(receiver, f) & AddPathMode.RECEIVE) !== 0) addPath.add(familyKey(f.afi, f.safi));
  return {
    fourOctetAs: has(sender, 'four-octet-as') && has(receiver, 'four-octet-as'),
    extendedMessage: has(sender, 'extended-message') && has(receiver, 'extended-message'),
    addPath,
  };
}
