/**
 * Builds synthetic captures for tests: TCP conversations (sequence numbers tracked), IPv4/IPv6
 * packets, link-layer headers (Ethernet with optional VLAN tag, SLL, SLL2, NULL, raw), and
 * classic pcap / pcapng files. Checksums are left zero (the reader does not check them).
 */
import { ipv4ToNumber, ipv6ToBytes } from '../../src/lib/address.js';

export interface Segment {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  /** TCP flag bits: FIN 1, SYN 2, RST 4, PSH 8, ACK 16. */
  flags: number;
  payload: Uint8Array;
}

export const FIN = 1;
export const SYN = 2;
export const PSH = 8;
export const ACK = 16;

export interface Endpoint {
  ip: string;
  port: number;
}

/** A TCP connection between a (the client) and b (the server) that hands out segments. */
export class Conversation {
  private next: { a: number; b: number };

  constructor(
    readonly a: Endpoint,
    readonly b: Endpoint,
    readonly isnA = 1000,
    readonly isnB = 5000,
  ) {
    this.next = { a: (isnA + 1) >>> 0, b: (isnB + 1) >>> 0 };
  }

  /** SYN, SYN-ACK, ACK. */
  handshake(): Segment[] {
    return [this.seg('a', this.isnA, SYN), this.seg('b', this.isnB, SYN | ACK), this.seg('a', this.next.a, ACK)];
  }

  /** The data, cut at the given lengths (the rest in a last segment); sequence numbers advance. */
  send(from: 'a' | 'b', data: Uint8Array, cuts: number[] = []): Segment[] {
    const out: Segment[] = [];
    let pos = 0;
    for (const n of [...cuts, data.length]) {
      const end = Math.min(data.length, pos + n);
      if (end <= pos && out.length > 0) continue;
      out.push(this.seg(from, this.next[from], ACK | PSH, data.subarray(pos, end)));
      this.next[from] = (this.next[from] + (end - pos)) >>> 0;
      pos = end;
      if (pos >= data.length) break;
    }
    return out;
  }

  /** The sequence number the next data byte from this side will carry. */
  nextSeq(from: 'a' | 'b'): number {
    return this.next[from];
  }

  /** Advances the sequence number as if `n` bytes had been sent and lost (a hole in the capture). */
  skip(from: 'a' | 'b', n: number): void {
    this.next[from] = (this.next[from] + n) >>> 0;
  }

  seg(from: 'a' | 'b', seq: number, flags: number, payload: Uint8Array = new Uint8Array(0)): Segment {
    const [s, d] = from === 'a' ? [this.a, this.b] : [this.b, this.a];
    return { src: s.ip, dst: d.ip, sport: s.port, dport: d.port, seq, flags, payload };
  }

  /** "ip:port>ip:port" as weft names the direction from `from`. */
  name(from: 'a' | 'b'): string {
    const fmt = (e: Endpoint) => (e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`);
    return from === 'a' ? `${fmt(this.a)}>${fmt(this.b)}` : `${fmt(this.b)}>${fmt(this.a)}`;
  }
}

function be16(v: number): number[] {
  return [(v >> 8) & 255, v & 255];
}
function be32(v: number): number[] {
  return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}

export function tcpBytes(s: Segment): Uint8Array {
  const h = [...be16(s.sport), ...be16(s.dport), ...be32(s.seq), ...be32(0), 0x50, s.flags, ...be16(65535), 0, 0, 0, 0];
  const out = new Uint8Array(20 + s.payload.length);
  out.set(h);
  out.set(s.payload, 20);
  return out;
}

/** The IP packet (v4 or v6 by the address text) carrying the segment. */
export function ipPacket(s: Segment): Uint8Array {
  const tcp = tcpBytes(s);
  if (s.src.includes(':')) {
    const out = new Uint8Array(40 + tcp.length);
    out.set([0x60, 0, 0, 0, ...be16(tcp.length), 6, 64]);
    out.set(ipv6ToBytes(s.src), 8);
    out.set(ipv6ToBytes(s.dst), 24);
    out.set(tcp, 40);
    return out;
  }
  const out = new Uint8Array(20 + tcp.length);
  out.set([0x45, 0, ...be16(20 + tcp.length), 0, 0, 0x40, 0, 64, 6, 0, 0, ...be32(ipv4ToNumber(s.src)), ...be32(ipv4ToNumber(s.dst))]);
  out.set(tcp, 20);
  return out;
}

export type Link = 'ethernet' | 'ethernet-vlan' | 'sll' | 'sll2' | 'null' | 'raw';

export const LINK_TYPES: Record<Link, number> = { ethernet: 1, 'ethernet-vlan': 1, sll: 113, sll2: 276, null: 0, raw: 101 };

/** The frame for a link type: the IP packet behind that link's header. */
export function linkFrame(link: Link, ip: Uint8Array): Uint8Array {
  const v6 = ip[0] >> 4 === 6;
  const etherType = be16(v6 ? 0x86dd : 0x0800);
  const macs = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
  let header: number[];
  switch (link) {
    case 'ethernet':
      header = [...macs, ...etherType];
      break;
    case 'ethernet-vlan':
      header = [...macs, 0x81, 0x00, 0x00, 0x64, ...etherType]; // VLAN 100
      break;
    case 'sll':
      header = [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, ...etherType];
      break;
    case 'sll2':
      header = [...etherType, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
      break;
    case 'null':
      header = v6 ? [30, 0, 0, 0] : [2, 0, 0, 0]; // AF_INET / AF_INET6 (BSD) in little-endian
      break;
    case 'raw':
      header = [];
      break;
  }
  const out = new Uint8Array(header.length + ip.length);
  out.set(header);
  out.set(ip, header.length);
  return out;
}

export interface CaptureOptions {
  link?: Link;
  /** Nanosecond timestamps (pcap magic 0xa1b23c4d / pcapng if_tsresol 9). */
  nano?: boolean;
  bigEndian?: boolean;
  /** Seconds since the epoch of the first packet; each next packet is 1 ms later. */
  start?: number;
}

function times(n: number, opts: CaptureOptions): bigint[] {
  const start = BigInt(opts.start ?? 1_700_000_000) * 1_000_000_000n;
  return Array.from({ length: n }, (_, i) => start + BigInt(i) * 1_000_000n + 123n);
}

/** A classic libpcap file of the segments, in the order given. */
export function pcapFile(segments: Segment[], opts: CaptureOptions = {}): Uint8Array {
  const link = opts.link ?? 'ethernet';
  const le = !opts.bigEndian;
  const frames = segments.map((s) => linkFrame(link, ipPacket(s)));
  const out = new Uint8Array(24 + frames.reduce((n, f) => n + 16 + f.length, 0));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, le);
  dv.setUint16(4, 2, le);
  dv.setUint16(6, 4, le);
  dv.setUint32(16, 262144, le);
  dv.setUint32(20, LINK_TYPES[link], le);
  let off = 24;
  const ts = times(frames.length, opts);
  frames.forEach((f, i) => {
    const sec = ts[i] / 1_000_000_000n;
    const ns = ts[i] % 1_000_000_000n;
    dv.setUint32(off, Number(sec), le);
    dv.setUint32(off + 4, Number(opts.nano ? ns : ns / 1000n), le);
    dv.setUint32(off + 8, f.length, le);
    dv.setUint32(off + 12, f.length, le);
    out.set(f, off + 16);
    off += 16 + f.length;
  });
  return out;
}

/** A pcapng file: Section Header, one Interface Description, one Enhanced Packet per segment. */
export function pcapngFile(segments: Segment[], opts: CaptureOptions = {}): Uint8Array {
  const link = opts.link ?? 'ethernet';
  const le = !opts.bigEndian;
  const blocks: Uint8Array[] = [];
  const block = (type: number, body: Uint8Array) => {
    const len = 12 + ((body.length + 3) & ~3);
    const b = new Uint8Array(len);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, type, le);
    dv.setUint32(4, len, le);
    b.set(body, 8);
    dv.setUint32(len - 4, len, le);
    blocks.push(b);
  };
  const shb = new Uint8Array(16);
  const sdv = new DataView(shb.buffer);
  sdv.setUint32(0, 0x1a2b3c4d, le);
  sdv.setUint16(4, 1, le);
  sdv.setBigInt64(8, -1n, le);
  block(0x0a0d0d0a, shb);
  // IDB with an if_tsresol option (9 = nanoseconds) when asked, then opt_endofopt.
  const idb = new Uint8Array(opts.nano ? 8 + 8 + 4 : 8);
  const idv = new DataView(idb.buffer);
  idv.setUint16(0, LINK_TYPES[link], le);
  idv.setUint32(4, 262144, le);
  if (opts.nano) {
    idv.setUint16(8, 9, le);
    idv.setUint16(10, 1, le);
    idb[12] = 9;
  }
  block(1, idb);
  const ts = times(segments.length, opts);
  segments.forEach((s, i) => {
    const f = linkFrame(link, ipPacket(s));
    const units = opts.nano ? ts[i] : ts[i] / 1000n;
    const body = new Uint8Array(20 + f.length);
    const dv = new DataView(body.buffer);
    dv.setUint32(0, 0, le);
    dv.setUint32(4, Number(units >> 32n), le);
    dv.setUint32(8, Number(units & 0xffffffffn), le);
    dv.setUint32(12, f.length, le);
    dv.setUint32(16, f.length, le);
    body.set(f, 20);
    block(6, body);
  });
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of blocks) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}
