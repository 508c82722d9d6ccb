/**
 * The Tunnel Encapsulation attribute (RFC 9012, path attribute 23, optional transitive): a
 * sequence of Tunnel TLVs, each a sequence of sub-TLVs.
 *
 * RFC 9012 2, a Tunnel TLV:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |    Tunnel Type (2 Octets)     |        Length (2 Octets)      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                                                               |
 *   |                 Value: sub-TLVs (Length octets)               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * RFC 9012 2, a sub-TLV ("If the Sub-TLV Type is in the range from 0 to 127 (inclusive), the
 * Sub-TLV Length field contains one octet. If the Sub-TLV Type is in the range from 128 to 255
 * (inclusive), the Sub-TLV Length field contains two octets."):
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | Sub-TLV Type  | Sub-TLV Length (1 or 2 octets) |  Sub-TLV Value (Length octets)
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The sub-TLVs read into fields (anything else, and a malformed known one, is kept as bytes):
 *
 *   Encapsulation (1) of VXLAN (8) / NVGRE (9), RFC 9012 3.2.1 / 3.2.2, always 12 octets:
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |V|M|R|R|R|R|R|R|      VN-ID (3 Octets)                         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |         MAC Address (4 Octets)                                |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  MAC Address (2 Octets)       |       Reserved                |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   Tunnel Egress Endpoint (6), RFC 9012 3.1: Reserved (4 octets), Address Family (2 octets: 0 =
 *   "the address of the next hop", 1 IPv4, 2 IPv6), Address (0, 4 or 16 octets).
 *   Protocol Type (2), 3.4.1: Ethertype (2 octets, 0xFFFF reserved). Color (4), 3.4.2: the 8
 *   octets of a Color Extended Community (0x03 0x0b, Flags (2), Color Value (4)). DS Field (7),
 *   3.3.1: 1 octet. UDP Destination Port (8), 3.3.2: 2 octets, 0 reserved. Embedded Label
 *   Handling (9), 3.5: 1 octet, 1 or 2.
 *
 * RFC 9012 13, error handling, as the decoder applies it:
 * - "The final octet of a TLV MUST also be the final octet of its final sub-TLV. If this is not
 *   the case, the TLV MUST be considered to be malformed, and the "Treat-as-withdraw" procedure
 *   of [RFC7606] is applied." A TLV running past the attribute is malformed the same way.
 * - "If a Tunnel Encapsulation attribute does not have any valid TLVs, or it does not have the
 *   transitive bit set, the "Treat-as-withdraw" procedure of [RFC7606] is applied." (the flags
 *   check is the attribute table's, RFC 7606 3c).
 * - Unknown tunnel types: "that BGP speaker MUST NOT consider the attribute to be malformed";
 *   the TLV is kept and passed on. Unknown sub-TLVs likewise, and "if a TLV contains a sub-TLV
 *   that is malformed, the sub-TLV MUST be treated as if it were an unrecognized sub-TLV".
 * - "if a TLV contains a malformed Tunnel Egress Endpoint sub-TLV (as defined in Section 3.1),
 *   the entire TLV MUST be ignored and MUST be removed from the Tunnel Encapsulation attribute
 *   before the route carrying that attribute is distributed", and in UPDATEs of the Section 6
 *   families (IPv4/IPv6 unicast, all weft carries) "a TLV that does not contain exactly one
 *   Tunnel Egress Endpoint sub-TLV MUST be treated as if it contained a malformed" one.
 * - Repeated sub-TLVs are not malformed and are all kept; a consumer uses the first occurrence
 *   ("all but the first occurrence of each such sub-TLV type MUST be disregarded"): firstSubTlv.
 */
import { bytesToIpv6, ipv4ToNumber, ipv6ToBytes, isIpv4, numberToIpv4 } from '../lib/address.js';
import { bytesEqual, toHex } from '../lib/hex.js';
import { WireError } from './errors.js';
import { TunnelSubTlvType as S, TunnelType } from './iana.js';
import type { AttrOf, TunnelSubTlv, TunnelTlv } from './types.js';
import { Writer } from './writer.js';

/** IANA "BGP Tunnel Encapsulation Attribute Tunnel Types" names, for JSON views and logs. */
export const TUNNEL_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'L2TPv3 over IP',
  2: 'GRE',
  7: 'IP in IP',
  8: 'VXLAN',
  9: 'NVGRE',
  10: 'MPLS',
  11: 'MPLS in GRE',
  12: 'VXLAN GPE',
  13: 'MPLS in UDP',
  15: 'SR Policy',
  19: 'Geneve',
};

export function tunnelTypeName(t: number): string {
  return TUNNEL_TYPE_NAMES[t] ?? `unknown (${t})`;
}

/** RFC 9012 3.2.1 / 3.2.2: the tunnel types whose Encapsulation sub-TLV is V/M flags, VN-ID, MAC. */
function hasVnidEncapsulation(tunnelType: number): boolean {
  return tunnelType === TunnelType.VXLAN || tunnelType === TunnelType.NVGRE;
}

const VXLAN_FLAG_V = 0x80;
const VXLAN_FLAG_M = 0x40;

function malformed(message: string, offset: number): WireError {
  // RFC 4271 6.3: an optional attribute whose value is wrong is an Optional Attribute Error; the
  // attribute table applies RFC 9012 13's treat-as-withdraw.
  return new WireError('update.optional-attribute', `TUNNEL_ENCAPSULATION: ${message}`, { offset });
}

function u16(b: Uint8Array, p: number): number {
  return (b[p] << 8) | b[p + 1];
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

function macText(b: Uint8Array, p: number): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + (b[p + i] < 16 ? '0' : '') + b[p + i].toString(16);
  return s;
}

const MAC_RE = /^([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})$/;

function writeMac(w: Writer, mac: string): void {
  const m = MAC_RE.exec(mac);
  if (!m) throw new Error(`not a MAC address: ${JSON.stringify(mac)}`);
  for (let i = 1; i <= 6; i++) w.u8(parseInt(m[i], 16));
}

function checkUint(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`${what} ${v} is out of range 0..${max}`);
  return v;
}

/**
 * RFC 9012 3.1: an egress address the IANA IPv4 / IPv6 Special-Purpose Address Registries mark
 * as not a destination or not forwardable makes the sub-TLV malformed ("Martians"). The
 * registries' entries that can never be a tunnel endpoint are checked: IPv4 0/8, 127/8,
 * 169.254/16, 240/4 (with 255.255.255.255); IPv6 ::, ::1, ::ffff:0:0/96, fe80::/10, 2001:db8::/32.
 */
function martian(af: number, b: Uint8Array, p: number): string | undefined {
  if (af === 1) {
    const a = b[p];
    if (a === 0 || a === 127 || a >= 240 || (a === 169 && b[p + 1] === 254)) return `egress endpoint ${numberToIpv4(u32(b, p))} is a special-purpose address`;
    return undefined;
  }
  let zeros10 = true;
  for (let i = 0; i < 10; i++) if (b[p + i] !== 0) zeros10 = false;
  const tail = u16(b, p + 10);
  const last = u32(b, p + 12);
  const bad =
    (zeros10 && tail === 0 && (last === 0 || last === 1)) || // :: and ::1
    (zeros10 && tail === 0xffff) || // IPv4-mapped
    (b[p] === 0xfe && (b[p + 1] & 0xc0) === 0x80) || // fe80::/10
    (b[p] === 0x20 && b[p + 1] === 0x01 && b[p + 2] === 0x0d && b[p + 3] === 0xb8); // 2001:db8::/32
  return bad ? `egress endpoint ${bytesToIpv6(b, p)} is a special-purpose address` : undefined;
}

/** A decoded sub-TLV, or the reason a Tunnel Egress Endpoint sub-TLV is malformed. */
type SubResult = TunnelSubTlv | { malformedEgress: string };

/** Keeps the fields only when they write back to exactly these octets; otherwise `raw` too. */
function exact<T extends TunnelSubTlv & { raw?: Uint8Array }>(s: T, b: Uint8Array, start: number, end: number): T {
  const w = new Writer(32);
  writeSubTlvValue(w, s);
  return bytesEqual(w.finish(), b.subarray(start, end)) ? s : { ...s, raw: b.slice(start, end) };
}

function decodeSubTlv(code: number, b: Uint8Array, start: number, end: number, tunnelType: number): SubResult {
  const len = end - start;
  const unknown: TunnelSubTlv = { type: 'unknown', code, data: b.slice(start, end) };
  switch (code) {
    case S.ENCAPSULATION: {
      // RFC 9012 3.2.1: the other tunnel types' Encapsulation sub-TLVs have other formats.
      if (!hasVnidEncapsulation(tunnelType) || len !== 12) return unknown;
      const f = b[start];
      // "If the V bit is set to 0, the VN-ID field MUST be set to zero on transmission and
      // disregarded on receipt"; the same for M and the MAC Address.
      return exact(
        {
          type: 'encapsulation',
          vni: (f & VXLAN_FLAG_V) !== 0 ? (b[start + 1] << 16) | (b[start + 2] << 8) | b[start + 3] : undefined,
          mac: (f & VXLAN_FLAG_M) !== 0 ? macText(b, start + 4) : undefined,
        },
        b,
        start,
        end,
      );
    }
    case S.PROTOCOL_TYPE:
      // RFC 9012 3.4.1: "If the reserved value 0xFFFF is received, the sub-TLV MUST be treated as malformed".
      return len === 2 && u16(b, start) !== 0xffff ? { type: 'protocol-type', etherType: u16(b, start) } : unknown;
    case S.COLOR:
      // RFC 9012 3.4.2: "If the Length field of a Color sub-TLV has a value other than 8, or the
      // first two octets of its Value field are not 0x030b, the sub-TLV MUST be treated as if it
      // were an unrecognized sub-TLV". The Flags are kept as received (RFC 9012 4.3).
      return len === 8 && b[start] === 0x03 && b[start + 1] === 0x0b ? exact({ type: 'color', color: u32(b, start + 4) }, b, start, end) : unknown;
    case S.EGRESS_ENDPOINT: {
      if (len < 6) return { malformedEgress: `Tunnel Egress Endpoint of length ${len}` };
      const af = u16(b, start + 4);
      const want = af === 0 ? 6 : af === 1 ? 10 : af === 2 ? 22 : -1;
      if (want < 0) return { malformedEgress: `Tunnel Egress Endpoint address family ${af}` };
      if (len !== want) return { malformedEgress: `Tunnel Egress Endpoint of address family ${af} has length ${len}, expected ${want}` };
      if (af !== 0) {
        const why = martian(af, b, start + 6);
        if (why !== undefined) return { malformedEgress: why };
      }
      const address = af === 0 ? undefined : af === 1 ? numberToIpv4(u32(b, start + 6)) : bytesToIpv6(b, start + 6);
      // RFC 9012 3.1: the Reserved subfield "MUST be disregarded on receipt, and it MUST be propagated unchanged".
      return exact({ type: 'egress-endpoint', address }, b, start, end);
    }
    case S.DS_FIELD:
      return len === 1 ? { type: 'ds-field', ds: b[start] } : unknown;
    case S.UDP_DESTINATION_PORT:
      // RFC 9012 3.3.2: "If the reserved value zero is received, the sub-TLV MUST be treated as malformed".
      return len === 2 && u16(b, start) !== 0 ? { type: 'udp-port', port: u16(b, start) } : unknown;
    case S.EMBEDDED_LABEL_HANDLING:
      // RFC 9012 3.5: "If any value other than 1 or 2 is carried, the sub-TLV MUST be considered malformed".
      return len === 1 && (b[start] === 1 || b[start] === 2) ? { type: 'embedded-label-handling', handling: b[start] } : unknown;
    default:
      return unknown;
  }
}

/** The sub-TLVs of one Tunnel TLV's value b[start, end), and why the TLV is to be removed, if so. */
function decodeTlvValue(b: Uint8Array, start: number, end: number, tunnelType: number): { subTlvs: TunnelSubTlv[]; remove?: string } {
  const subTlvs: TunnelSubTlv[] = [];
  let egress = 0;
  let remove: string | undefined;
  let p = start;
  while (p < end) {
    const code = b[p];
    const lenSize = code >= 128 ? 2 : 1;
    if (p + 1 + lenSize > end) throw malformed(`sub-TLV ${code} header runs past its Tunnel TLV (type ${tunnelType})`, p);
    const len = lenSize === 2 ? u16(b, p + 1) : b[p + 1];
    const vAt = p + 1 + lenSize;
    if (vAt + len > end) throw malformed(`sub-TLV ${code} of length ${len} runs past its Tunnel TLV (type ${tunnelType})`, p);
    const s = decodeSubTlv(code, b, vAt, vAt + len, tunnelType);
    if (code === S.EGRESS_ENDPOINT) egress++;
    if ('malformedEgress' in s) remove ??= s.malformedEgress;
    else subTlvs.push(s);
    p = vAt + len;
  }
  if (remove === undefined && egress !== 1) remove = `${egress} Tunnel Egress Endpoint sub-TLVs, expected exactly one`;
  return remove === undefined ? { subTlvs } : { subTlvs, remove };
}

export function decodeTunnelEncap(b: Uint8Array, start: number, end: number, flags: number): AttrOf<'tunnel-encap'> {
  const tunnels: TunnelTlv[] = [];
  const removed: { tunnelType: number; data: Uint8Array; why: string }[] = [];
  let p = start;
  while (p < end) {
    if (end - p < 4) throw malformed(`${end - p} octet(s) left, too few for a Tunnel TLV header`, p);
    const tunnelType = u16(b, p);
    const len = u16(b, p + 2);
    const vAt = p + 4;
    if (vAt + len > end) throw malformed(`Tunnel TLV (type ${tunnelType}) of length ${len} runs past the attribute`, p);
    const { subTlvs, remove } = decodeTlvValue(b, vAt, vAt + len, tunnelType);
    if (remove === undefined) tunnels.push({ tunnelType, subTlvs });
    else removed.push({ tunnelType, data: b.slice(vAt, vAt + len), why: remove });
    p = vAt + len;
  }
  if (tunnels.length === 0) {
    throw malformed(removed.length === 0 ? 'no Tunnel TLV' : `no valid Tunnel TLV (${removed.map((r) => r.why).join('; ')})`, start);
  }
  return removed.length === 0 ? { type: 'tunnel-encap', flags, tunnels } : { type: 'tunnel-encap', flags, tunnels, removed };
}

// ------------------------------------------------------------------------------ encoding

function subTlvCode(s: TunnelSubTlv): number {
  switch (s.type) {
    case 'encapsulation': return S.ENCAPSULATION;
    case 'protocol-type': return S.PROTOCOL_TYPE;
    case 'color': return S.COLOR;
    case 'egress-endpoint': return S.EGRESS_ENDPOINT;
    case 'ds-field': return S.DS_FIELD;
    case 'udp-port': return S.UDP_DESTINATION_PORT;
    case 'embedded-label-handling': return S.EMBEDDED_LABEL_HANDLING;
    case 'unknown': return checkUint(s.code, 255, 'sub-TLV type');
  }
}

function writeSubTlvValue(w: Writer, s: TunnelSubTlv): void {
  if ('raw' in s && s.raw !== undefined) {
    w.bytes(s.raw);
    return;
  }
  switch (s.type) {
    case 'encapsulation': {
      const vni = s.vni === undefined ? 0 : checkUint(s.vni, 0xffffff, 'VN-ID');
      w.u8((s.vni === undefined ? 0 : VXLAN_FLAG_V) | (s.mac === undefined ? 0 : VXLAN_FLAG_M));
      w.u8(vni >>> 16).u8(vni >>> 8).u8(vni);
      if (s.mac === undefined) w.u32(0).u16(0);
      else writeMac(w, s.mac);
      w.u16(0);
      return;
    }
    case 'protocol-type':
      w.u16(checkUint(s.etherType, 0xfffe, 'Protocol Type'));
      return;
    case 'color':
      w.u8(0x03).u8(0x0b).u16(0).u32(checkUint(s.color, 0xffffffff, 'color'));
      return;
    case 'egress-endpoint':
      w.u32(0);
      if (s.address === undefined) w.u16(0);
      else if (isIpv4(s.address)) w.u16(1).u32(ipv4ToNumber(s.address));
      else w.u16(2).bytes(ipv6ToBytes(s.address));
      return;
    case 'ds-field':
      w.u8(checkUint(s.ds, 255, 'DS field'));
      return;
    case 'udp-port':
      w.u16(checkUint(s.port, 0xffff, 'UDP destination port'));
      return;
    case 'embedded-label-handling':
      w.u8(checkUint(s.handling, 255, 'embedded label handling'));
      return;
    case 'unknown':
      w.bytes(s.data);
      return;
  }
}

function writeSubTlv(w: Writer, s: TunnelSubTlv, tunnelType: number): void {
  if (s.type === 'encapsulation' && s.raw === undefined && !hasVnidEncapsulation(tunnelType)) {
    throw new Error(`an Encapsulation sub-TLV with VN-ID / MAC fields needs tunnel type 8 or 9, not ${tunnelType}`);
  }
  const code = subTlvCode(s);
  w.u8(code);
  const long = code >= 128;
  const lenAt = w.reserve(long ? 2 : 1);
  writeSubTlvValue(w, s);
  const len = w.pos - lenAt - (long ? 2 : 1);
  if (len > (long ? 0xffff : 0xff)) throw new Error(`sub-TLV ${code} value of ${len} octets does not fit its length field`);
  if (long) w.patchU16(lenAt, len);
  else w.patchU8(lenAt, len);
}

/** Writes the Tunnel TLVs (the attribute value). Throws a plain Error for unencodable input. */
export function writeTunnelTlvs(w: Writer, tunnels: readonly TunnelTlv[]): void {
  for (const t of tunnels) {
    w.u16(checkUint(t.tunnelType, 0xffff, 'tunnel type'));
    const lenAt = w.reserve(2);
    for (const s of t.subTlvs) writeSubTlv(w, s, t.tunnelType);
    const len = w.pos - lenAt - 2;
    if (len > 0xffff) throw new Error(`Tunnel TLV of ${len} octets does not fit`);
    w.patchU16(lenAt, len);
  }
}

export function encodeTunnelEncap(w: Writer, a: AttrOf<'tunnel-encap'>): void {
  // RFC 9012 13: an attribute without a valid TLV is malformed; never send one.
  if (a.tunnels.length === 0) throw new Error('TUNNEL_ENCAPSULATION must hold at least one Tunnel TLV (RFC 9012 13)');
  writeTunnelTlvs(w, a.tunnels);
}

/** The value bytes of the Tunnel TLVs as hex: a canonical key (the RIB's attribute equality). */
export function tunnelTlvsKey(tunnels: readonly TunnelTlv[]): string {
  const w = new Writer(64);
  writeTunnelTlvs(w, tunnels);
  return toHex(w.finish());
}

// ------------------------------------------------------------------------------ reading

/** RFC 9012 13: of repeated sub-TLVs of a type, only the first counts. */
export function firstSubTlv<T extends TunnelSubTlv['type']>(t: TunnelTlv, type: T): Extract<TunnelSubTlv, { type: T }> | undefined {
  return t.subTlvs.find((s): s is Extract<TunnelSubTlv, { type: T }> => s.type === type);
}

/** The VXLAN tunnel of an attribute as weft uses it: VNI, MAC, egress endpoint (first TLV of type 8). */
export function vxlanTunnelOf(tunnels: readonly TunnelTlv[]): { vni?: number; mac?: string; egress?: string } | undefined {
  const t = tunnels.find((x) => x.tunnelType === TunnelType.VXLAN);
  if (t === undefined) return undefined;
  const e = firstSubTlv(t, 'encapsulation');
  return { vni: e?.vni, mac: e?.mac, egress: firstSubTlv(t, 'egress-endpoint')?.address };
}
