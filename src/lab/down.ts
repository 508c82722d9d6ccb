/**
 * `weft lab down`: stops exactly the processes the state file records (by PID and start time:
 * SIGTERM, then SIGKILL after a grace period) and deletes exactly its namespaces, then the state
 * file and the lab directory. `ip netns del` does not kill processes inside a namespace, so the
 * processes go first; anything else still running in one of our namespaces is reported, not killed.
 */
import { existsSync, rmSync } from 'node:fs';
import { run } from './exec.js';
import { isGone, terminate, type Tracked } from './processes.js';
import { removeState, type LabState } from './state.js';

export interface DownResult {
  stopped: number;
  deleted: string[];
  problems: string[];
}

export interface DownOptions {
  /** Keep the lab directory (configs, logs). */
  keepDir?: boolean;
  progress?: (line: string) => void;
}

export function nsExists(ns: string): boolean {
  return existsSync(`/run/netns/${ns}`);
}

/** Tears down what `state` records; never throws; problems are returned. */
export async function teardown(state: LabState, stateDir: string, o: DownOptions = {}): Promise<DownResult> {
  const say = o.progress ?? (() => undefined);
  const problems: string[] = [];
  const procs: Tracked[] = state.processes.map((p) => ({ pid: p.pid, startTime: p.startTime, label: p.label }));
  const running = procs.filter((p) => !isGone(p));
  if (running.length > 0) say(`stopping ${running.length} process${running.length === 1 ? '' : 'es'}: ${running.map((p) => `${p.label} (${p.pid})`).join(', ')}`);
  const left = await terminate(running, 5000);
  for (const p of left) problems.push(`process ${p.pid} (${p.label}) would not die`);

  const deleted: string[] = [];
  for (const { ns } of state.namespaces) {
    if (!nsExists(ns)) continue;
    try {
      const r = await run('ip', ['netns', 'pids', ns], { timeoutMs: 5000 });
      const others = r.stdout.split(/\s+/).filter(Boolean);
      if (others.length > 0) problems.push(`namespace ${ns} still has processes weft lab did not start (${others.join(' ')}); they keep running`);
    } catch {
      // the namespace may be going away
    }
    try {
      await run('ip', ['netns', 'delete', ns], { timeoutMs: 10_000 });
      deleted.push(ns);
    } catch (e) {
      if (nsExists(ns)) problems.push(`ip netns delete ${ns}: ${(e as Error).message.split('\n')[0]}`);
      else deleted.push(ns);
    }
  }
  if (deleted.length > 0) say(`deleted ${deleted.length} namespace${deleted.length === 1 ? '' : 's'} (wl-${state.id}-*)`);
  // Keep the record while anything of the lab is left, so a second `down` can finish the job.
  if (left.length === 0 && !state.namespaces.some((n) => nsExists(n.ns))) {
    removeState(stateDir, state.key);
    if (!o.keepDir) rmSync(state.dir, { recursive: true, force: true });
  }
  return { stopped: running.length - left.length, deleted, problems };
}
