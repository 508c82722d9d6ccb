/**
 * NLRI prefix lists: the Withdrawn Routes and NLRI fields of an UPDATE (RFC 4271 4.3) and the
 * prefix lists inside MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760 5). This is the hot path of the
 * daemon, so IPv4 is decoded in one tight loop straight into numbers (src/lib/prefix.ts form),
 * without a Reader or an object per prefix.
 *
 * RFC 4271 4.3, each prefix is a 2-tuple:
 *
 *   +---------------------------+
 *   |   Length (1 octet)        |
 *   +---------------------------+
 *   |   Prefix (variable)       |
 *   +---------------------------+
 *
 * "The Prefix field contains an IP address prefix, followed by the minimum number of trailing
 * bits needed to make the end of the field fall on an octet boundary. Note that the value of
 * trailing bits is irrelevant." (they are cleared on decode).
 *
 * RFC 7911 3 (ADD-PATH): each prefix is preceded by a 4-octet Path Identifier.
 */
import { bytesToIpv6, parseIpv6Into } from '../lib/address.js';
import type { V4Prefix, V6Prefix } from '../lib/prefix.js';
import { WireError, type WireErrorCode } from './errors.js';
import { Afi } from './iana.js';

function overrun(code: WireErrorCode, what: string, pos: number): WireError {
  return new WireError(code, `${what} runs past the end of its field at offset ${pos}`, { offset: pos });
}

function tooLong(code: WireErrorCode, len: number, max: number, pos: number): WireError {
  return new WireError(code, `prefix length ${len} is more than ${max} at offset ${pos}`, { offset: pos });
}

/**
 * Decodes the IPv4 prefixes in buf[pos, end) and appends them to `out` (and their path ids to
 * `ids` when the family is ADD-PATH). Throws WireError(`code`) for a length > 32 or a prefix
 * running past `end` (RFC 7606 5.3: the NLRI cannot be parsed).
 */
export function decodeV4Prefixes(
  buf: Uint8Array,
  pos: number,
  end: number,
  out: V4Prefix[],
  ids: number[] | null,
  code: WireErrorCode,
): void {
  while (pos < end) {
    if (ids !== null) {
      if (pos + 5 > end) throw overrun(code, 'path identifier', pos);
      ids.push(((buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]) >>> 0);
      pos += 4;
    }
    const len = buf[pos];
    if (len > 32) throw tooLong(code, len, 32, pos);
    const n = (len + 7) >>> 3;
    if (pos + 1 + n > end) throw overrun(code, `prefix of length ${len}`, pos);
    let a = 0;
    switch (n) {
      case 4:
        a = (buf[pos + 1] << 24) | (buf[pos + 2] << 16) | (buf[pos + 3] << 8) | buf[pos + 4];
        break;
      case 3:
        a = (buf[pos + 1] << 24) | (buf[pos + 2] << 16) | (buf[pos + 3] << 8);
        break;
      case 2:
        a = (buf[pos + 1] << 24) | (buf[pos + 2] << 16);
        break;
      case 1:
        a = buf[pos + 1] << 24;
        break;
    }
    // Clear the trailing bits (1 <= len <= 31 here, so the shift count is in range).
    if ((len & 7) !== 0) a &= -1 << (32 - len);
    out.push((a >>> 0) * 64 + len);
    pos += 1 + n;
  }
}

/** Encoded size of one IPv4 prefix (without a path id). */
export function v4PrefixSize(p: V4Prefix): number {
  return 1 + (((p % 64) + 7) >>> 3);
}

/** Throws a plain Error (a caller bug, not peer input) when p is not a V4Prefix. */
export function checkV4Prefix(p: V4Prefix): void {
  if (!Number.isInteger(p) || p < 0 || p >= 2 ** 38 || p % 64 > 32) throw new Error(`not an IPv4 prefix: ${String(p)}`);
}

/** Writes one IPv4 prefix at buf[pos]; returns the position after it. The caller sized buf. */
export function writeV4Prefix(buf: Uint8Array, pos: number, p: V4Prefix): number {
  const len = p % 64;
  const a = (p - len) / 64;
  buf[pos++] = len;
  if (len > 0) buf[pos++] = a >>> 24;
  if (len > 8) buf[pos++] = (a >>> 16) & 255;
  if (len > 16) buf[pos++] = (a >>> 8) & 255;
  if (len > 24) buf[pos++] = a & 255;
  return pos;
}

/** Writes a 4-octet path identifier (RFC 7911 3); returns the position after it. */
export function writePathId(buf: Uint8Array, pos: number, id: number): number {
  buf[pos] = id >>> 24;
  buf[pos + 1] = (id >>> 16) & 255;
  buf[pos + 2] = (id >>> 8) & 255;
  buf[pos + 3] = id & 255;
  return pos + 4;
}

// Scratch for IPv6 decoding and encoding: one prefix at a time, synchronously.
const v6Scratch = new Uint8Array(16);

// "/0" .. "/128", so the prefix text needs no number formatting.
const LENGTH_SUFFIX: readonly string[] = Array.from({ length: 129 }, (_, len) => `/${len}`);

/**
 * The canonical text (RFC 5952, src/lib/address.ts bytesToIpv6) of the IPv6 prefix whose address
 * octets start at buf[pos], host bits cleared: the same text as lib's v6Prefix.
 */
function v6PrefixText(buf: Uint8Array, pos: number, len: number): V6Prefix {
  const nbytes = (len + 7) >>> 3;
  const b = v6Scratch;
  for (let i = 0; i < nbytes; i++) b[i] = buf[pos + i];
  for (let i = nbytes; i < 16; i++) b[i] = 0;
  if ((len & 7) !== 0) b[nbytes - 1] &= 0xff << (8 - (len & 7));
  return bytesToIpv6(b, 0) + LENGTH_SUFFIX[len];
}

/** Like decodeV4Prefixes, for IPv6 (length <= 128), appending canonical prefix text. */
export function decodeV6Prefixes(
  buf: Uint8Array,
  pos: number,
  end: number,
  out: V6Prefix[],
  ids: number[] | null,
  code: WireErrorCode,
): void {
  while (pos < end) {
    if (ids !== null) {
      if (pos + 5 > end) throw overrun(code, 'path identifier', pos);
      ids.push(((buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]) >>> 0);
      pos += 4;
    }
    const len = buf[pos];
    if (len > 128) throw tooLong(code, len, 128, pos);
    const n = (len + 7) >>> 3;
    if (pos + 1 + n > end) throw overrun(code, `prefix of length ${len}`, pos);
    out.push(v6PrefixText(buf, pos + 1, len));
    pos += 1 + n;
  }
}

/**
 * The length of IPv6 prefix text (the number after the first '/'), or a plain Error (a caller bug).
 * Plain digits are read in place; anything else goes through Number() as it always did.
 */
function v6PrefixLength(p: V6Prefix, slash: number): number {
  let len = -1;
  const digits = p.length - slash - 1;
  if (slash >= 0 && digits >= 1 && digits <= 3) {
    len = 0;
    for (let i = slash + 1; i < p.length; i++) {
      const c = p.charCodeAt(i);
      if (c < 48 || c > 57) {
        len = -1;
        break;
      }
      len = len * 10 + c - 48;
    }
  }
  if (len < 0) len = slash < 0 ? NaN : Number(p.slice(slash + 1));
  if (!Number.isInteger(len) || len < 0 || len > 128) throw new Error(`not an IPv6 prefix: ${JSON.stringify(p)}`);
  return len;
}

/**
 * Parses IPv6 prefix text into v6Scratch (host bits cleared) and returns its length. Throws a
 * plain Error for text that is not a prefix (a caller bug).
 */
function loadV6Prefix(p: V6Prefix): number {
  const slash = p.indexOf('/');
  const len = v6PrefixLength(p, slash);
  if (!parseIpv6Into(p, 0, slash, v6Scratch, 0)) throw new Error(`not an IPv6 address: ${JSON.stringify(p.slice(0, slash))}`);
  if ((len & 7) !== 0) v6Scratch[(len - 1) >>> 3] &= 0xff << (8 - (len & 7));
  return len;
}

/** Encoded size of one IPv6 prefix (without a path id); a plain Error for a bad length. */
export function v6PrefixSize(p: V6Prefix): number {
  return 1 + ((v6PrefixLength(p, p.indexOf('/')) + 7) >>> 3);
}

/**
 * Writes one IPv6 prefix (length octet, then only its significant address octets) at buf[pos];
 * returns the position after it. The caller sized buf (v6PrefixSize). Throws a plain Error,
 * before writing anything, for text that is not a prefix.
 */
export function writeV6Prefix(buf: Uint8Array, pos: number, p: V6Prefix): number {
  const len = loadV6Prefix(p);
  const n = (len + 7) >>> 3;
  buf[pos++] = len;
  for (let i = 0; i < n; i++) buf[pos++] = v6Scratch[i];
  return pos;
}

/**
 * The wire form (length octet + address octets) of an IPv6 prefix. Throws a plain Error for text
 * that is not a prefix (a caller bug).
 */
export function v6PrefixBytes(p: V6Prefix): Uint8Array {
  const len = loadV6Prefix(p);
  const n = (len + 7) >>> 3;
  const out = new Uint8Array(1 + n);
  out[0] = len;
  for (let i = 0; i < n; i++) out[1 + i] = v6Scratch[i];
  return out;
}

/** Decoded prefixes of one family, with path ids when the family is ADD-PATH. */
export interface PrefixList<P> {
  prefixes: P[];
  pathIds: number[] | undefined;
}

/** Decodes the prefixes of AFI 1 (numbers) or AFI 2 (text) in buf[pos, end). */
export function decodePrefixes(
  afi: number,
  buf: Uint8Array,
  pos: number,
  end: number,
  addPath: boolean,
  code: WireErrorCode,
): PrefixList<V4Prefix> | PrefixList<V6Prefix> {
  const ids = addPath ? [] : null;
  if (afi === Afi.IPV4) {
    const prefixes: V4Prefix[] = [];
    decodeV4Prefixes(buf, pos, end, prefixes, ids, code);
    return { prefixes, pathIds: ids ?? undefined };
  }
  const prefixes: V6Prefix[] = [];
  decodeV6Prefixes(buf, pos, end, prefixes, ids, code);
  return { prefixes, pathIds: ids ?? undefined };
}

/** Minimal writer surface the encoders need (src/wire/writer.ts). */
interface ByteSink {
  buf: Uint8Array;
  reserve(n: number): number;
}

/**
 * Appends prefixes of either family to a Writer, each preceded by its path id when `addPath`
 * (missing ids are written as 0). Throws a plain Error when a prefix is not of family `afi`.
 */
export function writePrefixes(
  w: ByteSink,
  afi: number,
  prefixes: readonly (V4Prefix | V6Prefix)[],
  pathIds: readonly number[] | undefined,
  addPath: boolean,
): void {
  for (let i = 0; i < prefixes.length; i++) {
    const p = prefixes[i];
    // reserve() may grow the buffer: read w.buf only after it.
    if (addPath) {
      const at = w.reserve(4);
      writePathId(w.buf, at, pathIds?.[i] ?? 0);
    }
    if (typeof p === 'number') {
      if (afi !== Afi.IPV4) throw new Error(`IPv4 prefix ${p} in a list of AFI ${afi}`);
      checkV4Prefix(p);
      const at = w.reserve(v4PrefixSize(p));
      writeV4Prefix(w.buf, at, p);
    } else {
      if (afi !== Afi.IPV6) throw new Error(`IPv6 prefix ${p} in a list of AFI ${afi}`);
      // Parse first, so a bad prefix throws before the writer moves.
      const len = loadV6Prefix(p);
      const n = (len + 7) >>> 3;
      const at = w.reserve(1 + n);
      const buf = w.buf;
      buf[at] = len;
      for (let k = 0; k < n; k++) buf[at + 1 + k] = v6Scratch[k];
    }
  }
}
