/**
 * The state file of a running lab (<state dir>/<key>.json, default /run/weft/labs): what
 * `weft lab up` made, so that `weft lab down` removes exactly that: the namespaces by name and
 * the processes by PID and start time (never by name). Rewritten atomically after every step of
 * `up`, so a crash half-way still leaves a file `down` can use.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Role } from './topology.js';

/** A lab failed to come up or to go down: a message for the user, no stack trace. */
export class LabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabError';
  }
}

export const DEFAULT_STATE_DIR = '/run/weft/labs';

export interface NsRecord {
  node: string;
  ns: string;
  role: Role;
}

export interface ProcRecord {
  pid: number;
  /** Field 22 of /proc/PID/stat: a reused PID is never signalled. */
  startTime: string;
  label: string;
  node: string;
  log: string;
}

export interface AgentRecord {
  host: string;
  ns: string;
  socket: string;
  config: string;
  log: string;
  pid: number;
}

export interface PodRecord {
  name: string;
  ns: string;
  host: string;
  /** IPv4 and IPv6 address (at least one). */
  address?: string;
  address6?: string;
}

/** What `weft lab status` needs to re-check a containerlab node's daemons (clab-daemons.ts). */
export interface DaemonRecord {
  node: string;
  type: 'frr' | 'bird' | 'cmd';
  /** FRR: the vty socket directory; BIRD: the control socket; cmd: the command. */
  control: string;
  pids: number[];
  /** Where the config came from (a file, or the embedded startup-config). */
  source: string;
  /** FRR: `router ...` lines of the config; BIRD: protocol names. */
  expect: string[];
}

export interface LabState {
  version: 1;
  name: string;
  key: string;
  file: string;
  variant?: string;
  encapsulation?: string;
  /** Random per run: in every namespace name (wl-<id>-<node>). */
  id: string;
  /** Configs, sockets, logs, FRR directories. */
  dir: string;
  status: 'starting' | 'up';
  createdAt: string;
  namespaces: NsRecord[];
  processes: ProcRecord[];
  agents: AgentRecord[];
  pods: PodRecord[];
  /** FRR / BIRD daemons and cmd processes of containerlab nodes (absent in older state files). */
  daemons?: DaemonRecord[];
}

export function statePath(stateDir: string, key: string): string {
  return join(stateDir, `${key}.json`);
}

export function writeState(stateDir: string, s: LabState): void {
  mkdirSync(stateDir, { recursive: true });
  const p = statePath(stateDir, s.key);
  const tmp = `${p}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`);
  renameSync(tmp, p);
}

/** The state of lab `key`, or undefined when it is not up. Throws when the file is unreadable. */
export function readState(stateDir: string, key: string): LabState | undefined {
  const p = statePath(stateDir, key);
  let text: string;
  try {
    text = readFileSync(p, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the lab state ${p}: ${(e as Error).message}`);
  }
  try {
    const s = JSON.parse(text) as LabState;
    if (s.version !== 1 || !Array.isArray(s.namespaces) || !Array.isArray(s.processes)) throw new Error('not a weft lab state file');
    return s;
  } catch (e) {
    throw new Error(`the lab state ${p} is damaged (${(e as Error).message}); remove it and the wl-* namespaces it named by hand`);
  }
}

export function removeState(stateDir: string, key: string): void {
  rmSync(statePath(stateDir, key), { force: true });
}
