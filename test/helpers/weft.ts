// `weft peer` inside a namespace: `ip netns exec NS node dist/cli/main.js peer -c CONF --state-file F`
// started through the Lab (so cleanup kills it by PID), its pino JSON log on stdout in a file, and
// its state file (rewritten atomically on every change) read back for assertions.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Lab, ProcHandle } from './netns.js';
import { missingPrereq } from './prereq.js';
import { DaemonError } from './processes.js';
import { waitFor } from './wait.js';

/** The built CLI (tests rely on `npm run build` having produced dist/). */
export const WEFT_MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** One peer in weft's state file (see src/agent/speaker.ts SpeakerStatus). */
export interface WeftPeerState {
  name: string;
  address: string;
  state: string;
  since?: string;
  lastError?: string;
  counters: Record<string, number>;
  routesSent: number;
  routeRefreshesAnswered: number;
  endOfRib: string[];
  received: { prefix: string; attributes: { attributes: WeftAttr[]; nextHop?: string } }[];
}

/** An attribute in the JSON view weft keeps of received routes (its `type` plus codec fields). */
export interface WeftAttr {
  type: string;
  [k: string]: unknown;
}

export interface WeftState {
  routerId: string;
  asn: number;
  listenPort?: number;
  refusedConnections: number;
  peers: WeftPeerState[];
}

/** One pino JSON log line. */
export interface WeftLogLine {
  level: number;
  time: string;
  event?: string;
  peer?: string;
  msg?: string;
  [k: string]: unknown;
}

export interface WeftOptions {
  /** The `weft peer` configuration (written as JSON, which is YAML). */
  config: Record<string, unknown>;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  startTimeoutMs?: number;
}

export class Weft {
  constructor(
    readonly ns: string,
    readonly confPath: string,
    readonly stateFile: string,
    readonly proc: ProcHandle,
  ) {}

  get pid(): number {
    return this.proc.pid;
  }

  get logPath(): string {
    return this.proc.logPath;
  }

  alive(): boolean {
    return this.proc.alive();
  }

  /** The state file, parsed. Throws (DaemonError when weft died) if it is missing or unreadable. */
  state(): WeftState {
    try {
      return JSON.parse(readFileSync(this.stateFile, 'utf8')) as WeftState;
    } catch (err) {
      if (!this.alive()) throw new DaemonError(`weft in ${this.ns} is not running (pid ${this.pid})`, [this.logPath]);
      throw err;
    }
  }

  peer(address: string): WeftPeerState | undefined {
    return this.state().peers.find((p) => p.address === address);
  }

  /** Waits until the peer's state (Established, Idle, Active...) is `state`; returns its entry. */
  async waitPeerState(address: string, state: string, timeoutMs = 30_000): Promise<WeftPeerState> {
    return waitFor(
      () => {
        if (!this.alive()) throw new DaemonError(`weft in ${this.ns} exited`, [this.logPath]);
        const p = this.peer(address);
        return p?.state === state ? p : undefined;
      },
      {
        what: `weft in ${this.ns}: peer ${address} ${state}`,
        timeoutMs,
        diagnose: () => `${JSON.stringify(this.peer(address) ?? null).slice(0, 1500)}\n--- ${this.logPath}\n${this.proc.logTail(30)}`,
      },
    );
  }

  /** The log's JSON lines, optionally only those of one event (and one peer). */
  logEvents(name?: string, peer?: string): WeftLogLine[] {
    return readJsonLog(this.logPath, name, peer);
  }

  /**
   * Waits for a log line of event `name` (of `peer`, when given) that satisfies `match`; returns it.
   * On timeout the error shows the log's last `tail` lines.
   */
  waitEvent(
    name: string,
    o: { peer?: string; match?: (l: WeftLogLine) => boolean; what: string; timeoutMs?: number; tail?: number },
  ): Promise<WeftLogLine> {
    return waitFor(() => this.logEvents(name, o.peer).find(o.match ?? (() => true)), {
      what: o.what,
      timeoutMs: o.timeoutMs ?? 15_000,
      diagnose: () => this.logTail(o.tail),
    });
  }

  logTail(lines = 30): string {
    return this.proc.logTail(lines);
  }

  /** SIGTERM by PID (weft sends Cease to its peers and exits); SIGKILL after the grace time. */
  stop(graceMs = 3000): Promise<void> {
    return this.proc.stop(graceMs);
  }
}

/** Starts `weft peer` in `ns`; resolves once it has written its state file. */
export async function startWeft(lab: Lab, ns: string, opts: WeftOptions): Promise<Weft> {
  const label = lab.unique(`weft-${ns.slice(lab.prefix.length)}-`);
  const confPath = lab.path(`${label}.yaml`);
  const stateFile = lab.path(`${label}.state.json`);
  writeFileSync(confPath, `${JSON.stringify(opts.config, null, 2)}\n`);
  const args = [WEFT_MAIN, 'peer', '-c', confPath, '--state-file', stateFile, '--log-level', opts.logLevel ?? 'info'];
  const proc = lab.spawnIn(ns, process.execPath, args, { label });
  const weft = new Weft(ns, confPath, stateFile, proc);
  await waitFor(
    () => {
      if (!proc.alive()) throw new DaemonError(`weft failed to start in ${ns} (config ${confPath})`, [proc.logPath]);
      try {
        return weft.state().peers.length > 0;
      } catch {
        return false;
      }
    },
    { what: `weft in ${ns} writing ${stateFile}`, timeoutMs: opts.startTimeoutMs ?? 15_000, intervalMs: 20, diagnose: () => proc.logTail() },
  );
  return weft;
}

/** Why live interop tests cannot run here (not root, a tool missing, weft not built), or undefined. */
export function interopSkipReason(tools: readonly string[] = ['ip', 'bird', 'birdc', 'vtysh', 'gobgpd', 'gobgp', 'tcpdump', 'tshark', '/usr/lib/frr/bgpd']): string | undefined {
  return missingPrereq(tools, WEFT_MAIN);
}

/**
 * The pino JSON lines of the log at `path`, optionally only those of one event (and one peer).
 * A missing log reads as empty; a line still being written is passed over.
 */
export function readJsonLog(path: string, event?: string, peer?: string): WeftLogLine[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const out: WeftLogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const j = JSON.parse(line) as WeftLogLine;
      if ((event === undefined || j.event === event) && (peer === undefined || j.peer === peer)) out.push(j);
    } catch {
      // a line being written right now
    }
  }
  return out;
}

/**
 * One Ethernet segment: a bridge in namespace `sw` and, for each member, a veth from the bridge to
 * `eth0` in the member's own namespace with the given addresses. Returns the member namespaces.
 */
export async function lan(lab: Lab, members: Record<string, readonly string[]>): Promise<Record<string, string>> {
  const sw = await lab.createNs('sw');
  const out: Record<string, string> = {};
  const ports: string[] = [];
  let i = 0;
  for (const [name, addrs] of Object.entries(members)) {
    const ns = await lab.createNs(name);
    const port = `p${i++}`;
    await lab.veth(sw, port, undefined, ns, 'eth0', addrs);
    ports.push(port);
    out[name] = ns;
  }
  await lab.bridge(sw, 'br0', ports);
  return out;
}
