// ExaBGP 4.2 (Debian `exabgp`) inside a namespace. It is configured through environment variables
// (LAB-NOTES): it runs in the foreground as root, without its named-pipe CLI, and listens only when
// `listen` is given (exabgp_tcp_bind); otherwise it only dials. It is started by the Lab with
// `ip netns exec NS env VAR=... exabgp CONF`, so the PID we hold is ExaBGP's own (env and
// `ip netns exec` exec), and stop() ends it by that PID.
//
// The test talks to it through one API process (a few lines of JavaScript run by node, written
// into the run's temp dir): ExaBGP writes what it receives (`encoder json`, `neighbor-changes`,
// `receive { parsed; update; }`) and its command acknowledgements ("done" / "error") to the
// process's stdin, which appends every line to a file; the process copies each complete line the
// test appends to a command file to its stdout, which is ExaBGP's command channel. Every start is a
// new instance with its own two files; a restarted ExaBGP is given the routes it was announcing
// (as a configured speaker would come back with them).
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab, ProcHandle } from './netns.js';
import { DaemonError, withLogs } from './processes.js';
import { waitFor } from './wait.js';

export interface ExabgpNeighbor {
  /** The peer's address (weft's). */
  address: string;
  localAddress: string;
  localAs: number;
  peerAs: number;
  /** Default: localAddress. */
  routerId?: string;
  /** Default 9 s. */
  holdTime?: number;
  /** Never dial this neighbour (it must dial us): needs `listen`. */
  passive?: boolean;
}

export interface ExabgpOptions {
  neighbors: readonly ExabgpNeighbor[];
  /** Listen on ADDR:PORT (exabgp_tcp_bind / exabgp_tcp_port). Without it ExaBGP never listens. */
  listen?: { address: string; port?: number };
  startTimeoutMs?: number;
}

/** One line ExaBGP wrote to the API process: a JSON message, or an acknowledgement. */
export interface ExabgpMessage {
  type?: string;
  ack?: string;
  neighbor?: {
    address?: { local?: string; peer?: string };
    asn?: { local?: number; peer?: number };
    state?: string;
    direction?: string;
    message?: {
      update?: {
        attribute?: Record<string, unknown>;
        announce?: Record<string, Record<string, unknown[]>>;
        withdraw?: Record<string, unknown[]>;
      };
      eor?: { afi?: string; safi?: string };
    };
  };
  [k: string]: unknown;
}

/** A route as ExaBGP received it: next hop and the parsed attributes (origin, as-path, local-preference...). */
export interface ExabgpRoute {
  prefix: string;
  nextHop: string;
  attributes: Record<string, unknown>;
}

/**
 * The API process. argv: the file to append ExaBGP's lines to, the command file to follow. It
 * exits when ExaBGP closes its stdin (ExaBGP ended).
 */
const API_SCRIPT = `'use strict';
const fs = require('node:fs');
const [, , out, cmds] = process.argv;
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i).trim();
    buf = buf.slice(i + 1);
    if (line) fs.appendFileSync(out, (line.startsWith('{') ? line : JSON.stringify({ ack: line })) + '\\n');
  }
});
process.stdin.on('end', () => process.exit(0));
let sent = 0;
setInterval(() => {
  let b;
  try { b = fs.readFileSync(cmds); } catch { return; }
  const end = b.lastIndexOf(10) + 1;
  if (end > sent) { process.stdout.write(b.subarray(sent, end)); sent = end; }
}, 20);
`;

function readLines(path: string): ExabgpMessage[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const out: ExabgpMessage[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as ExabgpMessage);
    } catch {
      // a line being written
    }
  }
  return out;
}

function nlriText(n: unknown): string | undefined {
  if (typeof n === 'string') return n;
  if (n !== null && typeof n === 'object' && typeof (n as { nlri?: unknown }).nlri === 'string') return (n as { nlri: string }).nlri;
  return undefined;
}

export class Exabgp {
  private proc: ProcHandle | undefined;
  private instance = 0;
  private cmdFile = '';
  private recvFile = '';
  private commandsWritten = 0;
  /** What this speaker announces now (prefix -> command), replayed when it starts again. */
  private readonly announced = new Map<string, string>();
  /** When the current instance was spawned (Date.now()). */
  startedAt = 0;

  private constructor(
    private readonly lab: Lab,
    readonly ns: string,
    readonly dir: string,
    readonly confPath: string,
    private readonly opts: ExabgpOptions,
  ) {}

  static async start(lab: Lab, ns: string, opts: ExabgpOptions): Promise<Exabgp> {
    const dir = lab.path(lab.unique(`exabgp-${ns.slice(lab.prefix.length)}-`));
    mkdirSync(dir);
    writeFileSync(join(dir, 'api.cjs'), API_SCRIPT);
    const ex = new Exabgp(lab, ns, dir, join(dir, 'exabgp.conf'), opts);
    await ex.startAgain();
    return ex;
  }

  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  get logPath(): string {
    return this.proc?.logPath ?? '';
  }

  alive(): boolean {
    return this.proc?.alive() ?? false;
  }

  logTail(lines = 30): string {
    return `--- exabgp in ${this.ns} (${this.logPath})\n${this.proc?.logTail(lines) ?? '(not started)'}`;
  }

  /**
   * Starts a new ExaBGP instance (after stop(), or the first time) with fresh API files, the routes
   * it announced before already queued; resolves once its API process is running.
   */
  async startAgain(): Promise<void> {
    if (this.alive()) throw new Error(`exabgp in ${this.ns} is still running (pid ${this.pid})`);
    this.instance++;
    // Each instance has its own command and received files (its config names them).
    this.cmdFile = join(this.dir, `cmds-${this.instance}.txt`);
    this.recvFile = join(this.dir, `recv-${this.instance}.jsonl`);
    const queued = [...this.announced.values()];
    writeFileSync(this.cmdFile, queued.map((c) => `${c}\n`).join(''));
    writeFileSync(this.recvFile, '');
    this.commandsWritten = queued.length;
    writeFileSync(this.confPath, exabgpConfig(this.opts, `${process.execPath} ${join(this.dir, 'api.cjs')} ${this.recvFile} ${this.cmdFile}`));
    const env = [
      'exabgp_daemon_daemonize=false',
      'exabgp_daemon_user=root',
      'exabgp_daemon_drop=false',
      'exabgp_api_cli=false',
      'exabgp_log_destination=stdout',
      ...(this.opts.listen ? [`exabgp_tcp_bind=${this.opts.listen.address}`, `exabgp_tcp_port=${this.opts.listen.port ?? 179}`] : []),
    ];
    this.startedAt = Date.now();
    this.proc = this.lab.spawnIn(this.ns, 'env', [...env, 'exabgp', this.confPath], { label: `exabgp-${this.ns.slice(this.lab.prefix.length)}-${this.instance}` });
    const proc = this.proc;
    // ExaBGP acknowledges every queued command once the API process runs; with none queued, its
    // start is seen in its log ("loaded new configuration successfully").
    await waitFor(
      () => {
        if (!proc.alive()) throw new DaemonError(`exabgp failed to start in ${this.ns} (config ${this.confPath})`, [proc.logPath]);
        if (this.acks().length < this.commandsWritten) return false;
        return /loaded new configuration successfully/.test(proc.logTail(200));
      },
      { what: `exabgp in ${this.ns} running its configuration`, timeoutMs: this.opts.startTimeoutMs ?? 20_000, intervalMs: 50, diagnose: () => this.logTail() },
    );
  }

  /** Ends ExaBGP by its PID (SIGTERM: it sends no Cease), resolves once it is gone. */
  async stop(graceMs = 3000): Promise<void> {
    await this.proc?.stop(graceMs);
  }

  /** Everything ExaBGP wrote to the API process of the current instance. */
  messages(): ExabgpMessage[] {
    return readLines(this.recvFile);
  }

  private acks(): string[] {
    return this.messages()
      .map((m) => m.ack)
      .filter((a): a is string => a !== undefined);
  }

  /** Sends one API command and waits for ExaBGP's acknowledgement; an "error" reply throws. */
  async command(cmd: string, timeoutMs = 10_000): Promise<void> {
    if (!this.alive()) throw new DaemonError(`exabgp in ${this.ns} is not running`, [this.logPath]);
    appendFileSync(this.cmdFile, `${cmd}\n`);
    const n = ++this.commandsWritten;
    const ack = await waitFor(
      () => {
        if (!this.alive()) throw new DaemonError(`exabgp in ${this.ns} died`, [this.logPath]);
        return this.acks()[n - 1];
      },
      { what: `exabgp in ${this.ns} to acknowledge "${cmd}"`, timeoutMs, diagnose: () => this.logTail() },
    );
    if (ack !== 'done') throw new Error(withLogs(`exabgp in ${this.ns} answered "${ack}" to "${cmd}"`, [this.logPath]));
  }

  /** Announces `prefix` with `nextHop` to every neighbour (and again after a restart). */
  async announce(prefix: string, nextHop: string): Promise<void> {
    const cmd = `announce route ${prefix} next-hop ${nextHop}`;
    await this.command(cmd);
    this.announced.set(prefix, cmd);
  }

  /** Withdraws an announced prefix. */
  async withdraw(prefix: string): Promise<void> {
    const cmd = this.announced.get(prefix);
    if (cmd === undefined) throw new Error(`exabgp in ${this.ns} does not announce ${prefix}`);
    await this.command(cmd.replace(/^announce /, 'withdraw '));
    this.announced.delete(prefix);
  }

  /** The last neighbour-change state (connected, up, down) ExaBGP reported for `peer` in this instance. */
  state(peer: string): string | undefined {
    let s: string | undefined;
    for (const m of this.messages()) if (m.type === 'state' && m.neighbor?.address?.peer === peer) s = m.neighbor.state;
    return s;
  }

  /** Waits until ExaBGP reports the session with `peer` as `state` (up = Established). */
  waitState(peer: string, state: string, timeoutMs = 30_000): Promise<true> {
    return waitFor(
      () => {
        if (!this.alive()) throw new DaemonError(`exabgp in ${this.ns} died`, [this.logPath]);
        return this.state(peer) === state;
      },
      { what: `exabgp in ${this.ns}: session with ${peer} ${state}`, timeoutMs, intervalMs: 50, diagnose: () => this.logTail() },
    ) as Promise<true>;
  }

  /**
   * The IPv4 unicast routes ExaBGP holds from `peer` now, from replaying the received UPDATEs of
   * this instance (a session going down clears them).
   */
  routes(peer: string, family = 'ipv4 unicast'): Map<string, ExabgpRoute> {
    const table = new Map<string, ExabgpRoute>();
    for (const m of this.messages()) {
      if (m.neighbor?.address?.peer !== peer) continue;
      if (m.type === 'state' && m.neighbor.state !== 'up') table.clear();
      const u = m.type === 'update' ? m.neighbor.message?.update : undefined;
      if (!u) continue;
      for (const n of u.withdraw?.[family] ?? []) {
        const p = nlriText(n);
        if (p) table.delete(p);
      }
      for (const [nextHop, nlris] of Object.entries(u.announce?.[family] ?? {})) {
        for (const n of nlris) {
          const p = nlriText(n);
          if (p) table.set(p, { prefix: p, nextHop, attributes: u.attribute ?? {} });
        }
      }
    }
    return table;
  }

  /** The prefixes `peer` withdrew by UPDATE in this instance, in order (a session going down is no withdrawal here). */
  withdrawals(peer: string, family = 'ipv4 unicast'): string[] {
    return this.messages()
      .filter((m) => m.type === 'update' && m.neighbor?.address?.peer === peer)
      .flatMap((m) => m.neighbor?.message?.update?.withdraw?.[family] ?? [])
      .map(nlriText)
      .filter((p): p is string => p !== undefined);
  }

  /** Waits until the route from `peer` satisfies `ok` (undefined = absent); returns it. */
  waitRoute(peer: string, prefix: string, ok: (r: ExabgpRoute | undefined) => boolean, what: string, timeoutMs = 15_000): Promise<{ route: ExabgpRoute | undefined }> {
    return waitFor(
      () => {
        if (!this.alive()) throw new DaemonError(`exabgp in ${this.ns} died`, [this.logPath]);
        const route = this.routes(peer).get(prefix);
        return ok(route) ? { route } : undefined;
      },
      { what: `exabgp in ${this.ns}: ${prefix} from ${peer} ${what}`, timeoutMs, diagnose: () => `${JSON.stringify([...this.routes(peer).values()])}\n${this.logTail()}` },
    );
  }
}

/** The configuration file: one API process, and the neighbours (IPv4 unicast, no graceful restart). */
function exabgpConfig(o: ExabgpOptions, run: string): string {
  const neighbors = o.neighbors.map(
    (n) => `neighbor ${n.address} {
  router-id ${n.routerId ?? n.localAddress};
  local-address ${n.localAddress};
  local-as ${n.localAs};
  peer-as ${n.peerAs};
  hold-time ${n.holdTime ?? 9};
${n.passive ? '  passive;\n' : ''}  family { ipv4 unicast; }
  api {
    processes [ test-api ];
    neighbor-changes;
    receive { parsed; update; }
  }
}
`,
  );
  return `process test-api {
  run ${run};
  encoder json;
}

${neighbors.join('\n')}`;
}

/** Starts ExaBGP in `ns` (see Exabgp). */
export function startExabgp(lab: Lab, ns: string, opts: ExabgpOptions): Promise<Exabgp> {
  if (opts.neighbors.some((n) => n.passive) && !opts.listen) throw new Error('a passive ExaBGP neighbour needs `listen` (ExaBGP only listens with exabgp_tcp_bind)');
  return Exabgp.start(lab, ns, opts);
}
