/**
 * What `weft routes` and `weft explain` show of the data plane: per route its shape, the reason
 * and whether the kernel has it; per address the longest match, pool, node, shape and the
 * kernel's own answer (`ip route get`). Read-only: nothing here changes the kernel.
 */
import { isIpv4 } from '../../lib/address.js';
import { formatPrefix, parsePrefix, prefixContains, prefixLength, type Prefix } from '../../lib/prefix.js';
import type { IpDriver } from '../../dataplane/ip-driver.js';
import { isWeftRoute, parseRoutes, type KernelRoute } from '../../dataplane/kernel-state.js';
import { IPIP_DEVICE, nodeVtep, underlayFamily, vniDeviceName, VXLAN6_DEVICE, VXLAN_DEVICE } from '../../dataplane/model.js';
import type { ExplainView, RouteView } from '../control/protocol.js';
import type { AgentView } from '../view.js';
import { hostPrefix, type RouteDecision, type ViewShape } from './dataplane-desired.js';

/** What the views need of the data-plane bridge. */
export interface ViewSource {
  readonly driver: IpDriver;
  readonly vxlanDevice: string;
  decision(prefix: Prefix): RouteDecision | undefined;
  /** Why the data plane did not write a prefix's route (its last plan), if it did not. */
  problem?(prefixText: string): string | undefined;
}

/** Weft's routes in the kernel now (both families). */
export async function kernelRoutes(src: ViewSource): Promise<Map<string, KernelRoute>> {
  const [r4, r6] = await Promise.all([src.driver.routes(4), src.driver.routes(6)]);
  const out = new Map<string, KernelRoute>();
  for (const r of [...parseRoutes(r4, 4), ...parseRoutes(r6, 6)]) if (isWeftRoute(r) && r.metric === 0) out.set(r.dst, r);
  return out;
}

/** The gateways of a kernel route (each next hop's, for a multipath route), sorted. */
function gatewaysOf(k: KernelRoute): string[] {
  const gws = k.multipath ? (k.hops ?? []).map((h) => h.gateway ?? '') : [k.gateway ?? ''];
  return gws.sort();
}

/** The next hops the decision puts in the kernel (the underlay addresses of its nodes), sorted. */
export function decisionVia(d: RouteDecision | undefined): string[] {
  const r = d?.route;
  if (!r) return [];
  return [...new Set((r.nexthops ?? [r.node]).map((n) => n.underlayAddress))].sort();
}

/** Whether the kernel route matches the decision's shape (and, for a direct route, every next hop). */
export function installed(_src: ViewSource, prefix: Prefix, d: RouteDecision | undefined, kernel: ReadonlyMap<string, KernelRoute>): boolean {
  const k = kernel.get(formatPrefix(prefix));
  if (!k || !d) return false;
  const r = d.route;
  switch (d.shape) {
    case 'blackhole':
      return k.type === 'blackhole';
    case 'direct':
      return k.type === 'unicast' && gatewaysOf(k).join(',') === decisionVia(d).join(',');
    case 'vxlan': {
      if (k.type !== 'unicast' || !r) return false;
      const fam = underlayFamily(r.node);
      const dev = r.vni !== undefined ? vniDeviceName(fam, r.vni) : fam === 4 ? VXLAN_DEVICE : VXLAN6_DEVICE;
      return k.dev === dev && k.gateway === nodeVtep(r.node, prefix).address;
    }
    case 'ipip':
      return k.type === 'unicast' && k.dev === IPIP_DEVICE && k.gateway === r?.node.underlayAddress;
    default:
      return false;
  }
}

/** `weft routes`: each Loc-RIB row gains shape, why and installed. */
export async function annotateRoutes(src: ViewSource, views: RouteView[]): Promise<RouteView[]> {
  const kernel = await kernelRoutes(src);
  for (const v of views) {
    const p = parsePrefix(v.prefix);
    const d = src.decision(p);
    v.shape = d?.shape ?? 'none';
    v.why = d?.reason ?? 'no data-plane decision yet';
    v.installed = installed(src, p, d, kernel);
    // A route the planner refused (a next hop on no connected subnet, a foreign route in the
    // slot): the why says so, not only `weft status`.
    const problem = v.installed ? undefined : src.problem?.(v.prefix);
    if (problem !== undefined) v.why = `${v.why}; ${problem.slice(problem.indexOf(': ') + 2)}`;
    const via = decisionVia(d);
    if (via.length > 0) v.via = via;
  }
  return views;
}

/** `weft explain ADDRESS`: longest match, pool, node, shape, why, and the kernel's own answer. */
export async function explainAddress(src: ViewSource, agent: AgentView, address: string, views: readonly RouteView[]): Promise<ExplainView> {
  if (!isIpv4(address) && !address.includes(':')) throw new Error(`not an IP address: ${JSON.stringify(address)}`);
  const host = hostPrefix(address);
  let best: { p: Prefix; v: RouteView } | undefined;
  for (const v of views) {
    const p = parsePrefix(v.prefix);
    if (prefixContains(p, host) && (!best || prefixLength(p) > prefixLength(best.p))) best = { p, v };
  }
  let kernel: Record<string, unknown> | null = null;
  let kernelError: string | undefined;
  try {
    const out = (await src.driver.routeGet(address)) as Record<string, unknown>[];
    kernel = out[0] ?? null;
  } catch (e) {
    kernelError = (e as Error).message;
  }
  const pools = agent.config.pools;
  const pool = pools.find((x) => prefixContains(x.cidr, host));
  const iso = isolationNote(agent, pool);
  const base: ExplainView = { address, route: null, pool: pool ? formatPrefix(pool.cidr) : null, block: null, node: null, shape: null, why: '', installed: false, kernel, ...(kernelError ? { kernelError } : {}), ...(iso ? { isolation: iso } : {}) };
  if (!best) return { ...base, why: 'no Loc-RIB route contains this address: weft writes nothing for it (the kernel answer below is from other routes)' };
  const { p, v } = best;
  const d = src.decision(p);
  const inKernel = await kernelRoutes(src);
  const r = d?.route;
  const out: ExplainView = {
    ...base,
    route: { prefix: v.prefix, source: v.source, peer: v.peer, peerAddress: v.peerAddress, nextHop: v.nextHop, bestReason: v.reason },
    block: pool && prefixContains(pool.cidr, p) ? v.prefix : null,
    node: v.source === 'local' ? { name: agent.config.node.name, address: agent.config.node.address.address } : r ? { name: r.node.name, address: r.node.underlayAddress } : null,
    shape: d?.shape ?? null,
    why: d?.reason ?? 'no data-plane decision yet',
    installed: installed(src, p, d, inKernel),
  };
  if (r && r.shape === 'vxlan') out.mac = { value: nodeVtep(r.node).mac, source: d?.macSource ?? 'derived' };
  return out;
}

/**
 * Why pods of other pools cannot reach this address (or it them): its pool is isolated, or it
 * is in a pool that an isolated pool is kept apart from. undefined: no isolation applies.
 */
function isolationNote(agent: AgentView, pool: AgentView['config']['pools'][number] | undefined): string | undefined {
  if (!pool) return undefined;
  const pools = agent.config.pools;
  const where = "host protection drops it on every host (nftables table inet weft, chain forward)";
  if (pool.isolated) {
    const others = pools.filter((q) => q !== pool).map((q) => formatPrefix(q.cidr));
    return others.length ? `pool ${formatPrefix(pool.cidr)} is isolated: traffic between it and ${others.join(', ')} is dropped; ${where}` : undefined;
  }
  const apart = pools.filter((q) => q !== pool && q.isolated).map((q) => formatPrefix(q.cidr));
  return apart.length ? `isolated pool(s) ${apart.join(', ')} cannot reach this address, nor it them; ${where}` : undefined;
}
