// A Lab is one test run's scope: the network namespaces it made, the processes it started, and a
// temp dir for configs, sockets and logs. cleanup() kills the processes (by PID) and deletes the
// namespaces; it is idempotent, never throws, and also runs on process exit.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inNs, nsArgv, run, tail, type RunOptions, type RunResult } from './exec.js';
import { isGone, killSync, signalProcess, terminate, track, type Tracked } from './processes.js';

export interface ProcHandle {
  pid: number;
  label: string;
  logPath: string;
  /** Resolves when the process exits (only for processes spawned by spawnIn). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, SIGKILL after graceMs; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  logTail(lines?: number): string;
}

export interface SpawnOptions {
  /** Log file name (in the run's temp dir); default derived from ns and cmd. */
  label?: string;
}

/** An address list: '10.0.0.1/30', 'fd00::1/64', or several. */
export type Addrs = string | readonly string[] | undefined;

const live = new Set<Lab>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const lab of live) lab.cleanupSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const lab of live) lab.cleanupSync();
      process.kill(process.pid, sig);
    });
  }
}

function validIfName(name: string): void {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new Error(`bad interface name '${name}' (1-15 chars of [A-Za-z0-9_.-])`);
}

export class Lab {
  /** 6 hex digits, unique per run; in every namespace name. */
  readonly id: string;
  readonly prefix: string;
  /** Temp dir for this run: configs, sockets, pid files, logs. */
  readonly dir: string;
  private readonly namespaces: string[] = [];
  private readonly procs: Tracked[] = [];
  private seq = 0;
  private cleaned = false;
  private cleaning: Promise<string[]> | undefined;

  private constructor() {
    this.id = randomBytes(3).toString('hex');
    this.prefix = `wt-${this.id}-`;
    this.dir = mkdtempSync(join(tmpdir(), `weft-${this.id}-`));
    // Daemons that drop privileges (FRR runs as frr) must be able to traverse into it.
    chmodSync(this.dir, 0o755);
    live.add(this);
    installExitHook();
  }

  static create(): Lab {
    return new Lab();
  }

  /** A fresh file or directory name inside the run's temp dir. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** A name unique within this run (for log files, sockets, short interface names). */
  unique(base: string): string {
    return `${base}${++this.seq}`;
  }

  nsList(): readonly string[] {
    return this.namespaces;
  }

  trackedPids(): readonly Tracked[] {
    return this.procs;
  }

  /** Creates namespace `wt-<id>-<name>` with lo up and IPv6 DAD off; returns its full name. */
  async createNs(name: string): Promise<string> {
    if (this.cleaned) throw new Error('lab already cleaned up');
    const ns = `${this.prefix}${name}`;
    await run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await run('ip', ['-n', ns, 'link', 'set', 'dev', 'lo', 'up']);
    await this.sysctl(ns, 'net.ipv6.conf.all.accept_dad', '0', 'net.ipv6.conf.default.accept_dad', '0');
    return ns;
  }

  /** `sysctl -w key=value [key=value...]` inside the namespace. */
  async sysctl(ns: string, key: string, value: string, ...more: string[]): Promise<void> {
    const pairs = [`${key}=${value}`];
    for (let i = 0; i + 1 < more.length; i += 2) pairs.push(`${more[i]}=${more[i + 1]}`);
    await inNs(ns, 'sysctl', ['-qw', ...pairs]);
  }

  /** Runs a command inside the namespace and waits for it. */
  exec(ns: string, cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult> {
    return inNs(ns, cmd, args, opts);
  }

  /** `ip -n NS args...` */
  ip(ns: string, ...args: string[]): Promise<RunResult> {
    return run('ip', ['-n', ns, ...args]);
  }

  private async addAddrs(ns: string, ifname: string, addrs: Addrs): Promise<void> {
    const list = addrs === undefined ? [] : typeof addrs === 'string' ? [addrs] : addrs;
    for (const a of list) {
      // nodad: an IPv6 address is usable at once instead of after ~1-2 s of DAD.
      await this.ip(ns, 'addr', 'add', a, 'dev', ifname, ...(a.includes(':') ? ['nodad'] : []));
    }
  }

  /**
   * A veth pair created directly inside the two namespaces (never in the host namespace, so the
   * names need only be unique per namespace), with addresses, both ends up.
   */
  async veth(nsA: string, ifA: string, addrA: Addrs, nsB: string, ifB: string, addrB: Addrs): Promise<void> {
    validIfName(ifA);
    validIfName(ifB);
    await run('ip', ['link', 'add', 'name', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
    // Up first, then addresses: an IPv6 address added while the link was down loses the first
    // packets after link-up (measured: a ping right after fails), one added after up works at once.
    await this.ip(nsA, 'link', 'set', 'dev', ifA, 'up');
    await this.ip(nsB, 'link', 'set', 'dev', ifB, 'up');
    await this.addAddrs(nsA, ifA, addrA);
    await this.addAddrs(nsB, ifB, addrB);
  }

  /** A bridge `name` in `ns` with the given member interfaces (already in `ns`), addresses, up. */
  async bridge(ns: string, name: string, ports: readonly string[] = [], addrs?: Addrs): Promise<void> {
    validIfName(name);
    await this.ip(ns, 'link', 'add', 'name', name, 'type', 'bridge');
    await this.ip(ns, 'link', 'set', 'dev', name, 'up');
    for (const p of ports) await this.ip(ns, 'link', 'set', 'dev', p, 'master', name, 'up');
    await this.addAddrs(ns, name, addrs);
  }

  /** Registers a PID (a daemon that forked, say) so cleanup kills it. Returns undefined if already gone. */
  adopt(pid: number, label: string): Tracked | undefined {
    const t = track(pid, label);
    if (t) this.procs.push(t);
    return t;
  }

  /** Starts a long-running process inside `ns`, stdout+stderr to a log file in the temp dir. */
  spawnIn(ns: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): ProcHandle {
    if (this.cleaned) throw new Error('lab already cleaned up');
    const label = opts.label ?? this.unique(`${ns.slice(this.prefix.length)}-${cmd.split('/').pop()}-`);
    const logPath = this.path(`${label}.log`);
    const fd = openSync(logPath, 'a');
    const [c, a] = nsArgv(ns, cmd, args);
    const child = spawn(c, a, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal }));
      child.on('error', () => resolve({ code: null, signal: null }));
    });
    child.unref();
    const pid = child.pid ?? -1;
    const t = pid > 0 ? this.adopt(pid, label) : undefined;
    const gone = () => !t || isGone(t);
    return {
      pid,
      label,
      logPath,
      exited,
      alive: () => !gone(),
      signal: (sig) => {
        if (t) signalProcess(t, sig);
      },
      stop: async (graceMs = 3000) => {
        if (t) await terminate([t], graceMs);
      },
      logTail: (lines) => tail(logPath, lines),
    };
  }

  /** Kills every process this lab started, deletes its namespaces. Idempotent; never throws. */
  cleanup(): Promise<string[]> {
    if (this.cleaned) return Promise.resolve([]);
    this.cleaning ??= this.doCleanup().finally(() => (this.cleaning = undefined));
    return this.cleaning;
  }

  private async doCleanup(): Promise<string[]> {
    const problems: string[] = [];
    try {
      // A safety net: whatever still runs inside our namespaces is ours too (daemon children).
      for (const ns of this.namespaces) {
        try {
          const r = await run('ip', ['netns', 'pids', ns], { timeoutMs: 5000 });
          for (const s of r.stdout.split(/\s+/).filter(Boolean)) {
            const pid = Number(s);
            if (!this.procs.some((p) => p.pid === pid)) this.adopt(pid, `${ns}:${pid}`);
          }
        } catch {
          // the namespace may already be gone
        }
      }
      const left = await terminate(this.procs, 3000);
      for (const p of left) problems.push(`process ${p.pid} (${p.label}) would not die`);
      for (const ns of [...this.namespaces]) {
        try {
          await run('ip', ['netns', 'delete', ns], { timeoutMs: 10_000 });
        } catch (err) {
          // Already gone counts as deleted.
          if (existsSync(`/run/netns/${ns}`)) problems.push(`ip netns delete ${ns}: ${(err as Error).message}`);
        }
      }
      if (problems.length === 0) {
        this.cleaned = true;
        live.delete(this);
      }
      if (problems.length === 0 && !process.env.WEFT_KEEP_TMP) rmSync(this.dir, { recursive: true, force: true });
    } catch (err) {
      problems.push(`cleanup: ${(err as Error).message}`);
    }
    return problems;
  }

  /** Synchronous last resort for process exit: SIGKILL by PID, delete namespaces. */
  cleanupSync(): void {
    try {
      killSync(this.procs);
      for (const ns of this.namespaces) {
        try {
          execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore', timeout: 5000 });
        } catch {
          // already gone
        }
      }
      live.delete(this);
      if (!process.env.WEFT_KEEP_TMP) rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // never throw from an exit handler
    }
  }
}
