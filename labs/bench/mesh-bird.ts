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
 * --topology rr: Calico with route reflectors (lib/topology.ts): node-to-node mesh off, hosts 1..R
 * (--reflectors, 2) have a routeReflectorClusterID and every node a BGPPeer to them, so a
 * reflector's BIRD has `rr client; rr cluster id` towards each client and plain iBGP towards the
 * other reflector, a client's BIRD the reflectors only (test/helpers/calico-bird.ts `peers`).
 * The same three scenarios, with a client as the host whose block changes, and the footprint of
 * reflectors and clients apart. A reflected route must reach a kernel via the originating client.
 *
 *   npm run bench:mesh-bird [-- --n 10,30] [--changes 5] [--hold 30] [--keepalive 10]
 *                           [--idle 10] [--window 10] [--json FILE] [--topology mesh|rr] [--reflectors 2] [--clients 200]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { calicoBirdConfig } from '../../test/helpers/calico-bird.js';
import { startBird, type Bird } from '../../test/helpers/bird.js';
import { Lab } from '../../test/helpers/netns.js';
import { buildLan, type LanHost } from './lib/mesh-hosts.js';
import { percentile } from './lib/mesh-monitor.js';
import { raiseNeighbourTable } from './lib/neighbour-table.js';
import { cpuSeconds } from './lib/proc.js';
import { anonBytes, rssBytes } from './lib/mesh-scenarios.js';
import { cell, mib, summarise, table } from './lib/stats.js';
import { changeBlock, hostAddress, hostBlock, movers, parseTopologies, peersOf, POOL, roleOf, RR_CLUSTER_ID, topologyLabel, TOPOLOGY_OPTIONS, type Role, type Topology } from './lib/topology.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10,30' },
    changes: { type: 'string', default: '5' },
    hold: { type: 'string', default: '30' },
    keepalive: { type: 'string', default: '10' },
    idle: { type: 'string', default: '10' },
    window: { type: 'string', default: '10' },
    json: { type: 'string' },
    ...TOPOLOGY_OPTIONS,
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (values.help) {
  console.log('usage: npm run bench:mesh-bird -- [--n 10,30] [--changes 5] [--hold 30] [--keepalive 10] [--idle 10] [--window 10] [--json FILE] [--topology mesh|rr] [--reflectors 2] [--clients 200]');
  process.exit(0);
}
const int = (name: string, v: string, min: number) => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new Error(`--${name}: bad value ${v} (an integer >= ${min})`);
  return x;
};
const topologies = parseTopologies(values);
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
  topology: Topology;
  ok: boolean;
  error?: string;
  convergenceSeconds?: number;
  birdsUpSeconds?: number;
  /** Per BIRD, in host order: its role, VmRSS, RssAnon and CPU % over the window. */
  roles: Role[];
  rss: number[];
  anon: number[];
  cpuPct: number[];
  changes: Change[];
  loadAverage: string[];
  /** Routes that reached a kernel other than direct via their origin. */
  notes: string[];
}

const everyAddress = (n: number) => Array.from({ length: n }, (_, k) => hostAddress(k + 1));

/** Host i's bird.conf as confd renders it: in the mesh, or with its BGPPeers (and cluster id on a reflector). */
function configOf(i: number, t: Topology, blocks: string[]): string {
  const base = { address: hostAddress(i), asn: 64512, blocks, pools: [POOL], timers };
  if (t.kind === 'mesh') return calicoBirdConfig({ ...base, mesh: everyAddress(t.n) });
  const peers = peersOf(t, i).map((p) => ({ address: p.address, rrClient: p.client }));
  return calicoBirdConfig({ ...base, mesh: [], peers, ...(roleOf(t, i) === 'reflector' ? { rrClusterId: RR_CLUSTER_ID } : {}) });
}

/** What confd does on a block change: bird.conf rewritten (the header startBird wrote kept), `birdc configure`. */
async function reconfigure(h: BirdHost, t: Topology, blocks: string[]): Promise<void> {
  const conf = join(h.bird.dir, 'bird.conf');
  const head = readFileSync(conf, 'utf8').split('\n').slice(0, 2).join('\n');
  writeFileSync(conf, `${head}\n${configOf(h.i, t, blocks)}\n`);
  const out = await h.bird.birdc('configure');
  if (!/Reconfigured|Reconfiguration in progress/.test(out)) throw new Error(`${h.ns}: birdc configure: ${out.trim()}`);
}

/** ms from `t0` until every other host's kernel has `prefix` added (or deleted); an add not direct via the origin is noted. */
async function slowest(hosts: BirdHost[], origin: BirdHost, prefix: string, deleted: boolean, t0: number, timeoutMs: number, notes: Set<string>): Promise<number> {
  const ts = await Promise.all(
    hosts
      .filter((h) => h !== origin)
      .map(async (h) => {
        const e = await h.monitor.next(prefix, deleted, t0, timeoutMs);
        if (!deleted && !e.line.includes(`via ${origin.address} `)) notes.add(`h${h.i}: not direct via ${origin.address}: ${e.line}`);
        return e.t;
      }),
  );
  return Math.max(...ts) - t0;
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function runN(t: Topology): Promise<NReport> {
  const n = t.n;
  const L = topologyLabel(t);
  const rep: NReport = { n, topology: t, ok: false, roles: [], rss: [], anon: [], cpuPct: [], changes: [], loadAverage: [loadavg()], notes: [] };
  const notes = new Set<string>();
  const lab = Lab.create();
  const restore = raiseNeighbourTable(n, log);
  try {
    const lan = await buildLan(lab, n);
    log(`${L}: ${n} namespaces on one bridge; starting BIRD (Calico ${t.kind === 'mesh' ? 'mesh' : 'route-reflector'} config, hold ${timers.hold} s, keepalive ${timers.keepalive} s)`);
    const t0 = Date.now();
    const hosts: BirdHost[] = await Promise.all(
      lan.map(async (l) => {
        const address = hostAddress(l.i);
        const block = hostBlock(l.i);
        const bird = await startBird(lab, l.ns, { routerId: address, config: configOf(l.i, t, [block]), startTimeoutMs: 60_000 + n * 1000 });
        return { ...l, address, block, bird };
      }),
    );
    rep.birdsUpSeconds = (Date.now() - t0) / 1000;
    let last = 0;
    for (const origin of hosts) last = Math.max(last, await slowest(hosts, origin, origin.block, false, 0, Math.max(1000, t0 + 120_000 + rep.birdsUpSeconds * 1000 - Date.now()), notes));
    rep.convergenceSeconds = (last - t0) / 1000;
    log(`${L}: cold convergence ${rep.convergenceSeconds.toFixed(2)} s from creating the first BIRD (all answering after ${rep.birdsUpSeconds.toFixed(2)} s)`);

    await pause(idleMs);
    const a = hosts.map((h) => cpuSeconds(h.bird.pid));
    const ta = performance.now();
    await pause(windowMs);
    const secs = (performance.now() - ta) / 1000;
    hosts.forEach((h, k) => {
      rep.roles.push(roleOf(t, h.i));
      rep.cpuPct.push(((cpuSeconds(h.bird.pid) - a[k]!) / secs) * 100);
      rep.rss.push(rssBytes(h.bird.pid));
      rep.anon.push(anonBytes(h.bird.pid));
    });
    log(`${L}: idle footprint: RSS median ${mib(summarise(rep.rss)!.median)} MiB, CPU median ${summarise(rep.cpuPct)!.median.toFixed(2)} %`);

    const changing = movers(t, hosts);
    for (let r = 0; r < changes; r++) {
      const h = changing[r % changing.length]!;
      const prefix = changeBlock(h.i, r);
      let t0 = Date.now();
      await reconfigure(h, t, [h.block, prefix]);
      const advertiseMs = await slowest(hosts, h, prefix, false, t0, 30_000, notes);
      t0 = Date.now();
      await reconfigure(h, t, [h.block]);
      const withdrawMs = await slowest(hosts, h, prefix, true, t0, 30_000, notes);
      rep.changes.push({ host: `h${h.i}`, prefix, advertiseMs, withdrawMs });
      log(`${L} change ${r + 1} (h${h.i} ${prefix}): advertise ${advertiseMs.toFixed(1)} ms, withdraw ${withdrawMs.toFixed(1)} ms`);
    }
    rep.ok = true;
  } catch (e) {
    rep.error = (e as Error).message;
  } finally {
    for (const p of await lab.cleanup()) log(`cleanup: ${p}`);
    restore();
    rep.loadAverage.push(loadavg());
  }
  rep.notes = [...notes];
  return rep;
}

/** A footprint cell of every BIRD in a mesh; with reflectors, "reflectors ...; clients ..." apart. */
function footprintCell(r: NReport, values: number[], fmt: (xs: number[]) => string): string {
  if (r.topology.kind === 'mesh') return fmt(values);
  const of = (role: Role) => values.filter((_, k) => r.roles[k] === role);
  return `reflectors ${fmt(of('reflector'))}; clients ${fmt(of('client'))}`;
}

function print(reports: NReport[]): void {
  const ms = (x: number) => x.toFixed(1);
  const rows = reports.map((r) => {
    const adv = r.changes.map((c) => c.advertiseMs);
    const wd = r.changes.map((c) => c.withdrawMs);
    const rss = (xs: number[]) => {
      const s = summarise(xs);
      return s ? `${mib(s.median)} MiB (max ${mib(s.max)})` : 'n/a';
    };
    const cpu = (xs: number[]) => {
      const s = summarise(xs);
      return s ? `${s.median.toFixed(2)} % (max ${s.max.toFixed(2)})` : 'n/a';
    };
    return [
      r.topology.kind === 'mesh' ? String(r.n) : topologyLabel(r.topology),
      r.convergenceSeconds === undefined ? 'n/a' : `${r.convergenceSeconds.toFixed(2)} s`,
      r.birdsUpSeconds === undefined ? 'n/a' : `${r.birdsUpSeconds.toFixed(2)} s`,
      cell(summarise(adv), ms, ' ms'),
      `${percentile(adv, 90)?.toFixed(1) ?? 'n/a'} ms`,
      cell(summarise(wd), ms, ' ms'),
      footprintCell(r, r.rss, rss),
      footprintCell(r, r.anon, (xs) => cell(summarise(xs), (b) => (b / 1048576).toFixed(1), ' MiB')),
      footprintCell(r, r.cpuPct, cpu),
      r.loadAverage.join(' -> '),
    ];
  });
  const how = reports.some((r) => r.topology.kind === 'rr') ? 'its mesh, or route reflectors (RR reflectors+clients: node-to-node mesh off, BGPPeers to the reflectors; the block changes on a client)' : 'its mesh';
  console.log(
    `\nBIRD 2 as calico-node configures ${how} (Calico baseline), hold ${timers.hold} s / keepalive ${timers.keepalive} s. Cold convergence: creating the first BIRD -> every block in every other kernel. ` +
      `Block change: confd's way (bird.conf rewritten + birdc configure) -> the slowest other kernel; median (min-max). Idle: VmRSS and CPU % of one core over ${windowMs / 1000} s after ${idleMs / 1000} s quiet, across the N birds\n`,
  );
  console.log(table(['N', 'cold convergence', 'all BIRDs answering', 'advertise, slowest host', 'p90', 'withdraw, slowest host', 'RSS median', 'private (RssAnon)', 'CPU median', 'load average (start -> end)'], rows));
  for (const r of reports) {
    if (!r.ok) console.log(`\n- ${topologyLabel(r.topology)} FAILED: ${r.error}`);
    for (const n of r.notes.slice(0, 10)) console.log(`\n- ${topologyLabel(r.topology)}: ${n}`);
  }
}

async function main(): Promise<void> {
  const reports: NReport[] = [];
  for (const t of topologies) reports.push(await runN(t));
  print(reports);
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ date: new Date().toISOString(), timers, idleMs, windowMs, reports }, null, 2)}\n`);
  if (reports.some((r) => !r.ok)) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
