import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../labs/fuzz/run-pipeline.js';

/**
 * A short run of the whole-pipeline fuzzer (labs/fuzz, `npm run fuzz` runs it long): generated
 * valid UPDATEs at the 4096 / 65535-octet limits and mutations of them, from iBGP, reflector-client,
 * eBGP and 2-octet-AS peers, through decode -> import policy -> Loc-RIB -> Adj-RIB-Out ->
 * batchMessages; every message to every peer must decode again and fit, nothing but a WireError
 * may be thrown, and nothing is left interned once every session is down.
 */
describe('pipeline fuzzer (seeded)', () => {
  it.each([20260601, 7])('seed %i: 1000 iterations, no failure, every outcome reached', (seed) => {
    const r = runPipeline(seed, 1000, { atLimit: 0.3, atLimitExtended: 0.01, checkEvery: 400 });
    if (r.failure !== undefined) {
      throw new Error(`${r.failure.message}\n  input: ${r.failure.input ?? '-'}\n  replay: WEFT_FUZZ_SEED=${seed} npm run fuzz -- ${r.failure.iteration + 1} --only pipeline`);
    }
    expect(r.iterations).toBe(1000);
    const n = (k: string) => r.counts.get(k) ?? 0;
    const sum = (prefix: string) => [...r.counts].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);
    expect(n('decode: UPDATE clean')).toBeGreaterThan(500);
    expect(n('decode: UPDATE treat-as-withdraw')).toBeGreaterThan(0);
    expect(sum('decode: WireError')).toBeGreaterThan(30);
    expect(n('input: valid at 4096') + n('input: valid at 65535')).toBeGreaterThan(50);
    expect(n('export: too large for 4096, not sent (routes)')).toBeGreaterThan(0);
    expect(n('export: routes announced')).toBeGreaterThan(1000);
    expect(n('export: routes withdrawn')).toBeGreaterThan(100);
    for (const family of ['v4', 'v6', 'v4-mp', 'v4-mp-v6-next-hop', 'withdraw', 'mixed']) expect(n(`input family: ${family}`)).toBeGreaterThan(0);
  });
});
