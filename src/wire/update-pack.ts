/**
 * Packing routes into as few UPDATE messages as fit (RFC 4271 4.3, RFC 4760 3/4), each filled up
 * to the maximum message length (4096 octets, or 65535 with RFC 8654 extended messages).
 *
 * Every message is a fixed head, a run of encoded prefixes, and a fixed tail:
 *
 *   IPv4 withdraw   [header][wlen][ prefixes ][alen=0]
 *   IPv4 announce   [header][wlen=0][alen][attributes][ prefixes ]
 *   IPv6 withdraw   [header][wlen=0][alen][MP_UNREACH hdr, AFI, SAFI][ prefixes ]
 *   IPv6 announce   [header][wlen=0][alen][MP_REACH hdr, AFI, SAFI, next hop, reserved][ prefixes ][attributes]
 *   IPv4 announce with an IPv6 next hop (RFC 8950 4): as IPv6 announce, AFI 1
 *
 * so the attributes are encoded once, the prefixes once into one buffer, and each message is a
 * few copies plus length patches. RFC 7606 5.1: MP_REACH_NLRI / MP_UNREACH_NLRI go first.
 *
 * Routes that do not fit are an outcome, not an error. RFC 4271 4.3 bounds an UPDATE by the
 * maximum message size ("The maximum message size is 4096 octets", RFC 8654 raises it to 65535
 * when both sides announced Extended Messages), and a route learned from one peer can come back
 * out larger than it went in (our AS prepended, LOCAL_PREF, CLUSTER_LIST or AS4_PATH added): a
 * peer sending one full-size UPDATE must not be able to stop us. `packRoutes` returns the
 * announcements that leave no room next to their attributes as `tooLarge`, and sends the rest;
 * RFC 8654 5: "A BGP speaker ... MUST NOT send a BGP UPDATE message that exceeds the maximum
 * message size", so what does not fit is not sent to that peer (BIRD does the same: "attribute
 * list too long", the route withdrawn from that peer).
 */
import { ipv6ToBytes } from '../lib/address.js';
import type { Prefix, V4Prefix, V6Prefix } from '../lib/prefix.js';
import { writeAttribute } from './attributes.js';
import { AttrFlag, AttrType, Afi, HEADER_LENGTH, MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH, MessageType, Safi } from './iana.js';
import { checkV4Prefix, v4PrefixSize, v6PrefixSize, writePathId, writeV4Prefix, writeV6Prefix } from './nlri.js';
import { familyKey, type PathAttribute, type WireOptions } from './types.js';
import { Writer } from './writer.js';

export { attr } from './attr-build.js';

export interface PackInput {
  /**
   * Path attributes of the announced routes, in the order to send them. No MP_REACH_NLRI /
   * MP_UNREACH_NLRI (packing adds those); a NEXT_HOP is needed for IPv4 announcements and left
   * out of the IPv6 ones (RFC 4760 3: "An UPDATE message that carries no NLRI, other than the one
   * encoded in the MP_REACH_NLRI attribute, SHOULD NOT carry the NEXT_HOP attribute").
   */
  attributes?: readonly PathAttribute[];
  /** IPv4 prefixes go in the NLRI field, IPv6 prefixes in MP_REACH_NLRI (unicast). */
  announce?: readonly Prefix[];
  /** RFC 7911 path ids parallel to `announce`, used for ADD-PATH families (missing ids: 0). */
  announcePathIds?: readonly number[];
  /** IPv4 prefixes go in the Withdrawn Routes field, IPv6 prefixes in MP_UNREACH_NLRI. */
  withdraw?: readonly Prefix[];
  withdrawPathIds?: readonly number[];
  /** The MP_REACH_NLRI next hop of the IPv6 routes: global, optionally link-local (RFC 2545 3). */
  ipv6NextHop?: readonly string[];
  /**
   * RFC 8950 4: the IPv4 announcements have this IPv6 next hop (global, optionally link-local),
   * so they go in MP_REACH_NLRI (AFI 1, SAFI 1) instead of the NLRI field, without NEXT_HOP. Only
   * for a peer that sent the Extended Next Hop Encoding capability for IPv4 unicast.
   */
  ipv4NextHop6?: readonly string[];
}

/** Prefixes encoded back to back; item i is bytes[offsets[i], offsets[i + 1]). */
interface Encoded {
  bytes: Uint8Array;
  offsets: Int32Array;
}

function encodeV4(prefixes: readonly V4Prefix[], ids: readonly number[], addPath: boolean): Encoded {
  const offsets = new Int32Array(prefixes.length + 1);
  let size = 0;
  for (let i = 0; i < prefixes.length; i++) {
    checkV4Prefix(prefixes[i]);
    offsets[i] = size;
    size += (addPath ? 4 : 0) + v4PrefixSize(prefixes[i]);
  }
  offsets[prefixes.length] = size;
  const bytes = new Uint8Array(size);
  let p = 0;
  for (let i = 0; i < prefixes.length; i++) {
    if (addPath) p = writePathId(bytes, p, ids[i] ?? 0);
    p = writeV4Prefix(bytes, p, prefixes[i]);
  }
  return { bytes, offsets };
}

function encodeV6(prefixes: readonly V6Prefix[], ids: readonly number[], addPath: boolean): Encoded {
  // Sized first, then written straight into one buffer: no per-prefix allocation.
  const offsets = new Int32Array(prefixes.length + 1);
  let size = 0;
  for (let i = 0; i < prefixes.length; i++) {
    offsets[i] = size;
    size += (addPath ? 4 : 0) + v6PrefixSize(prefixes[i]);
  }
  offsets[prefixes.length] = size;
  const bytes = new Uint8Array(size);
  let p = 0;
  for (let i = 0; i < prefixes.length; i++) {
    if (addPath) p = writePathId(bytes, p, ids[i] ?? 0);
    p = writeV6Prefix(bytes, p, prefixes[i]);
  }
  return { bytes, offsets };
}

/**
 * A message layout: `head` (from the marker on) and `tail` around the prefixes; `patches` are
 * the 2-octet length fields in head whose value is `base` + the prefix octets of the message.
 */
interface Layout {
  head: Uint8Array;
  tail: Uint8Array;
  patches: { at: number; base: number }[];
}

/**
 * Announcements that cannot be sent with their attributes: even alone, the prefix and the path
 * attributes make a message longer than the maximum.
 */
export interface TooLarge {
  readonly type: 'too-large';
  readonly prefixes: Prefix[];
  /** The path ids of `prefixes` (ADD-PATH), 0 where none was given. */
  readonly pathIds: number[];
  /** Total Path Attribute Length of the smallest message (MP_REACH_NLRI's own fields included, no prefix). */
  readonly attributeOctets: number;
  /** The negotiated maximum message size: 4096, or 65535 with RFC 8654. */
  readonly maxOctets: number;
}

/** What packRoutes made: the messages to send, and the announcements left out. */
export interface Packed {
  messages: Uint8Array[];
  /** Empty when everything fit; otherwise one entry per family whose routes did not. */
  tooLarge: TooLarge[];
}

/**
 * Writes the messages of one layout. Prefixes that do not fit even alone are skipped: their
 * indices go to `unfit` (only possible when the fixed part leaves less room than the longest
 * prefix, so never for withdrawals).
 */
function emit(layout: Layout, enc: Encoded, max: number, out: Uint8Array[], unfit: number[]): void {
  const { head, tail, patches } = layout;
  const room = max - head.length - tail.length;
  const n = enc.offsets.length - 1;
  let i = 0;
  while (i < n) {
    // The furthest j with offsets[j] - offsets[i] <= room (binary search: offsets increase).
    const limit = enc.offsets[i] + room;
    let lo = i;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (enc.offsets[mid] <= limit) lo = mid;
      else hi = mid - 1;
    }
    if (lo === i) {
      unfit.push(i++);
      continue;
    }
    const nlriLen = enc.offsets[lo] - enc.offsets[i];
    const total = head.length + nlriLen + tail.length;
    const msg = new Uint8Array(total);
    msg.set(head, 0);
    msg.set(enc.bytes.subarray(enc.offsets[i], enc.offsets[lo]), head.length);
    msg.set(tail, head.length + nlriLen);
    msg[16] = total >>> 8;
    msg[17] = total & 255;
    for (const { at, base } of patches) {
      const v = base + nlriLen;
      msg[at] = v >>> 8;
      msg[at + 1] = v & 255;
    }
    out.push(msg);
    i = lo;
  }
}

function header(w: Writer): void {
  for (let i = 0; i < 16; i++) w.u8(0xff);
  w.u16(0).u8(MessageType.UPDATE);
}

/**
 * The encoded attributes, or the octets they would take when one value is longer than any
 * attribute length field can say (65535: then they fit in no message either).
 */
function attributeBlock(attrs: readonly PathAttribute[], opts: WireOptions): Uint8Array | number {
  const w = new Writer(256);
  let over = 0;
  for (const a of attrs) {
    const len = writeAttribute(w, a, opts);
    if (len > 0xffff) over += 4 + len;
  }
  return over > 0 ? w.pos + over : w.finish();
}

/** The prefixes (and ids) at the given indices, as a TooLarge outcome. */
function tooLarge(prefixes: readonly Prefix[], ids: readonly number[], at: readonly number[] | 'all', attributeOctets: number, maxOctets: number): TooLarge {
  const pick = at === 'all' ? prefixes.map((_, i) => i) : at;
  return { type: 'too-large', prefixes: pick.map((i) => prefixes[i]), pathIds: pick.map((i) => ids[i] ?? 0), attributeOctets, maxOctets };
}

/** Splits prefixes (and their path ids) by family. */
function split(prefixes: readonly Prefix[], ids: readonly number[] | undefined) {
  const v4: V4Prefix[] = [];
  const v4Ids: number[] = [];
  const v6: V6Prefix[] = [];
  const v6Ids: number[] = [];
  for (let i = 0; i < prefixes.length; i++) {
    const p = prefixes[i];
    if (typeof p === 'number') {
      v4.push(p);
      v4Ids.push(ids?.[i] ?? 0);
    } else {
      v6.push(p);
      v6Ids.push(ids?.[i] ?? 0);
    }
  }
  return { v4, v4Ids, v6, v6Ids };
}

const MP_FLAGS = AttrFlag.OPTIONAL | AttrFlag.EXTENDED_LENGTH;

/**
 * Builds the UPDATE messages for the input: withdrawals first (IPv4, then IPv6), then
 * announcements (IPv4, then IPv6), each message filled up to the maximum length. Announcements
 * whose attributes leave no room for them are returned in `tooLarge`, not sent. Throws a plain
 * Error only for input no caller should give (MP attributes in `attributes`, no next hop, a
 * prefix or address that is not one).
 */
export function packRoutes(input: PackInput, opts: WireOptions): Packed {
  const max = opts.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
  const attrs = input.attributes ?? [];
  if (attrs.some((a) => a.type === 'mp-reach' || a.type === 'mp-unreach')) {
    throw new Error('packUpdates adds MP_REACH_NLRI / MP_UNREACH_NLRI itself: leave them out of attributes');
  }
  const out: Uint8Array[] = [];
  const left: TooLarge[] = [];
  const unfit: number[] = [];
  const wd = split(input.withdraw ?? [], input.withdrawPathIds);
  const an = split(input.announce ?? [], input.announcePathIds);
  const v4AddPath = opts.addPath.has(familyKey(Afi.IPV4, Safi.UNICAST));
  const v6AddPath = opts.addPath.has(familyKey(Afi.IPV6, Safi.UNICAST));

  // Withdrawals always fit: 23 or 30 fixed octets and at most 21 per prefix.
  if (wd.v4.length > 0) {
    const w = new Writer(32);
    header(w);
    w.u16(0);
    emit({ head: w.finish(), tail: Uint8Array.of(0, 0), patches: [{ at: HEADER_LENGTH, base: 0 }] }, encodeV4(wd.v4, wd.v4Ids, v4AddPath), max, out, unfit);
  }
  if (wd.v6.length > 0) {
    const w = new Writer(32);
    header(w);
    w.u16(0).u16(0); // withdrawn length, total attribute length (patched)
    w.u8(MP_FLAGS).u8(AttrType.MP_UNREACH_NLRI).u16(0).u16(Afi.IPV6).u8(Safi.UNICAST);
    const head = w.finish();
    emit({ head, tail: new Uint8Array(0), patches: [{ at: 21, base: 7 }, { at: 25, base: 3 }] }, encodeV6(wd.v6, wd.v6Ids, v6AddPath), max, out, unfit);
  }
  if (unfit.length > 0) throw new Error(`${unfit.length} withdrawals did not fit in a ${max}-octet UPDATE`); // cannot happen

  if (an.v4.length > 0 && input.ipv4NextHop6 !== undefined) {
    mpReach(Afi.IPV4, input.ipv4NextHop6, attrs, encodeV4(an.v4, an.v4Ids, v4AddPath), an.v4, an.v4Ids, opts, max, out, left);
  } else if (an.v4.length > 0) {
    if (!attrs.some((a) => a.type === 'next-hop')) throw new Error('IPv4 announcements need a NEXT_HOP attribute');
    const block = attributeBlock(attrs, opts);
    const blockLen = typeof block === 'number' ? block : block.length;
    // [header 19][withdrawn length 2 = 0][attribute length 2][attributes]
    if (typeof block === 'number' || HEADER_LENGTH + 4 + blockLen >= max) {
      left.push(tooLarge(an.v4, an.v4Ids, 'all', blockLen, max));
    } else {
      const w = new Writer(block.length + 32);
      header(w);
      w.u16(0).u16(block.length).bytes(block);
      emit({ head: w.finish(), tail: new Uint8Array(0), patches: [] }, encodeV4(an.v4, an.v4Ids, v4AddPath), max, out, unfit);
      if (unfit.length > 0) left.push(tooLarge(an.v4, an.v4Ids, unfit.splice(0), block.length, max));
    }
  }
  if (an.v6.length > 0) {
    mpReach(Afi.IPV6, input.ipv6NextHop ?? [], attrs, encodeV6(an.v6, an.v6Ids, v6AddPath), an.v6, an.v6Ids, opts, max, out, left);
  }
  return { messages: out, tooLarge: left };
}

/**
 * Announcements in MP_REACH_NLRI (unicast of `afi`) with an IPv6 next hop: IPv6 routes (RFC 2545
 * 3), or IPv4 routes with an IPv6 next hop (RFC 8950 4). NEXT_HOP is left out (RFC 4760 3).
 */
function mpReach(afi: number, nh: readonly string[], attrs: readonly PathAttribute[], enc: Encoded, prefixes: readonly Prefix[], ids: readonly number[], opts: WireOptions, max: number, out: Uint8Array[], left: TooLarge[]): void {
  if (nh.length < 1 || nh.length > 2) throw new Error(`${afi === Afi.IPV6 ? 'IPv6 announcements need ipv6NextHop' : 'ipv4NextHop6 must be'}: [global] or [global, link-local]`);
  const block = attributeBlock(
    attrs.filter((a) => a.type !== 'next-hop'),
    opts,
  );
  const w = new Writer(64);
  header(w);
  w.u16(0).u16(0); // withdrawn length, total attribute length (patched)
  w.u8(MP_FLAGS).u8(AttrType.MP_REACH_NLRI).u16(0).u16(afi).u8(Safi.UNICAST).u8(16 * nh.length);
  for (const a of nh) w.bytes(ipv6ToBytes(a));
  w.u8(0); // Reserved
  const head = w.finish();
  const mpLen = head.length - 27; // value octets after the MP_REACH_NLRI length field
  const attributeOctets = head.length - 23 + (typeof block === 'number' ? block : block.length);
  if (typeof block === 'number' || 23 + attributeOctets >= max) {
    left.push(tooLarge(prefixes, ids, 'all', attributeOctets, max));
    return;
  }
  const unfit: number[] = [];
  emit({ head, tail: block, patches: [{ at: 21, base: 4 + mpLen + block.length }, { at: 25, base: mpLen }] }, enc, max, out, unfit);
  if (unfit.length > 0) left.push(tooLarge(prefixes, ids, unfit, attributeOctets, max));
}

/**
 * packRoutes for callers whose attributes are their own (configured routes, tests, benchmarks)
 * and for whom a route left out is a mistake to report: throws a plain Error when anything did
 * not fit. Routes learned from peers go through packRoutes.
 */
export function packUpdates(input: PackInput, opts: WireOptions): Uint8Array[] {
  const { messages, tooLarge } = packRoutes(input, opts);
  if (tooLarge.length > 0) {
    const t = tooLarge[0];
    throw new Error(`path attributes of ${t.attributeOctets} octets leave no room for ${t.prefixes.length} prefix(es) in a ${t.maxOctets}-octet UPDATE: they do not fit`);
  }
  return messages;
}
