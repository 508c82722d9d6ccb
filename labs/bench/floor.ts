/**
 * `npm run bench:floor`: the iproute2 floor under weft's kernel figure. weft writes routes through
 * iproute2 by design, so the fastest it could ever get K routes into a kernel is what iproute2
 * itself does with the same lines and no BGP at all. Here, in a throw-away namespace:
 *   - the same route shape weft's data plane writes for a learned /24 (one nexthop object
 *     `nexthop replace id N via G dev D proto 249`, then `route replace P nhid N proto 249`),
 *   - the same prefixes as the ingest injector (16.0.0.0/24 onwards),
 *   - spread over two `ip -force -batch` streams by weft's own prefix hash (streamOfPrefix), each
 *     stream a new `ip` process every 20,000 lines (weft does the same: iproute2 6.1 keeps ~4 KB per
 *     command for the life of a batch process), both streams at once;
 *   - timed from the first `ip` process starting to the last exiting, then the FIB counted
 *     (/proc/net/fib_triestat) to check all K are there.
 * Median (min-max) of --runs. With --compare INGEST.json (what `bench` wrote in the same run), the
 * targets' Established -> full kernel medians at the same K are set against the floor, and their
 * CPU seconds against the floor's (the ip processes' own; less sensitive to the machine's load).
 *
 *   tsx labs/bench/floor.ts [--k 1000000] [--runs 3] [--compare FILE] [--json FILE]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { streamOfPrefix } from '../../src/dataplane/route-streams.js';
import { WEFT_PROTO } from '../../src/dataplane/model.js';
import { parsePrefix } from '../../src/lib/prefix.js';
import { MAX_K, prefixAt } from './lib/injector.js';
import { CLOCK_TICK } from './lib/proc.js';
import { scratchNetns } from './lib/scratch-netns.js';
import { cell, secs, summarise, table, type Summary } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    k: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    compare: { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (values.help) {
  console.log('usage: tsx labs/bench/floor.ts [--k 1000000] [--runs 3] [--compare INGEST.json] [--json FILE]');
  process.exit(0);
}
const K = Number(values.k.replace(/_/g, ''));
const RUNS = Number(values.runs);
if (!Number.isInteger(K) || K < 1 || K > MAX_K) throw new Error(`--k: bad value ${values.k} (1..${MAX_K})`);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs: bad value ${values.runs}`);
if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (network namespaces)');

/** Lines per `ip` process, as weft's batch streams (src/dataplane/iproute2-batch.ts). */
const LINES_PER_PROCESS = 20_000;
const NHID = 0x77650001;
const GATEWAY = '10.0.0.1';
const scratch = scratchNetns('wt-floor', 'weft-floor');
const { ns, dir, ip, fibPrefixes, ipBatch } = scratch;
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);

/** The route lines in two streams, each cut into files of LINES_PER_PROCESS lines. */
function writeStreams(): string[][] {
  const parts: [string[], string[]] = [[], []];
  for (let i = 0; i < K; i++) {
    const p = prefixAt(i);
    parts[streamOfPrefix(parsePrefix(p))].push(`route replace ${p} nhid ${NHID} proto ${WEFT_PROTO}`);
  }
  return parts.map((lines, s) => {
    const files: string[] = [];
    for (let at = 0; at < lines.length; at += LINES_PER_PROCESS) {
      const f = join(dir, `s${s}.${files.length}`);
      writeFileSync(f, `${lines.slice(at, at + LINES_PER_PROCESS).join('\n')}\n`);
      files.push(f);
    }
    return files;
  });
}

/** CPU seconds (utime + stime) of this process's reaped children: the `ip` processes. */
function childCpuSeconds(): number {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / CLOCK_TICK;
}

async function once(streams: string[][], cpu: number[]): Promise<number> {
  ip('nexthop', 'replace', 'id', String(NHID), 'via', GATEWAY, 'dev', 'eth0', 'proto', String(WEFT_PROTO));
  const c0 = childCpuSeconds();
  const t0 = performance.now();
  await Promise.all(
    streams.map(async (files) => {
      for (const f of files) await ipBatch(f);
    }),
  );
  const ms = performance.now() - t0;
  cpu.push(childCpuSeconds() - c0);
  const n = fibPrefixes();
  if (n < K) throw new Error(`only ${n} of ${K} prefixes in the FIB after the raw install`);
  // Deleting the object takes its routes with it (and is not timed).
  ip('nexthop', 'del', 'id', String(NHID));
  if (fibPrefixes() > 10) throw new Error(`${fibPrefixes()} prefixes left after deleting the nexthop object`);
  return ms;
}

interface IngestJson {
  reports: { k: number; summary: Record<string, { kernel?: Summary; cpu?: Summary }> }[];
}

async function main(): Promise<void> {
  const load0 = loadavg();
  execFileSync('ip', ['netns', 'add', ns]);
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
  ip('link', 'set', 'eth0', 'up');
  ip('link', 'set', 'eth1', 'up');
  ip('addr', 'add', '10.0.0.2/24', 'dev', 'eth0');
  const streams = writeStreams();
  const ms: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    ms.push(await once(streams, cpu));
    log(`floor K=${K} run ${r + 1}/${RUNS}: ${(ms.at(-1)! / 1000).toFixed(2)} s (load ${loadavg()[0].toFixed(2)})`);
  }
  const floor = summarise(ms.map((x) => x / 1000))!;
  const load1 = loadavg();
  const fmtLoad = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  console.log(
    `\nThe iproute2 floor: K = ${K.toLocaleString('en-US')} /24 routes on one nexthop object, two \`ip -force -batch\` streams at once ` +
      `(a new ip process every ${LINES_PER_PROCESS.toLocaleString('en-US')} lines), no BGP; median (min-max) of ${RUNS}; load average ${fmtLoad(load0)} at the start, ${fmtLoad(load1)} at the end\n`,
  );
  const floorCpu = summarise(cpu)!;
  const rows: string[][] = [['raw ip -batch x2, nexthop objects', cell(floor, secs, ' s'), '1.00', `${Math.round(K / floor.median).toLocaleString('en-US')}`, cell(floorCpu, secs, ' s'), '1.00']];
  if (values.compare) {
    const ingest = JSON.parse(readFileSync(values.compare, 'utf8')) as IngestJson;
    const rep = ingest.reports.find((r) => r.k === K);
    if (!rep) throw new Error(`${values.compare}: no report for K=${K} (has ${ingest.reports.map((r) => r.k).join(', ')})`);
    for (const [target, s] of Object.entries(rep.summary)) {
      if (!s.kernel) continue;
      const c = s.cpu;
      rows.push([
        `${target}: Established -> full kernel (bench, same run)`,
        cell(s.kernel, secs, ' s'),
        (s.kernel.median / floor.median).toFixed(2),
        `${Math.round(K / s.kernel.median).toLocaleString('en-US')}`,
        cell(c, secs, ' s'),
        c ? (c.median / floorCpu.median).toFixed(2) : 'n/a',
      ]);
    }
  }
  console.log(table(['what', 'seconds', '/ floor', 'routes/s (median)', 'CPU (with helpers)', 'CPU / floor'], rows));
  console.log('\n(CPU: the floor\'s is its ip processes\'; a target\'s is what bench measured for it, helpers included, over the whole ingest. Under load the seconds follow the share of the CPUs each process gets; the CPU seconds do not.)');
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ date: new Date().toISOString(), k: K, runs: RUNS, loadAverage: { start: load0, end: load1 }, seconds: ms.map((x) => x / 1000), cpuSeconds: cpu }, null, 2)}\n`);
}

scratch.run(main);
