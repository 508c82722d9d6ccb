/**
 * Waiting for a lab's agents: every configured session Established and every other host's blocks
 * in each agent's Loc-RIB, polled over each agent's control socket (what `weft status --json` and
 * `weft routes --json` show). A dead agent stops the wait at once, with its log tail.
 */
import { controlRequest } from '../agent/control/control-client.js';
import type { ControlResults, RequestOf } from '../agent/control/protocol.js';
import { formatPrefix } from '../lib/prefix.js';
import { tail } from './exec.js';
import { isGone } from './processes.js';
import { LabError, type AgentRecord, type LabState } from './state.js';
import type { Topology } from './topology.js';
import { NotRecoverable, waitFor } from './wait.js';

export interface HostConvergence {
  host: string;
  established: number;
  peers: number;
  /** Peers not (yet) Established: "id state". */
  down: string[];
  /** Other hosts' blocks not (yet) in the Loc-RIB. */
  missing: string[];
  converged: boolean;
}

async function ask<Op extends 'status' | 'routes'>(state: LabState, a: AgentRecord, op: Op): Promise<ControlResults[Op]> {
  const p = state.processes.find((x) => x.pid === a.pid);
  if (p && isGone(p)) throw new NotRecoverable(`the weft agent of ${a.host} (pid ${a.pid}) is not running\n${tail(a.log, 20)}`);
  const r = await controlRequest<Op>(a.socket, { op } as RequestOf<Op>, 3000);
  if (!r.ok) throw new Error(`${a.host} ${op}: ${r.error}`);
  return r;
}

/** One look at one agent. */
export async function hostConvergence(t: Topology, state: LabState, a: AgentRecord): Promise<HostConvergence> {
  const { status: st } = await ask(state, a, 'status');
  const { routes } = await ask(state, a, 'routes');
  const learned = new Set(routes.filter((r) => r.source === 'peer').map((r) => r.prefix));
  const want = Object.entries(t['x-weft'].hosts)
    .filter(([h]) => h !== a.host)
    .flatMap(([, s]) => s.blocks.map(formatPrefix));
  const down = st.peers.filter((p) => p.state !== 'Established').map((p) => `${p.id} ${p.state}${p.lastError ? ` (${p.lastError})` : ''}`);
  const missing = want.filter((b) => !learned.has(b));
  const established = st.peers.length - down.length;
  return { host: a.host, established, peers: st.peers.length, down, missing, converged: st.peers.length > 0 && down.length === 0 && missing.length === 0 };
}

export interface ConvergeOptions {
  timeoutMs?: number;
  progress?: (line: string) => void;
}

/** Resolves with every host converged; throws LabError saying what is missing on timeout. */
export async function waitConverged(t: Topology, state: LabState, o: ConvergeOptions = {}): Promise<HostConvergence[]> {
  const say = o.progress ?? (() => undefined);
  const done = new Map<string, HostConvergence>();
  let last: HostConvergence[] = [];
  const start = Date.now();
  try {
    await waitFor(
      async () => {
        last = [];
        for (const a of state.agents) {
          const c = done.get(a.host) ?? (await hostConvergence(t, state, a));
          last.push(c);
          if (c.converged && !done.has(a.host)) {
            done.set(a.host, c);
            say(`converged: ${a.host}: ${c.established}/${c.peers} sessions Established, all ${Object.keys(t['x-weft'].hosts).length - 1} other hosts' blocks known (${((Date.now() - start) / 1000).toFixed(1)} s)`);
          }
        }
        return done.size === state.agents.length;
      },
      { what: 'every agent converged', timeoutMs: o.timeoutMs ?? 60_000, intervalMs: 250 },
    );
  } catch (e) {
    if (e instanceof NotRecoverable) throw new LabError(e.message);
    const lines = last
      .filter((c) => !c.converged)
      .map((c) => `  ${c.host}: ${c.established}/${c.peers} Established${c.down.length ? `; not: ${c.down.join(', ')}` : ''}${c.missing.length ? `; missing blocks: ${c.missing.join(' ')}` : ''}`);
    const logs = state.agents
      .filter((a) => !done.has(a.host))
      .map((a) => `--- ${a.log}\n${tail(a.log, 8)}`)
      .join('\n');
    throw new LabError(`the agents did not converge within ${Math.round((o.timeoutMs ?? 60_000) / 1000)} s:\n${lines.join('\n') || `  ${(e as Error).message}`}\n${logs}`);
  }
  return state.agents.map((a) => done.get(a.host) as HostConvergence);
}
