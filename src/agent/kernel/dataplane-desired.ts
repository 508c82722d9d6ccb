/**
 * From the Loc-RIB to the data plane's desired state: a pure function of (best routes, pools, this
 * node) with no kernel and no time in it, so it is unit-tested on its own
 * (test/unit/agent-dataplane.test.ts). dataplane-bridge.ts feeds it and hands the result to
 * src/dataplane.
 *
 * Per best route (DESIGN.md "Data plane: the route shapes"):
 * - this node's blocks -> blackholes (whatever the RIB's best path for the prefix is);
 * - a prefix inside a pool, learned over iBGP (mesh peer or route reflector) -> a route to the node
 *   that announced it. The node's underlay address is the NEXT_HOP: mesh peers send next-hop self,
 *   and RFC 4456 10 reflectors leave it unchanged, so it is the originating node. The shape comes
 *   from decideShape(pool.encapsulation, pool.tunnel, node.address, next hop);
 * - a prefix inside a pool learned from an eBGP peer (a top-of-rack router) -> direct via that
 *   NEXT_HOP, whatever the pool says. Chosen because an eBGP next hop is the router itself (RFC
 *   4271 5.1.3: next hop self towards eBGP), not the node that owns the block: we do not know that
 *   node's underlay address, so we cannot tunnel to it; and a ToR that announces a block has it in
 *   its own table, so the underlay already routes the block's addresses natively. Tunnelling to
 *   the ToR would need the ToR to terminate VXLAN, which it does not;
 * - a prefix outside every pool (accepted from an external peer by import policy) -> direct via
 *   its NEXT_HOP.
 * VTEP MAC of a VXLAN route: the EVPN Router's MAC extended community on the route (RFC 9135 8.1,
 * signalled by the sender on each block, see blockAttributes) when present, else derived from the
 * node's underlay address (model.ts vtepMac). One MAC per node: the first signalled one wins, so
 * the planner never sees two MACs for one VTEP.
 */
import { isIpv4 } from '../../lib/address.js';
import { isV4, parsePrefix, prefixContains, type Prefix } from '../../lib/prefix.js';
import {
  decideShape,
  ipipDevice,
  IPIP_OVERHEAD,
  vtepMac,
  VXLAN_OVERHEAD,
  vxlanDevice,
  type DesiredState,
  type Encapsulation,
  type NodeRef,
  type RemoteRoute,
  type RouteShape,
  type TunnelType,
} from '../../dataplane/model.js';
import type { ExtCommunity, PathAttribute } from '../../wire/types.js';

/** RFC 9012 / IANA "BGP Tunnel Encapsulation Attribute Tunnel Types": the two weft uses. */
export const TUNNEL_TYPE = { ipip: 7, vxlan: 8 } as const satisfies Record<TunnelType, number>;

export interface PoolLike {
  cidr: Prefix;
  encapsulation: Encapsulation;
  tunnel: TunnelType;
}

/** One Loc-RIB best path, reduced to what the data plane needs. */
export interface RibRoute {
  prefix: Prefix;
  /** NEXT_HOP of the best path ('' for a local route). */
  nextHop: string;
  source: 'local' | 'peer';
  /** The peer the best path came from (its id), '<local>' for own routes. */
  peerId: string;
  peerAddress: string;
  peerType: 'ibgp' | 'ebgp';
  extCommunities: readonly ExtCommunity[];
}

export interface DesiredContext {
  /** This node's underlay address with its subnet length ("10.0.1.11/24"). */
  nodeAddress: string;
  pools: readonly PoolLike[];
  localBlocks: readonly Prefix[];
  /** Node names by underlay address (mesh nodes), for readable NodeRefs. */
  nodeNames?: ReadonlyMap<string, string>;
  underlayDevice: string;
  underlayMtu: number;
  vni: number;
  port: number;
}

/** Shapes as `weft routes` shows them: the three route shapes, own blocks, and routes not written. */
export type ViewShape = RouteShape | 'blackhole' | 'local' | 'none';

/** The data plane's decision for one prefix: the shape and why (for routes / explain). */
export interface RouteDecision {
  shape: ViewShape;
  reason: string;
  /** The route for the planner; absent when nothing is written for this prefix. */
  route?: RemoteRoute;
  /** The pool the prefix is in, if any. */
  pool?: Prefix;
  macSource?: 'signalled' | 'derived';
}

const addressOf = (nodeAddress: string) => nodeAddress.split('/')[0];

export function poolOf(prefix: Prefix, pools: readonly PoolLike[]): PoolLike | undefined {
  return pools.find((p) => prefixContains(p.cidr, prefix));
}

/** The Router's MAC extended community on a route, if any (RFC 9135 8.1). */
export function signalledMac(ext: readonly ExtCommunity[]): string | undefined {
  for (const c of ext) if (c.type === 'router-mac') return c.mac.toLowerCase();
  return undefined;
}

/** The data plane's decision for one best route (not a local block: the caller handles those). */
export function decideRoute(r: RibRoute, ctx: DesiredContext): RouteDecision {
  const pool = poolOf(r.prefix, ctx.pools);
  const self = addressOf(ctx.nodeAddress);
  const base = pool ? { pool: pool.cidr } : {};
  if (r.source === 'local') return { ...base, shape: 'local', reason: 'originated by this node (not a block of ours): nothing to write' };
  const nh = r.nextHop;
  if (nh === '' || nh === self) return { ...base, shape: 'local', reason: `next hop ${nh || '(none)'} is this node: nothing to write` };
  const v4 = isV4(r.prefix);
  if (isIpv4(nh) !== v4) return { ...base, shape: 'none', reason: `next hop ${nh} is not of the prefix's address family: not written` };
  const name = ctx.nodeNames?.get(nh) ?? nh;
  const direct = (reason: string): RouteDecision => ({ ...base, shape: 'direct', reason, route: { prefix: r.prefix, node: { name, underlayAddress: nh }, shape: 'direct', reason } });
  if (!pool) return direct(`outside every pool (accepted by import policy from ${r.peerId}) -> direct via ${nh}`);
  if (r.peerType === 'ebgp') {
    return direct(`learned from eBGP peer ${r.peerId} (a router that has the block in its table) -> direct via ${nh}, whatever pool encapsulation ${pool.encapsulation} says`);
  }
  const d = decideShape(pool.encapsulation, pool.tunnel, ctx.nodeAddress, nh);
  if (d.shape === 'direct') return direct(d.reason);
  if (!v4 || !isIpv4(self)) return { ...base, shape: 'none', reason: `${d.reason}, but weft tunnels IPv4 only: not written` };
  const node: NodeRef = { name, underlayAddress: nh };
  let macSource: RouteDecision['macSource'];
  if (d.shape === 'vxlan') {
    const mac = signalledMac(r.extCommunities);
    if (mac !== undefined) node.mac = mac;
    macSource = mac !== undefined ? 'signalled' : 'derived';
  }
  return { ...base, shape: d.shape, reason: d.reason, macSource, route: { prefix: r.prefix, node, shape: d.shape, reason: d.reason } };
}

/** The pools that tunnel (encapsulation other than never), per tunnel type. */
function tunnelsUsed(pools: readonly PoolLike[]): Set<TunnelType> {
  return new Set(pools.filter((p) => p.encapsulation !== 'never').map((p) => p.tunnel));
}

/**
 * The MTU containers must use: underlay - 50 when some pool may use VXLAN, - 20 for IP-in-IP
 * (the smaller when both), the underlay MTU when no pool tunnels.
 */
export function podMtu(pools: readonly PoolLike[], underlayMtu: number): { mtu: number; reason: string } {
  const t = tunnelsUsed(pools);
  if (t.has('vxlan')) return { mtu: underlayMtu - VXLAN_OVERHEAD, reason: `VXLAN: underlay MTU ${underlayMtu} - ${VXLAN_OVERHEAD}` };
  if (t.has('ipip')) return { mtu: underlayMtu - IPIP_OVERHEAD, reason: `IP-in-IP: underlay MTU ${underlayMtu} - ${IPIP_OVERHEAD}` };
  return { mtu: underlayMtu, reason: `no pool tunnels: the underlay MTU ${underlayMtu}` };
}

/**
 * The desired state from the decisions (one per learned prefix) and the local blocks. The
 * tunnel devices exist whenever a pool may tunnel with them (not only while some route uses one):
 * a crossSubnet mesh whose peers are all in one subnet keeps its device, so a new node in another
 * subnet needs no device creation, and a mode change never deletes and re-creates it.
 */
export function assembleDesired(decisions: Iterable<RouteDecision>, ctx: DesiredContext): DesiredState {
  const local = new Set(ctx.localBlocks);
  const routes: RemoteRoute[] = [];
  const macs = new Map<string, string>();
  for (const d of decisions) {
    const r = d.route;
    if (!r || local.has(r.prefix)) continue;
    if (r.shape === 'vxlan') {
      // One MAC per node: the first signalled one, else the derived one.
      const have = macs.get(r.node.underlayAddress);
      if (have === undefined) macs.set(r.node.underlayAddress, r.node.mac ?? vtepMac(r.node.underlayAddress));
    }
    routes.push(r);
  }
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i];
    if (r.shape !== 'vxlan') continue;
    const mac = macs.get(r.node.underlayAddress)!;
    if (r.node.mac !== mac) routes[i] = { ...r, node: { ...r.node, mac } };
  }
  const state: DesiredState = { localBlocks: [...ctx.localBlocks], routes, underlayDevice: ctx.underlayDevice };
  const t = tunnelsUsed(ctx.pools);
  const self = addressOf(ctx.nodeAddress);
  if (t.has('vxlan') && isIpv4(self)) {
    state.vxlan = vxlanDevice({ underlayDevice: ctx.underlayDevice, localAddress: self, underlayMtu: ctx.underlayMtu, localBlocks: ctx.localBlocks, vni: ctx.vni, port: ctx.port });
  }
  if (t.has('ipip')) state.ipip = ipipDevice(ctx.underlayMtu);
  return state;
}

/** The whole computation in one call: best routes -> decisions by prefix + desired state. */
export function computeDesired(best: Iterable<RibRoute>, ctx: DesiredContext): { state: DesiredState; decisions: Map<Prefix, RouteDecision> } {
  const decisions = new Map<Prefix, RouteDecision>();
  const local = new Set(ctx.localBlocks);
  for (const r of best) if (!local.has(r.prefix)) decisions.set(r.prefix, decideRoute(r, ctx));
  return { state: assembleDesired(decisions.values(), ctx), decisions };
}

/** The decision shown for one of this node's blocks. */
export function blockDecision(block: Prefix, pools: readonly PoolLike[]): RouteDecision {
  const pool = poolOf(block, pools);
  return { shape: 'blackhole', reason: 'local block: blackhole (addresses with no pod go nowhere; each pod has its own /32)', ...(pool ? { pool: pool.cidr } : {}) };
}

/**
 * The path attributes of one of this node's blocks: ORIGIN IGP, plus (RFC 4360 extended
 * communities) the RFC 9012 4.1 Encapsulation community naming the pool's tunnel (type 8 VXLAN or
 * 7 IP-in-IP) when the pool tunnels, and the RFC 9135 8.1 Router's MAC community with this node's
 * VTEP MAC when the pool's tunnel is VXLAN, so receivers need not derive it.
 */
export function blockAttributes(block: Prefix, pools: readonly PoolLike[], nodeAddress: string, vtepMacOverride?: string): PathAttribute[] {
  const attrs: PathAttribute[] = [{ type: 'origin', flags: 0x40, origin: 0 }];
  const pool = poolOf(block, pools);
  if (!pool) return attrs;
  const ext: ExtCommunity[] = [];
  if (pool.encapsulation !== 'never') ext.push({ type: 'encapsulation', tunnelType: TUNNEL_TYPE[pool.tunnel] });
  const self = addressOf(nodeAddress);
  if (pool.tunnel === 'vxlan' && isIpv4(self)) ext.push({ type: 'router-mac', mac: (vtepMacOverride ?? vtepMac(self)).toLowerCase() });
  // 0xc0: optional transitive (RFC 4360 2).
  if (ext.length > 0) attrs.push({ type: 'ext-communities', flags: 0xc0, communities: ext });
  return attrs;
}

/** The host prefix (/32 or /128) of an address, for longest-match lookups. */
export function hostPrefix(address: string): Prefix {
  return parsePrefix(`${address}/${isIpv4(address) ? 32 : 128}`);
}

