/**
 * `npm run bench:kernel`: installing and removing K routes through weft's data plane
 * (src/dataplane, class Dataplane) against the raw iproute2 floor with the same lines, in a
 * throw-away namespace, same run. Median (min-max) of the runs, as a table.
 *
 *   tsx labs/bench/kernel.ts [--k 100000] [--runs 3] [--no-monitor] [--no-pause] [--streams 1|2] [--json FILE]
 *
 * - Dataplane install = setDesired(K direct /24 routes) -> flush() resolved (plan from the cache,
 *   `ip -force -batch -` over a pipe, marker seen). Removal = setDesired(none) -> flush() on a
 *   second instance that adopted the K routes at start (its plan comes from that read).
 *   "batch" = the part of it spent writing lines (BatchRecord.ms); the rest is planning etc.
 * - raw x1 = one `ip -n NS -force -batch FILE` on exactly the lines the Dataplane wrote.
 * - raw x2 = the same lines in two halves, two `ip -batch` processes at once.
 * - Also: a full resync with nothing to change, and a restart (a new instance adopting K routes).
 * The order of the three methods rotates from run to run. --no-monitor runs the Dataplane without
 * ip/bridge monitor; --no-pause keeps the monitors running during large batches (the old way);
 * --streams 1 keeps the Dataplane to one `ip -batch` stream (the old way; default 2).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Dataplane, type BatchRecord, type DesiredState } from '../../src/dataplane/index.js';
import { v4Prefix } from '../../src/lib/prefix.js';
import { scratchNetns } from './lib/scratch-netns.js';

const { values: args } = parseArgs({
  options: {
    k: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    'no-monitor': { type: 'boolean', default: false },
    'no-pause': { type: 'boolean', default: false },
    streams: { type: 'string', default: '2' },
    json: { type: 'string' },
  },
});
const K = Number(args.k);
const RUNS = Number(args.runs);
const MONITOR = !args['no-monitor'];
const PAUSE = !args['no-pause'];
const STREAMS = args.streams === '1' ? 1 : 2;
const scratch = scratchNetns('wt-bench', 'weft-kbench');
const { ns, dir, ip, fibPrefixes, ipBatch } = scratch;
const dpOpts = { netns: ns, resyncIntervalMs: 0, monitor: MONITOR, streams: STREAMS, ...(PAUSE ? {} : { monitorPauseLines: Infinity }) } as const;


function desired(k: number): DesiredState {
  const routes: DesiredState['routes'] = [];
  const node = { name: 'nbr', underlayAddress: '10.0.1.12' };
  for (let i = 0; i < k; i++) {
    // 100.64.0.0/10 onwards, /24 each: (i + 0x644000) << 8
    routes.push({ prefix: v4Prefix(((0x644000 + i) << 8) >>> 0, 24), node, shape: 'direct', reason: 'bench' });
  }
  return { localBlocks: [], routes, underlayDevice: 'eth0' };
}

/** The lines in `streams` parts, one `ip -batch` each, all at once; ms until the last exits. */
async function raw(lines: string[], name: string, streams: number): Promise<number> {
  const files: string[] = [];
  const per = Math.ceil(lines.length / streams);
  for (let s = 0; s < streams; s++) {
    const f = join(dir, `${name}.${s}`);
    writeFileSync(f, `${lines.slice(s * per, (s + 1) * per).join('\n')}\n`);
    files.push(f);
  }
  const t = performance.now();
  await Promise.all(files.map(ipBatch));
  return performance.now() - t;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmtMs = (xs: number[]) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})`;
const perSec = (ms: number) => Math.round((K / ms) * 1000);
const fmtRate = (xs: number[]) => {
  const r = xs.map(perSec);
  return `${median(r).toLocaleString('en-US')} (${Math.min(...r).toLocaleString('en-US')}-${Math.max(...r).toLocaleString('en-US')})`;
};

type Series = Record<'dpAdd' | 'dpAddBatch' | 'dpDel' | 'dpDelBatch' | 'rawAdd' | 'rawDel' | 'par2Add' | 'par2Del' | 'resync' | 'adopt', number[]>;

async function viaDataplane(want: DesiredState, t: Series): Promise<{ add: string[]; del: string[] }> {
  const dp = new Dataplane(dpOpts);
  const batches: BatchRecord[] = [];
  dp.on('batch', (b) => batches.push(b));
  dp.on('error', (e) => console.error('dataplane error:', e.message));
  await dp.start();
  let t0 = performance.now();
  dp.setDesired(want);
  await dp.flush();
  t.dpAdd.push(performance.now() - t0);
  const addRec = batches.at(-1)!;
  t.dpAddBatch.push(addRec.ms);
  if (fibPrefixes() < K) throw new Error(`only ${fibPrefixes()} prefixes after install`);
  t0 = performance.now();
  await dp.resync();
  t.resync.push(performance.now() - t0);
  await dp.stop();

  const dp2 = new Dataplane(dpOpts);
  const batches2: BatchRecord[] = [];
  dp2.on('batch', (b) => batches2.push(b));
  dp2.setDesired(want);
  t0 = performance.now();
  await dp2.start();
  t.adopt.push(performance.now() - t0);
  if (batches2.length !== 0) throw new Error(`restart wrote ${batches2[0].lines.length} lines`);
  t0 = performance.now();
  dp2.setDesired({ localBlocks: [], routes: [] });
  await dp2.flush();
  t.dpDel.push(performance.now() - t0);
  const delRec = batches2.at(-1)!;
  t.dpDelBatch.push(delRec.ms);
  await dp2.stop();
  if (fibPrefixes() > 10) throw new Error(`${fibPrefixes()} prefixes left after removal`);
  return { add: addRec.lines.map((l) => l.line), del: delRec.lines.map((l) => l.line) };
}

async function viaRaw(lines: { add: string[]; del: string[] }, streams: number, add: number[], del: number[]): Promise<void> {
  add.push(await raw(lines.add, 'add', streams));
  if (fibPrefixes() < K) throw new Error(`raw x${streams} install left ${fibPrefixes()} prefixes`);
  del.push(await raw(lines.del, 'del', streams));
  if (fibPrefixes() > 10) throw new Error(`raw x${streams} removal left ${fibPrefixes()} prefixes`);
}

function table(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  execFileSync('ip', ['netns', 'add', ns]);
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
  ip('link', 'set', 'eth0', 'up');
  ip('link', 'set', 'eth1', 'up');
  ip('addr', 'add', '10.0.1.11/24', 'dev', 'eth0');

  const want = desired(K);
  const load = loadavg()[0];
  const t: Series = { dpAdd: [], dpAddBatch: [], dpDel: [], dpDelBatch: [], rawAdd: [], rawDel: [], par2Add: [], par2Del: [], resync: [], adopt: [] };
  // The Dataplane's lines are needed by the raw runs: the first run starts with it.
  let lines = await viaDataplane(want, t);
  const steps = [
    async () => void (lines = await viaDataplane(want, t)),
    () => viaRaw(lines, 1, t.rawAdd, t.rawDel),
    () => viaRaw(lines, 2, t.par2Add, t.par2Del),
  ];
  t.dpAdd.pop(); // that first pass was the warm-up (JIT, page cache)
  t.dpAddBatch.pop();
  t.dpDel.pop();
  t.dpDelBatch.pop();
  t.resync.pop();
  t.adopt.pop();
  for (let run = 0; run < RUNS; run++) {
    for (let s = 0; s < steps.length; s++) await steps[(s + run) % steps.length]();
    process.stderr.write(`run ${run + 1}/${RUNS} done\n`);
  }

  const ratio = (xs: number[], base: number[]) => (median(base) / median(xs)).toFixed(2);
  const rows = [
    ['install', 'Dataplane', fmtMs(t.dpAdd), fmtMs(t.dpAddBatch), fmtRate(t.dpAdd), ratio(t.dpAdd, t.rawAdd)],
    ['install', 'raw ip -batch x1', fmtMs(t.rawAdd), '', fmtRate(t.rawAdd), '1.00'],
    ['install', 'raw ip -batch x2 parallel', fmtMs(t.par2Add), '', fmtRate(t.par2Add), ratio(t.par2Add, t.rawAdd)],
    ['removal', 'Dataplane', fmtMs(t.dpDel), fmtMs(t.dpDelBatch), fmtRate(t.dpDel), ratio(t.dpDel, t.rawDel)],
    ['removal', 'raw ip -batch x1', fmtMs(t.rawDel), '', fmtRate(t.rawDel), '1.00'],
    ['removal', 'raw ip -batch x2 parallel', fmtMs(t.par2Del), '', fmtRate(t.par2Del), ratio(t.par2Del, t.rawDel)],
  ];
  const mon = `${MONITOR ? `monitor on${PAUSE ? ', paused during large batches' : ', not paused'}` : 'monitor off'}, ${STREAMS} ip stream${STREAMS === 2 ? 's' : ''}`;
  console.log(`\nK = ${K.toLocaleString('en-US')} /24 routes via a neighbour; median (min-max) of ${RUNS} runs; Dataplane ${mon}; load average at start ${load.toFixed(2)}\n`);
  console.log(table(['step', 'method', 'ms', 'of which batch ms', 'routes/s', 'rate / raw x1'], rows));
  const faster = (par: number[], one: number[]) => (median(par) < median(one) ? 'yes' : 'no');
  console.log(`\n2 parallel ip -batch streams faster than 1: install ${faster(t.par2Add, t.rawAdd)}, removal ${faster(t.par2Del, t.rawDel)}`);
  console.log(`full resync with nothing to change (read + plan): ${fmtMs(t.resync)} ms`);
  console.log(`restart: new Dataplane adopting ${K.toLocaleString('en-US')} routes (read + plan, 0 lines): ${fmtMs(t.adopt)} ms`);
  if (MONITOR && PAUSE) console.log('(a batch written with the monitors paused is followed ~1 s later by one full resync, outside flush(): cost as the resync row)');
  if (args.json) {
    writeFileSync(args.json, JSON.stringify({ k: K, runs: RUNS, monitor: MONITOR, pause: PAUSE, streams: STREAMS, loadAverage: load, ms: t }, null, 2));
  }
}

scratch.run(main);
