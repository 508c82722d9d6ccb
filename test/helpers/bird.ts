// BIRD 2 inside a namespace: own control socket, config, pid file and log in the lab's temp dir.
// `bird` daemonises, so its PID comes from the pid file. birdc talks over the unix socket, which
// works from the host namespace.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstLine, inNs, run } from './exec.js';
import type { Lab } from './netns.js';
import { DaemonError, withLogs, isGone, terminate, type Tracked } from './processes.js';
import { waitFor } from './wait.js';

export interface BirdOptions {
  routerId: string;
  /** The BIRD config body; `router id` and a log file line are added unless it sets them itself. */
  config: string;
  startTimeoutMs?: number;
  /** More command-line flags, e.g. ['-R'] (graceful restart recovery, as calico-node starts BIRD). */
  args?: readonly string[];
}

export interface BirdProtocol {
  name: string;
  proto: string;
  table: string;
  state: string;
  since: string;
  info: string;
}

export interface BirdRouteCount {
  table: string;
  /** "X of Y routes for N networks in table T" */
  shown: number;
  routes: number;
  networks: number;
}

export class Bird {
  constructor(
    readonly ns: string,
    readonly dir: string,
    readonly ctl: string,
    readonly logs: readonly string[],
    private readonly proc: Tracked,
  ) {}

  get pid(): number {
    return this.proc.pid;
  }

  alive(): boolean {
    return !isGone(this.proc);
  }

  /** Runs a birdc command (`birdc('show', 'protocols')`) and returns its text without the banner. */
  async birdc(...args: string[]): Promise<string> {
    try {
      const r = await run('birdc', ['-s', this.ctl, ...args], { timeoutMs: 10_000 });
      // birdc exits 0 even when the command is rejected; its errors start with a digit code or "syntax error".
      return r.stdout.replace(/^BIRD [^\n]* ready\.\n/, '');
    } catch (err) {
      if (!this.alive()) throw new DaemonError(`bird in ${this.ns} is not running (pid ${this.pid})`, this.logs);
      throw new Error(withLogs(`birdc ${args.join(' ')} in ${this.ns} failed: ${(err as Error).message}`, this.logs));
    }
  }

  async protocols(): Promise<BirdProtocol[]> {
    const text = await this.birdc('show', 'protocols');
    const out: BirdProtocol[] = [];
    for (const line of text.split('\n')) {
      const t = line.trim().split(/\s+/);
      if (t.length < 5 || t[0] === 'Name') continue;
      // Since is "hh:mm:ss.sss" or, with other time formats, "yyyy-mm-dd hh:mm:ss".
      const twoPart = /^\d{4}-\d\d-\d\d$/.test(t[4]!) && t[5] !== undefined && /^\d\d:\d\d/.test(t[5]);
      const since = twoPart ? `${t[4]} ${t[5]}` : t[4]!;
      const info = t.slice(twoPart ? 6 : 5).join(' ');
      out.push({ name: t[0]!, proto: t[1]!, table: t[2]!, state: t[3]!, since, info });
    }
    return out;
  }

  /**
   * The protocol's state from `show protocols`: for BGP the FSM state (Info column's first word:
   * Established, Active, Connect, OpenSent, Idle...), otherwise the State column (up, down, start).
   * Undefined when there is no such protocol.
   */
  async protocolState(name: string): Promise<string | undefined> {
    const p = (await this.protocols()).find((x) => x.name === name);
    if (!p) return undefined;
    if (p.proto === 'BGP') return p.info.split(' ')[0] || (p.state === 'up' ? 'Established' : 'Idle');
    return p.state;
  }

  async routeCounts(): Promise<BirdRouteCount[]> {
    const text = await this.birdc('show', 'route', 'count');
    const out: BirdRouteCount[] = [];
    for (const m of text.matchAll(/^(\d+) of (\d+) routes for (\d+) networks in table (\S+)$/gm)) {
      out.push({ shown: Number(m[1]), routes: Number(m[2]), networks: Number(m[3]), table: m[4]! });
    }
    return out;
  }

  /** Networks in `table` (the `... in table master4` line, not `Total:`). */
  async routeCount(table = 'master4'): Promise<number> {
    return (await this.routeCounts()).find((c) => c.table === table)?.networks ?? 0;
  }

  /** `show route [PREFIX] [all]` as raw text. */
  showRoute(prefix?: string, all = false): Promise<string> {
    return this.birdc('show', 'route', ...(prefix ? [prefix] : []), ...(all ? ['all'] : []));
  }

  /**
   * BIRD 2.0.12 can sleep up to 3 s when idle and sit on its last UPDATE/End-of-RIB (LAB-NOTES).
   * Querying its socket every `intervalMs` keeps it awake; call the returned function to stop.
   */
  keepAwake(intervalMs = 50): () => void {
    let on = true;
    const loop = async () => {
      while (on && this.alive()) {
        await run('birdc', ['-s', this.ctl, 'show', 'status'], { timeoutMs: 5000 }).catch(() => undefined);
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    };
    void loop();
    return () => {
      on = false;
    };
  }

  logTail(): string {
    return this.logs.map(readFileSafe).join('\n');
  }

  async stop(): Promise<void> {
    await terminate([this.proc]);
  }
}

function readFileSafe(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

export async function startBird(lab: Lab, ns: string, opts: BirdOptions): Promise<Bird> {
  const dir = lab.path(lab.unique(`bird-${ns.slice(lab.prefix.length)}-`));
  mkdirSync(dir);
  const ctl = join(dir, 'bird.ctl');
  const conf = join(dir, 'bird.conf');
  const pidFile = join(dir, 'bird.pid');
  const log = join(dir, 'bird.log');
  const startLog = join(dir, 'start.log');
  const head: string[] = [];
  if (!/^\s*router id /m.test(opts.config)) head.push(`router id ${opts.routerId};`);
  head.push(`log "${log}" all;`);
  writeFileSync(conf, `${head.join('\n')}\n${opts.config}\n`);
  const logs = [startLog, log];
  const timeoutMs = opts.startTimeoutMs ?? 15_000;
  try {
    await inNs(ns, 'bird', [...(opts.args ?? []), '-s', ctl, '-c', conf, '-P', pidFile], { logFile: startLog, timeoutMs });
  } catch (err) {
    throw new DaemonError(`bird failed to start in ${ns} (config ${conf}): ${firstLine(err)}`, logs);
  }
  const pid = await waitFor(
    () => {
      const n = Number(readFileSafe(pidFile).trim());
      return Number.isInteger(n) && n > 0 ? n : undefined;
    },
    { what: `bird pid file ${pidFile}`, timeoutMs, intervalMs: 20 },
  ).catch((err: Error) => {
    throw new DaemonError(`bird in ${ns}: ${err.message}`, logs);
  });
  const proc = lab.adopt(pid, `bird@${ns}`);
  if (!proc) throw new DaemonError(`bird in ${ns} exited right after starting (pid ${pid})`, logs);
  const bird = new Bird(ns, dir, ctl, logs, proc);
  await waitFor(() => bird.birdc('show', 'status').then((s) => s.includes('Daemon is up')), {
    what: `bird in ${ns} answering on ${ctl}`,
    timeoutMs,
    intervalMs: 20,
  }).catch((err: Error) => {
    throw err instanceof DaemonError ? err : new DaemonError(`bird in ${ns}: ${err.message}`, err.message.includes("\n--- ") ? [] : logs);
  });
  return bird;
}
