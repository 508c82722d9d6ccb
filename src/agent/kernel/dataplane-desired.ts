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
import { isIpv4, unmapIpv4 } from '../../lib/address.js';
import { isV4, parsePrefix, prefixContains, type Prefix } from '../../lib/prefix.js';
import {
  decideShape,
  ipipDevice,
  IPIP_OVERHEAD,
  vtepMac,
  VXLAN6_OVERHEAD,
  VXLAN_OVERHEAD,
  vniDeviceName,
  vxlanDevice,
  type DesiredState,
  type Encapsulation,
  type NodeRef,
  type RemoteRoute,
  type RouteShape,
  type TunnelType,
} from '../../dataplane/model.js';
import type { ExtCommunity, PathAttribute } from '../../wire/types.js';
import { vxlanTunnelAttribute } from '../../wire/attr-build.js';

/** RFC 9012 / IANA "BGP Tunnel Encapsulation Attribute Tunnel Types": the two weft uses. */
export const TUNNEL_TYPE = { ipip: 7, vxlan: 8 } as const satisfies Record<TunnelType, number>;

export interface PoolLike {
  cidr: Prefix;
  encapsulation: Encapsulation;
  tunnel: TunnelType;
  /** The pool's own VXLAN VNI (default: the node's vxlan.vni). */
  vni?: number;
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
  /** The VXLAN tunnel the sender signalled (RFC 9012 Tunnel Encapsulation attribute), if any. */
  tunnel?: { vni?: number; mac?: string };
  /** The path came through a route reflector (ORIGINATOR_ID set): the peer is not the node. */
  reflected?: boolean;
  /** ECMP: the NEXT_HOPs of every equal best path (the Loc-RIB's multipath set), best first. */
  multipathNextHops?: readonly string[];
}

export interface DesiredContext {
  /** This node's underlay address with its subnet length ("10.0.1.11/24"). */
  nodeAddress: string;
  /** Its underlay address of the other family, if any (node.address6 / node.address4), with length. */
  otherAddress?: string;
  /** VNIs other nodes signalled (RFC 9012) that no local pool names: they need devices too. */
  signalledVnis?: readonly number[];
  /** The device and MTU holding otherAddress (underlayDevice holds nodeAddress). */
  otherUnderlay?: { device: string; mtu: number };
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

/** This node's underlay address (with length) of a family, if it has one. */
export function underlayOf(ctx: Pick<DesiredContext, 'nodeAddress' | 'otherAddress'>, family: 4 | 6): string | undefined {
  for (const a of [ctx.nodeAddress, ctx.otherAddress]) if (a !== undefined && isIpv4(addressOf(a)) === (family === 4)) return a;
  return undefined;
}

/**
 * The underlay address a NEXT_HOP stands for: itself, or the IPv4 address inside an IPv4-mapped
 * one (a node with no IPv6 underlay announces its IPv6 blocks with `::ffff:<its IPv4 address>`).
 */
export function underlayOfNextHop(nextHop: string): string {
  return unmapIpv4(nextHop) ?? nextHop;
}

export function poolOf(prefix: Prefix, pools: readonly PoolLike[]): PoolLike | undefined {
  return pools.find((p) => prefixContains(p.cidr, prefix));
}

/** The Router's MAC extended community on a route, if any (RFC 9135 8.1). */
export function signalledMac(ext: readonly ExtCommunity[]): string | undefined {
  for (const c of ext) if (c.type === 'router-mac') return c.mac.toLowerCase();
  return undefined;
}

/**
 * The data plane's decision for one best route (not a local block: the caller handles those).
 *
 * Families: the route's gateway is the node's underlay address (the NEXT_HOP, unmapped). An IPv4
 * route may go via an IPv6 gateway (RFC 8950: `via inet6`); an IPv6 route cannot have an IPv4
 * gateway (the kernel refuses it), so an IPv6 block of a node known only by its IPv4 address goes
 * through VXLAN over IPv4 (weft.vxlan, link-local gateway) or is not written. A VXLAN route uses
 * the device over the node's underlay family (weft.vxlan / weft.vxlan6), which needs a local
 * underlay address of that family. IP-in-IP carries IPv4 over IPv4 only.
 */
export function decideRoute(r: RibRoute, ctx: DesiredContext): RouteDecision {
  const pool = poolOf(r.prefix, ctx.pools);
  const base = pool ? { pool: pool.cidr } : {};
  if (r.source === 'local') return { ...base, shape: 'local', reason: 'originated by this node (not a block of ours): nothing to write' };
  const nh = r.nextHop;
  const under = nh === '' ? '' : underlayOfNextHop(nh);
  const fam: 4 | 6 = isIpv4(under) ? 4 : 6;
  const mine = underlayOf(ctx, fam);
  if (under === '' || (mine !== undefined && addressOf(mine) === under)) return { ...base, shape: 'local', reason: `next hop ${nh || '(none)'} is this node: nothing to write` };
  const v4 = isV4(r.prefix);
  // Named by its next hop, or - straight from the node, not reflected - by the peer it came from
  // (a mesh node's IPv6 next hop is not the address its session is configured with).
  const name = ctx.nodeNames?.get(nh) ?? ctx.nodeNames?.get(under) ?? (r.reflected ? undefined : ctx.nodeNames?.get(r.peerAddress)) ?? under;
  const via = under === nh ? nh : `${under} (from ${nh})`;
  const noV4Gateway = !v4 && fam === 4;
  const direct = (reason: string): RouteDecision => {
    if (noV4Gateway) return { ...base, shape: 'none', reason: `${reason}, but an IPv6 route cannot have the IPv4 gateway ${under}: not written` };
    const route: RemoteRoute = { prefix: r.prefix, node: { name, underlayAddress: under }, shape: 'direct', reason };
    const hops = [...new Set((r.multipathNextHops ?? []).map(underlayOfNextHop))].filter((a) => isIpv4(a) === (fam === 4));
    if (hops.length > 1) {
      route.nexthops = hops.map((a) => ({ name: ctx.nodeNames?.get(a) ?? a, underlayAddress: a }));
      route.reason = `${reason}; ECMP over ${hops.join(', ')}`;
    }
    return { ...base, shape: 'direct', reason: route.reason, route };
  };
  if (!pool) return direct(`outside every pool (accepted by import policy from ${r.peerId}) -> direct via ${via}`);
  if (r.peerType === 'ebgp') {
    return direct(`learned from eBGP peer ${r.peerId} (a router that has the block in its table) -> direct via ${via}, whatever pool encapsulation ${pool.encapsulation} says`);
  }
  // Without a local address of the node's family nothing is "same subnet".
  const d = decideShape(pool.encapsulation, pool.tunnel, mine ?? (fam === 4 ? `${under}/32` : `${under}/128`), under);
  let shape = d.shape;
  let reason = mine === undefined && pool.encapsulation === 'crossSubnet' ? `crossSubnet: this node has no IPv${fam} underlay address -> ${pool.tunnel}` : d.reason;
  if (shape === 'direct' && noV4Gateway && pool.encapsulation !== 'never' && pool.tunnel === 'vxlan') {
    shape = 'vxlan';
    reason = `${reason}, but an IPv6 route cannot have the IPv4 gateway ${under} -> vxlan`;
  }
  if (shape === 'direct') return direct(reason);
  if (shape === 'ipip' && (!v4 || fam !== 4)) return { ...base, shape: 'none', reason: `${reason}, but IP-in-IP carries IPv4 over IPv4 only: not written` };
  if (mine === undefined) return { ...base, shape: 'none', reason: `${reason}, but this node has no IPv${fam} underlay address for the tunnel to ${under}: not written` };
  const node: NodeRef = { name, underlayAddress: under };
  let macSource: RouteDecision['macSource'];
  const route: RemoteRoute = { prefix: r.prefix, node, shape, reason };
  if (shape === 'vxlan') {
    const mac = signalledMac(r.extCommunities) ?? r.tunnel?.mac;
    if (mac !== undefined) node.mac = mac;
    macSource = mac !== undefined ? 'signalled' : 'derived';
    // The VNI the sender signalled (RFC 9012) wins over our own pool's idea of it.
    const signalled = r.tunnel?.vni;
    const vni = signalled ?? pool.vni ?? ctx.vni;
    if (vni !== ctx.vni) {
      route.vni = vni;
      route.reason = reason = `${reason} (VNI ${vni}, ${signalled !== undefined ? 'signalled by the node' : "the pool's own overlay"})`;
    }
  }
  return { ...base, shape, reason, macSource, route };
}

/** The VNIs of VXLAN pools other than the node's default one, ascending. */
export function otherVnis(ctx: Pick<DesiredContext, 'pools' | 'vni' | 'signalledVnis'>): number[] {
  const vnis = new Set<number>((ctx.signalledVnis ?? []).filter((v) => v !== ctx.vni));
  for (const p of ctx.pools) if (p.encapsulation !== 'never' && p.tunnel === 'vxlan' && p.vni !== undefined && p.vni !== ctx.vni) vnis.add(p.vni);
  return [...vnis].sort((a, b) => a - b);
}

/** The pools that tunnel (encapsulation other than never), per tunnel type. */
function tunnelsUsed(pools: readonly PoolLike[]): Set<TunnelType> {
  return new Set(pools.filter((p) => p.encapsulation !== 'never').map((p) => p.tunnel));
}

/**
 * The MTU containers must use: the underlay's - 50 when some pool may use VXLAN over IPv4, - 70
 * over IPv6 (the smallest of the underlays this node tunnels over), - 20 for IP-in-IP; the
 * underlay MTU when no pool tunnels. `underlay`: the MTU of the IPv4 underlay device, or the MTU
 * per underlay family.
 */
export function podMtu(pools: readonly PoolLike[], underlay: number | { v4?: number; v6?: number }): { mtu: number; reason: string } {
  const t = tunnelsUsed(pools);
  const u = typeof underlay === 'number' ? { v4: underlay } : underlay;
  const base = Math.min(u.v4 ?? Infinity, u.v6 ?? Infinity);
  if (t.has('vxlan')) {
    const over4 = u.v4 === undefined ? Infinity : u.v4 - VXLAN_OVERHEAD;
    const over6 = u.v6 === undefined ? Infinity : u.v6 - VXLAN6_OVERHEAD;
    if (over6 < over4) return { mtu: over6, reason: `VXLAN over IPv6: underlay MTU ${u.v6} - ${VXLAN6_OVERHEAD}` };
    return { mtu: over4, reason: `VXLAN: underlay MTU ${u.v4} - ${VXLAN_OVERHEAD}` };
  }
  if (t.has('ipip') && u.v4 !== undefined) return { mtu: u.v4 - IPIP_OVERHEAD, reason: `IP-in-IP: underlay MTU ${u.v4} - ${IPIP_OVERHEAD}` };
  return { mtu: base, reason: `no pool tunnels: the underlay MTU ${base}` };
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
  if (t.has('vxlan')) {
    // One device per underlay family this node has (each carries pods of both families).
    for (const fam of [4, 6] as const) {
      const mine = underlayOf(ctx, fam);
      if (mine === undefined) continue;
      const u = mine === ctx.nodeAddress ? { device: ctx.underlayDevice, mtu: ctx.underlayMtu } : ctx.otherUnderlay;
      if (u === undefined) continue;
      const dev = vxlanDevice({ underlayDevice: u.device, localAddress: addressOf(mine), underlayMtu: u.mtu, localBlocks: ctx.localBlocks, vni: ctx.vni, port: ctx.port });
      if (fam === 4) state.vxlan = dev;
      else state.vxlan6 = dev;
      // A device per other VNI a pool uses (separate overlays: pools[].vni).
      for (const vni of otherVnis(ctx)) {
        const other = vxlanDevice({ device: vniDeviceName(fam, vni), underlayDevice: u.device, localAddress: addressOf(mine), underlayMtu: u.mtu, vni, port: ctx.port });
        (state.vxlanOther ??= []).push(other);
      }
    }
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
export function blockAttributes(
  block: Prefix,
  pools: readonly PoolLike[],
  nodeAddresses: string | readonly string[],
  vtepMacOverride?: string,
  defaultVni?: number,
): PathAttribute[] {
  const attrs: PathAttribute[] = [{ type: 'origin', flags: 0x40, origin: 0 }];
  const pool = poolOf(block, pools);
  if (!pool) return attrs;
  const ext: ExtCommunity[] = [];
  if (pool.encapsulation !== 'never') ext.push({ type: 'encapsulation', tunnelType: TUNNEL_TYPE[pool.tunnel] });
  // The VTEP receivers use for this block: the device over the family of the next hop we send
  // with it (the block's own family when we have an underlay address of it, else the other).
  const mine = (typeof nodeAddresses === 'string' ? [nodeAddresses] : nodeAddresses).map(addressOf);
  const self = mine.find((a) => isIpv4(a) === isV4(block)) ?? mine[0];
  const mac = self === undefined ? undefined : (vtepMacOverride ?? vtepMac(self)).toLowerCase();
  if (pool.tunnel === 'vxlan' && mac !== undefined) ext.push({ type: 'router-mac', mac });
  // 0xc0: optional transitive (RFC 4360 2).
  if (ext.length > 0) attrs.push({ type: 'ext-communities', flags: 0xc0, communities: ext });
  // RFC 9012: the Tunnel Encapsulation attribute names the overlay: VXLAN with the pool's VNI, the
  // VTEP MAC and the tunnel's egress (this node's underlay address the receivers send to), so a
  // receiver never guesses which VNI a block lives in.
  const vni = pool.vni ?? defaultVni;
  if (pool.tunnel === 'vxlan' && pool.encapsulation !== 'never' && vni !== undefined && self !== undefined) attrs.push(vxlanTunnelAttribute(vni, mac, self));
  return attrs;
}

export { hostPrefix } from '../../lib/prefix.js';

