// `weft agent` inside a namespace for live tests: the built CLI started through the Lab (so cleanup
// kills it by PID), its config written as JSON (which is YAML) into the run's temp dir, its control
// socket there too, and the control API / CLI JSON read back for assertions.
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { controlRequest } from '../../src/agent/control/control-client.js';
import type { AgentStatus, ControlResults, PeerStatusView, RequestOf, RouteView } from '../../src/agent/control/protocol.js';
import { lineReader } from '../../src/lib/lines.js';
import { inNs, run, type RunResult } from './exec.js';
import type { Lab, ProcHandle } from './netns.js';
import { DaemonError } from './processes.js';
import { waitFor } from './wait.js';
import { readJsonLog, WEFT_MAIN, type WeftLogLine } from './weft.js';

export type { AgentStatus, PeerStatusView, RouteView };

/** One pino JSON line of the agent's log (see src/agent/log-events.ts): the same shape as weft peer's. */
export type AgentLogLine = WeftLogLine;

export interface AgentOptions {
  /** Node name: the label of its log file, and the default for node.name. */
  name: string;
  /** The agent configuration; `control.socket` is filled in when missing. */
  config: Record<string, unknown>;
  /** More `weft agent` flags (`--withdraw`). */
  args?: readonly string[];
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
  async ask<Op extends 'status' | 'routes' | 'reload'>(op: Op): Promise<ControlResults[Op]> {
    if (!this.proc.alive()) throw new DaemonError(`agent ${this.name} died`, [this.proc.logPath]);
    const r = await controlRequest<Op>(this.socket, { op } as RequestOf<Op>, 3000);
    if (!r.ok) throw new Error(`${this.name} ${op}: ${r.error}`);
    return r;
  }

  status(): Promise<AgentStatus> {
    return this.ask('status').then((r) => r.status);
  }

  routes(): Promise<RouteView[]> {
    return this.ask('routes').then((r) => r.routes);
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

  /** `weft CMD --json -s SOCKET`, parsed (`cli('status')`, `cli('routes')`); `weft status` exits 1 while a peer is down. */
  async cli<T>(cmd: 'status' | 'routes'): Promise<T> {
    return JSON.parse((await this.cliRun([cmd, '--json'], cmd === 'status' ? [0, 1] : [0])).stdout) as T;
  }

  /** The agent's pino JSON log lines, optionally only one event (and one peer). */
  logEvents(event?: string, peer?: string): AgentLogLine[] {
    return readJsonLog(this.proc.logPath, event, peer);
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
  const proc = lab.spawnIn(ns, 'node', [WEFT_MAIN, 'agent', '-c', conf, ...(opts.args ?? [])], { label: opts.name });
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

/** What came back on a raw control connection: the reply lines (parsed) and whether the agent closed it. */
export interface RawControlResult {
  replies: unknown[];
  closedByAgent: boolean;
}

/**
 * Writes `data` as is on a fresh connection to a control socket and reads reply lines until
 * `replies` of them came, the agent closed the connection, or `timeoutMs` passed (then it rejects).
 * For requests the typed client cannot send: garbage, arrays, oversize lines, several per connection.
 */
export function controlRaw(path: string, data: string, replies: number, timeoutMs = 5000): Promise<RawControlResult> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    const got: unknown[] = [];
    let settled = false;
    const finish = (closedByAgent: boolean, err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve({ replies: got, closedByAgent });
    };
    const timer = setTimeout(
      () => finish(false, new Error(`control ${path}: ${got.length} of ${replies} replies within ${timeoutMs} ms, connection still open`)),
      timeoutMs,
    );
    sock.setEncoding('utf8');
    sock.once('connect', () => sock.write(data));
    const read = lineReader((line) => {
      if (settled) return;
      try {
        got.push(JSON.parse(line));
      } catch {
        finish(false, new Error(`control ${path}: a reply line that is not JSON: ${line.slice(0, 200)}`));
      }
    });
    sock.on('data', (chunk: string) => {
      read(chunk);
      if (got.length >= replies) finish(false);
    });
    // The agent may close while we are still writing (an oversize line): EPIPE/ECONNRESET count as closed.
    sock.on('error', (e) => (sock.connecting ? finish(false, new Error(`control ${path}: ${e.message}`)) : finish(true)));
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
  });
}

/** GET `url` from inside namespace `ns` (Node's fetch in a child there): status code and body. */
export async function httpGetInNs(ns: string, url: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  const script =
    'fetch(process.argv[1], { signal: AbortSignal.timeout(Number(process.argv[2])) })' +
    '.then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })))' +
    '.catch((e) => { process.stderr.write(String(e && e.cause ? e.cause : e) + "\\n"); process.exit(1); });';
  const r = await inNs(ns, 'node', ['-e', script, url, String(timeoutMs)], { timeoutMs: timeoutMs + 5000 });
  return JSON.parse(r.stdout) as { status: number; body: string };
}
