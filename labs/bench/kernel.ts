// Kernel install / removal of K routes through weft's Dataplane vs raw `ip -batch` with the same
// lines, in a throw-away namespace. Prints a table; not a timed test.
//
//   npx tsx labs/bench/kernel.ts [K=100000] [runs=3] [nomonitor]
//
// Dataplane install = setDesired(K direct routes) -> flush() resolved (plan from the cache, one
// `ip -force -batch -` batch, marker seen). Removal = setDesired(none) -> flush(). The raw side
// runs `ip -n NS -force -batch FILE` on exactly the lines the Dataplane wrote. Also: a full
// resync and a restart (new instance adopting K routes) with nothing to change.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dataplane, type BatchRecord, type DesiredState } from '../../src/dataplane/index.js';
import { v4Prefix } from '../../src/lib/prefix.js';

const K = Number(process.argv[2] ?? 100_000);
const RUNS = Number(process.argv[3] ?? 3);
/** `nomonitor` as 3rd argument: run the Dataplane without ip/bridge monitor (to see its cost). */
const MONITOR = process.argv[4] !== 'nomonitor';
const ns = `wt-bench-${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'weft-kbench-'));

const ip = (...args: string[]) => execFileSync('ip', ['-n', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

function fibPrefixes(): number {
  const text = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/fib_triestat']).toString();
  const m = /Main:[\s\S]*?Prefixes:\s*(\d+)/.exec(text);
  return m ? Number(m[1]) : -1;
}

function desired(k: number): DesiredState {
  const routes: DesiredState['routes'] = [];
  const node = { name: 'nbr', underlayAddress: '10.0.1.12' };
  for (let i = 0; i < k; i++) {
    // 100.64.0.0/10 onwards, /24 each: (i + 0x644000) << 8
    routes.push({ prefix: v4Prefix(((0x644000 + i) << 8) >>> 0, 24), node, shape: 'direct', reason: 'bench' });
  }
  return { localBlocks: [], routes, underlayDevice: 'eth0' };
}

function rawBatch(lines: string[], name: string): number {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const t = performance.now();
  const r = spawnSync('ip', ['-n', ns, '-force', '-batch', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`raw batch failed: ${r.stderr.toString().split('\n').slice(0, 3).join('; ')}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs: number[]) => `${median(xs).toFixed(0)} ms (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})`;
const rate = (ms: number) => `${Math.round((K / ms) * 1000).toLocaleString('en-US')}/s`;

async function main(): Promise<void> {
  execFileSync('ip', ['netns', 'add', ns]);
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
  ip('link', 'set', 'eth0', 'up');
  ip('link', 'set', 'eth1', 'up');
  ip('addr', 'add', '10.0.1.11/24', 'dev', 'eth0');

  const want = desired(K);
  const t: Record<string, number[]> = { dpAdd: [], dpDel: [], rawAdd: [], rawDel: [], resync: [], adopt: [], plan: [] };
  for (let run = 0; run < RUNS; run++) {
    // Through the Dataplane.
    const dp = new Dataplane({ netns: ns, resyncIntervalMs: 0, monitor: MONITOR });
    const batches: BatchRecord[] = [];
    dp.on('batch', (b) => batches.push(b));
    dp.on('error', (e) => console.error('dataplane error:', e.message));
    await dp.start();
    let t0 = performance.now();
    dp.setDesired(want);
    await dp.flush();
    t.dpAdd.push(performance.now() - t0);
    if (fibPrefixes() < K) throw new Error(`only ${fibPrefixes()} prefixes after install`);
    const addLines = batches.at(-1)!.lines.map((l) => l.line);

    t0 = performance.now();
    await dp.resync();
    t.resync.push(performance.now() - t0);
    await dp.stop();

    const dp2 = new Dataplane({ netns: ns, resyncIntervalMs: 0, monitor: MONITOR });
    let wrote = 0;
    dp2.on('batch', (b) => (wrote += b.lines.length));
    dp2.setDesired(want);
    t0 = performance.now();
    await dp2.start();
    t.adopt.push(performance.now() - t0);
    if (wrote !== 0) throw new Error(`restart wrote ${wrote} lines`);

    t0 = performance.now();
    dp2.setDesired({ localBlocks: [], routes: [] });
    await dp2.flush();
    t.dpDel.push(performance.now() - t0);
    await dp2.stop();
    if (fibPrefixes() > 10) throw new Error(`${fibPrefixes()} prefixes left after removal`);

    // Raw ip -batch, same lines (the removal lines are the planner's for the installed state).
    t.rawAdd.push(rawBatch(addLines, 'add.batch'));
    const dels = addLines.map((l) => l.replace(/^route replace (\S+) .*$/, 'route del $1 proto 249'));
    t.rawDel.push(rawBatch(dels, 'del.batch'));
    if (fibPrefixes() > 10) throw new Error('raw removal left routes');
    process.stderr.write(`run ${run + 1}/${RUNS} done\n`);
  }

  const row = (what: string, dp: number[], raw: number[]) =>
    `| ${what} | ${fmt(dp)} | ${rate(median(dp))} | ${fmt(raw)} | ${rate(median(raw))} | ${(median(raw) / median(dp)).toFixed(2)} |`;
  console.log(`\nK = ${K.toLocaleString('en-US')} /24 routes via a neighbour, ${RUNS} runs, median (min-max), monitor ${MONITOR ? 'on' : 'off'}\n`);
  console.log('| step | Dataplane | rate | raw ip -batch | rate | Dataplane rate / raw rate |');
  console.log('|---|---|---|---|---|---|');
  console.log(row('install', t.dpAdd, t.rawAdd));
  console.log(row('removal', t.dpDel, t.rawDel));
  console.log(`\nfull resync with nothing to change (read + plan): ${fmt(t.resync)}`);
  console.log(`restart: new Dataplane adopting ${K.toLocaleString('en-US')} routes (read + plan, 0 lines): ${fmt(t.adopt)}`);
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => {
    try {
      execFileSync('ip', ['netns', 'del', ns]);
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  });
