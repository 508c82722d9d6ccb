/**
 * `npm run fuzz [-- COUNT] [--only decode|pipeline]`
 *
 * 1. Decode: COUNT (default 1,000,000) mutated captured messages through the decoder and the
 *    framer (decode-fuzz.ts).
 * 2. Pipeline: COUNT (default 100,000) generated valid UPDATEs, many at the 4096 / 65535-octet
 *    limits, and mutations of them, through decode -> ribInput -> import policy -> Loc-RIB ->
 *    Adj-RIB-Out -> batchMessages for iBGP, route-reflector-client, eBGP and 2-octet-AS peers, each
 *    message checked to decode again and fit the peer's maximum (run-pipeline.ts).
 *
 * Only WireErrors may be thrown while decoding peer input; anything else, or a broken check, is a
 * failure: printed with the bytes, exit status 1. Deterministic: the seed is printed, and
 * WEFT_FUZZ_SEED=<seed> with the same COUNT replays a run.
 */
import { runDecode } from './decode-fuzz.js';
import { seedFromEnv } from './rng.js';
import { runPipeline } from './run-pipeline.js';

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const countArg = args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--only');
const seed = seedFromEnv();
let failed = false;

if (only === undefined || only === 'decode') {
  const count = Number(countArg ?? 1_000_000);
  const r = runDecode(seed, count);
  console.log(`decode fuzz: ${count} mutated messages from ${r.samples} fixtures (seed ${seed}) in ${(r.ms / 1000).toFixed(1)} s`);
  console.log(`  decoded: ${r.ok}, WireError: ${r.wireErrors}, other exceptions: ${r.failures.length}`);
  console.log(`  WireError codes: ${[...r.codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')}`);
  for (const f of r.failures) console.error(f);
  failed ||= r.failures.length > 0;
}

if (only === undefined || only === 'pipeline') {
  const count = Number(countArg ?? 100_000);
  const r = runPipeline(seed, count, {
    onProgress: (done, ms) => process.stderr.write(`  pipeline: ${done} / ${count} in ${(ms / 1000).toFixed(0)} s\n`),
    progressEvery: Math.max(10_000, Math.ceil(count / 10)),
  });
  console.log(`pipeline fuzz: ${r.iterations} iterations (seed ${seed}) in ${(r.ms / 1000).toFixed(1)} s`);
  for (const [k, n] of [...r.counts].sort((a, b) => a[0].localeCompare(b[0]))) console.log(`  ${k}: ${n}`);
  if (r.failure !== undefined) {
    const f = r.failure;
    console.error(`FAIL at iteration ${f.iteration} (${f.world}), ${f.message}`);
    if (f.input !== undefined) console.error(`  input (from the peer): ${f.input}`);
    if (f.output !== undefined) console.error(`  output (to the peer): ${f.output}`);
    console.error(`  replay: WEFT_FUZZ_SEED=${seed} npm run fuzz -- ${f.iteration + 1} --only pipeline`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
