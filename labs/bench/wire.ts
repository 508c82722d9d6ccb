/**
 * `npm run bench:wire`: decode and encode rates of the wire codec on one core, as a table.
 *
 * Workloads: full 4096-octet UPDATEs of IPv4 /24 NLRI (iBGP-style attributes), the same with
 * 65535-octet extended messages, and IPv6 /48 NLRI in MP_REACH. For each: prefixes/s and MB/s of
 * decode (decodeUpdate, the whole message), of decode through the Framer from a stream, and of
 * encode (packUpdates building the messages from prefixes). Median (min-max) of 5 timed runs
 * after a warm-up. Writes JSON next to the table when WEFT_BENCH_JSON names a file.
 */
import { writeFileSync } from 'node:fs';
import { v4Prefix, v6Prefix, type Prefix } from '../../src/lib/prefix.js';
import { attr } from '../../src/wire/attr-build.js';
import { Framer } from '../../src/wire/framer.js';
import { Origin } from '../../src/wire/iana.js';
import { decodeUpdate } from '../../src/wire/update.js';
import { packUpdates } from '../../src/wire/update-pack.js';
import { DEFAULT_WIRE_OPTIONS, type WireOptions } from '../../src/wire/types.js';

const RUNS = 5;
const PREFIXES = 1_000_000;

function v4Prefixes(n: number): Prefix[] {
  const out: Prefix[] = [];
  for (let i = 0; i < n; i++) out.push(v4Prefix((0x0a000000 + i * 256) >>> 0, 24));
  return out;
}

function v6Prefixes(n: number): Prefix[] {
  const out: Prefix[] = [];
  const b = new Uint8Array(16);
  b[0] = 0x20;
  b[1] = 0x01;
  b[2] = 0x0d;
  b[3] = 0xb8;
  for (let i = 0; i < n; i++) {
    b[4] = (i >>> 8) & 255;
    b[5] = i & 255;
    b[6] = (i >>> 16) & 255;
    out.push(v6Prefix(b, 56));
  }
  return out;
}

const ATTRS = [
  attr.origin(Origin.IGP),
  attr.asPath([4200000001, 65001]),
  attr.nextHop('10.0.0.1'),
  attr.localPref(100),
  attr.communities([65000 * 65536 + 1]),
  attr.largeCommunities([[4200000001, 1, 2]]),
];

interface Row {
  workload: string;
  operation: string;
  prefixesPerSec: number[];
  mbPerSec: number[];
}

function time(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function measure(workload: string, operation: string, prefixes: number, bytes: number, fn: () => void): Row {
  fn(); // warm-up
  const secs: number[] = [];
  for (let i = 0; i < RUNS; i++) secs.push(time(fn));
  return { workload, operation, prefixesPerSec: secs.map((s) => prefixes / s), mbPerSec: secs.map((s) => bytes / s / 1e6) };
}

function stream(msgs: Uint8Array[]): Uint8Array[] {
  // The stream cut into 64 KiB chunks as a socket would deliver it (messages split across chunks).
  const total = msgs.reduce((n, m) => n + m.length, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const m of msgs) {
    all.set(m, o);
    o += m.length;
  }
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < total; i += 65536) chunks.push(all.subarray(i, Math.min(total, i + 65536)));
  return chunks;
}

function workload(name: string, prefixes: Prefix[], opts: WireOptions, ipv6NextHop?: string[]): Row[] {
  const attributes = ipv6NextHop ? ATTRS.filter((a) => a.type !== 'next-hop') : ATTRS;
  const msgs = packUpdates({ attributes, announce: prefixes, ipv6NextHop }, opts);
  const bytes = msgs.reduce((n, m) => n + m.length, 0);
  let sink = 0;
  const rows = [
    measure(name, 'decode', prefixes.length, bytes, () => {
      for (const m of msgs) sink += decodeUpdate(m, opts).nlri.length;
    }),
    measure(name, 'frame + decode', prefixes.length, bytes, () => {
      const f = new Framer(opts.extendedMessage ? 65535 : 4096);
      for (const c of stream(msgs)) for (const m of f.push(c).messages) sink += decodeUpdate(m, opts).attributes.length;
    }),
    measure(name, 'encode (pack)', prefixes.length, bytes, () => {
      sink += packUpdates({ attributes, announce: prefixes, ipv6NextHop }, opts).length;
    }),
  ];
  if (sink === 0) throw new Error('nothing decoded');
  console.error(`${name}: ${msgs.length} UPDATE messages, ${(bytes / 1e6).toFixed(1)} MB`);
  return rows;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function fmt(xs: number[], unit: number, digits: number): string {
  return `${(median(xs) / unit).toFixed(digits)} (${(Math.min(...xs) / unit).toFixed(digits)}-${(Math.max(...xs) / unit).toFixed(digits)})`;
}

const ext: WireOptions = { ...DEFAULT_WIRE_OPTIONS, extendedMessage: true };
const rows = [
  ...workload(`IPv4 /24, 4096-octet UPDATEs`, v4Prefixes(PREFIXES), DEFAULT_WIRE_OPTIONS),
  ...workload(`IPv4 /24, 65535-octet UPDATEs`, v4Prefixes(PREFIXES), ext),
  ...workload(`IPv6 /56, MP_REACH, 4096`, v6Prefixes(PREFIXES / 4), DEFAULT_WIRE_OPTIONS, ['2001:db8::1']),
];

const head = ['workload', 'operation', 'M prefixes/s', 'MB/s'];
const body = rows.map((r) => [r.workload, r.operation, fmt(r.prefixesPerSec, 1e6, 2), fmt(r.mbPerSec, 1, 0)]);
const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(`wire codec, one core, node ${process.version}; median (min-max) of ${RUNS} runs`);
console.log(line(head));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const b of body) console.log(line(b));
if (process.env.WEFT_BENCH_JSON) writeFileSync(process.env.WEFT_BENCH_JSON, JSON.stringify({ node: process.version, runs: RUNS, rows }, null, 2));
