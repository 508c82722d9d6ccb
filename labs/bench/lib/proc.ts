// /proc readers for the ingest benchmark: CPU ticks, peak RSS, child processes, and the kernel's
// route count of a network namespace read through a process inside it (/proc/PID/net is the
// namespace of PID), so counting costs no `ip netns exec` spawn.
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** USER_HZ: /proc/PID/stat counts CPU time in clock ticks of 1/100 s on Linux. */
export const CLOCK_TICK = 100;

function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and ')', so split after the last ')'.
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of a process: utime + stime, plus cutime + cstime (children it has reaped, such as
 * short-lived `ip` commands). Fields 14-17 of proc(5); index 0 here is field 3 (state).
 */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  if (!f) return 0;
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return ticks / CLOCK_TICK;
}

/** VmHWM (peak resident set) in bytes, 0 when the process is gone. */
export function peakRss(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Live descendants of `pid` (children, grandchildren...), found by the ppid field of /proc/N/stat. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (f && f[0] !== 'Z' && f[0] !== 'X') parent.set(Number(name), Number(f[1]));
  }
  const out: number[] = [];
  const want = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [p, pp] of parent) {
      if (want.has(pp) && !want.has(p)) {
        want.add(p);
        out.push(p);
        grew = true;
      }
    }
  }
  return out;
}

/** The command line of a process, arguments joined by spaces ('' when gone). */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/**
 * Prefixes in the Main FIB of the namespace `pid` lives in: the `Prefixes:` line under `Main:` in
 * /proc/PID/net/fib_triestat (~17 ms at 100k routes, against ~0.26 s for `ip route | wc -l`).
 * Read asynchronously so a slow read at a million routes does not stall the other pollers.
 */
export async function fibPrefixes(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/net/fib_triestat`, 'utf8');
  const m = /Main:[\s\S]*?Prefixes:\s*(\d+)/.exec(text);
  if (!m) throw new Error(`no Main: Prefixes: in /proc/${pid}/net/fib_triestat`);
  return Number(m[1]);
}
