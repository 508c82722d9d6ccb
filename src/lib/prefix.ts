/**
 * Prefixes in the compact forms the codec and the RIB use (DESIGN.md: no object per prefix).
 *
 * - IPv4: one number, `address * 64 + length` (address as unsigned 32-bit). Exact in a double
 *   (< 2^38), cheap as a Map key, sorts by address then length.
 * - IPv6: the canonical text "2001:db8::/32" (RFC 5952 address, host bits zero).
 *
 * `typeof p === 'number'` tells the family. Host bits are always zero in a Prefix.
 */
import { bytesToIpv6, ipv4ToNumber, ipv6ToBytes, numberToIpv4, parseIpv6Into } from './address.js';

export type V4Prefix = number;
export type V6Prefix = string;
export type Prefix = V4Prefix | V6Prefix;

export function v4Prefix(address: number, length: number): V4Prefix {
  return (length === 0 ? 0 : (address & (0xffffffff << (32 - length))) >>> 0) * 64 + length;
}

export function v4Address(p: V4Prefix): number {
  return Math.floor(p / 64);
}

export function v4Length(p: V4Prefix): number {
  return p % 64;
}

export function isV4(p: Prefix): p is V4Prefix {
  return typeof p === 'number';
}

export function prefixLength(p: Prefix): number {
  return typeof p === 'number' ? p % 64 : Number(p.slice(p.indexOf('/') + 1));
}

// Scratch for v6Prefix: one prefix at a time, synchronously.
const v6Scratch = new Uint8Array(16);

/** Builds an IPv6 prefix from 16 address bytes (host bits are cleared). */
export function v6Prefix(bytes: Uint8Array, length: number): V6Prefix {
  const b = v6Scratch;
  b.fill(0);
  const full = length >> 3;
  b.set(bytes.subarray(0, full));
  if (length & 7) b[full] = bytes[full] & (0xff << (8 - (length & 7)));
  return bytesToIpv6(b) + '/' + length;
}

/** The 16 address bytes of an IPv6 prefix. */
export function v6Bytes(p: V6Prefix): Uint8Array {
  const slash = p.indexOf('/');
  // Without a '/', the address is all but the last character (as p.slice(0, -1) would have it).
  const end = slash < 0 ? Math.max(0, p.length - 1) : slash;
  const out = new Uint8Array(16);
  if (!parseIpv6Into(p, 0, end, out, 0)) throw new Error(`not an IPv6 address: ${JSON.stringify(p.slice(0, end))}`);
  return out;
}

export function formatPrefix(p: Prefix): string {
  return typeof p === 'number' ? `${numberToIpv4(v4Address(p))}/${v4Length(p)}` : p;
}

/**
 * Parses "a.b.c.d/len" or "x::/len". Rejects a missing length, a length out of range and, unless
 * `allowHostBits`, set host bits (a config typo such as 10.244.3.1/26 is an error, not a guess).
 */
export function parsePrefix(text: string, allowHostBits = false): Prefix {
  const slash = text.indexOf('/');
  if (slash < 0) throw new Error(`prefix ${JSON.stringify(text)} has no length (write it as address/length)`);
  const addr = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) throw new Error(`prefix ${JSON.stringify(text)} has a bad length`);
  const len = Number(lenText);
  if (addr.includes(':')) {
    if (len > 128) throw new Error(`prefix ${JSON.stringify(text)}: IPv6 length must be 0..128`);
    const bytes = ipv6ToBytes(addr);
    const p = v6Prefix(bytes, len);
    if (!allowHostBits && p !== `${bytesToIpv6(bytes)}/${len}`) {
      throw new Error(`prefix ${JSON.stringify(text)} has host bits set (did you mean ${p}?)`);
    }
    return p;
  }
  if (len > 32) throw new Error(`prefix ${JSON.stringify(text)}: IPv4 length must be 0..32`);
  const n = ipv4ToNumber(addr);
  const p = v4Prefix(n, len);
  if (!allowHostBits && v4Address(p) !== n) {
    throw new Error(`prefix ${JSON.stringify(text)} has host bits set (did you mean ${formatPrefix(p)}?)`);
  }
  return p;
}

/** Whether `inner` lies inside `outer` (same family, longer or equal length, same leading bits). */
export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  if (typeof outer === 'number') {
    if (typeof inner !== 'number') return false;
    const ol = v4Length(outer);
    if (v4Length(inner) < ol) return false;
    return v4Prefix(v4Address(inner), ol) === outer;
  }
  if (typeof inner === 'number') return false;
  const ol = prefixLength(outer);
  if (prefixLength(inner) < ol) return false;
  return v6Prefix(v6Bytes(inner), ol) === outer;
}

/** The host prefix (/32 or /128) of an address, for longest-match lookups. */
export function hostPrefix(address: string): Prefix {
  return parsePrefix(`${address}/${address.includes(':') ? 128 : 32}`);
}
