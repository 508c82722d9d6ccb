/**
 * Reading the kernel state the planner compares against, through any IpDriver: the driver answers
 * with iproute2's JSON, the pure parsers of kernel-state.ts interpret it.
 */
import type { IpDriver } from './ip-driver.js';
import { parseFdb, parseLinks, parseNeigh, parseNexthops, parseRoutes, type KernelRoute, type KernelState } from './kernel-state.js';

/** Routes of table main (both families), FDB + IPv4 neighbours of the VXLAN device, the devices. */
export async function readKernelState(d: IpDriver, vxlanDevice: string, devices: readonly string[]): Promise<KernelState> {
  const [r4, r6, rest] = await Promise.all([d.routes(4), d.routes(6), readKernelRest(d, vxlanDevice, devices)]);
  return { ...rest, routes: [...parseRoutes(r4, 4), ...parseRoutes(r6, 6)] };
}

/** Everything readKernelState reads but the routes (small: per node, not per route). */
export async function readKernelRest(d: IpDriver, vxlanDevice: string, devices: readonly string[]): Promise<KernelState> {
  const [nexthops, fdb, neigh, ...links] = await Promise.all([d.nexthops(), d.fdb(vxlanDevice), d.neighbours(vxlanDevice), ...devices.map((dev) => d.links(dev))]);
  const state: KernelState = { routes: [], fdb: parseFdb(fdb), neigh: parseNeigh(neigh), links: {}, nexthops: parseNexthops(nexthops) };
  for (const l of links) for (const link of parseLinks(l)) state.links[link.name] = link;
  return state;
}

/** Table main of one family, route by route, without holding the listing (see IpDriver.streamRoutes). */
export function streamKernelRoutes(d: IpDriver, family: 4 | 6, onRoute: (r: KernelRoute) => void): Promise<void> {
  return d.streamRoutes(family, (json) => {
    for (const r of parseRoutes([json], family)) onRoute(r);
  });
}
