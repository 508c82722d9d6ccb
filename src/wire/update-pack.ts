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
 *
 * so the attributes are encoded once, the prefixes once into one buffer, and each message is a
 * few copies plus length patches. RFC 7606 5.1: MP_REACH_NLRI / MP_UNREACH_NLRI go first.
 */
import { ipv6ToBytes } from '../lib/address.js';
import type { Prefix, V4Prefix, V6Prefix } from '../lib/prefix.js';
import { encodeAttribute } from './attributes.js';
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

function emit(layout: Layout, enc: Encoded, max: number, out: Uint8Array[]): void {
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
    if (lo === i) throw new Error(`a prefix does not fit in a ${max}-octet UPDATE next to ${head.length + tail.length} octets of attributes`);
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

function attributeBlock(attrs: readonly PathAttribute[], opts: WireOptions): Uint8Array {
  const w = new Writer(256);
  for (const a of attrs) encodeAttribute(w, a, opts);
  return w.finish();
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
 * announcements (IPv4, then IPv6), each message filled up to the maximum length. Throws a plain
 * Error for input that cannot be sent (MP attributes given, no next hop, attributes too large).
 */
export function packUpdates(input: PackInput, opts: WireOptions): Uint8Array[] {
  const max = opts.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
  const attrs = input.attributes ?? [];
  if (attrs.some((a) => a.type === 'mp-reach' || a.type === 'mp-unreach')) {
    throw new Error('packUpdates adds MP_REACH_NLRI / MP_UNREACH_NLRI itself: leave them out of attributes');
  }
  const out: Uint8Array[] = [];
  const wd = split(input.withdraw ?? [], input.withdrawPathIds);
  const an = split(input.announce ?? [], input.announcePathIds);
  const v4AddPath = opts.addPath.has(familyKey(Afi.IPV4, Safi.UNICAST));
  const v6AddPath = opts.addPath.has(familyKey(Afi.IPV6, Safi.UNICAST));

  if (wd.v4.length > 0) {
    const w = new Writer(32);
    header(w);
    w.u16(0);
    emit({ head: w.finish(), tail: Uint8Array.of(0, 0), patches: [{ at: HEADER_LENGTH, base: 0 }] }, encodeV4(wd.v4, wd.v4Ids, v4AddPath), max, out);
  }
  if (wd.v6.length > 0) {
    const w = new Writer(32);
    header(w);
    w.u16(0).u16(0); // withdrawn length, total attribute length (patched)
    w.u8(MP_FLAGS).u8(AttrType.MP_UNREACH_NLRI).u16(0).u16(Afi.IPV6).u8(Safi.UNICAST);
    const head = w.finish();
    emit({ head, tail: new Uint8Array(0), patches: [{ at: 21, base: 7 }, { at: 25, base: 3 }] }, encodeV6(wd.v6, wd.v6Ids, v6AddPath), max, out);
  }
  if (an.v4.length > 0) {
    if (!attrs.some((a) => a.type === 'next-hop')) throw new Error('IPv4 announcements need a NEXT_HOP attribute');
    const block = attributeBlock(attrs, opts);
    const w = new Writer(block.length + 32);
    header(w);
    w.u16(0).u16(block.length).bytes(block);
    const head = w.finish();
    if (head.length > max) throw new Error(`path attributes of ${block.length} octets do not fit in a ${max}-octet UPDATE`);
    emit({ head, tail: new Uint8Array(0), patches: [] }, encodeV4(an.v4, an.v4Ids, v4AddPath), max, out);
  }
  if (an.v6.length > 0) {
    const nh = input.ipv6NextHop ?? [];
    if (nh.length < 1 || nh.length > 2) throw new Error('IPv6 announcements need ipv6NextHop: [global] or [global, link-local]');
    const block = attributeBlock(
      attrs.filter((a) => a.type !== 'next-hop'),
      opts,
    );
    const w = new Writer(64);
    header(w);
    w.u16(0).u16(0); // withdrawn length, total attribute length (patched)
    w.u8(MP_FLAGS).u8(AttrType.MP_REACH_NLRI).u16(0).u16(Afi.IPV6).u8(Safi.UNICAST).u8(16 * nh.length);
    for (const a of nh) w.bytes(ipv6ToBytes(a));
    w.u8(0); // Reserved
    const head = w.finish();
    const mpLen = head.length - 27; // value octets after the MP_REACH_NLRI length field
    emit(
      { head, tail: block, patches: [{ at: 21, base: 4 + mpLen + block.length }, { at: 25, base: mpLen }] },
      encodeV6(an.v6, an.v6Ids, v6AddPath),
      max,
      out,
    );
  }
  return out;
}
