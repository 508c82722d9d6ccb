/**
 * `npm run bench:throughput`: iperf3 TCP throughput in the cross-subnet lab (labs/cross-subnet.clab.yml,
 * brought up with `weft lab up` from dist/: run `npm run build` first), same run:
 *
 * - pod1 -> pod3: pod to pod across the router, inside VXLAN (h1 and h3 are in different subnets);
 * - h1 -> h3:     host to host on the underlay across the same router (the reference);
 * - pod1 -> pod2: pod to pod within one subnet (a direct route via h2's underlay address);
 * - h1 -> h2:     host to host within that subnet.
 *
 * One `iperf3 -s` per server namespace, bound to the server's address, killed by PID at the end;
 * clients `iperf3 -c ADDR -t SECS -J`. The pairs take turns in each run; median (min-max) of the
 * runs of the receiver's rate. The lab goes down in a `finally`.
 *
 *   tsx labs/bench/throughput.ts [--runs 3] [--seconds 5] [--json FILE]
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readState, type LabState } from '../../src/lab/state.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    json: { type: 'string' },
  },
});
const RUNS = Number(args.runs);
const SECS = Number(args.seconds);
const LAB = 'labs/cross-subnet.clab.yml';
const MAIN = 'dist/cli/main.js';
const PORT = 5201;

interface Pair {
  name: string;
  what: string;
  client: string;
  server: string;
  /** The address the server listens on and the client connects to. */
  address: string;
  /** The host whose route to `address` is shown (the first hop's host). */
  routeHost: string;
}

const PAIRS: Pair[] = [
  { name: 'pod1 -> pod3', what: 'pod to pod across the router (VXLAN)', client: 'pod1', server: 'pod3', address: '10.244.3.2', routeHost: 'h1' },
  { name: 'h1 -> h3', what: 'host to host across the router (underlay)', client: 'h1', server: 'h3', address: '10.77.2.13', routeHost: 'h1' },
  { name: 'pod1 -> pod2', what: 'pod to pod within one subnet (direct route)', client: 'pod1', server: 'pod2', address: '10.244.2.2', routeHost: 'h1' },
  { name: 'h1 -> h2', what: 'host to host within one subnet', client: 'h1', server: 'h2', address: '10.77.1.12', routeHost: 'h1' },
];

const weft = (...a: string[]) => execFileSync('node', [MAIN, ...a], { stdio: ['ignore', 'inherit', 'inherit'] });

function nsOf(state: LabState, node: string): string {
  const n = state.namespaces.find((x) => x.node === node);
  if (!n) throw new Error(`no namespace for ${node} in the lab state`);
  return n.ns;
}

function exec(cmd: string, a: string[]): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => execFile(cmd, a, { encoding: 'utf8', maxBuffer: 1 << 26 }, (err, out) => resolve({ ok: !err, out })));
}

async function until(what: string, ms: number, fn: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const gbit = (x: number) => (x / 1e9).toFixed(2);
const fmt = (xs: number[]) => `${gbit(median(xs))} (${gbit(Math.min(...xs))}-${gbit(Math.max(...xs))})`;

function table(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

interface Sample {
  bps: number;
  retransmits: number;
}

async function iperf(state: LabState, p: Pair): Promise<Sample> {
  const r = await exec('ip', ['netns', 'exec', nsOf(state, p.client), 'iperf3', '-c', p.address, '-p', String(PORT), '-t', String(SECS), '-J']);
  let j: { error?: string; end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } } };
  try {
    j = JSON.parse(r.out) as typeof j;
  } catch {
    throw new Error(`${p.name}: iperf3 printed no JSON: ${r.out.slice(0, 200)}`);
  }
  const bps = j.end?.sum_received?.bits_per_second;
  if (j.error || bps === undefined) throw new Error(`${p.name}: iperf3: ${j.error ?? 'no sum_received'}`);
  return { bps, retransmits: j.end?.sum_sent?.retransmits ?? 0 };
}

async function main(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const stateDir = mkdtempSync(join(tmpdir(), 'weft-tput-'));
  const servers: ChildProcess[] = [];
  let up = false;
  try {
    up = true; // a failing `lab up` tears down what it made; `down` afterwards is harmless
    weft('lab', 'up', LAB, '--state-dir', stateDir);
    const state = readState(stateDir, 'cross-subnet');
    if (!state) throw new Error('no lab state file after lab up');

    // Converged when every client reaches its server.
    for (const p of PAIRS) {
      await until(`${p.client} to reach ${p.address}`, 60_000, async () => (await exec('ip', ['netns', 'exec', nsOf(state, p.client), 'ping', '-c', '1', '-W', '1', p.address])).ok);
    }
    const paths = new Map<string, string>();
    for (const p of PAIRS) {
      const r = await exec('ip', ['-n', nsOf(state, p.routeHost), 'route', 'get', p.address]);
      const dev = /\bdev (\S+)/.exec(r.out)?.[1] ?? '?';
      const via = /\bvia (\S+)/.exec(r.out)?.[1];
      paths.set(p.name, `${p.routeHost}: dev ${dev}${via ? ` via ${via}` : ''}`);
    }

    for (const server of new Set(PAIRS.map((p) => p.server))) {
      const address = PAIRS.find((p) => p.server === server)!.address;
      const ns = nsOf(state, server);
      // `ip netns exec` execs iperf3 in place: the child's PID is the server's.
      const c = spawn('ip', ['netns', 'exec', ns, 'iperf3', '-s', '-B', address, '-p', String(PORT)], { stdio: 'ignore' });
      servers.push(c);
      await until(`iperf3 -s in ${server}`, 10_000, async () => (await exec('ip', ['netns', 'exec', ns, 'ss', '-Hltn', `sport = :${PORT}`])).out.includes(address));
    }

    const samples = new Map<string, Sample[]>(PAIRS.map((p) => [p.name, []]));
    const load = loadavg()[0];
    for (let run = 0; run < RUNS; run++) {
      for (let i = 0; i < PAIRS.length; i++) {
        const p = PAIRS[(i + run) % PAIRS.length];
        samples.get(p.name)!.push(await iperf(state, p));
      }
      process.stderr.write(`run ${run + 1}/${RUNS} done\n`);
    }

    const bps = (name: string) => samples.get(name)!.map((s) => s.bps);
    const ratio = (a: string, b: string) => (median(bps(a)) / median(bps(b))).toFixed(2);
    const perRun = (a: string, b: string) => {
      const r = bps(a).map((x, i) => x / bps(b)[i]);
      return `${median(r).toFixed(2)} (${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)})`;
    };
    const rows = PAIRS.map((p) => [
      p.name,
      p.what,
      paths.get(p.name)!,
      fmt(bps(p.name)),
      String(median(samples.get(p.name)!.map((s) => s.retransmits))),
    ]);
    console.log(`\niperf3 TCP, ${SECS} s per test, median (min-max) of ${RUNS} runs, receiver rate; lab ${LAB}; load average at start ${load.toFixed(2)}\n`);
    console.log(table(['pair', 'what', 'route on the first host', 'Gbit/s', 'retransmits (median)'], rows));
    console.log(`\npod-to-pod across the router (VXLAN) / host-to-host across the router: ${ratio('pod1 -> pod3', 'h1 -> h3')} (per run: ${perRun('pod1 -> pod3', 'h1 -> h3')})`);
    console.log(`pod-to-pod within the subnet (direct) / host-to-host within the subnet: ${ratio('pod1 -> pod2', 'h1 -> h2')} (per run: ${perRun('pod1 -> pod2', 'h1 -> h2')})`);
    if (args.json) {
      const out = {
        lab: LAB,
        runs: RUNS,
        seconds: SECS,
        loadAverage: load,
        pairs: PAIRS.map((p) => ({ ...p, route: paths.get(p.name), samples: samples.get(p.name) })),
        ratios: { vxlanVsUnderlay: Number(ratio('pod1 -> pod3', 'h1 -> h3')), directVsUnderlay: Number(ratio('pod1 -> pod2', 'h1 -> h2')) },
      };
      writeFileSync(args.json, JSON.stringify(out, null, 2));
    }
  } finally {
    for (const c of servers) {
      if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
        const gone = new Promise((r) => c.once('exit', r));
        process.kill(c.pid, 'SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
      }
    }
    if (up) {
      try {
        weft('lab', 'down', LAB, '--state-dir', stateDir);
      } catch (e) {
        console.error(`lab down failed: ${(e as Error).message}`);
        process.exitCode = 1;
      }
    }
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
