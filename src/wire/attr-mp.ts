/**
 * MP_REACH_NLRI (RFC 4760 3) and MP_UNREACH_NLRI (RFC 4760 4).
 *
 *   MP_REACH_NLRI value                          MP_UNREACH_NLRI value
 *   +-------------------------------------------+  +-------------------------------------------+
 *   | Address Family Identifier (2 octets)      |  | Address Family Identifier (2 octets)      |
 *   +-------------------------------------------+  +-------------------------------------------+
 *   | Subsequent AFI (1 octet)                  |  | Subsequent AFI (1 octet)                  |
 *   +-------------------------------------------+  +-------------------------------------------+
 *   | Length of Next Hop Network Address (1)    |  | Withdrawn Routes (variable)               |
 *   +-------------------------------------------+  +-------------------------------------------+
 *   | Network Address of Next Hop (variable)    |
 *   +-------------------------------------------+
 *   | Reserved (1 octet)                        |
 *   +-------------------------------------------+
 *   | Network Layer Reachability Information    |
 *   +-------------------------------------------+
 *
 * IPv4 and IPv6 unicast/multicast are read into prefixes; an IPv6 next hop is 16 octets (global)
 * or 32 (global + link-local, RFC 2545 3); AFI 1 also takes a 16/32-octet IPv6 next hop
 * (RFC 8950). Other families keep their next hop and NLRI as bytes (nextHopRaw, raw).
 *
 * RFC 7606 7.11: "If the Length of Next Hop Network Address field of the MP_REACH attribute is
 * inconsistent with that which was expected, the attribute is considered malformed. Since the
 * next hop precedes the NLRI field in the attribute, in this case it will not be possible to
 * reliably locate the NLRI; thus, the "session reset" or "AFI/SAFI disable" approach MUST be
 * used." RFC 7606 5.3 / RFC 4760 7: NLRI that cannot be parsed reset the session as well, with
 * UPDATE Message Error / Optional Attribute Error.
 */
import { bytesToIpv6, ipv4ToNumber, ipv6ToBytes, numberToIpv4 } from '../lib/address.js';
import type { AttrOf } from './types.js';
import { bad, checkUint, readU32 } from './attr-basic.js';
import { Afi, Safi } from './iana.js';
import { decodePrefixes, writePrefixes } from './nlri.js';
import { familyKey, type MpReach, type MpUnreach, type WireOptions } from './types.js';
import type { Writer } from './writer.js';

/** The families whose NLRI are read into prefixes (others are kept as bytes). */
export function isPrefixFamily(afi: number, safi: number): boolean {
  return (afi === Afi.IPV4 || afi === Afi.IPV6) && (safi === Safi.UNICAST || safi === Safi.MULTICAST);
}

function readNextHop(b: Uint8Array, p: number, len: number, afi: number): string[] | undefined {
  if (afi === Afi.IPV4 && len === 4) return [numberToIpv4(readU32(b, p))];
  if (len === 16) return [bytesToIpv6(b, p)];
  if (len === 32) return [bytesToIpv6(b, p), bytesToIpv6(b, p + 16)];
  return undefined;
}

export function decodeMpReach(b: Uint8Array, start: number, end: number, flags: number, opts: WireOptions): AttrOf<'mp-reach'> {
  if (end - start < 5) throw bad('update.optional-attribute', `MP_REACH_NLRI: length ${end - start} is less than 5`, start);
  const afi = (b[start] << 8) | b[start + 1];
  const safi = b[start + 2];
  const nhLen = b[start + 3];
  const nhAt = start + 4;
  if (nhAt + nhLen + 1 > end) throw bad('update.optional-attribute', `MP_REACH_NLRI: next hop length ${nhLen} runs past the attribute`, start + 3);
  const reserved = b[nhAt + nhLen];
  const nlriAt = nhAt + nhLen + 1;
  let reach: MpReach;
  if (!isPrefixFamily(afi, safi)) {
    reach = { afi, safi, nextHop: [], nextHopRaw: b.slice(nhAt, nhAt + nhLen), nlri: [], raw: b.slice(nlriAt, end) };
  } else {
    const nextHop = readNextHop(b, nhAt, nhLen, afi);
    if (nextHop === undefined) {
      throw bad('update.optional-attribute', `MP_REACH_NLRI: next hop length ${nhLen} is not valid for AFI ${afi}`, start + 3);
    }
    const list = decodePrefixes(afi, b, nlriAt, end, opts.addPath.has(familyKey(afi, safi)), 'update.optional-attribute');
    reach = { afi, safi, nextHop, nlri: list.prefixes };
    if (list.pathIds) reach.pathIds = list.pathIds;
  }
  // RFC 4760 3: the Reserved octet "MUST be set to 0, and SHOULD be ignored upon receipt"; kept
  // (only when non-zero) so the attribute re-encodes as received.
  if (reserved !== 0) reach.reserved = reserved;
  return { type: 'mp-reach', flags, reach };
}

export function encodeMpReach(w: Writer, a: AttrOf<'mp-reach'>, opts: WireOptions): void {
  const r = a.reach;
  w.u16(checkUint(r.afi, 0xffff, 'AFI')).u8(checkUint(r.safi, 255, 'SAFI'));
  const nhAt = w.reserve(1);
  if (r.nextHopRaw) {
    w.bytes(r.nextHopRaw);
  } else {
    for (const nh of r.nextHop) {
      if (nh.includes(':')) w.bytes(ipv6ToBytes(nh));
      else w.u32(ipv4ToNumber(nh));
    }
  }
  const nhLen = w.pos - nhAt - 1;
  if (nhLen > 255) throw new Error(`MP_REACH_NLRI: next hop of ${nhLen} octets does not fit`);
  w.patchU8(nhAt, nhLen);
  w.u8(r.reserved ?? 0);
  writeFamilyNlri(w, r.afi, r.safi, r.nlri, r.pathIds, r.raw, opts, 'MP_REACH_NLRI');
}

export function decodeMpUnreach(b: Uint8Array, start: number, end: number, flags: number, opts: WireOptions): AttrOf<'mp-unreach'> {
  if (end - start < 3) throw bad('update.optional-attribute', `MP_UNREACH_NLRI: length ${end - start} is less than 3`, start);
  const afi = (b[start] << 8) | b[start + 1];
  const safi = b[start + 2];
  let unreach: MpUnreach;
  if (!isPrefixFamily(afi, safi)) {
    unreach = { afi, safi, withdrawn: [], raw: b.slice(start + 3, end) };
  } else {
    const list = decodePrefixes(afi, b, start + 3, end, opts.addPath.has(familyKey(afi, safi)), 'update.optional-attribute');
    unreach = { afi, safi, withdrawn: list.prefixes };
    if (list.pathIds) unreach.pathIds = list.pathIds;
  }
  return { type: 'mp-unreach', flags, unreach };
}

export function encodeMpUnreach(w: Writer, a: AttrOf<'mp-unreach'>, opts: WireOptions): void {
  const u = a.unreach;
  w.u16(checkUint(u.afi, 0xffff, 'AFI')).u8(checkUint(u.safi, 255, 'SAFI'));
  writeFamilyNlri(w, u.afi, u.safi, u.withdrawn, u.pathIds, u.raw, opts, 'MP_UNREACH_NLRI');
}

function writeFamilyNlri(
  w: Writer,
  afi: number,
  safi: number,
  prefixes: MpReach['nlri'],
  pathIds: number[] | undefined,
  raw: Uint8Array | undefined,
  opts: WireOptions,
  name: string,
): void {
  if (raw) {
    if (prefixes.length > 0) throw new Error(`${name}: give either prefixes or raw NLRI, not both`);
    w.bytes(raw);
    return;
  }
  if (!isPrefixFamily(afi, safi)) {
    if (prefixes.length > 0) throw new Error(`${name}: AFI ${afi} SAFI ${safi} NLRI must be given as raw bytes`);
    return;
  }
  writePrefixes(w, afi, prefixes, pathIds, opts.addPath.has(familyKey(afi, safi)));
}
