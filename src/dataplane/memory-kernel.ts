/**
 * A kernel in memory behind the IpDriver seam, for in-process tests of the Dataplane (and of the
 * agent through it): it applies the batch lines weft writes the way the kernel and iproute2 do
 * (the subset weft uses: routes, nexthop objects, devices, addresses, neighbours, FDB entries),
 * records every line, answers reads with iproute2's JSON, and lets a test act behind weft's back
 * (delete a route, add a foreign one) with the monitor events the kernel would send.
 *
 * Semantics kept from the real thing, because the Dataplane depends on them:
 * - `route replace` keys on (prefix, metric), whatever the protocol; `route del` with a protocol
 *   (or type) deletes only a route that has it ("No such process" otherwise), and without a
 *   metric the first (lowest-metric) route of the prefix. An IPv6 route given no metric gets 1024
 *   (the kernel's IP6_RT_PRIO_USER), and `ip -json` prints the metric of every IPv6 route; an
 *   IPv6 blackhole shows `dev lo`.
 * - a gateway must be on a subnet of its device unless `onlink` ("Nexthop has invalid gateway");
 *   a device must exist ("Cannot find device"); a route naming a nexthop object needs it.
 * - deleting a nexthop object removes the routes using it without an event per route; deleting a
 *   device removes its routes, neighbours and FDB entries.
 * - deletions are echoed to running monitors (the Dataplane's own ones too), after the line ran;
 *   an FDB entry's deletion also as a neighbour deletion of its dst (`ip monitor neigh` prints the
 *   bridge-family entry like a neighbour: "Deleted 10.0.3.12 dev weft.vxlan lladdr M NOARP PERMANENT").
 * - `ip -json` leaves `protocol` out for proto boot and prints 249 as "weft".
 * Nothing here starts a process or touches the real kernel.
 */
import { formatPrefix, parsePrefix, prefixContains, prefixLength, type Prefix } from '../lib/prefix.js';
import type { BatchError, BatchResult, BatchStream, IpDriver, MonitorEvent, MonitorHandle } from './ip-driver.js';
import { LineBuffer } from './line-buffer.js';
import { WEFT_PROTO } from './model.js';
import type { KernelRoute } from './kernel-state.js';

/** A route as the kernel state parser reads it (kernel-state.ts), plus the nexthop object it uses. */
export interface MemRoute extends Omit<KernelRoute, 'multipath'> {
  nhid?: number;
}

export interface MemLink {
  name: string;
  ifindex: number;
  mtu: number;
  mac?: string;
  up: boolean;
  kind?: string;
  vxlan?: { id: number; local?: string; port: number; link?: string; learning: boolean };
  /** IPv4 addresses with length ("10.0.1.11/24"). */
  addrs: string[];
}

export interface MemNexthop {
  id: number;
  gateway: string;
  dev: string;
  protocol: string;
}

/** One run() of a batch stream. */
export interface MemBatch {
  tool: 'ip' | 'bridge';
  /** Which stream (in the order batch() made them). */
  stream: number;
  lines: string[];
  errors: BatchError[];
}

const PROTO_NAMES: Record<string, string> = { '2': 'kernel', '3': 'boot', '4': 'static', '186': 'bgp', [String(WEFT_PROTO)]: 'weft' };
const ROUTE_TYPES = new Set(['unicast', 'blackhole', 'unreachable', 'prohibit', 'throw']);

class Refused extends Error {}

export class MemoryKernel implements IpDriver {
  /** Every line written to any stream, in the order applied. */
  readonly written: { tool: 'ip' | 'bridge'; line: string }[] = [];
  readonly batches: MemBatch[] = [];
  /** restart() calls, by stream number. */
  readonly restarts: number[] = [];
  private readonly table = new Map<string, MemRoute>();
  private readonly devices = new Map<string, MemLink>();
  private readonly neigh = new Map<string, Map<string, { lladdr: string; permanent: boolean }>>();
  private readonly fdbs = new Map<string, { mac: string; dst?: string; permanent: boolean }[]>();
  private readonly nhs = new Map<number, MemNexthop>();
  private readonly monitors = new Set<(e: MonitorEvent) => void>();
  private readonly refusals: { match: RegExp; message: string }[] = [];
  private nextIfindex = 1;
  private streams = 0;

  constructor() {
    this.addLink({ name: 'lo', mtu: 65536, addrs: ['127.0.0.1/8'] });
  }

  // ------------------------------------------------------------------ the test's side

  /** A device that exists before weft starts (the underlay, say). */
  addLink(l: Partial<MemLink> & { name: string }): MemLink {
    const link: MemLink = { ifindex: this.nextIfindex++, mtu: 1500, up: true, addrs: [], ...l };
    this.devices.set(l.name, link);
    return link;
  }

  /** A route put there by someone else (or a weft route left by an earlier run): no event. */
  addRoute(r: Partial<MemRoute> & { dst: string }): void {
    const dst = normDst(r.dst);
    const route: MemRoute = { type: 'unicast', onlink: false, protocol: 'boot', metric: defaultMetric(dst), ...r, dst };
    this.table.set(routeKey(route.dst, route.metric), route);
  }

  /** Deletes a route behind weft's back (`ip route del`), with the monitor event; false when absent. */
  deleteRoute(dst: string, metric?: number): boolean {
    const k = routeKey(normDst(dst), metric ?? defaultMetric(normDst(dst)));
    if (!this.table.delete(k)) return false;
    this.echo({ type: 'route-deleted', dst: normDst(dst) });
    return true;
  }

  /** A monitor event as the kernel would send it, without changing anything. */
  inject(e: MonitorEvent): void {
    this.echo(e);
  }

  /** Lines matching `match` fail with `message` from now on (until cleared). */
  refuse(match: RegExp, message: string): void {
    this.refusals.push({ match, message });
  }

  clearRefusals(): void {
    this.refusals.length = 0;
  }

  /** The routes of table main as `ip route` would list them (sorted): for assertions. */
  routeTable(): string[] {
    return [...this.table.values()].map(showRoute).sort();
  }

  route(dst: string, metric?: number): MemRoute | undefined {
    return this.table.get(routeKey(normDst(dst), metric ?? defaultMetric(normDst(dst))));
  }

  link(name: string): MemLink | undefined {
    return this.devices.get(name);
  }

  /** How many monitors are running (0 while the Dataplane has them paused). */
  get monitoring(): number {
    return this.monitors.size;
  }

  // ------------------------------------------------------------------ IpDriver

  batch(tool: 'ip' | 'bridge'): BatchStream {
    const stream = this.streams++;
    this.restarts[stream] = 0;
    let closed = false;
    return {
      run: (input) => {
        if (closed) return Promise.reject(new Error(`${tool} batch stream ${stream} is closed`));
        const lines = input instanceof LineBuffer ? input.lines() : [...input];
        const started = performance.now();
        const errors: BatchError[] = [];
        for (const line of lines) {
          this.written.push({ tool, line });
          try {
            this.apply(tool, line);
          } catch (e) {
            if (!(e instanceof Refused)) throw e;
            errors.push({ line, message: e.message });
          }
        }
        this.batches.push({ tool, stream, lines, errors });
        const r: BatchResult = { lines: lines.length, errors, ms: performance.now() - started };
        return Promise.resolve(r);
      },
      restart: () => {
        this.restarts[stream]++;
      },
      close: () => {
        closed = true;
        return Promise.resolve();
      },
    };
  }

  private routes4or6(family: 4 | 6): Record<string, unknown>[] {
    return [...this.table.values()].filter((r) => (r.dst.includes(':') ? 6 : 4) === family).map(routeJson);
  }

  routes(family: 4 | 6): Promise<unknown> {
    return Promise.resolve(this.routes4or6(family));
  }

  streamRoutes(family: 4 | 6, onRoute: (route: unknown) => void): Promise<void> {
    for (const r of this.routes4or6(family)) onRoute(r);
    return Promise.resolve();
  }

  links(dev?: string): Promise<unknown> {
    const list = dev === undefined ? [...this.devices.values()] : [this.devices.get(dev)].filter((l): l is MemLink => l !== undefined);
    return Promise.resolve(list.map(linkJson));
  }

  neighbours(dev: string): Promise<unknown> {
    const n = this.neigh.get(dev) ?? new Map();
    return Promise.resolve([...n].map(([dst, e]) => ({ dst, dev, lladdr: e.lladdr, state: [e.permanent ? 'PERMANENT' : 'REACHABLE'] })));
  }

  fdb(dev: string): Promise<unknown> {
    return Promise.resolve((this.fdbs.get(dev) ?? []).map((f) => ({ mac: f.mac, ifname: dev, ...(f.dst ? { dst: f.dst } : {}), flags: ['self'], state: f.permanent ? 'permanent' : '' })));
  }

  nexthops(): Promise<unknown> {
    return Promise.resolve([...this.nhs.values()].map((n) => ({ id: n.id, gateway: n.gateway, dev: n.dev, scope: 'link', protocol: n.protocol })));
  }

  routeGet(address: string): Promise<unknown> {
    const host = parsePrefix(`${address}/${address.includes(':') ? 128 : 32}`);
    let best: { r: MemRoute; len: number } | undefined;
    for (const r of this.table.values()) {
      const p = parsePrefix(r.dst);
      if (prefixContains(p, host) && (!best || prefixLength(p) > best.len)) best = { r, len: prefixLength(p) };
    }
    if (!best) return Promise.reject(new Error(`ip route get ${address}: RTNETLINK answers: Network is unreachable`));
    const { r } = best;
    return Promise.resolve([{ dst: address, ...(r.type !== 'unicast' ? { type: r.type } : {}), ...(r.gateway ? { gateway: r.gateway } : {}), ...(r.dev ? { dev: r.dev } : {}) }]);
  }

  monitor(onEvent: (e: MonitorEvent) => void): MonitorHandle {
    const listener = (e: MonitorEvent) => onEvent(e);
    this.monitors.add(listener);
    return { stop: () => void this.monitors.delete(listener) };
  }

  // ------------------------------------------------------------------ applying lines

  private echo(e: MonitorEvent): void {
    // After the line (or the test's change) has run, as the kernel's notification would arrive.
    for (const m of [...this.monitors]) queueMicrotask(() => this.monitors.has(m) && m(e));
  }

  private apply(tool: 'ip' | 'bridge', line: string): void {
    for (const r of this.refusals) if (r.match.test(line)) throw new Refused(r.message);
    const w = line.trim().split(/\s+/);
    const [obj, cmd] = w;
    if (tool === 'bridge') {
      if (obj === 'fdb') return this.fdbLine(cmd, w.slice(2));
    } else if (obj === 'route') return this.routeLine(cmd, w.slice(2));
    else if (obj === 'nexthop') return this.nexthopLine(cmd, w.slice(2));
    else if (obj === 'link') return this.linkLine(cmd, w.slice(2));
    else if (obj === 'addr') return this.addrLine(cmd, w.slice(2));
    else if (obj === 'neigh') return this.neighLine(cmd, w.slice(2));
    throw new Refused(`Object "${obj}" is unknown, try "${tool} help".`);
  }

  private device(name: string | undefined): MemLink {
    const l = name === undefined ? undefined : this.devices.get(name);
    if (!l) throw new Refused(`Cannot find device "${name}"`);
    return l;
  }

  private routeLine(cmd: string, w: string[]): void {
    let type = 'unicast';
    if (ROUTE_TYPES.has(w[0])) type = w.shift()!;
    const dst = normDst(w.shift() ?? '');
    const o = options(w, ['onlink']);
    const metric = o.metric === undefined ? defaultMetric(dst) : Number(o.metric);
    const key = routeKey(dst, metric);
    const protocol = o.proto === undefined ? undefined : protoName(o.proto);
    if (cmd === 'del' || cmd === 'delete') {
      // Without a metric: the first route of the prefix (lowest metric) that matches.
      const have = [...this.table.values()]
        .filter((r) => r.dst === dst && (o.metric === undefined || r.metric === metric))
        .sort((a, b) => a.metric - b.metric)
        .find((r) => (protocol === undefined || r.protocol === protocol) && (type === 'unicast' || r.type === type));
      if (!have) throw new Refused('RTNETLINK answers: No such process');
      this.table.delete(routeKey(dst, have.metric));
      this.echo({ type: 'route-deleted', dst });
      return;
    }
    if (cmd !== 'replace' && cmd !== 'add') throw new Refused(`Command "${cmd}" is unknown, try "ip route help".`);
    if (cmd === 'add' && this.table.has(key)) throw new Refused('RTNETLINK answers: File exists');
    const r: MemRoute = { dst, type, onlink: o.onlink !== undefined, protocol: protocol ?? 'boot', metric };
    if (type !== 'unicast' && dst.includes(':')) r.dev = 'lo';
    if (o.nhid !== undefined) {
      const nh = this.nhs.get(Number(o.nhid));
      if (!nh) throw new Refused('Error: Nexthop id does not exist.');
      Object.assign(r, { nhid: nh.id, gateway: nh.gateway, dev: nh.dev });
    } else if (type === 'unicast') {
      if (o.via === undefined) r.dev = this.device(o.dev).name;
      else {
        r.gateway = o.via;
        r.dev = this.gatewayDevice(o.via, o.dev, r.onlink);
      }
    }
    this.table.set(key, r);
  }

  /** The device a gateway is reached on: `dev` (checked), or the one whose subnet holds it. */
  private gatewayDevice(gateway: string, dev: string | undefined, onlink: boolean): string {
    if (dev !== undefined) {
      const l = this.device(dev);
      if (onlink || gateway.includes(':') || l.addrs.some((a) => holds(a, gateway))) return l.name;
      throw new Refused('Error: Nexthop has invalid gateway.');
    }
    for (const l of this.devices.values()) if (l.addrs.some((a) => holds(a, gateway))) return l.name;
    throw new Refused('Error: Nexthop has invalid gateway.');
  }

  private nexthopLine(cmd: string, w: string[]): void {
    const o = options(w, []);
    const id = Number(o.id);
    if (cmd === 'del' || cmd === 'delete') {
      if (!this.nhs.delete(id)) throw new Refused('Error: Nexthop id does not exist.');
      // The routes using it go too, with no event per route.
      for (const [k, r] of this.table) if (r.nhid === id) this.table.delete(k);
      return;
    }
    if (cmd !== 'replace' && cmd !== 'add') throw new Refused(`Command "${cmd}" is unknown, try "ip nexthop help".`);
    if (o.via === undefined) throw new Refused('Error: Nexthop gateway required.');
    const dev = this.gatewayDevice(o.via, o.dev, false);
    this.nhs.set(id, { id, gateway: o.via, dev, protocol: o.proto === undefined ? 'unspec' : protoName(o.proto) });
  }

  private linkLine(cmd: string, w: string[]): void {
    const o = options(w, ['up', 'down', 'nolearning']);
    const name = o.name ?? o.dev;
    if (cmd === 'add') {
      if (name === undefined) throw new Refused('Not enough information: "dev" argument is required.');
      if (this.devices.has(name)) throw new Refused('RTNETLINK answers: File exists');
      const l: MemLink = { name, ifindex: this.nextIfindex++, mtu: Number(o.mtu ?? 1500), up: false, kind: o.type, addrs: [] };
      if (o.address !== undefined) l.mac = o.address.toLowerCase();
      if (o.type === 'vxlan') {
        l.vxlan = { id: Number(o.id), local: o.local, port: Number(o.dstport ?? 4789), learning: o.nolearning === undefined };
        if (o.dev !== undefined) l.vxlan.link = this.device(o.dev).name;
      } else if (o.type !== 'ipip' && o.type !== 'veth' && o.type !== 'bridge') throw new Refused(`Error: Unknown device type.`);
      this.devices.set(name, l);
      return;
    }
    const l = this.device(o.dev);
    if (cmd === 'del' || cmd === 'delete') {
      this.devices.delete(l.name);
      for (const [k, r] of this.table) if (r.dev === l.name) this.table.delete(k);
      this.neigh.delete(l.name);
      this.fdbs.delete(l.name);
      this.echo({ type: 'link-deleted', name: l.name });
      return;
    }
    if (cmd !== 'set') throw new Refused(`Command "${cmd}" is unknown, try "ip link help".`);
    if (o.address !== undefined) l.mac = o.address.toLowerCase();
    if (o.mtu !== undefined) l.mtu = Number(o.mtu);
    if (o.up !== undefined) l.up = true;
    if (o.down !== undefined) l.up = false;
  }

  private addrLine(cmd: string, w: string[]): void {
    const addr = w.shift() ?? '';
    const l = this.device(options(w, []).dev);
    const full = addr.includes('/') ? addr : `${addr}/32`;
    if (cmd === 'del' || cmd === 'delete') {
      if (!l.addrs.includes(full)) throw new Refused('RTNETLINK answers: Cannot assign requested address');
      l.addrs = l.addrs.filter((a) => a !== full);
      return;
    }
    if (cmd === 'add' && l.addrs.includes(full)) throw new Refused('RTNETLINK answers: File exists');
    if (!l.addrs.includes(full)) l.addrs.push(full);
  }

  private neighLine(cmd: string, w: string[]): void {
    const address = w.shift() ?? '';
    const o = options(w, []);
    const l = this.device(o.dev);
    const table = this.neigh.get(l.name) ?? new Map<string, { lladdr: string; permanent: boolean }>();
    this.neigh.set(l.name, table);
    if (cmd === 'del' || cmd === 'delete') {
      if (!table.delete(address)) throw new Refused('RTNETLINK answers: No such file or directory');
      this.echo({ type: 'neigh-deleted', address, dev: l.name });
      return;
    }
    if (o.lladdr === undefined) throw new Refused('Error: lladdr is required.');
    table.set(address, { lladdr: o.lladdr.toLowerCase(), permanent: o.nud === 'permanent' });
  }

  private fdbLine(cmd: string, w: string[]): void {
    const mac = (w.shift() ?? '').toLowerCase();
    const o = options(w, ['self', 'permanent']);
    const l = this.device(o.dev);
    const list = this.fdbs.get(l.name) ?? [];
    this.fdbs.set(l.name, list);
    if (cmd === 'del' || cmd === 'delete') {
      const i = list.findIndex((f) => f.mac === mac && (o.dst === undefined || f.dst === o.dst));
      if (i < 0) throw new Refused('RTNETLINK answers: No such file or directory');
      const [gone] = list.splice(i, 1);
      this.echo({ type: 'fdb-deleted', mac, dev: l.name });
      // `ip monitor neigh` sees the bridge-family entry too, and prints it like a neighbour.
      if (gone.dst !== undefined) this.echo({ type: 'neigh-deleted', address: gone.dst, dev: l.name });
      return;
    }
    const entry = { mac, dst: o.dst, permanent: o.permanent !== undefined };
    if (cmd === 'append') list.push(entry);
    else if (cmd === 'replace' || cmd === 'add') {
      const i = list.findIndex((f) => f.mac === mac);
      if (i >= 0 && cmd === 'add') throw new Refused('RTNETLINK answers: File exists');
      if (i >= 0) list[i] = entry;
      else list.push(entry);
    } else throw new Refused(`Command "${cmd}" is unknown, try "bridge fdb help".`);
  }
}

/** "key value" pairs and bare flags of a line's tail. */
function options(w: readonly string[], flags: readonly string[]): Record<string, string | undefined> {
  const o: Record<string, string | undefined> = {};
  for (let i = 0; i < w.length; i++) {
    if (flags.includes(w[i])) o[w[i]] = '';
    else {
      o[w[i]] = w[i + 1];
      i++;
    }
  }
  return o;
}

function protoName(p: string): string {
  return PROTO_NAMES[p] ?? p;
}

function normDst(dst: string): string {
  if (dst === 'default') return '0.0.0.0/0';
  const full = dst.includes('/') ? dst : `${dst}/${dst.includes(':') ? 128 : 32}`;
  return formatPrefix(parsePrefix(full));
}

/** The metric a route gets when none is given: 0 for IPv4, 1024 for IPv6 (IP6_RT_PRIO_USER). */
function defaultMetric(dst: string): number {
  return dst.includes(':') ? 1024 : 0;
}

function routeKey(dst: string, metric: number): string {
  return `${dst}|${metric}`;
}

/** Whether interface address "10.0.1.11/24" has `address` on its subnet. */
function holds(ifaddr: string, address: string): boolean {
  if (address.includes(':') !== ifaddr.includes(':')) return false;
  const net: Prefix = parsePrefix(ifaddr, true);
  return prefixContains(net, parsePrefix(`${address}/${address.includes(':') ? 128 : 32}`));
}

function routeJson(r: MemRoute): Record<string, unknown> {
  const j: Record<string, unknown> = {};
  if (r.type !== 'unicast') j.type = r.type;
  j.dst = r.dst === '0.0.0.0/0' || r.dst === '::/0' ? 'default' : r.dst.endsWith('/32') || r.dst.endsWith('/128') ? r.dst.slice(0, r.dst.indexOf('/')) : r.dst;
  if (r.nhid !== undefined) j.nhid = r.nhid;
  if (r.gateway !== undefined) j.gateway = r.gateway;
  if (r.dev !== undefined) j.dev = r.dev;
  if (r.protocol !== 'boot') j.protocol = r.protocol;
  if (r.metric !== 0 || r.dst.includes(':')) j.metric = r.metric;
  j.flags = r.onlink ? ['onlink'] : [];
  return j;
}

function linkJson(l: MemLink): Record<string, unknown> {
  const j: Record<string, unknown> = { ifindex: l.ifindex, ifname: l.name, flags: l.up ? ['UP'] : [], mtu: l.mtu };
  if (l.mac !== undefined) j.address = l.mac;
  if (l.kind !== undefined) {
    const info: Record<string, unknown> = { info_kind: l.kind };
    if (l.vxlan) info.info_data = { ...l.vxlan };
    j.linkinfo = info;
  }
  j.addr_info = l.addrs.map((a) => ({ family: a.includes(':') ? 'inet6' : 'inet', local: a.slice(0, a.indexOf('/')), prefixlen: Number(a.slice(a.indexOf('/') + 1)) }));
  return j;
}

function showRoute(r: MemRoute): string {
  const parts = [r.type === 'unicast' ? '' : `${r.type} `, r.dst];
  if (r.nhid !== undefined) parts.push(` nhid ${r.nhid}`);
  if (r.gateway !== undefined) parts.push(` via ${r.gateway}`);
  if (r.dev !== undefined) parts.push(` dev ${r.dev}`);
  if (r.protocol !== 'boot') parts.push(` proto ${r.protocol}`);
  if (r.metric !== defaultMetric(r.dst)) parts.push(` metric ${r.metric}`);
  if (r.onlink) parts.push(' onlink');
  return parts.join('');
}
