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
import { v6Bytes, type V4Prefix, type V6Prefix } from '../lib/prefix.js';
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

// Scratch for IPv6 decoding: one prefix at a time, synchronously.
const groups = new Uint16Array(8);

/**
 * The canonical text (RFC 5952, as src/lib/address.ts writes it) of the IPv6 prefix whose
 * `nbytes` address octets start at buf[pos], host bits cleared. Same result as lib's v6Prefix,
 * without the intermediate arrays.
 */
function v6PrefixText(buf: Uint8Array, pos: number, len: number): V6Prefix {
  const nbytes = (len + 7) >>> 3;
  groups.fill(0);
  for (let i = 0; i < nbytes; i++) {
    let b = buf[pos + i];
    if (i === nbytes - 1 && (len & 7) !== 0) b &= 0xff << (8 - (len & 7));
    groups[i >> 1] |= (i & 1) === 0 ? b << 8 : b;
  }
  // Longest run (>= 2) of zero groups, the first of equal runs, becomes "::".
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let s = '';
  if (bestStart < 0) {
    for (let i = 0; i < 8; i++) s += (i === 0 ? '' : ':') + groups[i].toString(16);
  } else {
    for (let i = 0; i < bestStart; i++) s += (i === 0 ? '' : ':') + groups[i].toString(16);
    s += '::';
    for (let i = bestStart + bestLen; i < 8; i++) s += (i === bestStart + bestLen ? '' : ':') + groups[i].toString(16);
  }
  return `${s}/${len}`;
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
 * The wire form (length octet + address octets) of an IPv6 prefix. Throws a plain Error for text
 * that is not a prefix (a caller bug).
 */
export function v6PrefixBytes(p: V6Prefix): Uint8Array {
  const slash = p.indexOf('/');
  const len = slash < 0 ? NaN : Number(p.slice(slash + 1));
  if (!Number.isInteger(len) || len < 0 || len > 128) throw new Error(`not an IPv6 prefix: ${JSON.stringify(p)}`);
  const n = (len + 7) >>> 3;
  const out = new Uint8Array(1 + n);
  out[0] = len;
  out.set(v6Bytes(p).subarray(0, n), 1);
  if ((len & 7) !== 0) out[n] &= 0xff << (8 - (len & 7));
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
      const b = v6PrefixBytes(p);
      const at = w.reserve(b.length);
      w.buf.set(b, at);
    }
  }
}
