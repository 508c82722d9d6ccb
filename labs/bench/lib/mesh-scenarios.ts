// The mesh scenarios, each on a built Mesh (full mesh or route reflectors): first convergence, a
// block change (advertise then withdraw) reaching every other kernel, a host that dies silently
// (SIGSTOP: its TCP sessions stay open but nothing more comes) until its block is gone from every
// other kernel, and the idle footprint of every agent (VmRSS, CPU over a window). The host that
// leaves and joins again is in mesh-leave.ts. Times come from `ip -ts monitor route`. With route
// reflectors the changing, frozen and leaving hosts are clients (Mesh.movers).
import { readFileSync } from 'node:fs';
import { CLOCK_TICK, cpuSeconds, descendants } from './proc.js';
import type { Mesh, MeshHost } from './mesh-hosts.js';
import { changeBlock, type Role } from './topology.js';

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Per other host: ms from the trigger to its kernel's notification. */
export interface Spread {
  /** ms to the slowest host: the convergence time. */
  max: number;
  min: number;
  /** Host name -> ms. */
  by: Record<string, number>;
}

export function spread(t0: number, times: { h: MeshHost; t: number }[]): Spread {
  const by: Record<string, number> = {};
  for (const { h, t } of times) by[h.name] = Math.round((t - t0) * 1000) / 1000;
  const xs = times.map((x) => x.t - t0);
  return { max: Math.max(...xs), min: Math.min(...xs), by };
}

/** The route line must be weft's (proto 249) and direct via the origin host; what is wrong with it, if anything. */
export function checkShape(line: string, origin: MeshHost): string | undefined {
  if (!/proto (weft|249)\b/.test(line)) return `not proto 249: ${line}`;
  if (!line.includes(`via ${origin.address} `)) return `not direct via ${origin.address}: ${line}`;
  return undefined;
}

/**
 * Per other host, the first add (or delete) of `prefix` in its kernel at or after t0; an added
 * route that is not weft's or not direct via the origin is noted. With route reflectors this is
 * where a reflected route shows its next hop: it must stay the originating client's.
 */
export async function allSee(mesh: Mesh, origin: MeshHost, prefix: string, deleted: boolean, t0: number, timeoutMs: number, notes: Set<string>): Promise<Spread> {
  const got = await Promise.all(
    mesh.others(origin).map(async (h) => {
      const e = await h.monitor.next(prefix, deleted, t0, timeoutMs);
      if (!deleted) {
        const bad = checkShape(e.line, origin);
        if (bad) notes.add(`${h.name}: ${bad}`);
      }
      return { h, t: e.t };
    }),
  );
  return spread(t0, got);
}

/** Seconds from `t0` until every host's block is in every other host's kernel (monitors started before the agents). */
export async function firstConvergence(mesh: Mesh, t0: number, timeoutMs: number, notes: Set<string>): Promise<number> {
  let last = 0;
  for (const origin of mesh.hosts) {
    const s = await allSee(mesh, origin, origin.block, false, 0, Math.max(1000, t0 + timeoutMs - Date.now()), notes);
    // allSee timed from 0: s.max is the wall-clock ms of the slowest host.
    last = Math.max(last, s.max);
  }
  return (last - t0) / 1000;
}

export interface ChangeResult {
  run: number;
  host: string;
  prefix: string;
  /** ms the control request took (advertise / withdraw acknowledged by the agent). */
  advertiseReplyMs: number;
  advertise: Spread;
  withdrawReplyMs: number;
  withdraw: Spread;
}

/** Run r: host h(r mod N + 1) (with reflectors: client r mod C + 1) advertises changeBlock(i, r) (topology.ts), then withdraws it; each timed to every other kernel. */
export async function changeOnce(mesh: Mesh, r: number, timeoutMs: number, notes: Set<string>): Promise<ChangeResult> {
  const movers = mesh.movers();
  const origin = movers[r % movers.length]!;
  const prefix = changeBlock(origin.i, r);
  const t0 = Date.now();
  await mesh.change(origin, 'advertise', prefix);
  const advertiseReplyMs = Date.now() - t0;
  const advertise = await allSee(mesh, origin, prefix, false, t0, timeoutMs, notes);
  const t1 = Date.now();
  await mesh.change(origin, 'withdraw', prefix);
  const withdrawReplyMs = Date.now() - t1;
  const withdraw = await allSee(mesh, origin, prefix, true, t1, timeoutMs, notes);
  return { run: r + 1, host: origin.name, prefix, advertiseReplyMs, advertise, withdrawReplyMs, withdraw };
}

export interface FailureResult {
  run: number;
  host: string;
  /** ms from SIGSTOP until its block was deleted from every other kernel. */
  gone: Spread;
  /** ms from SIGCONT until its block was back in every other kernel. */
  backMs?: number;
  /** ms from SIGCONT until every agent had all its peers Established again. */
  establishedMs?: number;
  recoverError?: string;
}

/** Freezes host h(k+2) (with reflectors: client k+2) with SIGSTOP, times its block's removal everywhere, then SIGCONTs it and waits for the mesh to heal. */
export async function failureOnce(mesh: Mesh, k: number, timeoutMs: number, recoverTimeoutMs: number, notes: Set<string>): Promise<FailureResult> {
  const movers = mesh.movers();
  const victim = movers[(k + 1) % movers.length]!;
  const pid = victim.agent.proc.pid;
  let stopped = false;
  try {
    const t0 = Date.now();
    process.kill(pid, 'SIGSTOP');
    stopped = true;
    const gone = await allSee(mesh, victim, victim.block, true, t0, timeoutMs, notes);
    const res: FailureResult = { run: k + 1, host: victim.name, gone };
    const t1 = Date.now();
    process.kill(pid, 'SIGCONT');
    stopped = false;
    try {
      const back = await allSee(mesh, victim, victim.block, false, t1, recoverTimeoutMs, notes);
      res.backMs = back.max;
      await mesh.waitEstablished(Math.max(1000, t1 + recoverTimeoutMs - Date.now()));
      res.establishedMs = Date.now() - t1;
    } catch (e) {
      res.recoverError = (e as Error).message.split('\n')[0];
    }
    return res;
  } finally {
    if (stopped) process.kill(pid, 'SIGCONT');
  }
}

/** VmRSS in bytes (0 when gone). */
export function rssBytes(pid: number): number {
  return statusBytes(pid, 'VmRSS');
}

/**
 * RssAnon in bytes: the process's private memory. VmRSS also counts the pages of the program file
 * it has touched (for node, ~35-42 MiB of /usr/bin/node), which every node process on the host
 * shares with the others: at N agents per machine they are in memory once, not N times.
 */
export function anonBytes(pid: number): number {
  return statusBytes(pid, 'RssAnon');
}

function statusBytes(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface Footprint {
  host: string;
  role: Role;
  /** VmRSS of the node process at the end of the window. */
  rss: number;
  /** Its RssAnon (private memory, without the shared program file). */
  anon: number;
  /** VmRSS of its helper processes (ip -batch, ip monitor), summed. */
  helperRss: number;
  /** % of one core over the window: utime+stime of the node process alone. */
  cpuPct: number;
  /** Plus the children it reaped in the window (short `ip` commands) and its live helpers. */
  cpuPctWithHelpers: number;
}

/** utime + stime of the process itself (fields 14-15 of proc(5)), seconds; 0 when gone. */
function ownCpuSeconds(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICK;
  } catch {
    return 0;
  }
}

/** After `idleMs` of quiet, CPU (utime+stime) of every agent over `windowMs`, and VmRSS at the end. */
export async function footprint(mesh: Mesh, idleMs: number, windowMs: number): Promise<Footprint[]> {
  await pause(idleMs);
  const sample = () =>
    mesh.hosts.map((h) => {
      const helpers = descendants(h.agent.proc.pid);
      const pid = h.agent.proc.pid;
      return { own: ownCpuSeconds(pid), node: cpuSeconds(pid), helpers: new Map(helpers.map((p) => [p, cpuSeconds(p)])) };
    });
  const a = sample();
  const ta = performance.now();
  await pause(windowMs);
  const b = sample();
  const secs = (performance.now() - ta) / 1000;
  return mesh.hosts.map((h, i) => {
    const node = b[i]!.node - a[i]!.node;
    let helpers = 0;
    let helperRss = 0;
    for (const [p, s] of b[i]!.helpers) {
      helpers += s - (a[i]!.helpers.get(p) ?? 0);
      helperRss += rssBytes(p);
    }
    return {
      host: h.name,
      role: h.role,
      rss: rssBytes(h.agent.proc.pid),
      anon: anonBytes(h.agent.proc.pid),
      helperRss,
      cpuPct: ((b[i]!.own - a[i]!.own) / secs) * 100,
      cpuPctWithHelpers: ((node + helpers) / secs) * 100,
    };
  });
}
