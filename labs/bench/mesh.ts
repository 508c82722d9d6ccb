/**
 * `npm run bench:mesh`: the mesh scenarios. N agents (default 10 and 30), each in its own
 * namespace on one bridge, a full iBGP mesh from one shared nodes file, data plane on
 * (encapsulation never: direct routes), hold time 3 s / keepalive 1 s. Per N:
 *   1. first convergence: agents started -> every block in every other kernel;
 *   2. footprint: after `--idle` s of quiet, each agent's VmRSS and CPU % over `--window` s;
 *   3. block change: one host advertises a new /26 (the control request `weft advertise` sends),
 *      time until the route (proto 249) is in the kernel of all N-1 others, from one
 *      `ip -ts monitor route` per namespace; then the withdraw; `--changes` times;
 *   4. silent death: SIGSTOP one agent (sessions open but silent), time until its block is gone
 *      from every other kernel, against hold time + 0.5 s; SIGCONT and time the healing;
 *      `--failures` times;
 *   5. leave and join: one agent stopped with SIGTERM until its block is gone from every other
 *      kernel, then started again until its block is back everywhere (lib/mesh-leave.ts); `--leaves` times.
 * Everything runs in a Lab: processes killed by PID, namespaces deleted, also on failure or Ctrl-C.
 *
 * With --bfd 300x3: BFD on every session; the silent-death target becomes < 1 s, and the idle
 * period counts BFD false positives and how late the agents' timers fired.
 * Graceful restart is off between the agents unless --graceful-restart: with it, a host whose hold
 * timer expires keeps its routes (stale) for the restart time by design, and scenario 4 would
 * measure that instead of failure detection (scenario 5 is left out: its peers would keep the
 * leaving host's routes until it is back).
 *
 * --topology rr: route reflectors instead of the mesh (lib/topology.ts): hosts 1..R (--reflectors,
 * 2) reflect for --clients (200; a list runs each) clients, all with static `peers:`; the same
 * scenarios, with a client as the host that changes, freezes or leaves, and the footprint of the
 * reflectors and of the clients apart. Every reflected route must reach a client's kernel direct
 * via the originating client (the reflector does not change the next hop).
 *
 *   npm run bench:mesh [-- --n 10,30] [--changes 10] [--failures 3] [--leaves 3] [--hold 3] [--keepalive 1]
 *                      [--idle 30] [--window 30] [--json FILE] [--log-level info]
 *                      [--bfd 300x3] [--graceful-restart] [--connect-retry 1]
 *                      [--topology mesh|rr] [--reflectors 2] [--clients 200]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { WEFT_MAIN } from '../../test/helpers/weft.js';
import { Lab } from '../../test/helpers/netns.js';
import { buildMesh, type Mesh } from './lib/mesh-hosts.js';
import { raiseNeighbourTable } from './lib/neighbour-table.js';
import { changeOnce, checkShape, failureOnce, firstConvergence, footprint } from './lib/mesh-scenarios.js';
import { leaveJoinOnce } from './lib/mesh-leave.js';
import { printReport, type RunReport } from './lib/mesh-report.js';
import { bfdDelta, bfdSnapshot, describeSnapshot, parseBfd, waitBfdUp, type BfdSnapshot } from './lib/mesh-bfd.js';
import { parseTopologies, topologyLabel, TOPOLOGY_OPTIONS, type Topology } from './lib/topology.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10,30' },
    changes: { type: 'string', default: '10' },
    failures: { type: 'string', default: '3' },
    leaves: { type: 'string', default: '3' },
    hold: { type: 'string', default: '3' },
    keepalive: { type: 'string', default: '1' },
    'connect-retry': { type: 'string', default: '1' },
    idle: { type: 'string', default: '30' },
    window: { type: 'string', default: '30' },
    json: { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    /** BFD on every session, INTERVALxMULTIPLIER in ms (300x3); the failure target becomes < 1 s. */
    bfd: { type: 'string' },
    'graceful-restart': { type: 'boolean', default: false },
    ...TOPOLOGY_OPTIONS,
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (values.help) {
  console.log(
    'usage: npm run bench:mesh -- [--n 10,30] [--changes 10] [--failures 3] [--leaves 3] [--hold 3] [--keepalive 1]\n' +
      '                             [--idle 30] [--window 30] [--json FILE] [--log-level info] [--bfd 300x3] [--graceful-restart] [--connect-retry 1]\n' +
      '                             [--topology mesh|rr] [--reflectors 2] [--clients 200]',
  );
  process.exit(0);
}

const int = (name: string, v: string, min: number) => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new Error(`--${name}: bad value ${v}`);
  return x;
};
const topologies = parseTopologies(values);
const changes = int('changes', values.changes, 0);
const failures = int('failures', values.failures, 0);
// With graceful restart the peers keep a host's routes while it restarts, by design: nothing to time.
const leaves = values['graceful-restart'] ? 0 : int('leaves', values.leaves, 0);
const hold = int('hold', values.hold, 3);
const keepalive = int('keepalive', values.keepalive, 1);
const connectRetry = int('connect-retry', values['connect-retry'], 1);
const bfd = parseBfd(values.bfd);
const idleMs = Number(values.idle) * 1000;
const windowMs = Number(values.window) * 1000;
if (!(windowMs > 0) || !(idleMs >= 0)) throw new Error('--idle / --window: bad value');
if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (network namespaces)');
if (!existsSync(WEFT_MAIN)) throw new Error(`${WEFT_MAIN} missing: run npm run build`);

const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/**
 * With reflectors: the kernel route of one client for another client's block, read with `ip route`
 * (the monitors already check every one); it must be weft's, direct via the originating client.
 */
async function checkReflectedRoute(mesh: Mesh, notes: Set<string>): Promise<void> {
  const [a, b] = mesh.movers();
  if (!a || !b || a.role !== 'client') return;
  const line = (await mesh.lab.ip(a.ns, 'route', 'show', b.block)).stdout.trim();
  const bad = line.startsWith(`${b.block} `) ? checkShape(line, b) : `no route: ${line || '(none)'}`;
  log(`${a.name} (client) kernel route for ${b.name}'s block: ${line || '(none)'}${bad ? ' <- NOT direct via the originating client' : ''}`);
  if (bad) notes.add(`${a.name}: ${b.name}'s block, read with ip route: ${bad}`);
}

/** Footprint, block changes, silent hosts, leaves and joins (with --bfd, BFD over the idle period and over the run). */
async function runScenarios(mesh: Mesh, rep: RunReport, notes: Set<string>, L: string): Promise<void> {
  let bfd0: BfdSnapshot | undefined;
  if (bfd) {
    // Every BFD session Up and past its Poll Sequence (detection time interval x multiplier) before the clock starts.
    await waitBfdUp(mesh, bfd, 60_000);
    bfd0 = await bfdSnapshot(mesh);
    log(`${L}: BFD at start: ${describeSnapshot(bfd0)}`);
  }
  log(`${L}: footprint: ${idleMs / 1000} s idle, then a ${windowMs / 1000} s window`);
  rep.footprint = await footprint(mesh, idleMs, windowMs);
  if (bfd0) {
    rep.bfdIdle = bfdDelta(bfd0, await bfdSnapshot(mesh));
    log(`${L}: BFD over the idle period and window: ${describeSnapshot(rep.bfdIdle)}`);
  }

  const timeoutMs = 30_000;
  for (let r = 0; r < changes; r++) {
    const c = await changeOnce(mesh, r, timeoutMs, notes);
    rep.changes.push(c);
    log(`${L} change ${r + 1} (${c.host} ${c.prefix}): advertise ${c.advertise.max.toFixed(1)} ms (first host ${c.advertise.min.toFixed(1)}, reply ${c.advertiseReplyMs} ms), withdraw ${c.withdraw.max.toFixed(1)} ms`);
  }
  const s = (x: number | undefined) => `${((x ?? 0) / 1000).toFixed(2)} s`;
  for (let k = 0; k < failures; k++) {
    if (bfd) await waitBfdUp(mesh, bfd, 60_000);
    const f = await failureOnce(mesh, k, hold * 1000 + 30_000, 60_000, notes);
    rep.failures.push(f);
    log(
      `${L} failure ${k + 1} (${f.host} frozen): gone everywhere after ${s(f.gone.max)} (first host ${s(f.gone.min)}); ` +
        (f.recoverError ? `recovery FAILED: ${f.recoverError}` : `after SIGCONT block back in ${s(f.backMs)}, all Established in ${s(f.establishedMs)}`),
    );
    if (f.recoverError) break;
  }
  // Before the leaves: a restarted agent starts its BFD counters again.
  if (bfd0) {
    rep.bfdRun = bfdDelta(bfd0, await bfdSnapshot(mesh));
    log(`${L}: BFD over the whole run but the leaves: ${describeSnapshot(rep.bfdRun)}`);
  }
  // A host that did not come back from a freeze leaves the mesh short of Established peers: no leaves then.
  for (let k = 0; k < leaves && !rep.failures.some((f) => f.recoverError); k++) {
    if (bfd) await waitBfdUp(mesh, bfd, 60_000);
    const l = await leaveJoinOnce(mesh, k, 60_000 + mesh.hosts.length * 500, notes);
    rep.leaves.push(l);
    log(
      `${L} leave ${k + 1} (${l.host} SIGTERM): gone everywhere after ${s(l.gone.max)} (first host ${s(l.gone.min)}), exited after ${s(l.exitMs)}; ` +
        (l.recoverError ? `rejoin FAILED: ${l.recoverError}` : `started again: answering ${s(l.upMs)}, block back everywhere ${s(l.back?.max)}, all blocks learned ${s(l.learnedMs)}, all Established ${s(l.establishedMs)}`),
    );
    if (l.recoverError) break;
  }
}

async function runTopology(t: Topology): Promise<RunReport> {
  const L = topologyLabel(t);
  const n = t.n;
  const rep: RunReport = { n, topology: t, ok: false, changes: [], failures: [], leaves: [], footprint: [], notes: [], loadAverage: [loadavg()] };
  const notes = new Set<string>();
  const lab = Lab.create();
  const restoreNeighbours = raiseNeighbourTable(n, log);
  try {
    const t0 = Date.now();
    const mesh = await buildMesh(lab, { topology: t, holdTime: hold, keepalive, connectRetry, startTimeoutMs: 60_000 + n * 2000, logLevel: values['log-level'], gracefulRestart: values['graceful-restart'], ...(bfd ? { bfd } : {}) }, log);
    const tUp = Date.now();
    rep.agentsUpSeconds = (tUp - t0) / 1000;
    log(`${L}: all ${n} agents answer on their control sockets ${rep.agentsUpSeconds.toFixed(2)} s after the first was created`);
    try {
      // Two minutes for the mesh to converge once every agent is up (starting N node processes on
      // a 2-core machine takes a while of its own at large N; it is reported separately).
      rep.firstConvergenceSeconds = await firstConvergence(mesh, t0, tUp - t0 + 120_000, notes);
      await mesh.waitEstablished(60_000);
      log(`${L}: first convergence ${rep.firstConvergenceSeconds.toFixed(2)} s from creating the first agent, ${(rep.firstConvergenceSeconds - rep.agentsUpSeconds).toFixed(2)} s after all were up`);
      if (t.kind === 'rr') await checkReflectedRoute(mesh, notes);
      await runScenarios(mesh, rep, notes, L);
      for (const h of mesh.hosts) if (!h.agent.alive()) notes.add(`${h.name}: agent died\n${h.agent.logTail(10)}`);
      rep.ok = true;
    } catch (e) {
      rep.error = `${(e as Error).message}\n${mesh.diagnose()}`;
    }
  } catch (e) {
    rep.error = (e as Error).message;
  } finally {
    const problems = await lab.cleanup();
    for (const p of problems) log(`cleanup: ${p}`);
    restoreNeighbours();
    rep.loadAverage.push(loadavg());
  }
  rep.notes = [...notes];
  return rep;
}

async function main(): Promise<void> {
  log(
    `weft agent: ${WEFT_MAIN}; ${topologies.map(topologyLabel).join(', ')}; ${changes} changes, ${failures} failures, ${leaves} leaves; hold ${hold} s, keepalive ${keepalive} s, ConnectRetry ${connectRetry} s`,
  );
  const reports: RunReport[] = [];
  for (const t of topologies) {
    const r = await runTopology(t);
    if (!r.ok) log(`${topologyLabel(t)}: FAILED: ${r.error}`);
    reports.push(r);
  }
  printReport(reports, { hold, keepalive, idleMs, windowMs, ...(bfd ? { bfd } : {}) });
  if (values.json) {
    writeFileSync(values.json, `${JSON.stringify({ date: new Date().toISOString(), hold, keepalive, idleMs, windowMs, reports }, null, 2)}\n`);
    log(`JSON written to ${values.json}`);
  }
  if (reports.some((r) => !r.ok)) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
