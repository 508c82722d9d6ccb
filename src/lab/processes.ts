// Process bookkeeping by PID only (never by name). A process counts as gone when /proc/PID/stat is
// missing, shows state Z (zombie) or X, or shows another start time (the PID was reused): killed
// daemons that were reparented can linger as zombies here, and `kill -0` succeeds on a zombie.
// Used by `weft lab` (its state file records PID + start time) and by the live tests.
import { readdirSync, readFileSync } from 'node:fs';

export interface Tracked {
  pid: number;
  /** Field 22 of /proc/PID/stat when we started tracking: guards against PID reuse. */
  startTime: string;
  label: string;
}

interface Stat {
  state: string;
  startTime: string;
}

export function procStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ..." where comm may contain spaces and parentheses: split after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', startTime: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** Starts tracking a live PID; undefined when it is already gone. */
export function track(pid: number, label: string): Tracked | undefined {
  const st = procStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return undefined;
  return { pid, startTime: st.startTime, label };
}

export function isGone(p: Tracked): boolean {
  const st = procStat(p.pid);
  return !st || st.state === 'Z' || st.state === 'X' || st.startTime !== p.startTime;
}

function send(p: Tracked, sig: NodeJS.Signals): void {
  if (isGone(p)) return;
  try {
    process.kill(p.pid, sig);
  } catch {
    // already gone
  }
}

export function signalProcess(p: Tracked, sig: NodeJS.Signals): void {
  send(p, sig);
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function allGone(procs: readonly Tracked[], deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (procs.every(isGone)) return true;
    if (Date.now() >= end) return false;
    await pause(20);
  }
}

/** SIGTERM, then SIGKILL for what is left after `graceMs`; resolves when all are gone or given up. Never throws. */
export async function terminate(procs: readonly Tracked[], graceMs = 3000): Promise<Tracked[]> {
  for (const p of procs) send(p, 'SIGTERM');
  if (await allGone(procs, graceMs)) return [];
  for (const p of procs) send(p, 'SIGKILL');
  await allGone(procs, 3000);
  return procs.filter((p) => !isGone(p));
}

/** For process 'exit' handlers, which must be synchronous. */
export function killSync(procs: readonly Tracked[]): void {
  for (const p of procs) send(p, 'SIGKILL');
}

/** The child PIDs of `pid` (of every thread: /proc/PID/task/TID/children); [] when it is gone. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      for (const s of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/)) if (s) out.push(Number(s));
    } catch {
      // the thread ended meanwhile
    }
  }
  return [...new Set(out)];
}

/** Every descendant of `pid` (children, their children, ...), parents before children. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const todo = childPids(pid);
  while (todo.length > 0) {
    const p = todo.shift()!;
    if (out.includes(p)) continue;
    out.push(p);
    todo.push(...childPids(p));
  }
  return out;
}

/** The command line of a process as words; [] when it is gone (or a zombie). */
export function cmdlineOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** One variable of a process's environment (as it was at exec); undefined when unset or unreadable. */
export function environOf(pid: number, name: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return undefined;
  }
  const key = `${name}=`;
  for (const kv of text.split('\0')) if (kv.startsWith(key)) return kv.slice(key.length);
  return undefined;
}
