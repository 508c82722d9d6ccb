/**
 * The path attribute table: one row per attribute weft understands, with its type code, name,
 * the flags the RFC gives it (Optional / Transitive, checked on receipt and used as the default
 * when building), the RFC 7606 action for a malformed value, and its value codec.
 *
 * Each attribute on the wire (RFC 4271 4.3):
 *
 *    0                   1
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Attr. Flags  |Attr. Type Code|   flags: O(ptional) T(ransitive) P(artial) E(xtended length)
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Length (1 octet, or 2 when E) |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Attribute value (Length)     |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import type { Severity } from './errors.js';
import { AttrFlag, AttrType } from './iana.js';
import type { AttrOf, PathAttribute, PathAttributeType, WireOptions } from './types.js';
import type { Writer } from './writer.js';
import * as basic from './attr-basic.js';
import * as asPath from './attr-as-path.js';
import * as comm from './attr-communities.js';
import * as mp from './attr-mp.js';
import * as tunnel from './attr-tunnel-encap.js';

/** The PathAttribute variant with the given `type`. */
export type { AttrOf };

/** Attributes with a row in the table (everything but 'unknown'). */
export type KnownAttrType = Exclude<PathAttributeType, 'unknown'>;

export interface AttrRow<T extends KnownAttrType = KnownAttrType> {
  readonly type: T;
  readonly code: number;
  /** IANA name. */
  readonly name: string;
  /** The Optional and Transitive bits the RFC gives the attribute (Partial / Extended Length clear). */
  readonly flags: number;
  /** RFC 7606 7 (RFC 6793 6, RFC 8092 6): what a malformed value of this attribute leads to. */
  readonly onError: Severity;
  /** Decodes the value buf[start, end); throws a WireError when malformed. */
  decode(buf: Uint8Array, start: number, end: number, flags: number, opts: WireOptions): AttrOf<T>;
  /** Writes the value (no flags, code or length). Throws a plain Error for unencodable input. */
  encode(w: Writer, a: AttrOf<T>, opts: WireOptions): void;
}

const O = AttrFlag.OPTIONAL;
const T = AttrFlag.TRANSITIVE;
const WELL_KNOWN = T; // RFC 4271 5: well-known attributes are transitive, Optional bit 0
const OPTIONAL_TRANSITIVE = O | T;
const OPTIONAL_NON_TRANSITIVE = O;

/** Typed per attribute so each row's codec is checked against its own variant. */
export const ATTRIBUTES: { readonly [K in KnownAttrType]: AttrRow<K> } = {
  // RFC 4271 5.1.1 well-known mandatory; RFC 7606 7.1: treat-as-withdraw
  origin: { type: 'origin', code: AttrType.ORIGIN, name: 'ORIGIN', flags: WELL_KNOWN, onError: 'treat-as-withdraw', decode: basic.decodeOrigin, encode: basic.encodeOrigin },
  // RFC 4271 5.1.2 well-known mandatory; RFC 7606 7.2: treat-as-withdraw
  'as-path': { type: 'as-path', code: AttrType.AS_PATH, name: 'AS_PATH', flags: WELL_KNOWN, onError: 'treat-as-withdraw', decode: asPath.decodeAsPath, encode: asPath.encodeAsPath },
  // RFC 4271 5.1.3 well-known mandatory (discretionary with MP-BGP, RFC 7606 3d); RFC 7606 7.3
  'next-hop': { type: 'next-hop', code: AttrType.NEXT_HOP, name: 'NEXT_HOP', flags: WELL_KNOWN, onError: 'treat-as-withdraw', decode: basic.decodeNextHop, encode: basic.encodeNextHop },
  // RFC 4271 5.1.4 optional non-transitive; RFC 7606 7.4: treat-as-withdraw
  med: { type: 'med', code: AttrType.MULTI_EXIT_DISC, name: 'MULTI_EXIT_DISC', flags: OPTIONAL_NON_TRANSITIVE, onError: 'treat-as-withdraw', decode: basic.decodeMed, encode: basic.encodeMed },
  // RFC 4271 5.1.5 well-known; RFC 7606 7.5: treat-as-withdraw
  'local-pref': { type: 'local-pref', code: AttrType.LOCAL_PREF, name: 'LOCAL_PREF', flags: WELL_KNOWN, onError: 'treat-as-withdraw', decode: basic.decodeLocalPref, encode: basic.encodeLocalPref },
  // RFC 4271 5.1.6 well-known discretionary; RFC 7606 7.6: attribute discard
  'atomic-aggregate': { type: 'atomic-aggregate', code: AttrType.ATOMIC_AGGREGATE, name: 'ATOMIC_AGGREGATE', flags: WELL_KNOWN, onError: 'attribute-discard', decode: basic.decodeAtomicAggregate, encode: basic.encodeAtomicAggregate },
  // RFC 4271 5.1.7 optional transitive; RFC 7606 7.7: attribute discard
  aggregator: { type: 'aggregator', code: AttrType.AGGREGATOR, name: 'AGGREGATOR', flags: OPTIONAL_TRANSITIVE, onError: 'attribute-discard', decode: asPath.decodeAggregator, encode: asPath.encodeAggregator },
  // RFC 1997 optional transitive; RFC 7606 7.8: treat-as-withdraw
  communities: { type: 'communities', code: AttrType.COMMUNITIES, name: 'COMMUNITIES', flags: OPTIONAL_TRANSITIVE, onError: 'treat-as-withdraw', decode: comm.decodeCommunities, encode: comm.encodeCommunities },
  // RFC 4456 8 optional non-transitive; RFC 7606 7.9: treat-as-withdraw
  'originator-id': { type: 'originator-id', code: AttrType.ORIGINATOR_ID, name: 'ORIGINATOR_ID', flags: OPTIONAL_NON_TRANSITIVE, onError: 'treat-as-withdraw', decode: basic.decodeOriginatorId, encode: basic.encodeOriginatorId },
  // RFC 4456 8 optional non-transitive; RFC 7606 7.10: treat-as-withdraw
  'cluster-list': { type: 'cluster-list', code: AttrType.CLUSTER_LIST, name: 'CLUSTER_LIST', flags: OPTIONAL_NON_TRANSITIVE, onError: 'treat-as-withdraw', decode: basic.decodeClusterList, encode: basic.encodeClusterList },
  // RFC 4760 3 optional non-transitive; RFC 7606 7.11 / 5.3: session reset (NLRI cannot be located)
  'mp-reach': { type: 'mp-reach', code: AttrType.MP_REACH_NLRI, name: 'MP_REACH_NLRI', flags: OPTIONAL_NON_TRANSITIVE, onError: 'session-reset', decode: mp.decodeMpReach, encode: mp.encodeMpReach },
  // RFC 4760 4 optional non-transitive; RFC 7606 7.12 / 5.3: session reset
  'mp-unreach': { type: 'mp-unreach', code: AttrType.MP_UNREACH_NLRI, name: 'MP_UNREACH_NLRI', flags: OPTIONAL_NON_TRANSITIVE, onError: 'session-reset', decode: mp.decodeMpUnreach, encode: mp.encodeMpUnreach },
  // RFC 4360 2 optional transitive; RFC 7606 7.14: treat-as-withdraw
  'ext-communities': { type: 'ext-communities', code: AttrType.EXTENDED_COMMUNITIES, name: 'EXTENDED_COMMUNITIES', flags: OPTIONAL_TRANSITIVE, onError: 'treat-as-withdraw', decode: comm.decodeExtCommunities, encode: comm.encodeExtCommunities },
  // RFC 6793 3 optional transitive; RFC 6793 6: a malformed AS4_PATH is discarded
  'as4-path': { type: 'as4-path', code: AttrType.AS4_PATH, name: 'AS4_PATH', flags: OPTIONAL_TRANSITIVE, onError: 'attribute-discard', decode: asPath.decodeAs4Path, encode: asPath.encodeAs4Path },
  // RFC 6793 3 optional transitive; RFC 6793 6: a malformed AS4_AGGREGATOR is discarded
  'as4-aggregator': { type: 'as4-aggregator', code: AttrType.AS4_AGGREGATOR, name: 'AS4_AGGREGATOR', flags: OPTIONAL_TRANSITIVE, onError: 'attribute-discard', decode: asPath.decodeAs4Aggregator, encode: asPath.encodeAs4Aggregator },
  // RFC 8092 3 optional transitive; RFC 8092 6: treat-as-withdraw
  'large-communities': { type: 'large-communities', code: AttrType.LARGE_COMMUNITY, name: 'LARGE_COMMUNITY', flags: OPTIONAL_TRANSITIVE, onError: 'treat-as-withdraw', decode: comm.decodeLargeCommunities, encode: comm.encodeLargeCommunities },
  // RFC 9012 2 optional transitive; RFC 9012 13: a malformed attribute (TLV framing, no valid
  // Tunnel TLV, Transitive bit clear) is treat-as-withdraw
  'tunnel-encap': { type: 'tunnel-encap', code: AttrType.TUNNEL_ENCAPSULATION, name: 'TUNNEL_ENCAPSULATION', flags: OPTIONAL_TRANSITIVE, onError: 'treat-as-withdraw', decode: tunnel.decodeTunnelEncap, encode: tunnel.encodeTunnelEncap },
};

/** Rows indexed by type code (undefined for codes weft does not know). */
export const ATTRIBUTE_BY_CODE: readonly (AttrRow | undefined)[] = (() => {
  const byCode = new Array<AttrRow | undefined>(256).fill(undefined);
  for (const row of Object.values(ATTRIBUTES) as AttrRow[]) byCode[row.code] = row;
  return byCode;
})();

/** The Optional/Transitive bits RFC 7606 3c compares. */
export const CATEGORY_MASK = O | T;

/** The type code of an attribute. */
export function attributeCode(a: PathAttribute): number {
  return a.type === 'unknown' ? a.code : ATTRIBUTES[a.type].code;
}

/** Writes a known attribute's value through its row. */
function encodeValue(w: Writer, a: Exclude<PathAttribute, { type: 'unknown' }>, opts: WireOptions): void {
  // The row is the one for a.type; TypeScript cannot correlate the two, hence the widening.
  (ATTRIBUTES[a.type] as AttrRow).encode(w, a as AttrOf<KnownAttrType>, opts);
}

/**
 * Writes one attribute: flags exactly as given, type code, length, value. The Extended Length
 * flag is honoured as given, and set when the value turns out longer than 255 octets. A value
 * longer than 65535 octets has no length field that can say so: a plain Error (for a value that
 * may come from a peer, use writeAttribute and decide).
 */
export function encodeAttribute(w: Writer, a: PathAttribute, opts: WireOptions): void {
  const len = writeAttribute(w, a, opts);
  if (len > 0xffff) throw new Error(`attribute ${attributeCode(a)} value of ${len} octets does not fit`);
}

/**
 * encodeAttribute without the throw: returns the value length. When it is over 65535 octets
 * nothing is left written (the writer is back where it was) and the caller decides; a route
 * whose attributes grew past that on their way through the RIB is an expected outcome, not a bug.
 */
export function writeAttribute(w: Writer, a: PathAttribute, opts: WireOptions): number {
  const flagsAt = w.pos;
  const flags = a.flags & 0xff;
  w.u8(flags).u8(attributeCode(a));
  const extended = (flags & AttrFlag.EXTENDED_LENGTH) !== 0;
  const lenAt = w.reserve(extended ? 2 : 1);
  const valueAt = w.pos;
  if (a.type === 'unknown') w.bytes(a.data);
  else encodeValue(w, a, opts);
  const len = w.pos - valueAt;
  if (len > 0xffff) {
    w.pos = flagsAt;
    return len;
  }
  if (extended) {
    w.patchU16(lenAt, len);
  } else if (len <= 255) {
    w.patchU8(lenAt, len);
  } else {
    // Too long for a 1-octet length: make room for a second length octet and set the flag.
    w.u8(0);
    w.buf.copyWithin(valueAt + 1, valueAt, valueAt + len);
    w.patchU8(flagsAt, flags | AttrFlag.EXTENDED_LENGTH);
    w.patchU16(lenAt, len);
  }
  return len;
}

/**
 * RFC 4271 5: prepares received attributes to be passed on. "If a path with an unrecognized
 * transitive optional attribute is accepted and passed to other BGP peers, then the unrecognized
 * transitive optional attribute of that path MUST be passed, along with the path, to other BGP
 * peers with the Partial bit in the Attribute Flags octet set to 1." and "Unrecognized
 * non-transitive optional attributes MUST be quietly ignored and not passed along", so those are
 * dropped. Known attributes are returned as they are (policy decides about MED, LOCAL_PREF...).
 */
export function forPassOn(attrs: readonly PathAttribute[]): PathAttribute[] {
  const out: PathAttribute[] = [];
  for (const a of attrs) {
    if (a.type !== 'unknown' || (a.flags & O) === 0) {
      out.push(a);
    } else if ((a.flags & T) !== 0) {
      out.push((a.flags & AttrFlag.PARTIAL) !== 0 ? a : { ...a, flags: a.flags | AttrFlag.PARTIAL });
    }
  }
  return out;
}
