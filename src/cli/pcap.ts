/**
 * Capture files -> TCP segments, for `weft decode --pcap`.
 *
 * File formats: classic libpcap (either byte order, microsecond magic 0xa1b2c3d4 and nanosecond
 * magic 0xa1b23c4d) and pcapng (Section Header, Interface Description, Enhanced / Simple / obsolete
 * Packet blocks; other blocks are skipped). Link types: NULL/LOOP (0, 108), Ethernet (1, with
 * 802.1Q/802.1ad VLAN tags), raw IP (101, and the platform DLT_RAW values 12 and 14), raw IPv4
 * (228), raw IPv6 (229), Linux cooked SLL (113) and SLL2 (276). Network: IPv4 (unfragmented) and
 * IPv6 (hop-by-hop, routing, destination options, AH and first-fragment headers walked). Checksums
 * are not verified (captures on the sending host show offloaded, unfilled checksums).
 */
import { bytesToIpv6, numberToIpv4 } from '../lib/address.js';

export interface CapturedPacket {
  /** Position in the file (0-based), i.e. capture order. */
  index: number;
  /** Nanoseconds since the Unix epoch. */
  timeNs: bigint;
  /** Fractional-second digits the capture's resolution justifies: 6 or 9. */
  timeDigits: number;
  linkType: number;
  data: Uint8Array;
  /** Length on the wire; larger than data.length when the snapshot length cut the packet. */
  origLength: number;
}

/** The file is not a capture this reader understands (bad header, impossible block lengths). */
export class CaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureError';
  }
}

export type Warn = (message: string) => void;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** No real capture record is this large; a bigger length means the file is not what it claims. */
const MAX_RECORD = 16 * 1024 * 1024;

/** Which capture format the bytes start with, if any. */
export function captureFormat(bytes: Uint8Array): 'pcap' | 'pcapng' | undefined {
  if (bytes.length < 4) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = dv.getUint32(0, true);
  const be = dv.getUint32(0, false);
  if (le === PCAPNG_SHB) return 'pcapng';
  for (const m of [PCAP_MAGIC_US, PCAP_MAGIC_NS]) if (le === m || be === m) return 'pcap';
  return undefined;
}

/** All packets of a pcap or pcapng file. A record cut off at the end of the file is a warning. */
export function readCapture(bytes: Uint8Array, warn: Warn): CapturedPacket[] {
  const format = captureFormat(bytes);
  if (format === 'pcap') return readPcap(bytes, warn);
  if (format === 'pcapng') return readPcapng(bytes, warn);
  throw new CaptureError('not a pcap or pcapng file (no capture magic number at the start)');
}

function readPcap(bytes: Uint8Array, warn: Warn): CapturedPacket[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 24) throw new CaptureError(`pcap file header is truncated (${bytes.length} of 24 bytes)`);
  const magicLe = dv.getUint32(0, true);
  const le = magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS;
  const nano = (le ? magicLe : dv.getUint32(0, false)) === PCAP_MAGIC_NS;
  const major = dv.getUint16(4, le);
  if (major !== 2) throw new CaptureError(`pcap version ${major}.${dv.getUint16(6, le)} is not supported (only 2.x)`);
  // The upper bits of the link type field may carry FCS information (pcap file format, 4).
  const linkType = dv.getUint32(20, le) & 0x0fffffff;
  const packets: CapturedPacket[] = [];
  let off = 24;
  while (off < bytes.length) {
    if (bytes.length - off < 16) {
      warn(`capture ends inside a record header at byte ${off} (file truncated?)`);
      break;
    }
    const sec = dv.getUint32(off, le);
    const frac = dv.getUint32(off + 4, le);
    const incl = dv.getUint32(off + 8, le);
    const orig = dv.getUint32(off + 12, le);
    if (incl > MAX_RECORD) throw new CaptureError(`pcap record ${packets.length + 1} at byte ${off} claims ${incl} captured bytes`);
    if (off + 16 + incl > bytes.length) {
      warn(`capture ends inside record ${packets.length + 1} at byte ${off} (file truncated?)`);
      break;
    }
    packets.push({
      index: packets.length,
      timeNs: BigInt(sec) * 1_000_000_000n + BigInt(frac) * (nano ? 1n : 1000n),
      timeDigits: nano ? 9 : 6,
      linkType,
      data: bytes.subarray(off + 16, off + 16 + incl),
      origLength: Math.max(orig, incl),
    });
    off += 16 + incl;
  }
  return packets;
}

interface PcapngInterface {
  linkType: number;
  snapLength: number;
  /** Timestamp units: 10^-exp seconds, or 2^-exp when `binary`. */
  exp: number;
  binary: boolean;
  offsetSec: bigint;
}

function readPcapng(bytes: Uint8Array, warn: Warn): CapturedPacket[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const packets: CapturedPacket[] = [];
  let interfaces: PcapngInterface[] = [];
  let le = true;
  let lastTime = 0n;
  let lastDigits = 6;
  let off = 0;
  while (off < bytes.length) {
    if (bytes.length - off < 12) {
      warn(`capture ends inside a pcapng block header at byte ${off} (file truncated?)`);
      break;
    }
    const type = dv.getUint32(off, le);
    if (type === PCAPNG_SHB) {
      // pcapng 4.1: the byte-order magic decides how this whole section is read.
      const magic = dv.getUint32(off + 8, true);
      if (magic === PCAPNG_BYTE_ORDER_MAGIC) le = true;
      else if (dv.getUint32(off + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) le = false;
      else throw new CaptureError(`pcapng section header at byte ${off} has a bad byte-order magic`);
      interfaces = [];
    }
    const length = dv.getUint32(off + 4, le);
    if (length < 12 || length % 4 !== 0) throw new CaptureError(`pcapng block at byte ${off} has an invalid length ${length}`);
    if (off + length > bytes.length) {
      warn(`capture ends inside a pcapng block at byte ${off} (file truncated?)`);
      break;
    }
    if (dv.getUint32(off + length - 4, le) !== length) {
      throw new CaptureError(`pcapng block at byte ${off}: the trailing length does not match ${length}`);
    }
    const bodyEnd = off + length - 4;
    const need = (n: number, what: string) => {
      if (off + n > bodyEnd) throw new CaptureError(`pcapng ${what} at byte ${off} is too short (${length} bytes)`);
    };
    const iface = (id: number, what: string): PcapngInterface => {
      const i = interfaces[id];
      if (!i) throw new CaptureError(`pcapng ${what} at byte ${off} names interface ${id}, which was not described`);
      return i;
    };
    const push = (i: PcapngInterface, ts: bigint | undefined, dataStart: number, capLen: number, origLen: number) => {
      if (dataStart + capLen > bodyEnd) throw new CaptureError(`pcapng packet at byte ${off} claims more data than its block holds`);
      if (ts !== undefined) {
        lastTime = toNs(ts, i);
        lastDigits = i.binary ? (i.exp >= 20 ? 9 : 6) : i.exp > 6 ? 9 : 6;
      }
      packets.push({
        index: packets.length,
        timeNs: lastTime,
        timeDigits: lastDigits,
        linkType: i.linkType,
        data: bytes.subarray(dataStart, dataStart + capLen),
        origLength: Math.max(origLen, capLen),
      });
    };
    switch (type) {
      case 1: {
        // Interface Description Block (pcapng 4.2).
        need(16, 'interface description block');
        const i: PcapngInterface = { linkType: dv.getUint16(off + 8, le), snapLength: dv.getUint32(off + 12, le), exp: 6, binary: false, offsetSec: 0n };
        for (let o = off + 16; o + 4 <= bodyEnd; ) {
          const code = dv.getUint16(o, le);
          const len = dv.getUint16(o + 2, le);
          if (code === 0 || o + 4 + len > bodyEnd) break;
          if (code === 9 && len >= 1) {
            // if_tsresol: high bit set = negative power of 2, else of 10.
            const v = bytes[o + 4];
            i.binary = (v & 0x80) !== 0;
            i.exp = v & 0x7f;
          } else if (code === 14 && len >= 8) {
            i.offsetSec = dv.getBigInt64(o + 4, le); // if_tsoffset
          }
          o += 4 + ((len + 3) & ~3);
        }
        interfaces.push(i);
        break;
      }
      case 6: {
        // Enhanced Packet Block (pcapng 4.3).
        need(28, 'enhanced packet block');
        const i = iface(dv.getUint32(off + 8, le), 'enhanced packet block');
        const ts = (BigInt(dv.getUint32(off + 12, le)) << 32n) | BigInt(dv.getUint32(off + 16, le));
        push(i, ts, off + 28, dv.getUint32(off + 20, le), dv.getUint32(off + 24, le));
        break;
      }
      case 2: {
        // Packet Block (obsolete, pcapng appendix).
        need(28, 'packet block');
        const i = iface(dv.getUint16(off + 8, le), 'packet block');
        const ts = (BigInt(dv.getUint32(off + 12, le)) << 32n) | BigInt(dv.getUint32(off + 16, le));
        push(i, ts, off + 28, dv.getUint32(off + 20, le), dv.getUint32(off + 24, le));
        break;
      }
      case 3: {
        // Simple Packet Block (pcapng 4.4): no timestamp (the previous packet's time is kept).
        need(12, 'simple packet block');
        const i = iface(0, 'simple packet block');
        const origLen = dv.getUint32(off + 8, le);
        let capLen = Math.min(origLen, bodyEnd - (off + 12));
        if (i.snapLength > 0) capLen = Math.min(capLen, i.snapLength);
        push(i, undefined, off + 12, capLen, origLen);
        break;
      }
      default:
        break; // Section header (handled above), name resolution, statistics, custom: not needed.
    }
    off += length;
  }
  return packets;
}

function toNs(ts: bigint, i: PcapngInterface): bigint {
  let ns: bigint;
  if (i.binary) ns = (ts * 1_000_000_000n) >> BigInt(i.exp);
  else if (i.exp <= 9) ns = ts * 10n ** BigInt(9 - i.exp);
  else ns = ts / 10n ** BigInt(i.exp - 9);
  return ns + i.offsetSec * 1_000_000_000n;
}

// ---------------------------------------------------------------- packets -> TCP segments

export interface TcpSegment {
  index: number;
  timeNs: bigint;
  timeDigits: number;
  /** "10.0.0.1:35123" or "[2001:db8::1]:179". */
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  syn: boolean;
  fin: boolean;
  rst: boolean;
  payload: Uint8Array;
  /** Payload bytes the snapshot length cut off (the stream will show a gap there). */
  missing: number;
}

/**
 * The TCP segment a packet carries. Returns undefined for packets that are simply not TCP over IP
 * (ARP, UDP...), and a string naming the reason for packets it cannot read although they may be
 * TCP (unsupported link type, IP fragment, header cut by the snapshot length).
 */
export function tcpSegment(p: CapturedPacket): TcpSegment | string | undefined {
  const d = p.data;
  const u16 = (o: number) => (d[o] << 8) | d[o + 1];
  let off: number;
  let etherType: number | undefined; // undefined: look at the IP version nibble
  switch (p.linkType) {
    case 0: // NULL: 4-byte address family in the capturing host's byte order
    case 108: // LOOP: the same in network byte order
      off = 4;
      break;
    case 1: // Ethernet II, with any number of 802.1Q / 802.1ad tags
      off = 12;
      if (d.length < off + 2) return 'truncated Ethernet header';
      etherType = u16(off);
      while ((etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) && d.length >= off + 6) {
        off += 4;
        etherType = u16(off);
      }
      off += 2;
      break;
    case 113: // Linux cooked capture v1: protocol type at 14, header 16 bytes
      if (d.length < 16) return 'truncated SLL header';
      etherType = u16(14);
      off = 16;
      break;
    case 276: // Linux cooked capture v2: protocol type at 0, header 20 bytes
      if (d.length < 20) return 'truncated SLL2 header';
      etherType = u16(0);
      off = 20;
      break;
    case 12:
    case 14:
    case 101: // raw IP
      off = 0;
      break;
    case 228:
      off = 0;
      etherType = 0x0800;
      break;
    case 229:
      off = 0;
      etherType = 0x86dd;
      break;
    default:
      return `unsupported link type ${p.linkType}`;
  }
  if (etherType === undefined) {
    if (d.length <= off) return 'truncated packet';
    const version = d[off] >> 4;
    etherType = version === 4 ? 0x0800 : version === 6 ? 0x86dd : -1;
  }
  if (etherType === 0x0800) return ipv4(p, off);
  if (etherType === 0x86dd) return ipv6(p, off);
  return undefined;
}

function ipv4(p: CapturedPacket, off: number): TcpSegment | string | undefined {
  const d = p.data;
  if (d.length < off + 20 || d[off] >> 4 !== 4) return 'truncated or invalid IPv4 header';
  const ihl = (d[off] & 15) * 4;
  // A total length of 0 is seen for large segments captured on the sending host (TSO/BIG TCP).
  const total = ((d[off + 2] << 8) | d[off + 3]) || d.length - off;
  if (d[off + 9] !== 6) return undefined;
  if (ihl < 20 || total < ihl) return 'invalid IPv4 header';
  const frag = (d[off + 6] << 8) | d[off + 7];
  if ((frag & 0x1fff) !== 0 || (frag & 0x2000) !== 0) return 'IPv4 fragment (not reassembled)';
  const src = numberToIpv4(((d[off + 12] << 24) | (d[off + 13] << 16) | (d[off + 14] << 8) | d[off + 15]) >>> 0);
  const dst = numberToIpv4(((d[off + 16] << 24) | (d[off + 17] << 16) | (d[off + 18] << 8) | d[off + 19]) >>> 0);
  // The IP length decides where the packet ends (Ethernet pads short frames).
  return tcp(p, off + ihl, off + total, src, dst);
}

function ipv6(p: CapturedPacket, off: number): TcpSegment | string | undefined {
  const d = p.data;
  if (d.length < off + 40 || d[off] >> 4 !== 6) return 'truncated or invalid IPv6 header';
  const payloadLength = (d[off + 4] << 8) | d[off + 5];
  // 0 = jumbogram (RFC 2675) or a large segment captured on the sending host: use what was captured.
  const end = payloadLength === 0 ? d.length : off + 40 + payloadLength;
  let next = d[off + 6];
  const src = bytesToIpv6(d, off + 8);
  const dst = bytesToIpv6(d, off + 24);
  let o = off + 40;
  for (;;) {
    if (next === 6) break;
    if (next === 0 || next === 43 || next === 60 || next === 44 || next === 51) {
      if (d.length < o + 8) return 'truncated IPv6 extension header';
      if (next === 44) {
        const frag = (d[o + 2] << 8) | d[o + 3];
        if ((frag & 0xfff8) !== 0 || (frag & 1) !== 0) return 'IPv6 fragment (not reassembled)';
      }
      const len = next === 44 ? 8 : next === 51 ? (d[o + 1] + 2) * 4 : (d[o + 1] + 1) * 8;
      next = d[o];
      o += len;
      continue;
    }
    return undefined;
  }
  return tcp(p, o, end, `[${src}]`, `[${dst}]`);
}

function tcp(p: CapturedPacket, off: number, ipEnd: number, src: string, dst: string): TcpSegment | string {
  const d = p.data;
  const end = Math.min(ipEnd, d.length);
  if (end < off + 20) return 'truncated TCP header';
  const dataOff = (d[off + 12] >> 4) * 4;
  if (dataOff < 20) return 'invalid TCP header (data offset below 20)';
  if (end < off + dataOff) return 'truncated TCP header';
  const srcPort = (d[off] << 8) | d[off + 1];
  const dstPort = (d[off + 2] << 8) | d[off + 3];
  const flags = d[off + 13];
  return {
    index: p.index,
    timeNs: p.timeNs,
    timeDigits: p.timeDigits,
    src: `${src}:${srcPort}`,
    dst: `${dst}:${dstPort}`,
    srcPort,
    dstPort,
    seq: ((d[off + 4] << 24) | (d[off + 5] << 16) | (d[off + 6] << 8) | d[off + 7]) >>> 0,
    fin: (flags & 1) !== 0,
    syn: (flags & 2) !== 0,
    rst: (flags & 4) !== 0,
    payload: d.subarray(off + dataOff, end),
    missing: Math.max(0, ipEnd - end),
  };
}
