/**
 * AS_PATH and AS4_PATH (RFC 4271 4.3 / 5.1.2, RFC 6793 3, RFC 5065 3 for the confederation
 * segment types), AGGREGATOR and AS4_AGGREGATOR (RFC 4271 5.1.7, RFC 6793 3).
 *
 * AS_PATH value: a sequence of segments,
 *
 *   +---------------+---------------+-----------------------------+
 *   | segment type  | segment length|  segment value              |
 *   |   (1 octet)   | (1 octet, the |  (length x 2 octets, or     |
 *   |               |  AS count)    |   length x 4 with RFC 6793) |
 *   +---------------+---------------+-----------------------------+
 *
 * Types: 1 AS_SET, 2 AS_SEQUENCE, 3 AS_CONFED_SEQUENCE, 4 AS_CONFED_SET.
 * The AS width is 4 octets when both speakers announced the 4-octet AS capability
 * (opts.fourOctetAs); AS4_PATH and AS4_AGGREGATOR always carry 4-octet AS numbers.
 *
 * AGGREGATOR value: last AS (2 octets, or 4 with RFC 6793), then the IPv4 address (4 octets).
 */
import { numberToIpv4 } from '../lib/address.js';
import type { AttrOf } from './types.js';
import { bad, checkUint, needLength, readU32, writeIpv4 } from './attr-basic.js';
import { AsPathSegmentType } from './iana.js';
import type { AsPathSegment, AsPathSegmentKind, WireOptions } from './types.js';
import type { Writer } from './writer.js';

/** Segment type code -> kind (index = code). */
const KINDS: readonly (AsPathSegmentKind | undefined)[] = [undefined, 'set', 'sequence', 'confed-sequence', 'confed-set'];

const CODES: Record<AsPathSegmentKind, number> = {
  set: AsPathSegmentType.AS_SET,
  sequence: AsPathSegmentType.AS_SEQUENCE,
  'confed-sequence': AsPathSegmentType.AS_CONFED_SEQUENCE,
  'confed-set': AsPathSegmentType.AS_CONFED_SET,
};

/**
 * Reads segments of `width`-octet AS numbers. RFC 7606 7.2: the path is malformed when a segment
 * type is unrecognized, when a segment's length runs past the attribute (overrun), when a single
 * octet is left after the last segment (underrun), or when a segment has length zero.
 */
export function readSegments(b: Uint8Array, start: number, end: number, width: 2 | 4, name: string): AsPathSegment[] {
  const segments: AsPathSegment[] = [];
  let p = start;
  while (p < end) {
    if (end - p < 2) throw bad('update.malformed-as-path', `${name}: one octet left after the last segment`, p);
    const kind = KINDS[b[p]];
    const count = b[p + 1];
    if (kind === undefined) throw bad('update.malformed-as-path', `${name}: unknown segment type ${b[p]}`, p);
    if (count === 0) throw bad('update.malformed-as-path', `${name}: segment of length zero`, p);
    if (p + 2 + count * width > end) throw bad('update.malformed-as-path', `${name}: segment of ${count} AS runs past the attribute`, p);
    p += 2;
    const asns = new Array<number>(count);
    if (width === 4) {
      for (let i = 0; i < count; i++, p += 4) asns[i] = readU32(b, p);
    } else {
      for (let i = 0; i < count; i++, p += 2) asns[i] = (b[p] << 8) | b[p + 1];
    }
    segments.push({ kind, asns });
  }
  return segments;
}

/**
 * Writes segments. Each segment must hold 1..255 AS numbers (split long paths before encoding;
 * attr.asPath does). With 2-octet AS numbers an AS above 65535 is a caller bug: RFC 6793 4.2.2
 * wants AS_TRANS in AS_PATH and the real path in AS4_PATH.
 */
export function writeSegments(w: Writer, segments: readonly AsPathSegment[], width: 2 | 4, name: string): void {
  for (const s of segments) {
    const code = CODES[s.kind];
    if (code === undefined) throw new Error(`${name}: unknown segment kind ${JSON.stringify(s.kind)}`);
    if (s.asns.length < 1 || s.asns.length > 255) throw new Error(`${name}: a segment holds 1..255 AS numbers, not ${s.asns.length}`);
    w.u8(code).u8(s.asns.length);
    for (const asn of s.asns) {
      if (width === 4) w.u32(checkUint(asn, 0xffffffff, `${name} AS`));
      else w.u16(checkUint(asn, 0xffff, `${name} AS (2-octet session; use AS_TRANS + AS4_PATH, RFC 6793 4.2.2)`));
    }
  }
}

/** Splits a plain AS sequence into AS_SEQUENCE segments of at most 255 AS numbers each. */
export function sequenceSegments(asns: readonly number[]): AsPathSegment[] {
  const out: AsPathSegment[] = [];
  for (let i = 0; i < asns.length; i += 255) out.push({ kind: 'sequence', asns: asns.slice(i, i + 255) });
  return out;
}

export function decodeAsPath(b: Uint8Array, start: number, end: number, flags: number, opts: WireOptions): AttrOf<'as-path'> {
  return { type: 'as-path', flags, segments: readSegments(b, start, end, opts.fourOctetAs ? 4 : 2, 'AS_PATH') };
}

export function encodeAsPath(w: Writer, a: AttrOf<'as-path'>, opts: WireOptions): void {
  writeSegments(w, a.segments, opts.fourOctetAs ? 4 : 2, 'AS_PATH');
}

export function decodeAs4Path(b: Uint8Array, start: number, end: number, flags: number): AttrOf<'as4-path'> {
  return { type: 'as4-path', flags, segments: readSegments(b, start, end, 4, 'AS4_PATH') };
}

export function encodeAs4Path(w: Writer, a: AttrOf<'as4-path'>): void {
  writeSegments(w, a.segments, 4, 'AS4_PATH');
}

// ------------------------------------------------------------------------- AGGREGATOR

/** RFC 7606 7.7: an AGGREGATOR whose length is not 6 (2-octet AS) or 8 (4-octet AS) is discarded. */
export function decodeAggregator(b: Uint8Array, start: number, end: number, flags: number, opts: WireOptions): AttrOf<'aggregator'> {
  if (opts.fourOctetAs) {
    needLength('AGGREGATOR', start, end, 8);
    return { type: 'aggregator', flags, asn: readU32(b, start), address: numberToIpv4(readU32(b, start + 4)) };
  }
  needLength('AGGREGATOR', start, end, 6);
  return { type: 'aggregator', flags, asn: (b[start] << 8) | b[start + 1], address: numberToIpv4(readU32(b, start + 2)) };
}

export function encodeAggregator(w: Writer, a: AttrOf<'aggregator'>, opts: WireOptions): void {
  if (opts.fourOctetAs) w.u32(checkUint(a.asn, 0xffffffff, 'AGGREGATOR AS'));
  else w.u16(checkUint(a.asn, 0xffff, 'AGGREGATOR AS (2-octet session; use AS_TRANS + AS4_AGGREGATOR)'));
  writeIpv4(w, a.address);
}

/** RFC 6793 6: a malformed AS4_AGGREGATOR (length not 8) is discarded. */
export function decodeAs4Aggregator(b: Uint8Array, start: number, end: number, flags: number): AttrOf<'as4-aggregator'> {
  needLength('AS4_AGGREGATOR', start, end, 8);
  return { type: 'as4-aggregator', flags, asn: readU32(b, start), address: numberToIpv4(readU32(b, start + 4)) };
}

export function encodeAs4Aggregator(w: Writer, a: AttrOf<'as4-aggregator'>): void {
  w.u32(checkUint(a.asn, 0xffffffff, 'AS4_AGGREGATOR AS'));
  writeIpv4(w, a.address);
}
