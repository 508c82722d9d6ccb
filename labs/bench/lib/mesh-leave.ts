// A host that leaves and joins again, on a built Mesh: its agent stopped with SIGTERM (weft's
// graceful stop: every session closed with a Cease NOTIFICATION; the benchmark's agents run
// without graceful restart, so the peers drop its routes at once, and its own kernel keeps what it
// had, keepRoutesOnExit) until its block is gone from every other kernel; then the agent started
// again from the same config until its block is back in every other kernel, its RIB holds every
// other host's block, and every agent has all its peers Established again.
import { waitFor } from '../../../src/lab/wait.js';
import type { Mesh } from './mesh-hosts.js';
import { allSee, type Spread } from './mesh-scenarios.js';

export interface LeaveResult {
  run: number;
  host: string;
  /** ms from SIGTERM until its block was deleted from every other kernel. */
  gone: Spread;
  /** ms from SIGTERM until the agent process had exited. */
  exitMs?: number;
  /** ms from starting it again until it answered on its control socket. */
  upMs?: number;
  /** ms from starting it again until its block was back in every other kernel. */
  back?: Spread;
  /** ms from starting it again until its RIB held the block of every other host. */
  learnedMs?: number;
  /** ms from starting it again until every agent had all its peers Established. */
  establishedMs?: number;
  recoverError?: string;
}

/** Run k: host h(k+2) (with reflectors: client k+2) stops with SIGTERM, is timed out of every kernel, then started again and timed back in. */
export async function leaveJoinOnce(mesh: Mesh, k: number, timeoutMs: number, notes: Set<string>): Promise<LeaveResult> {
  const movers = mesh.movers();
  const victim = movers[(k + 1) % movers.length]!;
  const t0 = Date.now();
  victim.agent.proc.signal('SIGTERM');
  const gone = await allSee(mesh, victim, victim.block, true, t0, timeoutMs, notes);
  const res: LeaveResult = { run: k + 1, host: victim.name, gone };
  try {
    const old = victim.agent;
    await waitFor(() => !old.alive(), { what: `${victim.name}: agent exited after SIGTERM`, timeoutMs, intervalMs: 50, diagnose: () => old.logTail(10) });
    res.exitMs = Date.now() - t0;
    const t1 = Date.now();
    await mesh.restart(victim);
    res.upMs = Date.now() - t1;
    const others = new Set(mesh.others(victim).map((h) => h.block));
    const [back] = await Promise.all([
      allSee(mesh, victim, victim.block, false, t1, timeoutMs, notes),
      waitFor(
        async () => {
          const have = new Set(await victim.agent.learned());
          return [...others].every((b) => have.has(b));
        },
        { what: `${victim.name}: every other host's block learned again`, timeoutMs, intervalMs: 100, diagnose: () => victim.agent.logTail(10) },
      ).then(() => (res.learnedMs = Date.now() - t1)),
    ]);
    res.back = back;
    await mesh.waitEstablished(Math.max(1000, t1 + timeoutMs - Date.now()));
    res.establishedMs = Date.now() - t1;
  } catch (e) {
    res.recoverError = (e as Error).message.split('\n')[0];
  }
  return res;
}
