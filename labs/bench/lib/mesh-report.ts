// The tables bench:mesh prints: block change, silent host, host leaving and joining, idle
// footprint (one row per role: a mesh's hosts, or route reflectors and their clients apart), BFD.
import { percentile } from './mesh-monitor.js';
import type { LeaveResult } from './mesh-leave.js';
import type { ChangeResult, FailureResult, Footprint } from './mesh-scenarios.js';
import type { BfdSetting, BfdSnapshot } from './mesh-bfd.js';
import { describeSnapshot } from './mesh-bfd.js';
import { cell, mib, summarise, table } from './stats.js';
import { topologyLabel, type Role, type Topology } from './topology.js';

export interface RunReport {
  /** Hosts on the LAN (reflectors included). */
  n: number;
  topology: Topology;
  ok: boolean;
  error?: string;
  firstConvergenceSeconds?: number;
  /** From creating the first agent until all N answer on their control sockets. */
  agentsUpSeconds?: number;
  changes: ChangeResult[];
  failures: FailureResult[];
  leaves: LeaveResult[];
  footprint: Footprint[];
  notes: string[];
  /** With --bfd: BFD over the idle period (false positives, timer lateness), and over the whole run. */
  bfdIdle?: BfdSnapshot;
  bfdRun?: BfdSnapshot;
  loadAverage: string[];
}

export interface ReportSettings {
  hold: number;
  keepalive: number;
  idleMs: number;
  windowMs: number;
  bfd?: BfdSetting;
}

const CHANGE_TARGET_MS = 100;
const RSS_TARGET = 60 * 1024 * 1024;
const CPU_TARGET_PCT = 1;

const ms = (x: number) => x.toFixed(1);
const s2 = (x: number) => (x / 1000).toFixed(2);
const pct = (x: number) => x.toFixed(2);
const p90 = (xs: number[], f: (x: number) => string, unit: string) => {
  const v = percentile(xs, 90);
  return v === undefined ? 'n/a' : `${f(v)}${unit}`;
};
const verdict = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'met' : 'MISSED');
/** The first column: N for a mesh (as before), "RR 2+200" with reflectors. */
const label = (r: RunReport) => (r.topology.kind === 'mesh' ? String(r.n) : topologyLabel(r.topology));
/** Median (min-max) in seconds of the defined values. */
const sCell = (xs: (number | undefined)[]) => cell(summarise(xs.filter((x): x is number => x !== undefined)), s2, ' s');

function printChanges(reports: RunReport[]): void {
  const changeRows: string[][] = [];
  for (const r of reports) {
    for (const kind of ['advertise', 'withdraw'] as const) {
      const max = r.changes.map((c) => c[kind].max);
      const min = r.changes.map((c) => c[kind].min);
      const reply = r.changes.map((c) => (kind === 'advertise' ? c.advertiseReplyMs : c.withdrawReplyMs));
      const s = summarise(max);
      changeRows.push([label(r), kind, cell(s, ms, ' ms'), p90(max, ms, ' ms'), cell(summarise(min), ms, ' ms'), cell(summarise(reply), (x) => x.toFixed(0), ' ms'), `${r.changes.length}`, verdict(s ? s.median < CHANGE_TARGET_MS : undefined)]);
    }
  }
  console.log(`\nBlock change -> kernel of every other host (ip -ts monitor route; ms from sending the control request); median (min-max) of the runs; target: median < ${CHANGE_TARGET_MS} ms\n`);
  console.log(table(['N', 'change', 'slowest host', 'p90 slowest', 'first host', 'control reply', 'runs', 'target'], changeRows));
}

function printFailures(reports: RunReport[], o: ReportSettings): void {
  const failRows = reports.map((r) => {
    const gone = r.failures.map((f) => f.gone.max);
    const s = summarise(gone);
    const limit = o.bfd ? 1000 : o.hold * 1000 + 500;
    return [
      label(r),
      cell(s, s2, ' s'),
      cell(summarise(r.failures.map((f) => f.gone.min)), s2, ' s'),
      `${(limit / 1000).toFixed(1)} s`,
      s ? `${gone.filter((x) => x <= limit).length}/${gone.length} within` : 'n/a',
      verdict(s ? s.max <= limit : undefined),
      sCell(r.failures.map((f) => f.backMs)),
      sCell(r.failures.map((f) => f.establishedMs)),
    ];
  });
  const how = o.bfd ? `BFD ${o.bfd.interval} ms x ${o.bfd.multiplier}, hold ${o.hold} s` : `hold ${o.hold} s`;
  console.log(`\nSilent host (SIGSTOP) -> its block gone from every other kernel; ${how}, keepalive ${o.keepalive} s; median (min-max); target: every run within ${o.bfd ? '1 s (BFD)' : 'hold + 0.5 s'}\n`);
  console.log(table(['N', 'gone everywhere', 'gone from first host', o.bfd ? 'BFD target' : 'hold + 0.5 s', 'runs', 'target', 'SIGCONT -> block back everywhere', 'SIGCONT -> all Established'], failRows));
}

function printLeaves(reports: RunReport[]): void {
  const rows = reports
    .filter((r) => r.leaves.length > 0)
    .map((r) => [
      label(r),
      sCell(r.leaves.map((l) => l.gone.max)),
      sCell(r.leaves.map((l) => l.gone.min)),
      sCell(r.leaves.map((l) => l.exitMs)),
      sCell(r.leaves.map((l) => l.upMs)),
      sCell(r.leaves.map((l) => l.back?.max)),
      sCell(r.leaves.map((l) => l.learnedMs)),
      sCell(r.leaves.map((l) => l.establishedMs)),
      `${r.leaves.filter((l) => !l.recoverError).length}/${r.leaves.length}`,
    ]);
  if (rows.length === 0) return;
  console.log(
    `\nHost leaves and joins (with route reflectors, a client leaves): agent stopped with SIGTERM (sessions closed with a Cease; no graceful restart) -> its block gone from every other kernel; ` +
      `started again from its config -> answering, its block back in every other kernel, every other block in its RIB, every agent with all its peers Established; median (min-max)\n`,
  );
  console.log(table(['N', 'SIGTERM -> gone everywhere', 'gone from first host', 'SIGTERM -> exited', 'start -> answering', 'start -> block back everywhere', 'start -> all blocks learned', 'start -> all Established', 'rejoined'], rows));
}

function footprintRow(name: string, fp: Footprint[]): string[] {
  const rss = summarise(fp.map((f) => f.rss));
  const anon = summarise(fp.map((f) => f.anon));
  const cpu = summarise(fp.map((f) => f.cpuPct));
  const cpuH = summarise(fp.map((f) => f.cpuPctWithHelpers));
  const helper = summarise(fp.map((f) => f.helperRss));
  return [
    name,
    rss ? `${mib(rss.median)} MiB` : 'n/a',
    rss ? `${mib(rss.max)} MiB` : 'n/a',
    anon ? `${mib(anon.median)} MiB` : 'n/a',
    cpu ? `${pct(cpu.median)} %` : 'n/a',
    cpu ? `${pct(cpu.max)} %` : 'n/a',
    cpuH ? `${pct(cpuH.median)} % / ${pct(cpuH.max)} %` : 'n/a',
    helper ? `${mib(helper.median)} MiB` : 'n/a',
    rss && cpu ? `RSS ${verdict(rss.max < RSS_TARGET)}, CPU ${verdict(cpu.max < CPU_TARGET_PCT)}` : 'n/a',
  ];
}

const ROLE_ROWS: { role: Role; name: string }[] = [
  { role: 'reflector', name: 'reflectors' },
  { role: 'client', name: 'clients' },
];

function printFootprint(reports: RunReport[], o: ReportSettings): void {
  const fpRows = reports.flatMap((r) =>
    r.topology.kind === 'mesh' ? [footprintRow(label(r), r.footprint)] : ROLE_ROWS.map(({ role, name }) => footprintRow(`${label(r)} ${name}`, r.footprint.filter((f) => f.role === role))),
  );
  console.log(
    `\nIdle footprint per agent after ${o.idleMs / 1000} s quiet: VmRSS of the node process, CPU % of one core over ${o.windowMs / 1000} s (utime+stime; 'with children' adds reaped ip commands and the live ip helpers); across the N agents (route reflectors and clients apart); target: < 60 MiB RSS and < 1 % CPU each\n`,
  );
  console.log(table(['N', 'RSS median', 'RSS max', 'private (RssAnon) median', 'CPU median', 'CPU max', 'CPU with children median / max', 'helpers RSS median', 'target (max)'], fpRows));
}

export function printReport(reports: RunReport[], o: ReportSettings): void {
  printChanges(reports);
  printFailures(reports, o);
  printLeaves(reports);
  printFootprint(reports, o);
  if (o.bfd) {
    console.log(`\nBFD ${o.bfd.interval} ms x ${o.bfd.multiplier} on every session: false positives (Up -> Down by detection timeout with nobody frozen) over the idle period, event-loop timer lateness, largest gap between packets while Up\n`);
    for (const r of reports) {
      if (r.bfdIdle) console.log(`${topologyLabel(r.topology)} idle ${(o.idleMs + o.windowMs) / 1000} s: ${describeSnapshot(r.bfdIdle)}`);
      if (r.bfdRun) console.log(`${topologyLabel(r.topology)} whole run but the leaves (includes the frozen hosts): ${describeSnapshot(r.bfdRun)}`);
    }
  }
  const conv = reports
    .map((r) => {
      const c = r.firstConvergenceSeconds;
      const up = r.agentsUpSeconds;
      return `${topologyLabel(r.topology)}: ${c === undefined ? 'n/a' : `${c.toFixed(2)} s`}${up === undefined || c === undefined ? '' : ` (agents all up after ${up.toFixed(2)} s, so ${(c - up).toFixed(2)} s after that)`}`;
    })
    .join(', ');
  const notes = [`first convergence (creating the first agent -> every block in every other kernel): ${conv}`, `load average (start -> end): ${reports.map((r) => `${topologyLabel(r.topology)} ${r.loadAverage.join(' -> ')}`).join('; ')}`];
  for (const r of reports) {
    const l = topologyLabel(r.topology);
    if (!r.ok) notes.push(`${l} FAILED: ${r.error}`);
    for (const n of r.notes.slice(0, 10)) notes.push(`${l}: ${n}`);
    for (const f of r.failures) if (f.recoverError) notes.push(`${l} failure ${f.run}: recovery failed: ${f.recoverError}`);
    for (const f of r.leaves) if (f.recoverError) notes.push(`${l} leave/join ${f.run}: rejoin failed: ${f.recoverError}`);
  }
  console.log(`\n${notes.map((n) => `- ${n}`).join('\n')}`);
}
