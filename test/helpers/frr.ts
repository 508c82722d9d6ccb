// FRR (zebra + bgpd) inside a namespace, with every path explicit (pid files, zserv socket, vty
// socket dir) in a directory owned by user frr, and no TCP vty. Queried with vtysh over the vty
// sockets, which works from the host namespace.
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstLine, inNs, run } from './exec.js';
import type { Lab } from './netns.js';
import { DaemonError, withLogs, isGone, terminate, type Tracked } from './processes.js';
import { waitFor } from './wait.js';
import { frrIds, readPid } from '../../src/lab/frr.js';

export interface FrrOptions {
  /** bgpd.conf text. Remember `no bgp ebgp-requires-policy` and `no bgp network import-check`. */
  bgpdConf: string;
  zebraConf?: string;
  /** bfdd.conf text: also start FRR's BFD daemon (bgpd's `neighbor X bfd` needs it). Its pid is `bfddPid`. */
  bfddConf?: string;
  /** Fail when FRR logs a rejected config line (it would otherwise run without it). Default true. */
  strictConfig?: boolean;
  startTimeoutMs?: number;
}

/** One path in `show bgp <afi> unicast json` (the fields tests use; the rest is there too). */
export interface FrrPath {
  valid?: boolean;
  bestpath?: boolean;
  path?: string;
  nexthops?: { ip?: string; afi?: string; used?: boolean }[];
  [k: string]: unknown;
}

const LIB = '/usr/lib/frr';

export class Frr {
  constructor(
    readonly ns: string,
    readonly dir: string,
    readonly logs: readonly string[],
    private readonly procs: Tracked[],
  ) {}

  get pids(): number[] {
    return this.procs.map((p) => p.pid);
  }

  alive(): boolean {
    return this.procs.length >= 2 && this.procs.every((p) => !isGone(p));
  }

  /** bfdd's pid when it was started (bfddConf); pids stays [zebra, bgpd, bfdd]. */
  get bfddPid(): number | undefined {
    return this.procs[2]?.pid;
  }

  /** `vtysh -c CMD [-c CMD...]`: text output. */
  async vtysh(...cmds: string[]): Promise<string> {
    try {
      const r = await run('vtysh', ['--vty_socket', this.dir, ...cmds.flatMap((c) => ['-c', c])], { timeoutMs: 15_000 });
      return r.stdout;
    } catch (err) {
      const dead = this.procs.filter(isGone).map((p) => p.label);
      if (dead.length > 0) throw new DaemonError(`FRR in ${this.ns}: ${dead.join(', ')} not running`, this.logs);
      throw new Error(withLogs(`vtysh ${cmds.join(' ; ')} in ${this.ns} failed: ${(err as Error).message}`, this.logs));
    }
  }

  /** A vtysh command ending in `json`, parsed. */
  async vtyshJson<T = unknown>(cmd: string): Promise<T> {
    const text = await this.vtysh(cmd);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(`vtysh '${cmd}' in ${this.ns} did not return JSON: ${text.slice(0, 500)}`);
    }
  }

  /** bgpState of the neighbor (Established, Active, Connect, OpenSent, Idle...), undefined if unknown. */
  async neighborState(addr: string): Promise<string | undefined> {
    const j = await this.vtyshJson<Record<string, { bgpState?: string }>>(`show bgp neighbors ${addr} json`);
    return j[addr]?.bgpState;
  }

  /** `show bgp <afi> unicast json` routes: prefix -> paths. */
  async bgpRoutes(afi: 'ipv4' | 'ipv6' = 'ipv4'): Promise<Record<string, FrrPath[]>> {
    const j = await this.vtyshJson<{ routes?: Record<string, FrrPath[]> }>(`show bgp ${afi} unicast json`);
    return j.routes ?? {};
  }

  logTail(): string {
    return this.logs.map(readText).join('\n');
  }

  async stop(): Promise<void> {
    await terminate(this.procs);
  }
}

export async function startFrr(lab: Lab, ns: string, opts: FrrOptions): Promise<Frr> {
  const dir = lab.path(lab.unique(`frr-${ns.slice(lab.prefix.length)}-`));
  mkdirSync(dir);
  const { uid, gid } = frrIds();
  const file = (name: string, text?: string) => {
    const p = join(dir, name);
    if (text !== undefined) writeFileSync(p, text);
    return p;
  };
  const zebraConf = file('zebra.conf', opts.zebraConf ?? '');
  const bgpdConf = file('bgpd.conf', opts.bgpdConf);
  const bfddConf = opts.bfddConf === undefined ? undefined : file('bfdd.conf', opts.bfddConf);
  const startLog = file('start.log', '');
  for (const p of [dir, zebraConf, bgpdConf, startLog, ...(bfddConf ? [bfddConf] : [])]) chownSync(p, uid, gid);
  const zserv = join(dir, 'zserv.api');
  const logs = [startLog, join(dir, 'zebra.log'), join(dir, 'bgpd.log')];
  const timeoutMs = opts.startTimeoutMs ?? 15_000;
  const procs: Tracked[] = [];

  const launch = async (daemon: 'zebra' | 'bgpd' | 'bfdd', extra: string[]) => {
    const pidFile = join(dir, `${daemon}.pid`);
    const args = ['-d', '-f', join(dir, `${daemon}.conf`), '-i', pidFile, '-z', zserv, '--vty_socket', dir, '-P', '0'];
    args.push('--log', `file:${join(dir, `${daemon}.log`)}`, ...extra);
    try {
      // With -d the parent returns once the daemon has read its config.
      await inNs(ns, join(LIB, daemon), args, { logFile: startLog, timeoutMs });
    } catch (err) {
      throw new DaemonError(`${daemon} failed to start in ${ns}: ${firstLine(err)}`, logs);
    }
    const pid = await waitFor(() => readPid(pidFile), { what: `${daemon} pid file ${pidFile}`, timeoutMs, intervalMs: 20 }).catch(
      (err: Error) => {
        throw new DaemonError(`${daemon} in ${ns}: ${err.message}`, logs);
      },
    );
    const t = lab.adopt(pid, `${daemon}@${ns}`);
    if (!t) throw new DaemonError(`${daemon} in ${ns} exited right after starting (pid ${pid})`, logs);
    procs.push(t);
  };

  await launch('zebra', ['-s', '90000000']);
  await launch('bgpd', []);
  if (bfddConf) {
    logs.push(join(dir, 'bfdd.log'));
    await launch('bfdd', []);
  }
  const frr = new Frr(ns, dir, logs, procs);
  await waitFor(() => frr.vtysh('show bgp summary json').then(() => true), {
    what: `bgpd in ${ns} answering vtysh`,
    timeoutMs,
    intervalMs: 20,
  }).catch((err: Error) => {
    throw err instanceof DaemonError ? err : new DaemonError(`FRR in ${ns}: ${err.message}`, err.message.includes("\n--- ") ? [] : logs);
  });
  // FRR skips config lines it rejects and runs on; a test would then only time out later. Fail now.
  const rejected = logs
    .flatMap((l) => readText(l).split('\n'))
    .filter((l) => /on config line \d+|reading below line/i.test(l));
  if (rejected.length > 0 && opts.strictConfig !== false) {
    throw new DaemonError(`FRR in ${ns} rejected config lines:\n${rejected.join('\n')}`, logs);
  }
  return frr;
}

function readText(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
