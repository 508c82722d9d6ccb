/**
 * Value codecs of the fixed-size path attributes: ORIGIN, NEXT_HOP, MULTI_EXIT_DISC, LOCAL_PREF,
 * ATOMIC_AGGREGATE (RFC 4271 4.3, 5.1), ORIGINATOR_ID and CLUSTER_LIST (RFC 4456 8). Each decoder
 * sees the attribute value buf[start, end) and throws a WireError for a malformed value; the
 * attribute table (attributes.ts) decides what the error means under RFC 7606.
 */
import { ipv4ToNumber, numberToIpv4 } from '../lib/address.js';
import { WireError, type WireErrorCode } from './errors.js';
import type { AttrOf } from './types.js';
import { Origin } from './iana.js';
import type { Writer } from './writer.js';

/** Throws unless the value length is exactly `want` (RFC 4271 6.3: Attribute Length Error). */
export function needLength(name: string, start: number, end: number, want: number): void {
  if (end - start !== want) {
    throw new WireError('update.attribute-length', `${name}: length ${end - start}, expected ${want}`, { offset: start });
  }
}

/** Throws unless the value length is a non-zero multiple of `unit` (RFC 7606 7.8, 7.10, 7.14). */
export function needMultiple(name: string, start: number, end: number, unit: number): void {
  const len = end - start;
  if (len === 0 || len % unit !== 0) {
    throw new WireError('update.attribute-length', `${name}: length ${len} is not a non-zero multiple of ${unit}`, { offset: start });
  }
}

export function bad(code: WireErrorCode, message: string, offset: number): WireError {
  return new WireError(code, message, { offset });
}

export function readU32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

/** An encoder-side range check: a bad value is a caller bug (plain Error), never peer input. */
export function checkUint(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`${what} ${v} is out of range 0..${max}`);
  return v;
}

export function writeIpv4(w: Writer, text: string): void {
  w.u32(ipv4ToNumber(text));
}

// ------------------------------------------------------------------ ORIGIN (RFC 4271 5.1.1)

export function decodeOrigin(b: Uint8Array, start: number, end: number, flags: number): AttrOf<'origin'> {
  needLength('ORIGIN', start, end, 1);
  const origin = b[start];
  // RFC 4271 6.3: "If the ORIGIN attribute has an undefined value, then the Error Sub-code MUST
  // be set to Invalid Origin Attribute." RFC 7606 7.1: treat-as-withdraw.
  if (origin > Origin.INCOMPLETE) throw bad('update.invalid-origin', `ORIGIN value ${origin} is undefined`, start);
  return { type: 'origin', flags, origin };
}

export function encodeOrigin(w: Writer, a: AttrOf<'origin'>): void {
  w.u8(checkUint(a.origin, 255, 'ORIGIN'));
}

// ---------------------------------------------------------------- NEXT_HOP (RFC 4271 5.1.3)

export function decodeNextHop(b: Uint8Array, start: number, end: number, flags: number): AttrOf<'next-hop'> {
  needLength('NEXT_HOP', start, end, 4);
  return { type: 'next-hop', flags, nextHop: numberToIpv4(readU32(b, start)) };
}

export function encodeNextHop(w: Writer, a: AttrOf<'next-hop'>): void {
  writeIpv4(w, a.nextHop);
}

/**
 * RFC 4271 6.3: a NEXT_HOP that is not a valid unicast host address (0.0.0.0, multicast 224/4,
 * the reserved 240/4 block including broadcast). Checks that need the session (our own address,
 * the shared subnet for eBGP) belong to the session, not the codec.
 */
export function isInvalidNextHop(text: string): boolean {
  const n = ipv4ToNumber(text);
  return n === 0 || n >>> 28 >= 0xe;
}

// -------------------------------------------- MULTI_EXIT_DISC, LOCAL_PREF (RFC 4271 5.1.4/5)

export function decodeMed(b: Uint8Array, start: number, end: number, flags: number): AttrOf<'med'> {
  needLength('MULTI_EXIT_DISC', start, end, 4);
  return { type: 'med', flags, med: readU32(b, start) };
}

export function encodeMed(w: Writer, a: AttrOf<'med'>): void {
  w.u32(checkUint(a.med, 0xffffffff, 'MULTI_EXIT_DISC'));
}

export function decodeLocalPref(b: Uint8Array, start: number, end: number, flags: number): AttrOf<'local-pref'> {
  needLength('LOCAL_PREF', start, end, 4);
  return { type: 'local-pref', flags, localPref: readU32(b, start) };
}

export function encodeLocalPref(w: Writer, a: AttrOf<'local-pref'>): void {
  w.u32(checkUint(a.localPref, 0xffffffff, 'LOCAL_PREF'));
}

// ------------------------------------------------------- ATOMIC_AGGREGATE (RFC 4271 5.1.6)

export function decodeAtomicAggregate(_b: Uint8Array, start: number, end: number, flags: number): AttrOf<'atomic-aggregate'> {
  needLength('ATOMIC_AGGREGATE', start, end, 0);
  return { type: 'atomic-aggregate', flags };
}

export function encodeAtomicAggregate(): void {
  // No value.
}

// ------------------------------------------------ ORIGINATOR_ID, CLUSTER_LIST (RFC 4456 8)

export function decodeOriginatorId(b: Uint8Array, start: number, end: number, flags: number): AttrOf<'originator-id'> {
  needLength('ORIGINATOR_ID', start, end, 4);
  return { type: 'originator-id', flags, originatorId: numberToIpv4(readU32(b, start)) };
}

export function encodeOriginatorId(w: Writer, a: AttrOf<'originator-id'>): void {
  writeIpv4(w, a.originatorId);
}

export function decodeClusterList(b: Uint8Array, start: number, end: number, flags: number): AttrOf<'cluster-list'> {
  needMultiple('CLUSTER_LIST', start, end, 4);
  const clusterIds: string[] = [];
  for (let p = start; p < end; p += 4) clusterIds.push(numberToIpv4(readU32(b, p)));
  return { type: 'cluster-list', flags, clusterIds };
}

export function encodeClusterList(w: Writer, a: AttrOf<'cluster-list'>): void {
  if (a.clusterIds.length === 0) throw new Error('CLUSTER_LIST must not be empty (RFC 7606 7.10)');
  for (const id of a.clusterIds) writeIpv4(w, id);
}
