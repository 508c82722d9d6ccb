/**
 * `npm run fuzz [-- COUNT]`: feeds mutated real messages (proto-fixtures/*.json, captured from
 * BIRD, FRR and GoBGP) to the decoder and the framer. Decoding must only ever succeed or throw a
 * WireError; anything else (a TypeError, a RangeError, a hang) is a bug, printed with the bytes
 * that caused it, and the exit status is 1. Deterministic: the seed is printed and can be given
 * with WEFT_FUZZ_SEED to replay a run.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, toHex } from '../../src/lib/hex.js';
import { isWireError } from '../../src/wire/errors.js';
import { Framer } from '../../src/wire/framer.js';
import { decodeMessage } from '../../src/wire/message.js';
import { DEFAULT_WIRE_OPTIONS, type WireOptions } from '../../src/wire/types.js';

const DIR = join(import.meta.dirname, '..', '..', 'proto-fixtures');
const count = Number(process.argv[2] ?? 1_000_000);
let seed = Number(process.env.WEFT_FUZZ_SEED ?? Date.now() % 2 ** 31);
const firstSeed = seed;

/** xorshift32: fast, deterministic. */
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}
const int = (n: number) => Math.floor(rand() * n);

interface Sample {
  name: string;
  bytes: Uint8Array;
  opts: WireOptions;
}

function load(): Sample[] {
  const out: Sample[] = [];
  for (const f of readdirSync(DIR).filter((n) => n.endsWith('.json')).sort()) {
    const fx = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as { hex: string; options?: { fourOctetAs?: boolean; extendedMessage?: boolean; addPath?: string[] } };
    const o = fx.options ?? {};
    out.push({
      name: f,
      bytes: fromHex(fx.hex),
      opts: { fourOctetAs: o.fourOctetAs ?? true, extendedMessage: o.extendedMessage ?? false, addPath: new Set(o.addPath ?? []) },
    });
  }
  return out;
}

const INTERESTING = [0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40, 0xc0, 0xe0, 32, 33, 128, 129];

function mutate(src: Uint8Array): Uint8Array {
  let b = src.slice();
  const n = 1 + int(4);
  for (let k = 0; k < n; k++) {
    const op = int(7);
    const at = 19 + int(Math.max(1, b.length - 19)); // keep the marker mostly intact: reach the body decoders
    if (op === 0) b[at] ^= 1 << int(8);
    else if (op === 1) b[at] = INTERESTING[int(INTERESTING.length)];
    else if (op === 2) b[at] = int(256);
    else if (op === 3) b = b.slice(0, Math.max(19, at)); // truncate (length field now lies)
    else if (op === 4) {
      const ins = Uint8Array.from({ length: 1 + int(8) }, () => int(256));
      const c = new Uint8Array(b.length + ins.length);
      c.set(b.subarray(0, at));
      c.set(ins, at);
      c.set(b.subarray(at), at + ins.length);
      b = c;
    } else if (op === 5 && b.length > 21) {
      // Make the header length agree with the new size (so the body decoder, not the framer, sees it).
      b[16] = b.length >>> 8;
      b[17] = b.length & 255;
    } else if (op === 6) b[int(Math.min(b.length, 19))] = int(256); // header damage
  }
  if (rand() < 0.7 && b.length >= 19) {
    b[16] = b.length >>> 8;
    b[17] = b.length & 255;
  }
  return b;
}

const samples = load();
if (samples.length === 0) {
  console.error(`no fixtures in ${DIR}: run npm run capture first`);
  process.exit(2);
}
let ok = 0;
let wireErrors = 0;
let failures = 0;
const codes = new Map<string, number>();
const started = performance.now();
for (let i = 0; i < count; i++) {
  const s = samples[int(samples.length)];
  const m = mutate(s.bytes);
  try {
    decodeMessage(m, s.opts);
    ok++;
  } catch (e) {
    if (isWireError(e)) {
      wireErrors++;
      codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
    } else {
      failures++;
      if (failures <= 5) console.error(`FAIL ${s.name}: ${(e as Error).stack}\n  bytes: ${toHex(m)}`);
    }
  }
  // Every 16th case also goes through the framer, split at a random point.
  if ((i & 15) === 0) {
    try {
      const f = new Framer(s.opts.extendedMessage ? 65535 : 4096);
      const cut = int(m.length + 1);
      f.push(m.subarray(0, cut));
      f.push(m.subarray(cut));
    } catch (e) {
      failures++;
      if (failures <= 5) console.error(`FAIL framer ${s.name}: ${(e as Error).stack}\n  bytes: ${toHex(m)}`);
    }
  }
}
const secs = (performance.now() - started) / 1000;
console.log(`fuzz: ${count} mutated messages from ${samples.length} fixtures (seed ${firstSeed}) in ${secs.toFixed(1)} s`);
console.log(`  decoded: ${ok}, WireError: ${wireErrors}, other exceptions: ${failures}`);
console.log(`  WireError codes: ${[...codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')}`);
process.exit(failures === 0 ? 0 : 1);
