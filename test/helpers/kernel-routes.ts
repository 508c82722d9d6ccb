// A namespace's kernel routes as `ip -json route` gives them, for live tests that check what a
// routing daemon (weft, BIRD) wrote.
import { readFileSync } from 'node:fs';
import type { Lab, ProcHandle } from './netns.js';
import { waitFor } from './wait.js';

/** One route of `ip -json route show` (the fields tests use; multipath routes have `nexthops`). */
export interface KernelRoute {
  dst: string;
  type?: string;
  gateway?: string;
  dev?: string;
  /** Name from rt_protos (weft, bird, kernel...) or the number when unnamed; absent for boot. */
  protocol?: string;
  flags?: string[];
  nexthops?: { gateway?: string; dev?: string; weight?: number; flags?: string[] }[];
}

/** weft's route protocol number (labs/install-deps.sh names it in /etc/iproute2/rt_protos.d). */
export const WEFT_PROTO = 249;

/** The main table of `ns`, optionally only the routes of one protocol (name; weft also matches 249). */
export async function kernelRoutes(lab: Lab, ns: string, protocol?: string): Promise<KernelRoute[]> {
  const all = JSON.parse((await lab.ip(ns, '-json', 'route', 'show', 'table', 'main')).stdout) as KernelRoute[];
  if (protocol === undefined) return all;
  const names = protocol === 'weft' ? ['weft', String(WEFT_PROTO)] : [protocol];
  return all.filter((r) => r.protocol !== undefined && names.includes(r.protocol));
}

/** The address of the probe route `startRouteMonitor` writes; filter its lines out of the log. */
export const MONITOR_PROBE = '192.0.2.1';

/**
 * `ip -o monitor route` in `ns`, once it is known to be listening: `ip monitor` prints nothing
 * until something changes, and may subscribe after the first change, so a probe route is deleted
 * and added again (a replace of an identical route notifies nothing) until the monitor shows it.
 * The probe route is left in place; `stopRouteMonitor` removes it.
 */
export async function startRouteMonitor(lab: Lab, ns: string, label: string): Promise<ProcHandle> {
  const monitor = lab.spawnIn(ns, 'ip', ['-o', 'monitor', 'route'], { label });
  await waitFor(
    async () => {
      await lab.exec(ns, 'ip', ['route', 'del', `${MONITOR_PROBE}/32`, 'dev', 'eth0'], { okCodes: [0, 2] });
      await lab.ip(ns, 'route', 'add', `${MONITOR_PROBE}/32`, 'dev', 'eth0');
      return readFileSync(monitor.logPath, 'utf8').includes(MONITOR_PROBE);
    },
    { what: 'ip monitor listening', timeoutMs: 10_000, intervalMs: 100 },
  );
  return monitor;
}

export async function stopRouteMonitor(lab: Lab, ns: string, monitor: ProcHandle): Promise<void> {
  monitor.signal('SIGTERM');
  await lab.exec(ns, 'ip', ['route', 'del', `${MONITOR_PROBE}/32`, 'dev', 'eth0'], { okCodes: [0, 2] });
}
