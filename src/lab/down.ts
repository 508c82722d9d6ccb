/**
 * `weft lab down`: stops exactly the processes the state file records (by PID and start time:
 * SIGTERM, then SIGKILL after a grace period) and deletes exactly its namespaces, then the state
 * file and the lab directory. `ip netns del` does not kill processes inside a namespace, so the
 * processes go first.
 *
 * What a recorded process (an agent) left behind goes too, and the output says so: its children
 * as they were just before it was stopped, and, for one that had already died (kill -9, a crash),
 * the helpers found in the lab's namespaces carrying its mark (WEFT_HELPER_OF=<pid>:<start time>,
 * which src/dataplane gives every `ip`/`bridge` helper it starts). Agents normally take their
 * helpers with them (parent-death signal); this is for when they could not. Anything else still
 * running in one of our namespaces is reported, not killed.
 */
import { existsSync, rmSync } from 'node:fs';
import { run } from './exec.js';
import { cmdlineOf, descendants, environOf, isGone, terminate, track, type Tracked } from './processes.js';
import { removeState, type LabState } from './state.js';

export interface DownResult {
  stopped: number;
  /** Processes a recorded process left behind (its helpers), ended. */
  leftBehind: number;
  deleted: string[];
  problems: string[];
}

/** The environment variable src/dataplane marks its helpers with (iproute2-spawn.ts HELPER_ENV). */
const HELPER_ENV = 'WEFT_HELPER_OF';

interface Helper extends Tracked {
  owner: Tracked;
}

/** A process as the user knows it: its command (shortened) and PID. */
function shown(pid: number): string {
  const words = cmdlineOf(pid);
  const cmd = words.length === 0 ? '?' : [words[0].split('/').pop(), ...words.slice(1, 4)].join(' ');
  return `${cmd} (${pid})`;
}

/** The children of each running recorded process, before it is stopped. */
function childrenOf(owners: readonly Tracked[]): Helper[] {
  return owners.flatMap((owner) =>
    descendants(owner.pid).flatMap((pid) => {
      const t = track(pid, shown(pid));
      return t ? [{ ...t, owner }] : [];
    }),
  );
}

/** PIDs in a namespace (`ip netns pids`); [] when it cannot be read. */
async function nsPids(ns: string): Promise<number[]> {
  try {
    const r = await run('ip', ['netns', 'pids', ns], { timeoutMs: 5000 });
    return r.stdout.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return []; // the namespace may be going away
  }
}

/** Processes in the lab's namespaces marked as helpers of a recorded process. */
async function markedHelpers(state: LabState, owners: readonly Tracked[]): Promise<Helper[]> {
  const byMark = new Map(owners.map((o) => [`${o.pid}:${o.startTime}`, o]));
  const out: Helper[] = [];
  for (const { ns } of state.namespaces) {
    if (!nsExists(ns)) continue;
    for (const pid of await nsPids(ns)) {
      const mark = environOf(pid, HELPER_ENV);
      const owner = mark === undefined ? undefined : byMark.get(mark);
      const t = owner && track(pid, shown(pid));
      if (owner && t) out.push({ ...t, owner });
    }
  }
  return out;
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
  const children = childrenOf(running);
  if (running.length > 0) say(`stopping ${running.length} process${running.length === 1 ? '' : 'es'}: ${running.map((p) => `${p.label} (${p.pid})`).join(', ')}`);
  const left = await terminate(running, 5000);
  for (const p of left) problems.push(`process ${p.pid} (${p.label}) would not die`);

  // What the stopped (or earlier dead) processes left behind: ended, and said.
  const helpers = new Map<number, Helper>();
  for (const h of [...children, ...(await markedHelpers(state, procs))]) if (!isGone(h) && !helpers.has(h.pid)) helpers.set(h.pid, h);
  const stuckPids = new Set((await terminate([...helpers.values()], 2000)).map((p) => p.pid));
  for (const owner of procs) {
    const mine = [...helpers.values()].filter((h) => h.owner === owner && !stuckPids.has(h.pid));
    const n = mine.length;
    if (n > 0) say(`ended ${n} process${n === 1 ? '' : 'es'} ${owner.label} (pid ${owner.pid}) left behind: ${mine.map((h) => h.label).join(', ')}`);
  }
  const stuck = [...helpers.values()].filter((h) => stuckPids.has(h.pid));
  for (const h of stuck) problems.push(`process ${h.pid} (${h.label}), left behind by ${h.owner.label}, would not die`);

  const deleted: string[] = [];
  for (const { ns } of state.namespaces) {
    if (!nsExists(ns)) continue;
    const others = (await nsPids(ns)).filter((pid) => !helpers.has(pid));
    if (others.length > 0) problems.push(`namespace ${ns} still has processes weft lab did not start (${others.join(' ')}); they keep running`);
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
  if (left.length === 0 && stuck.length === 0 && !state.namespaces.some((n) => nsExists(n.ns))) {
    removeState(stateDir, state.key);
    if (!o.keepDir) rmSync(state.dir, { recursive: true, force: true });
  }
  return { stopped: running.length - left.length, leftBehind: helpers.size - stuck.length, deleted, problems };
}
