/**
 * `npm run bench:mesh`: the full-mesh scenarios. N agents (default 10 and 30), each in its own
 * namespace on one bridge, a full iBGP mesh from one shared nodes file, data plane on
 * (encapsulation never: direct routes), hold time 3 s / keepalive 1 s. Per N:
 *   1. first convergence: agents started -> every block in every other kernel;
 *   2. footprint: after `--idle` s of quiet, each agent's VmRSS and CPU % over `--window` s;
 *   3. block change: one host advertises a new /26 (the control request `weft advertise` sends),
 *      time until the route (proto 249) is in the kernel of all N-1 others, from one
 *      `ip -ts monitor route` per namespace; then the withdraw; `--changes` times;
 *   4. silent death: SIGSTOP one agent (sessions open but silent), time until its block is gone
 *      from every other kernel, against hold time + 0.5 s; SIGCONT and time the healing;
 *      `--failures` times.
 * Everything runs in a Lab: processes killed by PID, namespaces deleted, also on failure or Ctrl-C.
 *
 *   5. with --bfd 300x3: BFD on every mesh session; the silent-death target becomes < 1 s, and
 *      the idle period counts BFD false positives and how late the agents' timers fired.
 * Graceful restart is off between the agents unless --graceful-restart: with it, a host whose hold
 * timer expires keeps its routes (stale) for the restart time by design, and scenario 4 would
 * measure that instead of failure detection.
 *
 *   npm run bench:mesh [-- --n 10,30] [--changes 10] [--failures 3] [--hold 3] [--keepalive 1]
 *                      [--idle 30] [--window 30] [--json FILE] [--log-level info]
 *                      [--bfd 300x3] [--graceful-restart] [--connect-retry 1]
 */
import { existsSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { WEFT_MAIN } from '../../test/helpers/weft.js';
import { Lab } from '../../test/helpers/netns.js';
import { buildMesh } from './lib/mesh-hosts.js';
import { raiseNeighbourTable } from './lib/neighbour-table.js';
import { percentile } from './lib/mesh-monitor.js';
import { changeOnce, failureOnce, firstConvergence, footprint, type ChangeResult, type FailureResult, type Footprint } from './lib/mesh-scenarios.js';
import { cell, mib, summarise, table } from './lib/stats.js';
import { bfdDelta, bfdSnapshot, describeSnapshot, parseBfd, waitBfdUp, type BfdSnapshot } from './lib/mesh-bfd.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10,30' },
    changes: { type: 'string', default: '10' },
    failures: { type: 'string', default: '3' },
    hold: { type: 'string', default: '3' },
    keepalive: { type: 'string', default: '1' },
    'connect-retry': { type: 'string', default: '1' },
    idle: { type: 'string', default: '30' },
    window: { type: 'string', default: '30' },
    json: { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    /** BFD on every mesh session, INTERVALxMULTIPLIER in ms (300x3); the failure target becomes < 1 s. */
    bfd: { type: 'string' },
    'graceful-restart': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (values.help) {
  console.log(
    'usage: npm run bench:mesh -- [--n 10,30] [--changes 10] [--failures 3] [--hold 3] [--keepalive 1]\n' +
      '                             [--idle 30] [--window 30] [--json FILE] [--log-level info] [--bfd 300x3] [--graceful-restart] [--connect-retry 1]',
  );
  process.exit(0);
}

const int = (name: string, v: string, min: number) => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new Error(`--${name}: bad value ${v}`);
  return x;
};
const ns = values.n.split(',').map((s) => int('n', s.trim(), 2));
const changes = int('changes', values.changes, 0);
const failures = int('failures', values.failures, 0);
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

interface NReport {
  n: number;
  ok: boolean;
  error?: string;
  firstConvergenceSeconds?: number;
  /** From creating the first agent until all N answer on their control sockets. */
  agentsUpSeconds?: number;
  changes: ChangeResult[];
  failures: FailureResult[];
  footprint: Footprint[];
  notes: string[];
  /** With --bfd: BFD over the idle period (false positives, timer lateness), and over the whole run. */
  bfdIdle?: BfdSnapshot;
  bfdRun?: BfdSnapshot;
}

const CHANGE_TARGET_MS = 100;
const RSS_TARGET = 60 * 1024 * 1024;
const CPU_TARGET_PCT = 1;

async function runN(n: number): Promise<NReport> {
  const rep: NReport = { n, ok: false, changes: [], failures: [], footprint: [], notes: [] };
  const notes = new Set<string>();
  const lab = Lab.create();
  const restoreNeighbours = raiseNeighbourTable(n, log);
  try {
    const t0 = Date.now();
    const mesh = await buildMesh(lab, { n, holdTime: hold, keepalive, connectRetry, startTimeoutMs: 60_000 + n * 2000, logLevel: values['log-level'], gracefulRestart: values['graceful-restart'], ...(bfd ? { bfd } : {}) }, log);
    const tUp = Date.now();
    rep.agentsUpSeconds = (tUp - t0) / 1000;
    log(`N=${n}: all ${n} agents answer on their control sockets ${rep.agentsUpSeconds.toFixed(2)} s after the first was created`);
    const timeoutMs = 30_000;
    try {
      // Two minutes for the mesh to converge once every agent is up (starting N node processes on
      // a 2-core machine takes a while of its own at large N; it is reported separately).
      rep.firstConvergenceSeconds = await firstConvergence(mesh, t0, tUp - t0 + 120_000, notes);
      await mesh.waitEstablished(60_000);
      log(`N=${n}: first convergence ${rep.firstConvergenceSeconds.toFixed(2)} s from creating the first agent, ${(rep.firstConvergenceSeconds - rep.agentsUpSeconds).toFixed(2)} s after all were up`);

      let bfd0: BfdSnapshot | undefined;
      if (bfd) {
        // Every BFD session Up and past its Poll Sequence (detection time interval x multiplier) before the clock starts.
        await waitBfdUp(mesh, bfd, 60_000);
        bfd0 = await bfdSnapshot(mesh);
        log(`N=${n}: BFD at start: ${describeSnapshot(bfd0)}`);
      }
      log(`N=${n}: footprint: ${idleMs / 1000} s idle, then a ${windowMs / 1000} s window`);
      rep.footprint = await footprint(mesh, idleMs, windowMs);
      if (bfd0) {
        rep.bfdIdle = bfdDelta(bfd0, await bfdSnapshot(mesh));
        log(`N=${n}: BFD over the idle period and window: ${describeSnapshot(rep.bfdIdle)}`);
      }

      for (let r = 0; r < changes; r++) {
        const c = await changeOnce(mesh, r, timeoutMs, notes);
        rep.changes.push(c);
        log(`N=${n} change ${r + 1} (${c.host} ${c.prefix}): advertise ${c.advertise.max.toFixed(1)} ms (first host ${c.advertise.min.toFixed(1)}, reply ${c.advertiseReplyMs} ms), withdraw ${c.withdraw.max.toFixed(1)} ms`);
      }
      for (let k = 0; k < failures; k++) {
        if (bfd) await waitBfdUp(mesh, bfd, 60_000);
        const f = await failureOnce(mesh, k, hold * 1000 + 30_000, 60_000, notes);
        rep.failures.push(f);
        log(
          `N=${n} failure ${k + 1} (${f.host} frozen): gone everywhere after ${(f.gone.max / 1000).toFixed(2)} s (first host ${(f.gone.min / 1000).toFixed(2)} s); ` +
            (f.recoverError ? `recovery FAILED: ${f.recoverError}` : `after SIGCONT block back in ${((f.backMs ?? 0) / 1000).toFixed(2)} s, all Established in ${((f.establishedMs ?? 0) / 1000).toFixed(2)} s`),
        );
        if (f.recoverError) break;
      }
      for (const h of mesh.hosts) if (!h.agent.alive()) notes.add(`${h.name}: agent died\n${h.agent.logTail(10)}`);
      if (bfd0) {
        rep.bfdRun = bfdDelta(bfd0, await bfdSnapshot(mesh));
        log(`N=${n}: BFD over the whole run: ${describeSnapshot(rep.bfdRun)}`);
      }
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
  }
  rep.notes = [...notes];
  return rep;
}

const ms = (x: number) => x.toFixed(1);
const s2 = (x: number) => (x / 1000).toFixed(2);
const pct = (x: number) => x.toFixed(2);
const p90 = (xs: number[], f: (x: number) => string, unit: string) => {
  const v = percentile(xs, 90);
  return v === undefined ? 'n/a' : `${f(v)}${unit}`;
};
const verdict = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'met' : 'MISSED');

function print(reports: NReport[]): void {
  const changeRows: string[][] = [];
  for (const r of reports) {
    for (const kind of ['advertise', 'withdraw'] as const) {
      const max = r.changes.map((c) => c[kind].max);
      const min = r.changes.map((c) => c[kind].min);
      const reply = r.changes.map((c) => (kind === 'advertise' ? c.advertiseReplyMs : c.withdrawReplyMs));
      const s = summarise(max);
      changeRows.push([
        String(r.n),
        kind,
        cell(s, ms, ' ms'),
        p90(max, ms, ' ms'),
        cell(summarise(min), ms, ' ms'),
        cell(summarise(reply), (x) => x.toFixed(0), ' ms'),
        `${r.changes.length}`,
        verdict(s ? s.median < CHANGE_TARGET_MS : undefined),
      ]);
    }
  }
  console.log(`\nBlock change -> kernel of every other host (ip -ts monitor route; ms from sending the control request); median (min-max) of the runs; target: median < ${CHANGE_TARGET_MS} ms\n`);
  console.log(table(['N', 'change', 'slowest host', 'p90 slowest', 'first host', 'control reply', 'runs', 'target'], changeRows));

  const failRows = reports.map((r) => {
    const gone = r.failures.map((f) => f.gone.max);
    const s = summarise(gone);
    const limit = bfd ? 1000 : hold * 1000 + 500;
    return [
      String(r.n),
      cell(s, s2, ' s'),
      cell(summarise(r.failures.map((f) => f.gone.min)), s2, ' s'),
      `${(limit / 1000).toFixed(1)} s`,
      s ? `${gone.filter((x) => x <= limit).length}/${gone.length} within` : 'n/a',
      verdict(s ? s.max <= limit : undefined),
      cell(summarise(r.failures.flatMap((f) => (f.backMs === undefined ? [] : [f.backMs]))), s2, ' s'),
      cell(summarise(r.failures.flatMap((f) => (f.establishedMs === undefined ? [] : [f.establishedMs]))), s2, ' s'),
    ];
  });
  const how = bfd ? `BFD ${bfd.interval} ms x ${bfd.multiplier}, hold ${hold} s` : `hold ${hold} s`;
  console.log(`\nSilent host (SIGSTOP) -> its block gone from every other kernel; ${how}, keepalive ${keepalive} s; median (min-max); target: every run within ${bfd ? '1 s (BFD)' : 'hold + 0.5 s'}\n`);
  console.log(table(['N', 'gone everywhere', 'gone from first host', bfd ? 'BFD target' : 'hold + 0.5 s', 'runs', 'target', 'SIGCONT -> block back everywhere', 'SIGCONT -> all Established'], failRows));

  const fpRows = reports.map((r) => {
    const rss = summarise(r.footprint.map((f) => f.rss));
    const anon = summarise(r.footprint.map((f) => f.anon));
    const cpu = summarise(r.footprint.map((f) => f.cpuPct));
    const cpuH = summarise(r.footprint.map((f) => f.cpuPctWithHelpers));
    const helper = summarise(r.footprint.map((f) => f.helperRss));
    return [
      String(r.n),
      rss ? `${mib(rss.median)} MiB` : 'n/a',
      rss ? `${mib(rss.max)} MiB` : 'n/a',
      anon ? `${mib(anon.median)} MiB` : 'n/a',
      cpu ? `${pct(cpu.median)} %` : 'n/a',
      cpu ? `${pct(cpu.max)} %` : 'n/a',
      cpuH ? `${pct(cpuH.median)} % / ${pct(cpuH.max)} %` : 'n/a',
      helper ? `${mib(helper.median)} MiB` : 'n/a',
      rss && cpu ? `RSS ${verdict(rss.max < RSS_TARGET)}, CPU ${verdict(cpu.max < CPU_TARGET_PCT)}` : 'n/a',
    ];
  });
  console.log(`\nIdle footprint per agent after ${idleMs / 1000} s quiet: VmRSS of the node process, CPU % of one core over ${windowMs / 1000} s (utime+stime; 'with children' adds reaped ip commands and the live ip helpers); across the N agents; target: < 60 MiB RSS and < 1 % CPU each\n`);
  console.log(table(['N', 'RSS median', 'RSS max', 'private (RssAnon) median', 'CPU median', 'CPU max', 'CPU with children median / max', 'helpers RSS median', 'target (max)'], fpRows));

  if (bfd) {
    console.log(`\nBFD ${bfd.interval} ms x ${bfd.multiplier} on every mesh session: false positives (Up -> Down by detection timeout with nobody frozen) over the idle period, event-loop timer lateness, largest gap between packets while Up\n`);
    for (const r of reports) {
      if (r.bfdIdle) console.log(`N=${r.n} idle ${(idleMs + windowMs) / 1000} s: ${describeSnapshot(r.bfdIdle)}`);
      if (r.bfdRun) console.log(`N=${r.n} whole run (includes the frozen hosts): ${describeSnapshot(r.bfdRun)}`);
    }
  }

  const conv = reports
    .map((r) => `N=${r.n}: ${r.firstConvergenceSeconds === undefined ? 'n/a' : `${r.firstConvergenceSeconds.toFixed(2)} s`}${r.agentsUpSeconds === undefined || r.firstConvergenceSeconds === undefined ? '' : ` (agents all up after ${r.agentsUpSeconds.toFixed(2)} s, so ${(r.firstConvergenceSeconds - r.agentsUpSeconds).toFixed(2)} s after that)`}`)
    .join(', ');
  const notes = [`first convergence (creating the first agent -> every block in every other kernel): ${conv}`];
  for (const r of reports) {
    if (!r.ok) notes.push(`N=${r.n} FAILED: ${r.error}`);
    for (const n of r.notes.slice(0, 10)) notes.push(`N=${r.n}: ${n}`);
    for (const f of r.failures) if (f.recoverError) notes.push(`N=${r.n} failure ${f.run}: recovery failed: ${f.recoverError}`);
  }
  console.log(`\n${notes.map((n) => `- ${n}`).join('\n')}`);
}

async function main(): Promise<void> {
  log(`weft agent: ${WEFT_MAIN}; N = ${ns.join(', ')}; ${changes} changes, ${failures} failures; hold ${hold} s, keepalive ${keepalive} s, ConnectRetry ${connectRetry} s`);
  const reports: NReport[] = [];
  for (const n of ns) {
    const r = await runN(n);
    if (!r.ok) log(`N=${n}: FAILED: ${r.error}`);
    reports.push(r);
  }
  print(reports);
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
