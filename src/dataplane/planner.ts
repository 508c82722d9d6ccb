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
import { formatPrefix } from '../lib/prefix.js';
import { isWeftRoute, type KernelFdb, type KernelLink, type KernelNeigh, type KernelRoute, type KernelState } from './kernel-state.js';
import { nodeVtep, WEFT_PROTO, type DesiredState, type IpipDevice, type VxlanDevice } from './model.js';

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
}

export function routeLine(s: RouteSpec): string {
  if (s.type === 'blackhole') return `route replace blackhole ${s.dst} ${P}`;
  return `route replace ${s.dst} via ${s.gateway}${s.dev ? ` dev ${s.dev}` : ''}${s.onlink ? ' onlink' : ''} ${P}`;
}

export function routeMatches(k: KernelRoute, s: RouteSpec): boolean {
  if (k.multipath || k.type !== s.type || k.onlink !== s.onlink) return false;
  if (s.type === 'blackhole') return true;
  return k.gateway === s.gateway && (s.dev === undefined || k.dev === s.dev);
}

export function asKernelRoute(s: RouteSpec, dev: string | undefined): KernelRoute {
  const r: KernelRoute = { dst: s.dst, type: s.type, onlink: s.onlink, protocol: String(WEFT_PROTO), metric: 0, multipath: false };
  if (s.gateway !== undefined) r.gateway = s.gateway;
  if (s.dev !== undefined || dev !== undefined) r.dev = s.dev ?? dev;
  return r;
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

export function plan(kernel: KernelState, desired: DesiredState): Plan {
  const problems: string[] = [];
  const vxName = desired.vxlan?.device ?? 'weft.vxlan';
  const ipipName = desired.ipip?.device ?? 'tunl0';
  const vx = planVxlan(kernel.links[vxName], desired.vxlan, vxName);
  const ipip = planIpip(kernel.links[ipipName], desired.ipip);
  const gone = (dev: string | undefined) => (vx.fresh && dev === vxName) || (ipip.fresh && dev === ipipName);

  // What the kernel has, by slot. Routes on a device being (re)created vanish with it.
  const weft = new Map<string, KernelRoute>();
  const staleWeft: KernelRoute[] = [];
  const foreign = new Map<string, KernelRoute>();
  for (const r of kernel.routes) {
    if (gone(r.dev)) continue;
    if (!isWeftRoute(r)) {
      if (r.metric === 0) foreign.set(r.dst, r);
    } else if (r.metric === 0 && !weft.has(r.dst)) weft.set(r.dst, r);
    else staleWeft.push(r);
  }

  // Desired routes, FDB and neighbour entries.
  const specs = new Map<string, RouteSpec>();
  const fdbWant = new Map<string, string>(); // mac -> dst
  const neighWant = new Map<string, string>(); // address -> mac
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
    switch (r.shape) {
      case 'direct':
        specs.set(dst, { dst, type: 'unicast', gateway: r.node.underlayAddress, dev: desired.underlayDevice, onlink: false });
        break;
      case 'vxlan': {
        if (!desired.vxlan) {
          problems.push(`${dst}: shape vxlan via ${r.node.name} but no VXLAN device is configured`);
          continue;
        }
        const v = nodeVtep(r.node);
        const prevMac = neighWant.get(v.address);
        if (prevMac !== undefined && prevMac !== v.mac) {
          problems.push(`${dst}: VTEP ${v.address} of ${r.node.name} has MAC ${v.mac} but another route says ${prevMac}; route not written`);
          continue;
        }
        const prevDst = fdbWant.get(v.mac);
        if (prevDst !== undefined && prevDst !== r.node.underlayAddress) {
          problems.push(`${dst}: MAC ${v.mac} of ${r.node.name} is already the VTEP of ${prevDst}; route not written`);
          continue;
        }
        fdbWant.set(v.mac, r.node.underlayAddress);
        neighWant.set(v.address, v.mac);
        specs.set(dst, { dst, type: 'unicast', gateway: v.address, dev: desired.vxlan.device, onlink: true });
        break;
      }
      case 'ipip':
        if (!desired.ipip) {
          problems.push(`${dst}: shape ipip via ${r.node.name} but no IP-in-IP device is configured`);
          continue;
        }
        specs.set(dst, { dst, type: 'unicast', gateway: r.node.underlayAddress, dev: desired.ipip.device, onlink: true });
        break;
    }
  }

  const devices = [...vx.lines, ...ipip.lines];
  const entries: PlanLine[] = [];
  const routes: PlanLine[] = [];
  const deletes: PlanLine[] = [];
  const fdbHave: KernelFdb[] = vx.fresh ? [] : kernel.fdb;
  const neighHave: KernelNeigh[] = vx.fresh ? [] : kernel.neigh;

  // FDB: for a wanted MAC, entries with another dst are removed before the permanent one is
  // written (`fdb replace` alone would leave extra remotes of the same MAC).
  for (const [mac, dst] of fdbWant) {
    const mine = fdbHave.filter((f) => f.mac === mac);
    const ok = mine.length === 1 && mine[0].dst === dst && mine[0].permanent;
    if (ok) continue;
    for (const f of mine) if (f.dst !== undefined && f.dst !== dst) entries.push({ tool: 'bridge', stage: 'entry', line: `fdb del ${mac} dev ${vxName} dst ${f.dst}` });
    entries.push({ tool: 'bridge', stage: 'entry', line: `fdb replace ${mac} dev ${vxName} dst ${dst} self permanent` });
  }
  for (const [address, mac] of neighWant) {
    const n = neighHave.find((x) => x.address === address);
    if (n && n.lladdr === mac && n.permanent) continue;
    entries.push({ tool: 'ip', stage: 'entry', line: `neigh replace ${address} lladdr ${mac} dev ${vxName} nud permanent` });
  }

  const expectedRoutes: KernelRoute[] = [];
  for (const r of kernel.routes) if (!isWeftRoute(r) && !gone(r.dev)) expectedRoutes.push(r);
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
  // Without VXLAN the device goes, and its entries with it: no per-entry deletes.
  const neighStale = new Set<string>();
  for (const n of desired.vxlan ? neighHave : []) {
    if (neighWant.has(n.address) || neighStale.has(n.address)) continue;
    neighStale.add(n.address);
    deletes.push({ tool: 'ip', stage: 'delete', line: `neigh del ${n.address} dev ${vxName}` });
  }
  for (const f of desired.vxlan ? fdbHave : []) {
    if (f.dst === undefined || fdbWant.has(f.mac)) continue;
    deletes.push({ tool: 'bridge', stage: 'delete', line: `fdb del ${f.mac} dev ${vxName} dst ${f.dst}` });
  }
  deletes.push(...vx.deletes, ...ipip.deletes);

  const links: Record<string, KernelLink> = { ...kernel.links };
  delete links[vxName];
  if (vx.link) links[vxName] = vx.link;
  if (ipip.link) links[ipipName] = ipip.link;
  const vxWanted = desired.vxlan !== undefined;
  const expected: KernelState = {
    routes: expectedRoutes,
    fdb: vxWanted ? [...fdbWant].map(([mac, dst]) => ({ mac, dst, permanent: true })) : [],
    neigh: vxWanted ? [...neighWant].map(([address, mac]) => ({ address, lladdr: mac, permanent: true })) : [],
    links,
  };
  return { lines: [...devices, ...entries, ...routes, ...deletes], problems, expected };
}
