/**
 * COMMUNITIES (RFC 1997: a list of 4-octet values), EXTENDED_COMMUNITIES (RFC 4360 2: a list of
 * 8-octet values, see ext-community.ts) and LARGE_COMMUNITY (RFC 8092 3: a list of 12-octet
 * values, each Global Administrator : Local Data Part 1 : Local Data Part 2, 4 octets each).
 *
 * RFC 7606 7.8 / 7.14 and RFC 8092 6: a length that is not a non-zero multiple of the value size
 * makes the attribute malformed (treat-as-withdraw, as the attribute table says).
 */
import type { AttrOf } from './types.js';
import { checkUint, needMultiple, readU32 } from './attr-basic.js';
import { decodeExtCommunity, writeExtCommunity } from './ext-community.js';
import type { Writer } from './writer.js';

export function decodeCommunities(b: Uint8Array, start: number, end: number, flags: number): AttrOf<'communities'> {
  needMultiple('COMMUNITIES', start, end, 4);
  const communities = new Array<number>((end - start) >>> 2);
  for (let p = start, i = 0; p < end; p += 4, i++) communities[i] = readU32(b, p);
  return { type: 'communities', flags, communities };
}

export function encodeCommunities(w: Writer, a: AttrOf<'communities'>): void {
  if (a.communities.length === 0) throw new Error('COMMUNITIES must not be empty (RFC 7606 7.8)');
  for (const c of a.communities) w.u32(checkUint(c, 0xffffffff, 'community'));
}

export function decodeExtCommunities(b: Uint8Array, start: number, end: number, flags: number): AttrOf<'ext-communities'> {
  needMultiple('EXTENDED_COMMUNITIES', start, end, 8);
  const communities = [];
  for (let p = start; p < end; p += 8) communities.push(decodeExtCommunity(b, p));
  return { type: 'ext-communities', flags, communities };
}

export function encodeExtCommunities(w: Writer, a: AttrOf<'ext-communities'>): void {
  if (a.communities.length === 0) throw new Error('EXTENDED_COMMUNITIES must not be empty (RFC 7606 7.14)');
  for (const c of a.communities) {
    const at = w.reserve(8);
    writeExtCommunity(w.buf, at, c);
  }
}

export function decodeLargeCommunities(b: Uint8Array, start: number, end: number, flags: number): AttrOf<'large-communities'> {
  needMultiple('LARGE_COMMUNITY', start, end, 12);
  const communities: [number, number, number][] = [];
  for (let p = start; p < end; p += 12) communities.push([readU32(b, p), readU32(b, p + 4), readU32(b, p + 8)]);
  return { type: 'large-communities', flags, communities };
}

export function encodeLargeCommunities(w: Writer, a: AttrOf<'large-communities'>): void {
  if (a.communities.length === 0) throw new Error('LARGE_COMMUNITY must not be empty (RFC 8092 6)');
  for (const [g, l1, l2] of a.communities) {
    w.u32(checkUint(g, 0xffffffff, 'large community global administrator'));
    w.u32(checkUint(l1, 0xffffffff, 'large community local data part 1'));
    w.u32(checkUint(l2, 0xffffffff, 'large community local data part 2'));
  }
}
