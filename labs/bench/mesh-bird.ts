/**
 * `npm run bench:mesh-bird`: the Calico baseline for bench:mesh. The same LAN (N namespaces on one
 * bridge, host i at 10.0.0.i/24, block 10.244.i.0/26, `ip -ts monitor route` per host started
 * first), but every host runs BIRD 2 configured the way calico-node's confd configures its
 * node-to-node mesh (test/helpers/calico-bird.ts: Mesh_<addr> protocols, passive towards higher
 * address text, graceful restart, `direct`, kernel `merge paths on`, blocks from a static
 * blackhole). Per N:
 *   1. cold convergence: creating the first BIRD -> every block in every other kernel;
 *   2. idle footprint: after --idle s, each bird's VmRSS and CPU % over --window s;
 *   3. block change: a host gains a block the way calico-node does it (confd rewrites bird.conf,
 *      then `birdc configure`), timed from the configure request to the route in every other
 *      kernel; then the withdraw the same way; --changes times.
 * There is no silent-host scenario: Calico's BIRD keeps a silent peer's routes for the graceful
 * restart time by design (bench:mesh runs weft without graceful restart for that one).
 *
 *   npm run bench:mesh-bird [-- --n 10,30] [--changes 5] [--hold 30] [--keepalive 10]
 *                           [--idle 10] [--window 10] [--json FILE]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { calicoBirdConfig } from '../../test/helpers/calico-bird.js';
import { startBird, type Bird } from '../../test/helpers/bird.js';
import { Lab } from '../../test/helpers/netns.js';
import { buildLan, hostAddress, hostBlock, POOL, type LanHost } from './lib/mesh-hosts.js';
import { percentile } from './lib/mesh-monitor.js';
import { raiseNeighbourTable } from './lib/neighbour-table.js';
import { cpuSeconds } from './lib/proc.js';
import { anonBytes, rssBytes } from './lib/mesh-scenarios.js';
import { cell, mib, summarise, table } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10,30' },
    changes: { type: 'string', default: '5' },
    hold: { type: 'string', default: '30' },
    keepalive: { type: 'string', default: '10' },
    idle: { type: 'string', default: '10' },
    window: { type: 'string', default: '10' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (values.help) {
  console.log('usage: npm run bench:mesh-bird -- [--n 10,30] [--changes 5] [--hold 30] [--keepalive 10] [--idle 10] [--window 10] [--json FILE]');
  process.exit(0);
}
const int = (name: string, v: string, min: number) => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new Error(`--${name}: bad value ${v} (an integer >= ${min})`);
  return x;
};
const ns = values.n.split(',').map((s) => int('n', s.trim(), 2));
const changes = int('changes', values.changes, 0);
const timers = { hold: int('hold', values.hold, 3), keepalive: int('keepalive', values.keepalive, 1) };
const idleMs = int('idle', values.idle, 0) * 1000;
const windowMs = int('window', values.window, 1) * 1000;
if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (network namespaces)');

const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);
const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface BirdHost extends LanHost {
  address: string;
  block: string;
  bird: Bird;
}

interface Change {
  host: string;
  prefix: string;
  advertiseMs: number;
  withdrawMs: number;
}

interface NReport {
  n: number;
  ok: boolean;
  error?: string;
  convergenceSeconds?: number;
  birdsUpSeconds?: number;
  rss: number[];
  anon: number[];
  cpuPct: number[];
  changes: Change[];
  loadAverage: string[];
}

const everyAddress = (n: number) => Array.from({ length: n }, (_, k) => hostAddress(k + 1));
const configOf = (h: { address: string }, n: number, blocks: string[]) => calicoBirdConfig({ address: h.address, asn: 64512, blocks, pools: [POOL], mesh: everyAddress(n), timers });

/** What confd does on a block change: bird.conf rewritten (the header startBird wrote kept), `birdc configure`. */
async function reconfigure(h: BirdHost, n: number, blocks: string[]): Promise<void> {
  const conf = join(h.bird.dir, 'bird.conf');
  const head = readFileSync(conf, 'utf8').split('\n').slice(0, 2).join('\n');
  writeFileSync(conf, `${head}\n${configOf(h, n, blocks)}\n`);
  const out = await h.bird.birdc('configure');
  if (!/Reconfigured|Reconfiguration in progress/.test(out)) throw new Error(`${h.ns}: birdc configure: ${out.trim()}`);
}

/** ms from `t0` until every other host's kernel has `prefix` added (or deleted). */
async function slowest(hosts: BirdHost[], origin: BirdHost, prefix: string, deleted: boolean, t0: number, timeoutMs: number): Promise<number> {
  const ts = await Promise.all(hosts.filter((h) => h !== origin).map((h) => h.monitor.next(prefix, deleted, t0, timeoutMs).then((e) => e.t)));
  return Math.max(...ts) - t0;
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function runN(n: number): Promise<NReport> {
  const rep: NReport = { n, ok: false, rss: [], anon: [], cpuPct: [], changes: [], loadAverage: [loadavg()] };
  const lab = Lab.create();
  const restore = raiseNeighbourTable(n, log);
  try {
    const lan = await buildLan(lab, n);
    log(`N=${n}: ${n} namespaces on one bridge; starting BIRD (Calico mesh config, hold ${timers.hold} s, keepalive ${timers.keepalive} s)`);
    const t0 = Date.now();
    const hosts: BirdHost[] = await Promise.all(
      lan.map(async (l) => {
        const address = hostAddress(l.i);
        const block = hostBlock(l.i);
        const bird = await startBird(lab, l.ns, { routerId: address, config: configOf({ address }, n, [block]), startTimeoutMs: 60_000 + n * 1000 });
        return { ...l, address, block, bird };
      }),
    );
    rep.birdsUpSeconds = (Date.now() - t0) / 1000;
    let last = 0;
    for (const origin of hosts) last = Math.max(last, await slowest(hosts, origin, origin.block, false, 0, Math.max(1000, t0 + 120_000 + rep.birdsUpSeconds * 1000 - Date.now())));
    rep.convergenceSeconds = (last - t0) / 1000;
    log(`N=${n}: cold convergence ${rep.convergenceSeconds.toFixed(2)} s from creating the first BIRD (all answering after ${rep.birdsUpSeconds.toFixed(2)} s)`);

    await pause(idleMs);
    const a = hosts.map((h) => cpuSeconds(h.bird.pid));
    const ta = performance.now();
    await pause(windowMs);
    const secs = (performance.now() - ta) / 1000;
    hosts.forEach((h, k) => {
      rep.cpuPct.push(((cpuSeconds(h.bird.pid) - a[k]!) / secs) * 100);
      rep.rss.push(rssBytes(h.bird.pid));
      rep.anon.push(anonBytes(h.bird.pid));
    });
    log(`N=${n}: idle footprint: RSS median ${mib(summarise(rep.rss)!.median)} MiB, CPU median ${summarise(rep.cpuPct)!.median.toFixed(2)} %`);

    for (let r = 0; r < changes; r++) {
      const h = hosts[r % n]!;
      const prefix = `10.244.${128 + r}.0/26`;
      let t = Date.now();
      await reconfigure(h, n, [h.block, prefix]);
      const advertiseMs = await slowest(hosts, h, prefix, false, t, 30_000);
      t = Date.now();
      await reconfigure(h, n, [h.block]);
      const withdrawMs = await slowest(hosts, h, prefix, true, t, 30_000);
      rep.changes.push({ host: `h${h.i}`, prefix, advertiseMs, withdrawMs });
      log(`N=${n} change ${r + 1} (h${h.i} ${prefix}): advertise ${advertiseMs.toFixed(1)} ms, withdraw ${withdrawMs.toFixed(1)} ms`);
    }
    rep.ok = true;
  } catch (e) {
    rep.error = (e as Error).message;
  } finally {
    for (const p of await lab.cleanup()) log(`cleanup: ${p}`);
    restore();
    rep.loadAverage.push(loadavg());
  }
  return rep;
}

function print(reports: NReport[]): void {
  const ms = (x: number) => x.toFixed(1);
  const rows = reports.map((r) => {
    const adv = r.changes.map((c) => c.advertiseMs);
    const wd = r.changes.map((c) => c.withdrawMs);
    const rss = summarise(r.rss);
    const cpu = summarise(r.cpuPct);
    return [
      String(r.n),
      r.convergenceSeconds === undefined ? 'n/a' : `${r.convergenceSeconds.toFixed(2)} s`,
      r.birdsUpSeconds === undefined ? 'n/a' : `${r.birdsUpSeconds.toFixed(2)} s`,
      cell(summarise(adv), ms, ' ms'),
      `${percentile(adv, 90)?.toFixed(1) ?? 'n/a'} ms`,
      cell(summarise(wd), ms, ' ms'),
      rss ? `${mib(rss.median)} MiB (max ${mib(rss.max)})` : 'n/a',
      cell(summarise(r.anon), (b) => (b / 1048576).toFixed(1), ' MiB'),
      cpu ? `${cpu.median.toFixed(2)} % (max ${cpu.max.toFixed(2)})` : 'n/a',
      r.loadAverage.join(' -> '),
    ];
  });
  console.log(
    `\nBIRD 2 as calico-node configures its mesh (Calico baseline), hold ${timers.hold} s / keepalive ${timers.keepalive} s. Cold convergence: creating the first BIRD -> every block in every other kernel. ` +
      `Block change: confd's way (bird.conf rewritten + birdc configure) -> the slowest other kernel; median (min-max). Idle: VmRSS and CPU % of one core over ${windowMs / 1000} s after ${idleMs / 1000} s quiet, across the N birds\n`,
  );
  console.log(table(['N', 'cold convergence', 'all BIRDs answering', 'advertise, slowest host', 'p90', 'withdraw, slowest host', 'RSS median', 'private (RssAnon)', 'CPU median', 'load average (start -> end)'], rows));
  for (const r of reports) if (!r.ok) console.log(`\n- N=${r.n} FAILED: ${r.error}`);
}

async function main(): Promise<void> {
  const reports: NReport[] = [];
  for (const n of ns) reports.push(await runN(n));
  print(reports);
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ date: new Date().toISOString(), timers, idleMs, windowMs, reports }, null, 2)}\n`);
  if (reports.some((r) => !r.ok)) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
