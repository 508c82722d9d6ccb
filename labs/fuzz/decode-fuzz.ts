/**
 * The decode fuzzer: mutated real messages (proto-fixtures/*.json, captured from BIRD, FRR and
 * GoBGP) fed to the decoder and the framer. Decoding must only ever succeed or throw a WireError;
 * anything else (a TypeError, a RangeError, a hang) is a failure, reported with the bytes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, toHex } from '../../src/lib/hex.js';
import { isWireError } from '../../src/wire/errors.js';
import { Framer } from '../../src/wire/framer.js';
import { decodeMessage } from '../../src/wire/message.js';
import type { WireOptions } from '../../src/wire/types.js';
import { mutate } from './mutate.js';
import { Rng } from './rng.js';

const DIR = join(import.meta.dirname, '..', '..', 'proto-fixtures');

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

export interface DecodeRun {
  samples: number;
  ok: number;
  wireErrors: number;
  failures: string[];
  codes: Map<string, number>;
  ms: number;
}

export function runDecode(seed: number, count: number): DecodeRun {
  const rng = new Rng(seed);
  const samples = load();
  if (samples.length === 0) throw new Error(`no fixtures in ${DIR}: run npm run capture first`);
  const r: DecodeRun = { samples: samples.length, ok: 0, wireErrors: 0, failures: [], codes: new Map(), ms: 0 };
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const s = rng.pick(samples);
    const m = mutate(rng, s.bytes);
    try {
      decodeMessage(m, s.opts);
      r.ok++;
    } catch (e) {
      if (isWireError(e)) {
        r.wireErrors++;
        r.codes.set(e.code, (r.codes.get(e.code) ?? 0) + 1);
      } else if (r.failures.push(`FAIL ${s.name} (iteration ${i}): ${(e as Error).stack}\n  bytes: ${toHex(m)}`) >= 5) break;
    }
    // Every 16th case also goes through the framer, split at a random point.
    if ((i & 15) === 0) {
      try {
        const f = new Framer(s.opts.extendedMessage ? 65535 : 4096);
        const cut = rng.int(m.length + 1);
        f.push(m.subarray(0, cut));
        f.push(m.subarray(cut));
      } catch (e) {
        if (r.failures.push(`FAIL framer ${s.name} (iteration ${i}): ${(e as Error).stack}\n  bytes: ${toHex(m)}`) >= 5) break;
      }
    }
  }
  r.ms = performance.now() - started;
  return r;
}
