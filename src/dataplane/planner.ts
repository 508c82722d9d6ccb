/**
 * Reconcile, don't replay (DESIGN.md): kernel state as read + desired state -> an ordered list of
 * iproute2 batch lines that turns the one into the other, and the state expected afterwards.
 *
 * Order: (1) devices created/fixed, (2) FDB + neighbour entries, (3) routes (`route replace`),
 * (4) deletes of stale weft routes, neighbours, FDB entries, addresses, devices. So a VXLAN route
 * is only written after its FDB and neighbour entries, and a mode change (direct <-> vxlan) is a
 * replace in place: nothing stale is left and the prefix is never without a route (calico#1325).
 *
 * Ownership (after felix route_table.go): weft touches only routes whose protocol is 249 ("weft"),
 * and the FDB/neighbour entries and addresses of its own devices. A desired route whose slot is
 * taken by a foreign route (same prefix, metric 0, table main) is not written; it is reported.
 * Nothing is ever flushed.
 */
import { isLinkLocal } from '../lib/address.js';
import { formatPrefix, hostPrefix, parsePrefix, prefixContains, prefixLength } from '../lib/prefix.js';
import { isWeftRoute, sortHops, type KernelConnected, type KernelFdb, type KernelHop, type KernelLink, type KernelNeigh, type KernelRoute, type KernelState } from './kernel-state.js';
import { isVniDevice, nodeVtep, underlayFamily, VXLAN6_DEVICE, VXLAN_DEVICE, WEFT_PROTO, type DesiredState, type IpipDevice, type NodeRef, type RemoteRoute, type VxlanDevice } from './model.js';

export type Tool = 'ip' | 'bridge';
export type Stage = 'device' | 'entry' | 'route' | 'delete';

export interface PlanLine {
  tool: Tool;
  stage: Stage;
  /** One batch line, without the leading tool name ("route replace ..."). */
  line: string;
}

export interface Plan {
  lines: PlanLine[];
  /** Desired things that were not written, and why (foreign route in the way, no device...). */
  problems: string[];
  /** The kernel state once every line has succeeded. */
  expected: KernelState;
}

const P = `proto ${WEFT_PROTO}`;

/** The route weft wants in the kernel for one prefix. */
export interface RouteSpec {
  dst: string;
  type: 'unicast' | 'blackhole';
  gateway?: string;
  dev?: string;
  onlink: boolean;
  /** Two or more next hops: one multipath route (gateway and dev above are the first's). */
  hops?: KernelHop[];
}

/** `via G` or, for a gateway of the other family (an IPv4 route over IPv6, RFC 8950), `via inet6 G`. */
function via(dst: string, gateway: string): string {
  return `via ${gateway.includes(':') !== dst.includes(':') ? (gateway.includes(':') ? 'inet6 ' : 'inet ') : ''}${gateway}`;
}

export function routeLine(s: RouteSpec): string {
  if (s.type === 'blackhole') return `route replace blackhole ${s.dst} ${P}`;
  if (s.hops && s.hops.length > 1) {
    return `route replace ${s.dst} ${P}${s.hops.map((h) => ` nexthop ${via(s.dst, h.gateway!)}${h.dev ? ` dev ${h.dev}` : ''}`).join('')}`;
  }
  return `route replace ${s.dst} ${via(s.dst, s.gateway!)}${s.dev ? ` dev ${s.dev}` : ''}${s.onlink ? ' onlink' : ''} ${P}`;
}

export function routeMatches(k: KernelRoute, s: RouteSpec): boolean {
  if (k.type !== s.type) return false;
  if (s.type === 'blackhole') return !k.multipath;
  if (s.hops && s.hops.length > 1) {
    const kh = k.hops ?? [];
    if (!k.multipath || kh.length !== s.hops.length) return false;
    return s.hops.every((h, i) => kh[i].gateway === h.gateway && (h.dev === undefined || kh[i].dev === h.dev));
  }
  if (k.multipath || k.onlink !== s.onlink) return false;
  return k.gateway === s.gateway && (s.dev === undefined || k.dev === s.dev);
}

export function asKernelRoute(s: RouteSpec, dev: string | undefined): KernelRoute {
  const multipath = s.hops !== undefined && s.hops.length > 1;
  const r: KernelRoute = { dst: s.dst, type: s.type, onlink: multipath ? false : s.onlink, protocol: String(WEFT_PROTO), metric: 0, multipath };
  if (multipath) {
    r.hops = s.hops!.map((h) => ({ ...h }));
    return r;
  }
  if (s.gateway !== undefined) r.gateway = s.gateway;
  if (s.dev !== undefined || dev !== undefined) r.dev = s.dev ?? dev;
  return r;
}

/**
 * The device that reaches a gateway: the one holding the longest connected prefix that contains
 * it (routes go out of the interface towards their next hop, never a fixed one). undefined: no
 * connected subnet holds it.
 */
export function deviceFor(gateway: string, connected: readonly KernelConnected[] | undefined): string | undefined {
  if (!connected) return undefined;
  const host = hostPrefix(gateway);
  let best: { dev: string; len: number } | undefined;
  for (const c of connected) {
    const p = parsePrefix(c.prefix);
    if (prefixContains(p, host) && (!best || prefixLength(p) > best.len)) best = { dev: c.dev, len: prefixLength(p) };
  }
  return best?.dev;
}

/**
 * deviceFor over one read's connected prefixes, remembered per gateway: a full plan asks once
 * per route (1M routes), and a host has a handful of gateways. One resolver per read (the
 * planner's expected state and the route index keep the read's array, so passes share it).
 */
const resolvers = new WeakMap<readonly KernelConnected[], (gateway: string) => string | undefined>();
function resolverFor(connected: readonly KernelConnected[]): (gateway: string) => string | undefined {
  let r = resolvers.get(connected);
  if (r === undefined) {
    const memo = new Map<string, string | undefined>();
    r = (gw) => {
      if (memo.has(gw)) return memo.get(gw);
      const dev = deviceFor(gw, connected);
      memo.set(gw, dev);
      return dev;
    };
    resolvers.set(connected, r);
  }
  return r;
}


/**
 * The direct route to a node (or, with ECMP, to several): each next hop on the device whose
 * connected subnet holds it. A string: why it is not written.
 */
export function directSpec(dst: string, nodes: readonly NodeRef[], connected: readonly KernelConnected[] | undefined, fallbackDev?: string): RouteSpec | string {
  const hops: KernelHop[] = [];
  const seen = new Set<string>();
  for (const n of nodes) {
    const gw = n.underlayAddress;
    if (seen.has(gw)) continue;
    seen.add(gw);
    // A link-local gateway is on no connected prefix: it is on the underlay device.
    const dev = connected && !isLinkLocal(gw) ? resolverFor(connected)(gw) : fallbackDev;
    if (dev === undefined) {
      if (nodes.length === 1) return `${dst}: next hop ${gw} of ${n.name} is on no connected subnet of this host: not written`;
      continue; // the other equal paths still carry the prefix
    }
    hops.push({ gateway: gw, dev });
  }
  if (hops.length === 0) return `${dst}: none of the next hops ${[...seen].join(', ')} is on a connected subnet of this host: not written`;
  if (hops.length === 1) return { dst, type: 'unicast', gateway: hops[0].gateway, dev: hops[0].dev, onlink: false };
  return { dst, type: 'unicast', gateway: hops[0].gateway, dev: hops[0].dev, onlink: false, hops: sortHops(hops) };
}

/** The line removing a weft route. */
export function routeDelLine(r: KernelRoute): string {
  const metric = r.metric ? ` metric ${r.metric}` : '';
  return `route del ${r.type === 'unicast' ? '' : `${r.type} `}${r.dst} ${P}${metric}`;
}

/** Why an existing vxlan device cannot be fixed in place (its parameters are fixed at creation). */
function vxlanMismatch(k: KernelLink, d: VxlanDevice): string | undefined {
  if (k.kind !== 'vxlan' || !k.vxlan) return `is a ${k.kind ?? 'plain'} device, not vxlan`;
  const v = k.vxlan;
  if (v.id !== d.vni) return `has VNI ${v.id}, want ${d.vni}`;
  if (v.port !== d.port) return `has port ${v.port}, want ${d.port}`;
  if (v.local !== d.localAddress) return `has local ${v.local}, want ${d.localAddress}`;
  if (v.link !== undefined && v.link !== d.underlayDevice) return `is on ${v.link}, want ${d.underlayDevice}`;
  if (v.learning !== false) return 'has learning on';
  return undefined;
}

interface DevicePlan {
  lines: PlanLine[];
  deletes: PlanLine[];
  /** The device was (re)created: whatever the kernel had on it is gone. */
  fresh: boolean;
  link?: KernelLink;
}

function planVxlan(k: KernelLink | undefined, d: VxlanDevice | undefined, name: string): DevicePlan {
  const ip = (stage: Stage, line: string): PlanLine => ({ tool: 'ip', stage, line });
  if (!d) {
    // weft owns the device by name: with no VXLAN wanted it goes, after the routes on it.
    return { lines: [], deletes: k ? [ip('delete', `link del dev ${name}`)] : [], fresh: false };
  }
  const lines: PlanLine[] = [];
  let fresh = false;
  const bad = k ? vxlanMismatch(k, d) : 'missing';
  let cur = k;
  if (bad !== undefined) {
    if (k) lines.push(ip('device', `link del dev ${d.device}`));
    lines.push(
      ip(
        'device',
        `link add name ${d.device} address ${d.mac} mtu ${d.mtu} type vxlan id ${d.vni} dstport ${d.port} local ${d.localAddress} dev ${d.underlayDevice} nolearning`,
      ),
    );
    fresh = true;
    cur = undefined;
  }
  const set: string[] = [];
  if (cur?.mac !== d.mac && !fresh) set.push(`address ${d.mac}`);
  if (cur?.mtu !== d.mtu && !fresh) set.push(`mtu ${d.mtu}`);
  if (!cur?.up) set.push('up');
  if (set.length) lines.push(ip('device', `link set dev ${d.device} ${set.join(' ')}`));
  const want = d.vtepAddress ? [`${d.vtepAddress}/32`] : [];
  const have = cur?.addrs ?? [];
  for (const a of want) if (!have.includes(a)) lines.push(ip('device', `addr replace ${a} dev ${d.device}`));
  const deletes = have.filter((a) => !want.includes(a)).map((a) => ip('delete', `addr del ${a} dev ${d.device}`));
  const link: KernelLink = {
    name: d.device,
    mtu: d.mtu,
    mac: d.mac,
    up: true,
    kind: 'vxlan',
    vxlan: { id: d.vni, local: d.localAddress, port: d.port, link: d.underlayDevice, learning: false },
    addrs: want,
  };
  return { lines, deletes, fresh, link };
}

function planIpip(k: KernelLink | undefined, d: IpipDevice | undefined): DevicePlan {
  // tunl0 is the ipip module's fallback device and cannot be deleted: without IP-in-IP it stays.
  if (!d) return { lines: [], deletes: [], fresh: false, link: k };
  const lines: PlanLine[] = [];
  if (!k) lines.push({ tool: 'ip', stage: 'device', line: `link add name ${d.device} type ipip` });
  if (k?.mtu !== d.mtu || !k.up) lines.push({ tool: 'ip', stage: 'device', line: `link set dev ${d.device} mtu ${d.mtu} up` });
  return { lines, deletes: [], fresh: !k, link: { name: d.device, mtu: d.mtu, mac: k?.mac, up: true, kind: 'ipip', addrs: k?.addrs ?? [] } };
}

/**
 * The VXLAN devices of a desired state, by name (weft.vxlan over IPv4, weft.vxlan6 over IPv6, and
 * weft-<vni> / weft6-<vni> for the other VNIs), plus per-VNI devices the kernel has that are no
 * longer wanted (they go).
 */
function vxlanSlots(desired: DesiredState, kernel: KernelState): { name: string; want: VxlanDevice | undefined }[] {
  const slots: { name: string; want: VxlanDevice | undefined }[] = [
    { name: desired.vxlan?.device ?? VXLAN_DEVICE, want: desired.vxlan },
    { name: desired.vxlan6?.device ?? VXLAN6_DEVICE, want: desired.vxlan6 },
    ...(desired.vxlanOther ?? []).map((d) => ({ name: d.device, want: d })),
  ];
  for (const name of Object.keys(kernel.links)) if (isVniDevice(name) && !slots.some((x) => x.name === name)) slots.push({ name, want: undefined });
  return slots;
}

/** The VXLAN device a route to `node` goes through: the one over the node's underlay family, of the route's VNI. */
export function vxlanFor(node: NodeRef, desired: DesiredState, vni?: number): VxlanDevice | undefined {
  const fam = underlayFamily(node);
  if (vni !== undefined) return desired.vxlanOther?.find((d) => d.family === fam && d.vni === vni);
  return fam === 4 ? desired.vxlan : desired.vxlan6;
}

/** The kernel route of a VXLAN route (gateway per nodeVtep), or why there is none. */
export function vxlanSpec(dst: string, r: RemoteRoute, desired: DesiredState): RouteSpec | string {
  const dev = vxlanFor(r.node, desired, r.vni);
  const of = r.vni !== undefined ? ` for VNI ${r.vni}` : '';
  if (!dev) return `${dst}: shape vxlan via ${r.node.name} (IPv${underlayFamily(r.node)} underlay) but no VXLAN device over IPv${underlayFamily(r.node)}${of} is configured`;
  const v = nodeVtep(r.node, r.prefix);
  return { dst, type: 'unicast', gateway: v.address, dev: dev.device, onlink: v.onlink };
}

export function plan(kernel: KernelState, desired: DesiredState): Plan {
  const problems: string[] = [];
  const ipipName = desired.ipip?.device ?? 'tunl0';
  const vxs = vxlanSlots(desired, kernel).map((x) => ({ ...x, plan: planVxlan(kernel.links[x.name], x.want, x.name) }));
  const ipip = planIpip(kernel.links[ipipName], desired.ipip);
  const fresh = new Set(vxs.filter((x) => x.plan.fresh).map((x) => x.name));
  const gone = (dev: string | undefined) => (dev !== undefined && fresh.has(dev)) || (ipip.fresh && dev === ipipName);
  const entryDev = (e: { dev?: string }) => e.dev ?? VXLAN_DEVICE;

  // What the kernel has, by slot. Routes on a device being (re)created vanish with it.
  const weft = new Map<string, KernelRoute>();
  const staleWeft: KernelRoute[] = [];
  const foreign = new Map<string, KernelRoute>();
  const onGone = (r: KernelRoute) => gone(r.dev) || (r.hops?.some((h) => gone(h.dev)) ?? false);
  for (const r of kernel.routes) {
    if (onGone(r)) continue;
    if (!isWeftRoute(r)) {
      if (r.metric === 0) foreign.set(r.dst, r);
    } else if (r.metric === 0 && !weft.has(r.dst)) weft.set(r.dst, r);
    else staleWeft.push(r);
  }

  // Desired routes, FDB and neighbour entries (keyed "device|mac" and "device|address").
  const specs = new Map<string, RouteSpec>();
  const fdbWant = new Map<string, string>(); // dev|mac -> dst
  const neighWant = new Map<string, string>(); // dev|address -> mac
  for (const b of desired.localBlocks) {
    const dst = formatPrefix(b);
    specs.set(dst, { dst, type: 'blackhole', onlink: false });
  }
  for (const r of desired.routes) {
    const dst = formatPrefix(r.prefix);
    if (specs.has(dst)) {
      problems.push(`${dst}: ${specs.get(dst)?.type === 'blackhole' ? 'is a local block' : 'is wanted twice'}; route via ${r.node.name} not written`);
      continue;
    }
    let spec: RouteSpec | string;
    switch (r.shape) {
      case 'direct':
        spec = directSpec(dst, r.nexthops ?? [r.node], kernel.connected, desired.underlayDevice);
        break;
      case 'vxlan': {
        spec = vxlanSpec(dst, r, desired);
        if (typeof spec === 'string') break;
        const v = nodeVtep(r.node, r.prefix);
        const dev = spec.dev!;
        const prevMac = neighWant.get(`${dev}|${v.address}`);
        if (prevMac !== undefined && prevMac !== v.mac) {
          spec = `${dst}: VTEP ${v.address} of ${r.node.name} has MAC ${v.mac} but another route says ${prevMac}; route not written`;
          break;
        }
        const prevDst = fdbWant.get(`${dev}|${v.mac}`);
        if (prevDst !== undefined && prevDst !== r.node.underlayAddress) {
          spec = `${dst}: MAC ${v.mac} of ${r.node.name} is already the VTEP of ${prevDst}; route not written`;
          break;
        }
        fdbWant.set(`${dev}|${v.mac}`, r.node.underlayAddress);
        neighWant.set(`${dev}|${v.address}`, v.mac);
        break;
      }
      case 'ipip':
        spec = desired.ipip
          ? { dst, type: 'unicast', gateway: r.node.underlayAddress, dev: desired.ipip.device, onlink: true }
          : `${dst}: shape ipip via ${r.node.name} but no IP-in-IP device is configured`;
        break;
    }
    if (typeof spec === 'string') problems.push(spec);
    else specs.set(dst, spec);
  }

  const devices = [...vxs.flatMap((x) => x.plan.lines), ...ipip.lines];
  const entries: PlanLine[] = [];
  const routes: PlanLine[] = [];
  const deletes: PlanLine[] = [];
  const fdbHave: KernelFdb[] = kernel.fdb.filter((f) => !fresh.has(entryDev(f)));
  const neighHave: KernelNeigh[] = kernel.neigh.filter((n) => !fresh.has(entryDev(n)));

  // FDB: for a wanted MAC, entries with another dst are removed before the permanent one is
  // written (`fdb replace` alone would leave extra remotes of the same MAC).
  for (const [key, dst] of fdbWant) {
    const [dev, mac] = splitKey(key);
    const mine = fdbHave.filter((f) => f.mac === mac && entryDev(f) === dev);
    const ok = mine.length === 1 && mine[0].dst === dst && mine[0].permanent;
    if (ok) continue;
    for (const f of mine) if (f.dst !== undefined && f.dst !== dst) entries.push({ tool: 'bridge', stage: 'entry', line: `fdb del ${mac} dev ${dev} dst ${f.dst}` });
    entries.push({ tool: 'bridge', stage: 'entry', line: `fdb replace ${mac} dev ${dev} dst ${dst} self permanent` });
  }
  for (const [key, mac] of neighWant) {
    const [dev, address] = splitKey(key);
    const n = neighHave.find((x) => x.address === address && entryDev(x) === dev);
    if (n && n.lladdr === mac && n.permanent) continue;
    entries.push({ tool: 'ip', stage: 'entry', line: `neigh replace ${address} lladdr ${mac} dev ${dev} nud permanent` });
  }

  const expectedRoutes: KernelRoute[] = [];
  for (const r of kernel.routes) if (!isWeftRoute(r) && !onGone(r)) expectedRoutes.push(r);
  for (const s of specs.values()) {
    const have = weft.get(s.dst);
    const other = foreign.get(s.dst);
    if (!have && other) {
      problems.push(`${s.dst}: a proto ${other.protocol} route is already there; weft leaves it alone`);
      continue;
    }
    if (!have || !routeMatches(have, s)) routes.push({ tool: 'ip', stage: 'route', line: routeLine(s) });
    expectedRoutes.push(have && routeMatches(have, s) ? have : asKernelRoute(s, have?.dev));
  }

  // Stale: weft routes no longer wanted (and extra weft routes at other metrics), then entries.
  for (const [dst, r] of weft) if (!specs.has(dst)) staleWeft.push(r);
  for (const r of staleWeft) deletes.push({ tool: 'ip', stage: 'delete', line: routeDelLine(r) });
  // On a device that stays: our (permanent) entries no longer wanted go; the kernel's own
  // (neighbour discovery states) are left to expire. Without the device its entries go with it.
  const kept = new Set(vxs.filter((x) => x.want).map((x) => x.name));
  const neighStale = new Set<string>();
  for (const n of neighHave) {
    const key = `${entryDev(n)}|${n.address}`;
    if (!kept.has(entryDev(n)) || !n.permanent || neighWant.has(key) || neighStale.has(key)) continue;
    neighStale.add(key);
    deletes.push({ tool: 'ip', stage: 'delete', line: `neigh del ${n.address} dev ${entryDev(n)}` });
  }
  for (const f of fdbHave) {
    if (!kept.has(entryDev(f)) || f.dst === undefined || fdbWant.has(`${entryDev(f)}|${f.mac}`)) continue;
    deletes.push({ tool: 'bridge', stage: 'delete', line: `fdb del ${f.mac} dev ${entryDev(f)} dst ${f.dst}` });
  }
  deletes.push(...vxs.flatMap((x) => x.plan.deletes), ...ipip.deletes);

  const links: Record<string, KernelLink> = { ...kernel.links };
  for (const x of vxs) {
    delete links[x.name];
    if (x.plan.link) links[x.name] = x.plan.link;
  }
  if (ipip.link) links[ipipName] = ipip.link;
  const tagged = <T extends object>(dev: string, e: T): T & { dev?: string } => (dev === VXLAN_DEVICE ? e : { dev, ...e });
  const expected: KernelState = {
    routes: expectedRoutes,
    fdb: [...fdbWant].map(([key, dst]) => {
      const [dev, mac] = splitKey(key);
      return tagged(dev, { mac, dst, permanent: true });
    }),
    neigh: [...neighWant].map(([key, mac]) => {
      const [dev, address] = splitKey(key);
      return tagged(dev, { address, lladdr: mac, permanent: true });
    }),
    links,
  };
  if (kernel.connected) expected.connected = kernel.connected;
  return { lines: [...devices, ...entries, ...routes, ...deletes], problems, expected };
}

/** "dev|rest" -> [dev, rest] (rest may hold colons: MACs, IPv6 addresses). */
function splitKey(key: string): [string, string] {
  const i = key.indexOf('|');
  return [key.slice(0, i), key.slice(i + 1)];
}
