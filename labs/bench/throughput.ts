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
 * Then host protection (issue 13), same lab: pod1 -> pod3 (VXLAN) and h1 -> h3 with
 * hostProtection off and on, alternating off,on,off,on,... (--runs of each). Switched by rewriting
 * every agent's generated config (the JSON `weft lab up` wrote, listed in the lab state) with
 * hostProtection.enabled true/false and `weft reload -s SOCKET`; after each switch every host's
 * `nft -j list table inet weft` must show the table (on) or fail (off), printed per switch, and
 * the pairs must ping again. In the on runs each VXLAN packet h3 receives goes through the input
 * chain (set lookup on the source, VNI match at @th,96,24); its drop counters are printed after.
 *
 *   tsx labs/bench/throughput.ts [--runs 3] [--seconds 5] [--json FILE] [--host-protection-only]
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { droppedCounts } from '../../src/dataplane/host-firewall.js';
import { readState, type LabState } from '../../src/lab/state.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    json: { type: 'string' },
    /** Skip the four-pair table: only the host protection off/on comparison. */
    'host-protection-only': { type: 'boolean', default: false },
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

/** The pairs measured with host protection off and on: the VXLAN pair and its underlay reference. */
const HP_PAIRS = PAIRS.filter((p) => p.name === 'pod1 -> pod3' || p.name === 'h1 -> h3');

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

interface TableCheck {
  host: string;
  /** `nft list table inet weft` succeeded in the host's namespace. */
  present: boolean;
  rules?: number;
  /** Elements of the set VXLAN sources are looked up in. */
  vxlan4?: number;
  dropped?: Record<string, number>;
}

async function tableCheck(state: LabState, host: string): Promise<TableCheck> {
  const r = await exec('ip', ['netns', 'exec', nsOf(state, host), 'nft', '-j', 'list', 'table', 'inet', 'weft']);
  if (!r.ok) return { host, present: false };
  const j = JSON.parse(r.out) as { nftables: { rule?: unknown; set?: { name: string; elem?: unknown[] } }[] };
  return {
    host,
    present: true,
    rules: j.nftables.filter((x) => x.rule).length,
    vxlan4: j.nftables.find((x) => x.set?.name === 'vxlan4')?.set?.elem?.length ?? 0,
    dropped: droppedCounts(j),
  };
}

const describe = (c: TableCheck) => (c.present ? `${c.host}: table inet weft present (${c.rules} rules, vxlan4 ${c.vxlan4} addresses)` : `${c.host}: no table inet weft`);

/** Rewrites every agent's config with hostProtection.enabled = on, reloads it, waits for the tables. */
async function setHostProtection(state: LabState, on: boolean): Promise<TableCheck[]> {
  for (const a of state.agents) {
    const cfg = JSON.parse(readFileSync(a.config, 'utf8')) as Record<string, unknown>;
    cfg.hostProtection = { ...((cfg.hostProtection as object | undefined) ?? {}), enabled: on };
    writeFileSync(a.config, `${JSON.stringify(cfg, null, 2)}\n`);
    const r = await new Promise<{ ok: boolean; out: string }>((resolve) =>
      execFile('node', [MAIN, 'reload', '-s', a.socket], { encoding: 'utf8' }, (err, out, errOut) => resolve({ ok: !err, out: out + errOut })),
    );
    if (!r.ok) throw new Error(`weft reload of ${a.host} failed: ${r.out}`);
  }
  const checks: TableCheck[] = [];
  for (const a of state.agents) {
    await until(`table inet weft ${on ? 'in' : 'gone from'} ${a.host}`, 15_000, async () => (await tableCheck(state, a.host)).present === on);
    checks.push(await tableCheck(state, a.host));
  }
  for (const p of HP_PAIRS) {
    await until(`${p.client} to reach ${p.address} with host protection ${on ? 'on' : 'off'}`, 30_000, async () => (await exec('ip', ['netns', 'exec', nsOf(state, p.client), 'ping', '-c', '1', '-W', '1', p.address])).ok);
  }
  return checks;
}

/** The four pairs, taking turns, host protection off (the agents' default). */
async function allPairs(state: LabState, paths: Map<string, string>, load: number): Promise<Record<string, unknown>> {
  const samples = new Map<string, Sample[]>(PAIRS.map((p) => [p.name, []]));
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
  console.log(`\niperf3 TCP, ${SECS} s per test, median (min-max) of ${RUNS} runs, receiver rate; lab ${LAB}; host protection off; load average at start ${load.toFixed(2)}, at end ${loadavg()[0].toFixed(2)}\n`);
  console.log(table(['pair', 'what', 'route on the first host', 'Gbit/s', 'retransmits (median)'], rows));
  console.log(`\npod-to-pod across the router (VXLAN) / host-to-host across the router: ${ratio('pod1 -> pod3', 'h1 -> h3')} (per run: ${perRun('pod1 -> pod3', 'h1 -> h3')})`);
  console.log(`pod-to-pod within the subnet (direct) / host-to-host within the subnet: ${ratio('pod1 -> pod2', 'h1 -> h2')} (per run: ${perRun('pod1 -> pod2', 'h1 -> h2')})`);
  return {
    pairs: PAIRS.map((p) => ({ ...p, route: paths.get(p.name), samples: samples.get(p.name) })),
    ratios: { vxlanVsUnderlay: Number(ratio('pod1 -> pod3', 'h1 -> h3')), directVsUnderlay: Number(ratio('pod1 -> pod2', 'h1 -> h2')) },
  };
}

/**
 * pod1 -> pod3 and h1 -> h3 with host protection off and on, alternating (off,on per run; the
 * pair order alternates too). Prints the switch checks, the table, the ratios and the load.
 */
async function hostProtection(state: LabState): Promise<Record<string, unknown>> {
  const loadStart = loadavg();
  const modes = ['off', 'on'] as const;
  const samples = new Map<string, Sample[]>(modes.flatMap((m) => HP_PAIRS.map((p) => [`${m} ${p.name}`, []] as [string, Sample[]])));
  const switches: { run: number; mode: string; tables: TableCheck[]; after?: TableCheck[] }[] = [];
  console.log(`\nhost protection off/on: ${HP_PAIRS.map((p) => p.name).join(' and ')}, ${RUNS} runs each, alternating off,on; switched with weft reload of every agent`);
  for (let run = 0; run < RUNS; run++) {
    for (const mode of modes) {
      const tables = await setHostProtection(state, mode === 'on');
      const sw: (typeof switches)[number] = { run: run + 1, mode, tables };
      switches.push(sw);
      console.log(`  run ${run + 1} ${mode.padEnd(3)}: ${tables.map(describe).join('; ')}`);
      for (let i = 0; i < HP_PAIRS.length; i++) {
        const p = HP_PAIRS[(i + run) % HP_PAIRS.length];
        samples.get(`${mode} ${p.name}`)!.push(await iperf(state, p));
      }
      if (mode === 'on') {
        sw.after = await Promise.all(['h1', 'h3'].map((h) => tableCheck(state, h)));
        const drops = sw.after.map((c) => `${c.host} ${Object.entries(c.dropped ?? {}).map(([k, v]) => `${k}=${v}`).join(' ')}`);
        console.log(`             after the iperf3 runs, drop counters: ${drops.join('; ')}`);
      }
    }
    process.stderr.write(`host protection run ${run + 1}/${RUNS} done\n`);
  }
  await setHostProtection(state, false);
  const loadEnd = loadavg();

  const bps = (key: string) => samples.get(key)!.map((s) => s.bps);
  const r2 = (x: number) => x.toFixed(2);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // Mean of the per-run ratios (off and on of one run are adjacent in time) +- 2 standard errors.
  const meanSe = (xs: number[]) => {
    const m = mean(xs);
    const se = xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1) / xs.length) : 0;
    return `${r2(m)} +- ${r2(2 * se)} (${r2(Math.min(...xs))}-${r2(Math.max(...xs))})`;
  };
  const result = HP_PAIRS.map((p) => {
    const off = bps(`off ${p.name}`);
    const on = bps(`on ${p.name}`);
    const perRun = on.map((x, i) => x / off[i]);
    return { pair: p.name, what: p.what, off, on, ratio: median(on) / median(off), ratioOfMeans: mean(on) / mean(off), perRun, retransmits: { off: samples.get(`off ${p.name}`)!.map((s) => s.retransmits), on: samples.get(`on ${p.name}`)!.map((s) => s.retransmits) } };
  });
  const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  console.log(`\niperf3 TCP, ${SECS} s per test, median (min-max) of ${RUNS} runs per mode, receiver rate; lab ${LAB}`);
  console.log(`load average (1/5/15 min) at start ${la(loadStart)}, at end ${la(loadEnd)}\n`);
  console.log(
    table(
      ['pair', 'off Gbit/s', 'on Gbit/s', 'on/off medians', 'on/off means', 'on/off per run: mean +- 2 SE (min-max)', 'retransmits off/on (median)'],
      result.map((r) => [r.pair, fmt(r.off), fmt(r.on), r2(r.ratio), r2(r.ratioOfMeans), meanSe(r.perRun), `${median(r.retransmits.off)} / ${median(r.retransmits.on)}`]),
    ),
  );
  const [vx, ul] = [result.find((r) => r.pair === 'pod1 -> pod3')!, result.find((r) => r.pair === 'h1 -> h3')!];
  console.log(`\nVXLAN / underlay: off ${r2(median(vx.off) / median(ul.off))}, on ${r2(median(vx.on) / median(ul.on))}`);
  const onOk = switches.filter((s) => s.mode === 'on').every((s) => s.tables.every((t) => t.present));
  const offOk = switches.filter((s) => s.mode === 'off').every((s) => s.tables.every((t) => !t.present));
  console.log(`table check: inet weft present on every host in all ${RUNS} on runs: ${onOk ? 'yes' : 'NO'}; absent on every host in all ${RUNS} off runs: ${offOk ? 'yes' : 'NO'}`);
  if (!onOk || !offOk) process.exitCode = 1;
  return { loadAverageStart: loadStart, loadAverageEnd: loadEnd, switches, pairs: result, tableCheck: { on: onOk, off: offOk } };
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

    const load = loadavg()[0];
    const out: Record<string, unknown> = { lab: LAB, runs: RUNS, seconds: SECS, loadAverage: load };
    if (!args['host-protection-only']) Object.assign(out, await allPairs(state, paths, load));
    out.hostProtection = await hostProtection(state);
    if (args.json) writeFileSync(args.json, JSON.stringify(out, null, 2));
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
