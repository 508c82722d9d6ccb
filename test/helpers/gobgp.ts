// GoBGP inside a namespace: gobgpd with its own gRPC port on the namespace's 127.0.0.1 (so lo must
// be up), queried with `gobgp -u 127.0.0.1 -p PORT` run inside the same namespace.
import { writeFileSync } from 'node:fs';
import { inNs, run } from './exec.js';
import type { Lab, ProcHandle } from './netns.js';
import { DaemonError, withLogs } from './processes.js';
import { waitFor } from './wait.js';

export interface GobgpOptions {
  toml: string;
  /** gRPC API port on 127.0.0.1 inside the namespace (each namespace has its own, so 50051 is fine). */
  apiPort?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  startTimeoutMs?: number;
}

/** One entry of `gobgp neighbor -j` (the fields tests use). */
export interface GobgpNeighbor {
  conf?: { neighbor_address?: string; peer_asn?: number };
  state?: { session_state?: number; neighbor_address?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** BGP FSM states as GoBGP's API numbers them (session_state). */
export const GOBGP_SESSION_STATE = { 1: 'Idle', 2: 'Connect', 3: 'Active', 4: 'OpenSent', 5: 'OpenConfirm', 6: 'Established' } as const;

export class Gobgp {
  constructor(
    readonly ns: string,
    readonly apiPort: number,
    readonly proc: ProcHandle,
  ) {}

  get pid(): number {
    return this.proc.pid;
  }

  get logs(): string[] {
    return [this.proc.logPath];
  }

  alive(): boolean {
    return this.proc.alive();
  }

  /** Runs `gobgp ARGS`; returns parsed JSON when `-j` is among the args, else the text. */
  async gobgp(...args: string[]): Promise<unknown> {
    let out: string;
    try {
      out = (await inNs(this.ns, 'gobgp', ['-u', '127.0.0.1', '-p', String(this.apiPort), ...args], { timeoutMs: 15_000 })).stdout;
    } catch (err) {
      if (!this.alive()) throw new DaemonError(`gobgpd in ${this.ns} is not running (pid ${this.pid})`, this.logs);
      throw new Error(withLogs(`gobgp ${args.join(' ')} in ${this.ns} failed: ${(err as Error).message}`, this.logs));
    }
    if (!args.includes('-j')) return out;
    try {
      return JSON.parse(out) as unknown;
    } catch {
      throw new Error(`gobgp ${args.join(' ')} in ${this.ns} did not return JSON: ${out.slice(0, 500)}`);
    }
  }

  async neighbors(): Promise<GobgpNeighbor[]> {
    return ((await this.gobgp('neighbor', '-j')) as GobgpNeighbor[] | null) ?? [];
  }

  /** session_state of the neighbor (6 = Established), undefined if not configured. */
  async neighborState(addr: string): Promise<number | undefined> {
    const n = (await this.neighbors()).find((x) => (x.conf?.neighbor_address ?? x.state?.neighbor_address) === addr);
    return n?.state?.session_state;
  }

  /** Destinations in the global RIB of the family (`ipv4`, `ipv6`, ...). */
  async ribCount(family = 'ipv4'): Promise<number> {
    const j = (await this.gobgp('global', 'rib', 'summary', '-a', family, '-j')) as { num_destination?: number } | null;
    return j?.num_destination ?? 0;
  }

  logTail(): string {
    return this.proc.logTail();
  }

  stop(): Promise<void> {
    return this.proc.stop();
  }
}

export async function startGobgp(lab: Lab, ns: string, opts: GobgpOptions): Promise<Gobgp> {
  const apiPort = opts.apiPort ?? 50051;
  const conf = lab.path(`${lab.unique(`gobgp-${ns.slice(lab.prefix.length)}-`)}.toml`);
  writeFileSync(conf, opts.toml);
  await run('ip', ['-n', ns, 'link', 'set', 'dev', 'lo', 'up']);
  const args = ['-f', conf, '-t', 'toml', '--api-hosts', `127.0.0.1:${apiPort}`, '--log-level', opts.logLevel ?? 'info'];
  const proc = lab.spawnIn(ns, 'gobgpd', args);
  const g = new Gobgp(ns, apiPort, proc);
  await waitFor(
    async () => {
      const died = () => new DaemonError(`gobgpd failed to start in ${ns} (config ${conf})`, g.logs);
      if (!proc.alive()) throw died();
      // A query against a dead gobgpd takes ~1 s to fail: race it with the process exiting.
      return (await Promise.race([g.gobgp('global', '-j'), proc.exited.then(() => Promise.reject(died()))])) as object;
    },
    { what: `gobgpd in ${ns} answering on 127.0.0.1:${apiPort}`, timeoutMs: opts.startTimeoutMs ?? 15_000, intervalMs: 30 },
  ).catch((err: Error) => {
    throw err instanceof DaemonError ? err : new DaemonError(`gobgpd in ${ns}: ${err.message}`, err.message.includes("\n--- ") ? [] : g.logs);
  });
  return g;
}
