/**
 * BGP capabilities (RFC 5492 4), carried in OPEN optional parameters of type 2.
 *
 * +------------------------------+
 * | Capability Code (1 octet)    |
 * +------------------------------+
 * | Capability Length (1 octet)  |
 * +------------------------------+
 * | Capability Value (variable)  |
 * ~                              ~
 * +------------------------------+
 *
 * Rule: decoding then encoding gives the received bytes exactly. A known code whose value does
 * not re-encode to the same bytes (a wrong length, a non-zero reserved octet, bad UTF-8...) is
 * kept as { type: 'unknown', code, data }, like any code weft does not know.
 */
import { bytesEqual } from '../lib/hex.js';
import { CapabilityCode } from './iana.js';
import { Reader } from './reader.js';
import type { Capability } from './types.js';
import { Writer } from './writer.js';

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** The capability code written for a decoded capability. */
export function capabilityCode(c: Capability): number {
  switch (c.type) {
    case 'multiprotocol':
      return CapabilityCode.MULTIPROTOCOL;
    case 'route-refresh':
      return CapabilityCode.ROUTE_REFRESH;
    case 'route-refresh-old':
      return CapabilityCode.ROUTE_REFRESH_OLD;
    case 'enhanced-route-refresh':
      return CapabilityCode.ENHANCED_ROUTE_REFRESH;
    case 'four-octet-as':
      return CapabilityCode.FOUR_OCTET_AS;
    case 'graceful-restart':
      return CapabilityCode.GRACEFUL_RESTART;
    case 'extended-next-hop':
      return CapabilityCode.EXTENDED_NEXT_HOP;
    case 'extended-message':
      return CapabilityCode.EXTENDED_MESSAGE;
    case 'add-path':
      return CapabilityCode.ADD_PATH;
    case 'fqdn':
      return CapabilityCode.FQDN;
    case 'unknown':
      return c.code;
  }
}

function checkRange(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`capability field ${what} = ${v} is outside 0..${max}`);
  return v;
}

function writeText(w: Writer, text: string, what: string): void {
  const b = utf8Encoder.encode(text);
  if (b.length > 255) throw new Error(`FQDN capability ${what} is ${b.length} octets; at most 255 fit`);
  w.u8(b.length).bytes(b);
}

/**
 * The Capability Value octets. Throws a plain Error for a value that cannot be written (a field
 * out of range): that is a bug in the caller, not peer input.
 */
export function capabilityValue(c: Capability): Uint8Array {
  const w = new Writer(16);
  switch (c.type) {
    case 'multiprotocol':
      // RFC 4760 8: AFI (2) | Reserved (1) | SAFI (1).
      w.u16(checkRange(c.afi, 0xffff, 'afi')).u8(0).u8(checkRange(c.safi, 0xff, 'safi'));
      break;
    case 'route-refresh':
    case 'route-refresh-old':
    case 'enhanced-route-refresh':
    case 'extended-message':
      // RFC 2918 2, RFC 7313 4, RFC 8654 3: no value.
      break;
    case 'four-octet-as':
      // RFC 6793 3: the 4-octet AS number.
      w.u32(checkRange(c.asn, 0xffffffff, 'asn'));
      break;
    case 'graceful-restart':
      // RFC 4724 3: Restart Flags (4 bits) | Restart Time (12 bits), then per family
      // AFI (2) | SAFI (1) | Flags for Address Family (1).
      w.u16((checkRange(c.flags, 0xf, 'restart flags') << 12) | checkRange(c.time, 0xfff, 'restart time'));
      for (const f of c.families) {
        w.u16(checkRange(f.afi, 0xffff, 'afi')).u8(checkRange(f.safi, 0xff, 'safi')).u8(checkRange(f.flags, 0xff, 'family flags'));
      }
      break;
    case 'extended-next-hop':
      // RFC 8950 3: NLRI AFI (2) | NLRI SAFI (2) | Nexthop AFI (2), repeated.
      for (const e of c.entries) {
        w.u16(checkRange(e.afi, 0xffff, 'afi')).u16(checkRange(e.safi, 0xffff, 'safi')).u16(checkRange(e.nextHopAfi, 0xffff, 'next hop afi'));
      }
      break;
    case 'add-path':
      // RFC 7911 4: AFI (2) | SAFI (1) | Send/Receive (1), repeated.
      for (const f of c.families) {
        w.u16(checkRange(f.afi, 0xffff, 'afi')).u8(checkRange(f.safi, 0xff, 'safi')).u8(checkRange(f.sendReceive, 0xff, 'send/receive'));
      }
      break;
    case 'fqdn':
      // draft-walton-bgp-hostname-capability 3: Hostname Length (1) | Hostname | Domain Length (1) | Domain.
      writeText(w, c.hostname, 'hostname');
      writeText(w, c.domain, 'domain name');
      break;
    case 'unknown':
      w.bytes(c.data);
      break;
  }
  return w.finish();
}

/** Reads a known capability whose value has the right shape; undefined when it does not. */
function readKnown(code: number, v: Uint8Array): Capability | undefined {
  const r = new Reader(v, 0, v.length, 'open.malformed');
  switch (code) {
    case CapabilityCode.MULTIPROTOCOL: {
      if (v.length !== 4) return undefined;
      const afi = r.u16();
      r.u8(); // reserved: must be 0, else the value does not re-encode and the capability stays unknown
      return { type: 'multiprotocol', afi, safi: r.u8() };
    }
    case CapabilityCode.ROUTE_REFRESH:
      return v.length === 0 ? { type: 'route-refresh' } : undefined;
    case CapabilityCode.ROUTE_REFRESH_OLD:
      return v.length === 0 ? { type: 'route-refresh-old' } : undefined;
    case CapabilityCode.ENHANCED_ROUTE_REFRESH:
      return v.length === 0 ? { type: 'enhanced-route-refresh' } : undefined;
    case CapabilityCode.EXTENDED_MESSAGE:
      return v.length === 0 ? { type: 'extended-message' } : undefined;
    case CapabilityCode.FOUR_OCTET_AS:
      return v.length === 4 ? { type: 'four-octet-as', asn: r.u32() } : undefined;
    case CapabilityCode.GRACEFUL_RESTART: {
      if (v.length < 2 || (v.length - 2) % 4 !== 0) return undefined;
      const head = r.u16();
      const families: { afi: number; safi: number; flags: number }[] = [];
      while (r.remaining > 0) families.push({ afi: r.u16(), safi: r.u8(), flags: r.u8() });
      return { type: 'graceful-restart', flags: head >>> 12, time: head & 0xfff, families };
    }
    case CapabilityCode.EXTENDED_NEXT_HOP: {
      if (v.length % 6 !== 0) return undefined;
      const entries: { afi: number; safi: number; nextHopAfi: number }[] = [];
      while (r.remaining > 0) entries.push({ afi: r.u16(), safi: r.u16(), nextHopAfi: r.u16() });
      return { type: 'extended-next-hop', entries };
    }
    case CapabilityCode.ADD_PATH: {
      if (v.length % 4 !== 0) return undefined;
      const families: { afi: number; safi: number; sendReceive: number }[] = [];
      while (r.remaining > 0) families.push({ afi: r.u16(), safi: r.u8(), sendReceive: r.u8() });
      return { type: 'add-path', families };
    }
    case CapabilityCode.FQDN: {
      if (v.length < 2) return undefined;
      const hostLen = v[0];
      if (1 + hostLen + 1 > v.length) return undefined;
      const domainLen = v[1 + hostLen];
      if (2 + hostLen + domainLen !== v.length) return undefined;
      try {
        const hostname = utf8Decoder.decode(v.subarray(1, 1 + hostLen));
        const domain = utf8Decoder.decode(v.subarray(2 + hostLen));
        return { type: 'fqdn', hostname, domain };
      } catch {
        return undefined; // not UTF-8: kept as bytes
      }
    }
    default:
      return undefined;
  }
}

/** Decodes one capability from its code and value octets (never throws). */
export function decodeCapability(code: number, value: Uint8Array): Capability {
  const known = readKnown(code, value);
  if (known !== undefined && bytesEqual(capabilityValue(known), value)) return known;
  return { type: 'unknown', code, data: new Uint8Array(value) };
}

/**
 * Decodes the capability TLVs filling a reader (the value of one optional parameter). RFC 5492 4:
 * a parameter may hold several capabilities. A TLV running past the parameter is a malformed
 * OPEN (RFC 4271 6.2: a recognized but malformed parameter -> subcode 0, Unspecific).
 */
export function decodeCapabilityList(r: Reader): Capability[] {
  const caps: Capability[] = [];
  const list = new Reader(r.buf, r.pos, r.end, 'open.malformed');
  while (list.remaining > 0) {
    const code = list.u8('capability code');
    const len = list.u8('capability length');
    caps.push(decodeCapability(code, list.bytes(len, `value of capability ${code}`)));
  }
  r.pos = r.end;
  return caps;
}

/** Writes each capability as code, length, value. */
export function writeCapabilities(w: Writer, caps: readonly Capability[]): void {
  for (const c of caps) {
    const v = capabilityValue(c);
    if (v.length > 255) throw new Error(`capability ${capabilityCode(c)} value is ${v.length} octets; at most 255 fit`);
    w.u8(capabilityCode(c)).u8(v.length).bytes(v);
  }
}

/** The TLVs of a list of capabilities, e.g. as NOTIFICATION data for Unsupported Capability (RFC 5492 5). */
export function encodeCapabilities(caps: readonly Capability[]): Uint8Array {
  const w = new Writer(64);
  writeCapabilities(w, caps);
  return w.finish();
}
