// `weft agent` inside a namespace for live tests: the built CLI started through the Lab (so cleanup
// kills it by PID), its config written as JSON (which is YAML) into the run's temp dir, its control
// socket there too, and the control API / CLI JSON read back for assertions.
import { readFileSync, writeFileSync } from 'node:fs';
import { controlRequest } from '../../src/agent/control-client.js';
import type { AgentStatus, PeerStatusView, RouteView } from '../../src/agent/control-server.js';
import { run, type RunResult } from './exec.js';
import type { Lab, ProcHandle } from './netns.js';
import { DaemonError } from './processes.js';
import { waitFor } from './wait.js';
import { WEFT_MAIN } from './weft.js';

export type { AgentStatus, PeerStatusView, RouteView };

/** One pino JSON line of the agent's log (see src/agent/log-events.ts). */
export interface AgentLogLine {
  level: number;
  time: string;
  event?: string;
  peer?: string;
  msg?: string;
  [k: string]: unknown;
}

export interface AgentOptions {
  /** Node name: the label of its log file, and the default for node.name. */
  name: string;
  /** The agent configuration; `control.socket` is filled in when missing. */
  config: Record<string, unknown>;
}

export class WeftAgent {
  constructor(
    readonly name: string,
    readonly ns: string,
    readonly socket: string,
    readonly confPath: string,
    readonly proc: ProcHandle,
  ) {}

  alive(): boolean {
    return this.proc.alive();
  }

  logTail(lines = 20): string {
    return `--- ${this.name} (${this.proc.logPath})\n${this.proc.logTail(lines)}`;
  }

  /** One control request; throws DaemonError (which stops a waitFor at once) when the agent died. */
  async ask<T>(op: 'status' | 'routes' | 'reload'): Promise<T> {
    if (!this.proc.alive()) throw new DaemonError(`agent ${this.name} died`, [this.proc.logPath]);
    const r = await controlRequest(this.socket, { op }, 3000);
    if (!r.ok) throw new Error(`${this.name} ${op}: ${r.error}`);
    return r[op] as T;
  }

  status(): Promise<AgentStatus> {
    return this.ask<AgentStatus>('status');
  }

  routes(): Promise<RouteView[]> {
    return this.ask<RouteView[]>('routes');
  }

  /** The status row of one peer (by id: node name, external peer name or address). */
  async peer(id: string): Promise<PeerStatusView | undefined> {
    return (await this.status()).peers.find((p) => p.id === id);
  }

  /** Prefixes learned from peers (not local blocks), sorted. */
  async learned(): Promise<string[]> {
    return (await this.routes())
      .filter((r) => r.source === 'peer')
      .map((r) => r.prefix)
      .sort();
  }

  /** Waits until the peer's status row satisfies `ok`; returns that row. */
  waitPeer(id: string, ok: (p: PeerStatusView) => boolean, what: string, timeoutMs = 30_000): Promise<PeerStatusView> {
    let last: PeerStatusView | undefined;
    return waitFor(
      async () => {
        last = await this.peer(id);
        return last && ok(last) ? last : undefined;
      },
      { what: `${this.name}: peer ${id} ${what}`, timeoutMs, intervalMs: 100, diagnose: () => `${JSON.stringify(last ?? null)}\n${this.logTail()}` },
    );
  }

  /** A weft CLI command as a user runs it against this agent (`-s SOCKET` appended). */
  cliRun(args: readonly string[], okCodes = [0]): Promise<RunResult> {
    return run('node', [WEFT_MAIN, ...args, '-s', this.socket], { okCodes });
  }

  /** `weft CMD --json -s SOCKET`, parsed (`cli('status')`, `cli('routes')`). */
  async cli<T>(cmd: 'status' | 'routes'): Promise<T> {
    return JSON.parse((await this.cliRun([cmd, '--json'])).stdout) as T;
  }

  /** The agent's pino JSON log lines, optionally only one event (and one peer). */
  logEvents(event?: string, peer?: string): AgentLogLine[] {
    let text: string;
    try {
      text = readFileSync(this.proc.logPath, 'utf8');
    } catch {
      return [];
    }
    const out: AgentLogLine[] = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const j = JSON.parse(line) as AgentLogLine;
        if ((event === undefined || j.event === event) && (peer === undefined || j.peer === peer)) out.push(j);
      } catch {
        // a line being written right now
      }
    }
    return out;
  }

  /** Rewrites the config file (then `ask('reload')` or SIGHUP applies it). */
  writeConfig(config: Record<string, unknown>): void {
    writeFileSync(this.confPath, JSON.stringify({ ...config, control: { socket: this.socket } }));
  }
}

/** Starts `weft agent -c CONF` in `ns`; resolves once its control socket answers. */
export async function startAgent(lab: Lab, ns: string, opts: AgentOptions, startTimeoutMs = 15_000): Promise<WeftAgent> {
  const socket = lab.path(`${opts.name}.sock`);
  const conf = lab.path(`${opts.name}.yaml`);
  const config = { ...opts.config, control: { socket } };
  writeFileSync(conf, JSON.stringify(config));
  const proc = lab.spawnIn(ns, 'node', [WEFT_MAIN, 'agent', '-c', conf], { label: opts.name });
  const agent = new WeftAgent(opts.name, ns, socket, conf, proc);
  await waitFor(() => agent.status().then(() => true), {
    what: `agent ${opts.name} answering on ${socket}`,
    timeoutMs: startTimeoutMs,
    intervalMs: 50,
    diagnose: () => agent.logTail(),
  });
  return agent;
}

/** The usual agent config for host `name` at `address` (with its subnet length) on a test LAN. */
export function agentConfig(name: string, addressWithLength: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const address = addressWithLength.split('/')[0];
  return {
    node: { name, asn: 64512, address: addressWithLength },
    listen: { address, port: 179 },
    pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }],
    timers: { holdTime: 9, keepalive: 3, connectRetry: 1 },
    ...extra,
  };
}
