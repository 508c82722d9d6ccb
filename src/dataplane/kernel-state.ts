/**
 * The kernel state the planner compares against, and pure parsers for iproute2's JSON output:
 * `ip -json route show table main` (and `ip -6 ...`), `bridge -json fdb show dev weft.vxlan`,
 * `ip -json neigh show dev weft.vxlan`, `ip -d -json addr show dev D` (link + addresses in one).
 */
import { formatPrefix, parsePrefix } from '../lib/prefix.js';
import { WEFT_PROTO } from './model.js';

export interface KernelRoute {
  /** Always with a length: "10.0.9.9/32", "0.0.0.0/0". */
  dst: string;
  /** 'unicast', 'blackhole', 'unreachable', ... */
  type: string;
  gateway?: string;
  dev?: string;
  onlink: boolean;
  /** As printed: a name ("weft", "static") or a number ("249"). */
  protocol: string;
  /**
   * 0 = the slot a route written without a metric takes (`route replace P ...`): IPv4 metric 0,
   * IPv6 metric 1024 (the kernel gives an IPv6 route without one IP6_RT_PRIO_USER): read as 0.
   */
  metric: number;
  multipath: boolean;
  /** The next hops of a multipath route, sorted by gateway then device (the kernel keeps them as given). */
  hops?: KernelHop[];
}

/** One next hop of a multipath route. */
export interface KernelHop {
  gateway?: string;
  dev?: string;
}

/** An address on a device, as a connected prefix: the device that reaches addresses inside it. */
export interface KernelConnected {
  /** "10.0.1.0/24" (network address, as a prefix). */
  prefix: string;
  /** The address itself with its length ("10.0.1.11/24"). */
  address: string;
  dev: string;
}

export interface KernelFdb {
  /** The VXLAN device it is on (absent: weft.vxlan). */
  dev?: string;
  mac: string;
  dst?: string;
  permanent: boolean;
}

export interface KernelNeigh {
  /** The VXLAN device it is on (absent: weft.vxlan). */
  dev?: string;
  address: string;
  lladdr?: string;
  permanent: boolean;
}

export interface KernelVxlanInfo {
  id?: number;
  local?: string;
  port?: number;
  link?: string;
  learning?: boolean;
}

export interface KernelLink {
  name: string;
  /** Unknown for a link the planner expects but has not read back. */
  ifindex?: number;
  mtu: number;
  mac?: string;
  up: boolean;
  kind?: string;
  vxlan?: KernelVxlanInfo;
  /** IPv4 addresses with length ("10.244.1.0/32"). */
  addrs: string[];
}

/** A nexthop object (`ip -json nexthop show`). */
export interface KernelNexthop {
  id: number;
  gateway?: string;
  dev?: string;
  protocol: string;
  /** A group of other objects (not one gateway). */
  group: boolean;
}

export function parseNexthops(json: unknown): KernelNexthop[] {
  return arr(json).flatMap((n) => {
    const id = num(n.id);
    if (id === undefined) return [];
    const h: KernelNexthop = { id, protocol: str(n.protocol) ?? (typeof n.protocol === 'number' ? String(n.protocol) : 'unspec'), group: Array.isArray(n.group) };
    const gw = str(n.gateway);
    if (gw !== undefined) h.gateway = gw;
    const dev = str(n.dev);
    if (dev !== undefined) h.dev = dev;
    return [h];
  });
}

export interface KernelState {
  /** Every route of table main (weft's and foreign ones: the planner never touches the latter). */
  routes: KernelRoute[];
  /** FDB entries of the VXLAN device. */
  fdb: KernelFdb[];
  /** Neighbours on the VXLAN device. */
  neigh: KernelNeigh[];
  /** The devices weft manages, by name; a missing name = no such device. */
  links: Record<string, KernelLink>;
  /** Nexthop objects (all owners), when read. */
  nexthops?: KernelNexthop[];
  /** Every device's addresses (both families, link-local ones left out), when read. */
  connected?: KernelConnected[];
}

export const emptyKernelState = (): KernelState => ({ routes: [], fdb: [], neigh: [], links: {} });

/** A route belongs to weft iff its protocol is 249, by number or by the name "weft". */
export function isWeftRoute(r: { protocol: string }): boolean {
  return r.protocol === 'weft' || r.protocol === String(WEFT_PROTO);
}

type Json = Record<string, unknown>;

function arr(v: unknown): Json[] {
  return Array.isArray(v) ? (v.filter((x) => x !== null && typeof x === 'object') as Json[]) : [];
}
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** "10.0.9.9" -> "10.0.9.9/32", "default" -> "0.0.0.0/0". */
export function normalizeDst(dst: string, family: 4 | 6): string {
  if (dst === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  if (dst.includes('/')) return dst;
  return `${dst}/${dst.includes(':') ? 128 : 32}`;
}

/** The metric the kernel gives an IPv6 route added without one (IP6_RT_PRIO_USER). */
export const IPV6_DEFAULT_METRIC = 1024;
/** Route types without a device (IPv6 lists them on lo). */
const DEVICELESS = new Set(['blackhole', 'unreachable', 'prohibit', 'throw']);

export function parseRoutes(json: unknown, family: 4 | 6 = 4): KernelRoute[] {
  const out: KernelRoute[] = [];
  for (const r of arr(json)) {
    const dst = str(r.dst);
    if (dst === undefined) continue;
    // iproute2 leaves "protocol" out for RTPROT_BOOT (3), the default of a plain `ip route add`
    // (and also when the listing was filtered by protocol: we never read that way).
    const protocol = str(r.protocol) ?? (typeof r.protocol === 'number' ? String(r.protocol) : 'boot');
    const full = normalizeDst(dst, family);
    const metric = num(r.metric) ?? 0;
    const type = str(r.type) ?? 'unicast';
    const route: KernelRoute = {
      dst: full,
      type,
      onlink: strs(r.flags).includes('onlink'),
      protocol,
      // Without this, weft's own IPv6 routes (written without a metric) read as another metric's
      // and were deleted and written again by every full plan.
      metric: full.includes(':') && metric === IPV6_DEFAULT_METRIC ? 0 : metric,
      multipath: Array.isArray(r.nexthops),
    };
    const gw = gatewayOf(r);
    if (gw !== undefined) route.gateway = gw;
    const dev = str(r.dev);
    if (dev !== undefined && !DEVICELESS.has(type)) route.dev = dev;
    if (Array.isArray(r.nexthops)) route.hops = sortHops(arr(r.nexthops).map((h) => hopOf(h)));
    out.push(route);
  }
  return out;
}

/** A gateway as iproute2 prints it: "gateway" of the route's family, or "via" {family, host} of the other. */
function gatewayOf(r: Json): string | undefined {
  const gw = str(r.gateway);
  if (gw !== undefined) return gw;
  const via = r.via as Json | undefined;
  return via && typeof via === 'object' ? str(via.host) : undefined;
}

function hopOf(h: Json): KernelHop {
  const hop: KernelHop = {};
  const gw = gatewayOf(h);
  if (gw !== undefined) hop.gateway = gw;
  const dev = str(h.dev);
  if (dev !== undefined) hop.dev = dev;
  return hop;
}

/** Next hops in one order (gateway, then device), so that two listings of one route compare equal. */
export function sortHops<T extends KernelHop>(hops: T[]): T[] {
  const k = (h: KernelHop) => `${h.gateway ?? ''}|${h.dev ?? ''}`;
  return hops.sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}

/** `ip -json addr show` (every device): the connected prefixes, link-local addresses left out. */
export function parseConnected(json: unknown): KernelConnected[] {
  const out: KernelConnected[] = [];
  for (const l of arr(json)) {
    const dev = str(l.ifname);
    if (dev === undefined) continue;
    for (const a of arr(l.addr_info)) {
      const local = str(a.local);
      const len = num(a.prefixlen);
      if (local === undefined || len === undefined || (a.family !== 'inet' && a.family !== 'inet6')) continue;
      if (a.family === 'inet6' && str(a.scope) === 'link') continue;
      out.push({ prefix: networkOf(local, len), address: `${local}/${len}`, dev });
    }
  }
  return out;
}

function networkOf(address: string, len: number): string {
  return formatPrefix(parsePrefix(`${address}/${len}`, true));
}

export function parseFdb(json: unknown): KernelFdb[] {
  return arr(json).flatMap((e) => {
    const mac = str(e.mac);
    if (mac === undefined) return [];
    const f: KernelFdb = { mac: mac.toLowerCase(), permanent: str(e.state) === 'permanent' };
    const dst = str(e.dst);
    if (dst !== undefined) f.dst = dst;
    return [f];
  });
}

export function parseNeigh(json: unknown): KernelNeigh[] {
  return arr(json).flatMap((e) => {
    const address = str(e.dst);
    if (address === undefined) return [];
    const n: KernelNeigh = { address, permanent: strs(e.state).includes('PERMANENT') };
    const ll = str(e.lladdr);
    if (ll !== undefined) n.lladdr = ll.toLowerCase();
    return [n];
  });
}

/** `ip -d -json addr show dev D`: the link with its vxlan details and IPv4 addresses. */
export function parseLinks(json: unknown): KernelLink[] {
  return arr(json).flatMap((l) => {
    const name = str(l.ifname);
    if (name === undefined) return [];
    const link: KernelLink = {
      name,
      mtu: num(l.mtu) ?? 0,
      up: strs(l.flags).includes('UP'),
      addrs: arr(l.addr_info)
        .filter((a) => a.family === 'inet' && typeof a.local === 'string')
        .map((a) => `${a.local as string}/${num(a.prefixlen) ?? 32}`),
    };
    const mac = str(l.address);
    if (mac !== undefined) link.mac = mac.toLowerCase();
    const ifindex = num(l.ifindex);
    if (ifindex !== undefined) link.ifindex = ifindex;
    const info = l.linkinfo as Json | undefined;
    if (info && typeof info === 'object') {
      const kind = str(info.info_kind);
      if (kind !== undefined) link.kind = kind;
      const d = info.info_data as Json | undefined;
      if (kind === 'vxlan' && d && typeof d === 'object') {
        link.vxlan = { id: num(d.id), local: str(d.local) ?? str(d.local6), port: num(d.port), link: str(d.link), learning: typeof d.learning === 'boolean' ? d.learning : undefined };
      }
    }
    return [link];
  });
}

/** The devices, FDB and neighbours of a read, as one comparable string. */
export function restSignature(k: KernelState): string {
  const fdb = k.fdb.map((f) => `${f.dev ?? ''}:${f.mac}>${f.dst ?? ''}${f.permanent ? '!' : ''}`).sort();
  const neigh = k.neigh.map((n) => `${n.dev ?? ''}:${n.address}>${n.lladdr ?? ''}${n.permanent ? '!' : ''}`).sort();
  const connected = (k.connected ?? []).map((c) => `${c.address}@${c.dev}`).sort();
  const links = Object.values(k.links)
    .map((l) => JSON.stringify([l.name, l.ifindex, l.mtu, l.mac, l.up, l.kind, l.vxlan, [...l.addrs].sort()]))
    .sort();
  return JSON.stringify([fdb, neigh, links, connected]);
}
