/**
 * Extended communities (RFC 4360 2): 8 octets each.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Type high    |  Type low(*)  |                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+          Value                |
 *   |                                                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The kinds weft reads into fields:
 * - 0x03/0x0c Encapsulation (RFC 9012 4.1): 4 reserved octets (0), 2-octet tunnel type.
 * - 0x06/0x03 EVPN Router's MAC (RFC 9135 8.1): the 6-octet MAC.
 * - route target (sub-type 0x02) / route origin (0x03) with a 2-octet AS (type 0x00: AS(2) +
 *   local(4), RFC 4360 3.1), an IPv4 address (0x01: IPv4(4) + local(2), RFC 4360 3.2) or a
 *   4-octet AS (0x02: AS(4) + local(2), RFC 5668 3).
 * Everything else, and anything whose fields would not encode back to the same 8 octets (a
 * non-zero reserved field, a 4-octet-AS community whose AS fits in 2 octets), is kept as hex.
 */
import { ipv4ToNumber, numberToIpv4 } from '../lib/address.js';
import { fromHex, toHex } from '../lib/hex.js';
import type { ExtCommunity } from './types.js';
import { ExtCommunityType as T } from './iana.js';

function u32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

function u16(b: Uint8Array, p: number): number {
  return (b[p] << 8) | b[p + 1];
}

function put32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = (v >>> 16) & 255;
  b[p + 2] = (v >>> 8) & 255;
  b[p + 3] = v & 255;
}

function put16(b: Uint8Array, p: number, v: number): void {
  b[p] = (v >>> 8) & 255;
  b[p + 1] = v & 255;
}

function macText(b: Uint8Array, p: number): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + (b[p + i] < 16 ? '0' : '') + b[p + i].toString(16);
  return s;
}

/** Reads the structured form of the 8 octets at b[p]; no round-trip check (see decode). */
function readFields(b: Uint8Array, p: number): ExtCommunity {
  const type = b[p];
  const sub = b[p + 1];
  if (type === T.OPAQUE && sub === T.OPAQUE_ENCAPSULATION) return { type: 'encapsulation', tunnelType: u16(b, p + 6) };
  if (type === T.EVPN && sub === T.EVPN_ROUTERS_MAC) return { type: 'router-mac', mac: macText(b, p + 2) };
  if (sub === T.ROUTE_TARGET || sub === T.ROUTE_ORIGIN) {
    const kind = sub === T.ROUTE_TARGET ? 'route-target' : 'route-origin';
    if (type === T.TWO_OCTET_AS) return { type: kind, global: u16(b, p + 2), local: u32(b, p + 4) };
    if (type === T.IPV4_ADDRESS) return { type: kind, global: numberToIpv4(u32(b, p + 2)), local: u16(b, p + 6) };
    if (type === T.FOUR_OCTET_AS) return { type: kind, global: u32(b, p + 2), local: u16(b, p + 6) };
  }
  return { type: 'raw', hex: toHex(b.subarray(p, p + 8)) };
}

/** Decodes the extended community at b[p, p+8). */
export function decodeExtCommunity(b: Uint8Array, p: number): ExtCommunity {
  const c = readFields(b, p);
  if (c.type === 'raw') return c;
  // Keep the structured form only when it writes back to exactly these 8 octets.
  const again = new Uint8Array(8);
  writeExtCommunity(again, 0, c);
  for (let i = 0; i < 8; i++) if (again[i] !== b[p + i]) return { type: 'raw', hex: toHex(b.subarray(p, p + 8)) };
  return c;
}

function checkRange(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`extended community ${what} ${v} is out of range 0..${max}`);
  return v;
}

/**
 * Writes the 8 octets of `c` at b[p]. A number `global` up to 65535 is written as a 2-octet AS
 * community (type 0x00, 4-octet local part), a larger one as a 4-octet AS community (type 0x02,
 * 2-octet local part), a dotted quad as an IPv4 address community (type 0x01). Throws a plain
 * Error for values that do not fit (a caller bug).
 */
export function writeExtCommunity(b: Uint8Array, p: number, c: ExtCommunity): void {
  switch (c.type) {
    case 'encapsulation':
      b[p] = T.OPAQUE;
      b[p + 1] = T.OPAQUE_ENCAPSULATION;
      put32(b, p + 2, 0);
      put16(b, p + 6, checkRange(c.tunnelType, 0xffff, 'tunnel type'));
      return;
    case 'router-mac': {
      const m = /^([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})$/.exec(c.mac);
      if (!m) throw new Error(`not a MAC address: ${JSON.stringify(c.mac)}`);
      b[p] = T.EVPN;
      b[p + 1] = T.EVPN_ROUTERS_MAC;
      for (let i = 0; i < 6; i++) b[p + 2 + i] = parseInt(m[i + 1], 16);
      return;
    }
    case 'route-target':
    case 'route-origin': {
      b[p + 1] = c.type === 'route-target' ? T.ROUTE_TARGET : T.ROUTE_ORIGIN;
      if (typeof c.global === 'string') {
        b[p] = T.IPV4_ADDRESS;
        put32(b, p + 2, ipv4ToNumber(c.global));
        put16(b, p + 6, checkRange(c.local, 0xffff, 'local part'));
      } else if (checkRange(c.global, 0xffffffff, 'AS') <= 0xffff) {
        b[p] = T.TWO_OCTET_AS;
        put16(b, p + 2, c.global);
        put32(b, p + 4, checkRange(c.local, 0xffffffff, 'local part'));
      } else {
        b[p] = T.FOUR_OCTET_AS;
        put32(b, p + 2, c.global);
        put16(b, p + 6, checkRange(c.local, 0xffff, 'local part'));
      }
      return;
    }
    case 'raw': {
      if (!/^[0-9a-fA-F]{16}$/.test(c.hex)) throw new Error(`raw extended community must be 16 hex digits: ${JSON.stringify(c.hex)}`);
      b.set(fromHex(c.hex), p);
      return;
    }
  }
}
