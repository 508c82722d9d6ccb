/**
 * FRR (zebra + bgpd, and bfdd when asked) for a ToR node of a lab: the Debian binaries in the node's namespace, every
 * path explicit (pid files, zserv socket, vty socket dir) in one directory owned by user frr, no
 * TCP vty. Query it with `vtysh --vty_socket DIR`. (LAB-NOTES.md "Running the daemons".)
 */
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstLine, inNs, run, tail } from './exec.js';
import { track, type Tracked } from './processes.js';
import { LabError } from './state.js';
import { waitFor } from './wait.js';

const LIB = '/usr/lib/frr';

/** The uid/gid of user frr (FRR's daemons drop to it: their directories must be its). */
export function frrIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('frr:'));
  if (!line || !existsSync(join(LIB, 'bgpd'))) throw new LabError('FRR is not installed (no user frr or no /usr/lib/frr/bgpd): apt-get install frr, or run labs/install-deps.sh');
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** The PID in a daemon's pid file, or undefined while there is none. */
export function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export interface FrrStarted {
  dir: string;
  /** zebra, bfdd (when started), then bgpd. */
  procs: { tracked: Tracked; log: string }[];
}

/**
 * Starts zebra, then bfdd when `conf.bfdd` is given (before bgpd, so that bgpd's `neighbor X bfd`
 * sessions reach a running bfdd through zebra at once), then bgpd in `ns` with the given configs;
 * `onProcess` is called for each daemon as soon as its PID is known (so a failure later still
 * leaves it recorded for `down`).
 */
export async function startFrr(
  ns: string,
  dir: string,
  conf: { bgpd: string; zebra: string; bfdd?: string },
  onProcess: (t: Tracked, log: string) => void,
  timeoutMs = 15_000,
): Promise<FrrStarted> {
  const daemons = [{ name: 'zebra', conf: conf.zebra }, ...(conf.bfdd === undefined ? [] : [{ name: 'bfdd', conf: conf.bfdd }]), { name: 'bgpd', conf: conf.bgpd }];
  return startFrrDaemons(ns, dir, daemons, onProcess, { timeoutMs, ready: 'show bgp summary json' });
}

/**
 * Starts FRR daemons in `ns` in the order given (zebra first), each with its own config file
 * (text; '' for none), then waits until vtysh's `ready` command answers. Used for the ToRs
 * (startFrr) and for containerlab nodes with an FRR image (clab-daemons.ts).
 */
export async function startFrrDaemons(
  ns: string,
  dir: string,
  daemons: readonly { name: string; conf: string }[],
  onProcess: (t: Tracked, log: string) => void,
  o: { timeoutMs?: number; ready: string },
): Promise<FrrStarted> {
  const timeoutMs = o.timeoutMs ?? 15_000;
  const { uid, gid } = frrIds();
  mkdirSync(dir, { recursive: true });
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    chownSync(p, uid, gid);
    return p;
  };
  chownSync(dir, uid, gid);
  for (const d of daemons) file(`${d.name}.conf`, d.conf.endsWith('\n') || d.conf === '' ? d.conf : `${d.conf}\n`);
  const startLog = file('start.log', '');
  const zserv = join(dir, 'zserv.api');
  const procs: FrrStarted['procs'] = [];
  const logs = ['start.log', ...daemons.map((d) => `${d.name}.log`)];
  const logsTail = () => logs.map((l) => `--- ${join(dir, l)}\n${tail(join(dir, l), 10)}`).join('\n');

  for (const { name: daemon } of daemons) {
    const pidFile = join(dir, `${daemon}.pid`);
    const log = join(dir, `${daemon}.log`);
    const args = ['-d', '-f', join(dir, `${daemon}.conf`), '-i', pidFile, '-z', zserv, '--vty_socket', dir, '-P', '0', '--log', `file:${log}`];
    if (daemon === 'zebra') args.push('-s', '90000000');
    try {
      // With -d the parent returns once the daemon has read its config.
      await inNs(ns, join(LIB, daemon), args, { logFile: startLog, timeoutMs });
    } catch (e) {
      throw new LabError(`${daemon} failed to start in ${ns}: ${firstLine(e)}\n${logsTail()}`);
    }
    const pid = await waitFor(() => readPid(pidFile), { what: `${daemon} pid file ${pidFile}`, timeoutMs, intervalMs: 20 }).catch((e: Error) => {
      throw new LabError(`${daemon} in ${ns}: ${e.message}\n${logsTail()}`);
    });
    const t = track(pid, `${daemon}@${ns}`);
    if (!t) throw new LabError(`${daemon} in ${ns} exited right after starting (pid ${pid})\n${logsTail()}`);
    onProcess(t, log);
    procs.push({ tracked: t, log });
  }
  await waitFor(() => run('vtysh', ['--vty_socket', dir, '-c', o.ready], { timeoutMs: 5000 }).then(() => true), {
    what: `FRR in ${ns} answering vtysh (${o.ready})`,
    timeoutMs,
    intervalMs: 50,
  }).catch((e: Error) => {
    throw new LabError(`${e.message}\n${logsTail()}`);
  });
  // FRR skips config lines it rejects and runs on without them: fail now instead of timing out later.
  const rejected = logs
    .flatMap((l) => tail(join(dir, l), 1000).split('\n'))
    .filter((l) => /on config line \d+|reading below line|Unknown command/i.test(l));
  if (rejected.length > 0) throw new LabError(`FRR in ${ns} rejected lines of its config:\n${rejected.join('\n')}`);
  return { dir, procs };
}
