/**
 * The pipeline fuzzer's loop, shared by `npm run fuzz` and the unit test: generated valid UPDATEs
 * (many at the size limit) and mutations of them, from every kind of peer, in two worlds (a route
 * reflector in a 2-octet AS, a mesh node in a 4-octet AS), with session resets, route refreshes,
 * policy changes and own blocks coming and going. Deterministic for a seed: the same seed and
 * count replay the same run.
 */
import { toHex } from '../../src/lib/hex.js';
import { Failure } from './check-export.js';
import { generateUpdate } from './gen-update.js';
import { mutate } from './mutate.js';
import { Pipeline } from './pipeline.js';
import { Rng } from './rng.js';
import { WORLDS } from './worlds.js';

export interface PipelineRun {
  seed: number;
  iterations: number;
  ms: number;
  /** Outcome -> count, both worlds together. */
  counts: Map<string, number>;
  failure?: { iteration: number; world: string; stage: string; message: string; input?: string; output?: string };
}

export interface PipelineOptions {
  /** Share of generated messages filled to the session's maximum size: 4096-octet sessions. */
  atLimit?: number;
  /** The same for sessions with extended messages (65535 octets: slower, so fewer). */
  atLimitExtended?: number;
  /** Share of messages mutated after generation. */
  mutated?: number;
  /** The slow consistency check every this many iterations. */
  checkEvery?: number;
  /** Called every `progressEvery` iterations (the CLI prints a line). */
  onProgress?: (done: number, ms: number) => void;
  progressEvery?: number;
}

export function runPipeline(seed: number, iterations: number, o: PipelineOptions = {}): PipelineRun {
  const rng = new Rng(seed);
  const started = performance.now();
  const worlds = WORLDS.map((w) => new Pipeline(w, rng));
  const counts = new Map<string, number>();
  const bump = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
  const atLimit = o.atLimit ?? 0.35;
  const atLimitExtended = o.atLimitExtended ?? 0.08;
  const mutated = o.mutated ?? 0.4;
  const checkEvery = o.checkEvery ?? 4096;
  let input: Uint8Array | undefined;
  let i = 0;
  let w = worlds[0];
  try {
    for (; i < iterations; i++) {
      w = worlds[i % worlds.length];
      const from = rng.int(w.peers.length);
      const peer = w.peers[from];
      const limit = rng.chance(peer.opts.extendedMessage ? atLimitExtended : atLimit);
      const g = generateUpdate(rng, { type: peer.info.type, asn: peer.info.asn, opts: peer.opts }, limit);
      const mutate_ = rng.chance(mutated);
      input = mutate_ ? mutate(rng, g.bytes) : g.bytes;
      bump(`input: ${mutate_ ? 'mutated' : 'valid'}${limit ? ` at ${peer.opts.extendedMessage ? 65535 : 4096}` : ''}`);
      bump(`input family: ${g.family}`);
      if (limit) bump(`input filled with: ${g.filler}`);
      w.receive(from, input);
      const e = rng.int(1000);
      if (e < 3) w.refresh(rng.int(w.peers.length));
      else if (e < 5) w.changePolicy(rng.int(w.peers.length));
      else if (e < 10) w.toggleLocal(rng.int(3));
      else if (e < 12) w.flap(rng.int(w.peers.length), 'at random');
      w.exportAll();
      if (i % checkEvery === checkEvery - 1) w.checkConsistency();
      if (o.onProgress !== undefined && (i + 1) % (o.progressEvery ?? 10_000) === 0) o.onProgress(i + 1, performance.now() - started);
    }
    input = undefined;
    for (const x of worlds) {
      x.checkConsistency();
      x.countRefusals();
      x.drain();
    }
  } catch (e) {
    const f = e instanceof Failure ? e : new Failure('uncaught', (e as Error).stack ?? String(e));
    return {
      seed,
      iterations: i,
      ms: performance.now() - started,
      counts: merge(counts, worlds),
      failure: { iteration: i, world: w.world.name, stage: f.stage, message: f.message, input: input && toHex(input), output: f.bytes && f.bytes !== input ? toHex(f.bytes) : undefined },
    };
  }
  return { seed, iterations, ms: performance.now() - started, counts: merge(counts, worlds) };
}

function merge(counts: Map<string, number>, worlds: readonly Pipeline[]): Map<string, number> {
  const out = new Map(counts);
  for (const w of worlds) for (const [k, n] of w.counts) out.set(k, (out.get(k) ?? 0) + n);
  return out;
}
