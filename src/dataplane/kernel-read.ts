/**
 * Reading the kernel state the planner compares against, through any IpDriver: the driver answers
 * with iproute2's JSON, the pure parsers of kernel-state.ts interpret it.
 */
import type { IpDriver } from './ip-driver.js';
import { parseConnected, parseFdb, parseLinks, parseNeigh, parseNexthops, parseRoutes, type KernelRoute, type KernelState } from './kernel-state.js';
import { isVniDevice, VXLAN_DEVICE } from './model.js';

/** The VXLAN devices (weft.vxlan, weft.vxlan6): FDB and neighbours are read per device. */
type VxlanDevices = string | readonly string[];

/**
 * Routes of table main (both families), FDB + neighbours of the VXLAN devices, the devices, the
 * connected prefixes of every device.
 */
export async function readKernelState(d: IpDriver, vxlanDevice: VxlanDevices, devices: readonly string[]): Promise<KernelState> {
  const [r4, r6, rest] = await Promise.all([d.routes(4), d.routes(6), readKernelRest(d, vxlanDevice, devices)]);
  return { ...rest, routes: [...parseRoutes(r4, 4), ...parseRoutes(r6, 6)] };
}

/** Everything readKernelState reads but the routes (small: per node, not per route). */
export async function readKernelRest(d: IpDriver, vxlanDevice: VxlanDevices, devices: readonly string[]): Promise<KernelState> {
  const vx = typeof vxlanDevice === 'string' ? [vxlanDevice] : vxlanDevice;
  const [nexthops, all, entries, ...links] = await Promise.all([
    d.nexthops(),
    d.links(),
    Promise.all(vx.map(async (dev) => ({ dev, fdb: await d.fdb(dev), neigh: await d.neighbours(dev) }))),
    ...devices.map((dev) => d.links(dev)),
  ]);
  // Entries of weft.vxlan carry no device name (the common case stays as it was); others do.
  const tag = <T extends { dev?: string }>(dev: string, xs: T[]): T[] => (dev === VXLAN_DEVICE ? xs : xs.map((x) => ({ ...x, dev })));
  const state: KernelState = {
    routes: [],
    fdb: entries.flatMap((e) => tag(e.dev, parseFdb(e.fdb))),
    neigh: entries.flatMap((e) => tag(e.dev, parseNeigh(e.neigh))),
    links: {},
    nexthops: parseNexthops(nexthops),
    connected: parseConnected(all),
  };
  for (const l of links) for (const link of parseLinks(l)) state.links[link.name] = link;
  // Per-VNI devices of ours that are not asked for by name (a pool's VNI was removed): the
  // planner deletes them.
  for (const link of parseLinks(all)) if (isVniDevice(link.name) && !(link.name in state.links)) state.links[link.name] = link;
  return state;
}

/** Table main of one family, route by route, without holding the listing (see IpDriver.streamRoutes). */
export function streamKernelRoutes(d: IpDriver, family: 4 | 6, onRoute: (r: KernelRoute) => void): Promise<void> {
  return d.streamRoutes(family, (json) => {
    for (const r of parseRoutes([json], family)) onRoute(r);
  });
}
