// A namespace's kernel routes as `ip -json route` gives them, for live tests that check what a
// routing daemon (weft, BIRD) wrote.
import type { Lab } from './netns.js';

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
