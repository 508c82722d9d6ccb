/**
 * A kernel in memory behind the IpDriver seam, for in-process tests of the Dataplane (and of the
 * agent through it): it applies the batch lines weft writes the way the kernel and iproute2 do
 * (the subset weft uses: routes, nexthop objects, devices, addresses, neighbours, FDB entries),
 * records every line, answers reads with iproute2's JSON, and lets a test act behind weft's back
 * (delete a route, add a foreign one) with the monitor events the kernel would send.
 *
 * Semantics kept from the real thing (iproute2 6.1, kernel 6.x; test/live/dataplane-driver-contract
 * runs the same lines against both), because the Dataplane depends on them:
 * - `route replace` keys on (prefix, metric), whatever the protocol or shape: a multipath route
 *   replaces a single-path one and back, in both families, with no event. `route del` with a
 *   protocol deletes only a route that has it ("No such process" otherwise), with a type (IPv4
 *   only: IPv6 ignores it) one of that type, and without a metric the lowest-metric match. An
 *   IPv6 route given no metric gets 1024 (IP6_RT_PRIO_USER); `ip -json` prints the metric and
 *   `"pref":"medium"` of every IPv6 route; an IPv6 blackhole shows `dev lo`.
 * - gateways (RFC 8950: an IPv4 route may have an IPv6 one, `via inet6 G`, printed as
 *   `"via":{"family":"inet6","host":G}`; an IPv6 route may not have an IPv4 one): an IPv4 gateway
 *   must be on a connected subnet (or a device route) of its device unless `onlink` ("Nexthop has
 *   invalid gateway"); an IPv6 one likewise ("No route to host") unless link-local or `onlink`,
 *   which need a device; the device must exist ("Cannot find device") and be up ("Nexthop device
 *   is not up"); a route naming a nexthop object needs it.
 * - multipath (`nexthop via A dev D nexthop via B dev E`): every next hop is checked as above, one
 *   bad one refuses the line; a single `nexthop` is an ordinary route; IPv6 refuses two equal next
 *   hops ("File exists"); `ip -json` prints `"nexthops"` (each with weight and flags) and no
 *   gateway or device of the route's own.
 * - devices: a device comes up with an IPv6 link-local address (EUI-64 of its MAC then); going down
 *   it loses its IPv6 addresses, its neighbours and the routes through it (IPv4 ones silently,
 *   IPv6 ones with an event; a multipath route keeps a next hop of a down device, marked dead);
 *   deleting it also takes its FDB entries, the nexthop objects on it and the routes using them
 *   (a multipath IPv6 route loses only its next hops there: the kernel keeps each as a route).
 * - deleting a nexthop object removes the routes using it without an event per route.
 * - deletions are echoed to running monitors (the Dataplane's own ones too), after the line ran;
 *   an FDB entry's deletion also as a neighbour deletion of its dst (`ip monitor neigh` prints the
 *   bridge-family entry like a neighbour: "Deleted 10.0.3.12 dev weft.vxlan lladdr M NOARP PERMANENT").
 * - a line iproute2 cannot parse (an address of the wrong family without `inet6`, a multipath next
 *   hop on a missing device) ends the batch process even with -force: run() rejects, the lines after
 *   it in that batch are not run, the next batch runs (the driver starts a new process).
 * - `ip -json` leaves `protocol` out for proto boot and prints 249 as "weft"; a VXLAN device over
 *   IPv6 shows its local address as `local6`.
 * Not imitated: secondary IPv4 addresses, carrier (NO-CARRIER, linkdown), random MACs (a device
 * added without an address has none, and so no link-local address), kernel-made routes.
 * Nothing here starts a process or touches the real kernel. The shapes, refusals and iproute2's
 * text in and JSON out live in memory-kernel-text.ts.
 */
import { parsePrefix, prefixContains, prefixLength, type Prefix } from '../lib/prefix.js';
import type { BatchError, BatchResult, BatchStream, IpDriver, MonitorEvent, MonitorHandle } from './ip-driver.js';
import { LineBuffer } from './line-buffer.js';
import {
  canon,
  defaultMetric,
  gatewayJson,
  hostPrefix,
  isLinkLocal,
  linkJson,
  linkLocalOf,
  listingKey,
  normAddr,
  normDst,
  options,
  protoName,
  Refused,
  ROUTE_TYPES,
  routeJson,
  routeKey,
  routeWords,
  showRoute,
  Unparsable,
  type MemBatch,
  type MemHop,
  type MemLink,
  type MemNexthop,
  type MemRoute,
  type WrittenHop,
} from './memory-kernel-text.js';
export type { MemBatch, MemHop, MemLink, MemNexthop, MemRoute } from './memory-kernel-text.js';

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
    this.addLink({ name: 'lo', mtu: 65536, mac: '00:00:00:00:00:00', addrs: ['127.0.0.1/8', '::1/128'] });
  }

  // ------------------------------------------------------------------ the test's side

  /** A device that exists before weft starts (the underlay, say); up unless told otherwise. */
  addLink(l: Partial<MemLink> & { name: string }): MemLink {
    const link: MemLink = { ifindex: this.nextIfindex++, mtu: 1500, up: true, ...l, addrs: (l.addrs ?? []).map(normAddr) };
    if (link.up && link.linkLocal === undefined) link.linkLocal = linkLocalOf(link);
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

  /** The routes of table main as `ip -o route` would list them (sorted): for assertions. */
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
            if (e instanceof Unparsable) {
              this.batches.push({ tool, stream, lines, errors });
              return Promise.reject(new Error(`${tool} -force -batch - exited (code ${e.code}): ${e.message}`));
            }
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

  /** A family's routes in the kernel's order (see listingKey). */
  private routes4or6(family: 4 | 6): Record<string, unknown>[] {
    return [...this.table.values()]
      .filter((r) => (r.dst.includes(':') ? 6 : 4) === family)
      .map((r) => ({ r, k: listingKey(r) }))
      .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
      .map(({ r }) => routeJson(r));
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

  /** `ip -json neigh show dev D`: both families, without "dev" (the listing is of one device). */
  neighbours(dev: string): Promise<unknown> {
    const n = this.neigh.get(dev) ?? new Map();
    return Promise.resolve([...n].map(([dst, e]) => ({ dst, lladdr: e.lladdr, state: [e.permanent ? 'PERMANENT' : 'REACHABLE'] })));
  }

  /** `bridge -json fdb show dev D`: without "ifname" (the listing is of one device). */
  fdb(dev: string): Promise<unknown> {
    return Promise.resolve((this.fdbs.get(dev) ?? []).map((f) => ({ mac: f.mac, ...(f.dst ? { dst: f.dst } : {}), flags: ['self'], state: f.permanent ? 'permanent' : '' })));
  }

  nexthops(): Promise<unknown> {
    return Promise.resolve([...this.nhs.values()].map((n) => ({ id: n.id, gateway: n.gateway, dev: n.dev, scope: 'link', protocol: n.protocol, flags: [] })));
  }

  routeGet(address: string): Promise<unknown> {
    const host = hostPrefix(address);
    let best: { r: MemRoute; len: number } | undefined;
    for (const r of this.table.values()) {
      const p = parsePrefix(r.dst);
      if (prefixContains(p, host) && (!best || prefixLength(p) > best.len)) best = { r, len: prefixLength(p) };
    }
    if (!best) return Promise.reject(new Error(`ip route get ${address}: RTNETLINK answers: Network is unreachable`));
    const { r } = best;
    // A multipath route: the kernel picks a live next hop by hash; here the first.
    const hop: { gateway?: string; dev?: string } = r.hops?.find((h) => !h.dead) ?? r;
    const v6 = address.includes(':');
    return Promise.resolve([{ dst: address, ...(r.type !== 'unicast' ? { type: r.type } : {}), ...(hop.gateway ? gatewayJson(hop.gateway, v6) : {}), ...(hop.dev ? { dev: hop.dev } : {}) }]);
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
    const v6 = dst.includes(':');
    const { o, top, hops } = routeWords(w, v6);
    const metric = o.metric === undefined ? defaultMetric(dst) : Number(o.metric);
    const key = routeKey(dst, metric);
    const protocol = o.proto === undefined ? undefined : protoName(o.proto);
    if (cmd === 'del' || cmd === 'delete') {
      // Without a metric: the first route of the prefix (lowest metric) that matches. IPv6 does not look at the type.
      const have = [...this.table.values()]
        .filter((r) => r.dst === dst && (o.metric === undefined || r.metric === metric))
        .sort((a, b) => a.metric - b.metric)
        .find((r) => (protocol === undefined || r.protocol === protocol) && (type === 'unicast' || v6 || r.type === type));
      if (!have) throw new Refused('RTNETLINK answers: No such process');
      this.table.delete(routeKey(dst, have.metric));
      this.echo({ type: 'route-deleted', dst });
      return;
    }
    if (cmd !== 'replace' && cmd !== 'add') throw new Refused(`Command "${cmd}" is unknown, try "ip route help".`);
    // iproute2 resolves every device name before it sends the line.
    const hopDevs = (hops ?? []).map((h) => h.dev).filter((d): d is string => d !== undefined);
    for (const d of hopDevs) if (!this.devices.has(d)) throw new Unparsable(`Cannot find device "${d}"; Error: cannot parse nexthop`, 255);
    if (top.dev !== undefined) this.device(top.dev);
    const r: MemRoute = { dst, type, onlink: false, protocol: protocol ?? 'boot', metric };
    if (type !== 'unicast') {
      if (v6) r.dev = 'lo';
    } else if (o.nhid !== undefined) {
      const nh = this.nhs.get(Number(o.nhid));
      if (!nh) throw new Refused('Error: Nexthop id does not exist.');
      Object.assign(r, { nhid: nh.id, gateway: nh.gateway, dev: nh.dev });
    } else if (hops !== undefined) {
      // IPv6 takes only gateways of its own family in a multipath route (RTA_GATEWAY, not RTA_VIA).
      if (v6 && hops.some((h) => h.via === undefined || !h.via.includes(':'))) throw new Refused('Error: Device only routes can not be added for IPv6 using the multipath API.');
      const made: MemHop[] = hops.map((h) => this.hopOf(h, v6));
      if (made.length === 1) Object.assign(r, { gateway: made[0].gateway, dev: made[0].dev, onlink: made[0].onlink ?? false });
      else {
        // IPv6 keeps each next hop as a route of its own: two equal ones are one route twice.
        if (v6 && made.some((h, i) => made.findIndex((x) => x.gateway === h.gateway && x.dev === h.dev) !== i)) throw new Refused('RTNETLINK answers: File exists');
        r.hops = made;
      }
    } else {
      if (v6 && top.via !== undefined && !top.via.includes(':')) throw new Refused('Error: IPv6 does not support RTA_VIA attribute.');
      const hop = this.hopOf(top, v6);
      Object.assign(r, { gateway: hop.gateway, dev: hop.dev, onlink: top.onlink });
    }
    if (cmd === 'add' && this.table.has(key)) throw new Refused('RTNETLINK answers: File exists');
    for (const k of ['gateway', 'dev'] as const) if (r[k] === undefined) delete r[k];
    this.table.set(key, r);
  }

  /** A next hop as the kernel takes it: its device found or checked (see reach). */
  private hopOf(h: WrittenHop, v6: boolean): MemHop {
    if (h.via === undefined) {
      const l = this.device(h.dev);
      if (!l.up) throw new Refused(v6 ? 'Error: Nexthop device is not up.' : 'Error: Device for nexthop is not up.');
      return { dev: l.name, ...(h.weight !== undefined ? { weight: h.weight } : {}) };
    }
    const hop: MemHop = { gateway: h.via, dev: this.reach(h.via, h.dev, h.onlink) };
    if (h.onlink) hop.onlink = true;
    if (h.weight !== undefined) hop.weight = h.weight;
    return hop;
  }

  /**
   * The device a gateway is reached on, checked as the kernel checks it (fib_check_nh for an IPv4
   * gateway, fib6_nh_init / ip6_validate_gw for an IPv6 one, whatever the route's family), or its
   * refusal. IPv4: `onlink` takes the device as it is; else the gateway must be on a connected
   * subnet or a device route (scope link) of the device. IPv6: a link-local gateway or `onlink`
   * needs a device; else the longest route to the gateway (on the device, when given) must be a
   * connected or device one; never one of this host's own addresses.
   */
  private reach(gateway: string, devName: string | undefined, onlink: boolean): string {
    const dev = devName === undefined ? undefined : this.device(devName);
    if (onlink) {
      if (!dev) throw new Refused('Error: Nexthop device required for onlink.');
      if (!dev.up) throw new Refused('Error: Nexthop device is not up.');
    }
    if (!gateway.includes(':')) {
      if (onlink) return dev!.name;
      const via = this.lookup(gateway, dev?.name);
      if (via?.direct !== true || via.dev === undefined) throw new Refused('Error: Nexthop has invalid gateway.');
      return via.dev;
    }
    const linkLocal = isLinkLocal(gateway);
    if (dev && this.isLocal6(gateway, linkLocal ? dev : undefined)) throw new Refused('Error: Gateway can not be a local address.');
    let out = dev;
    if (!linkLocal && !onlink) {
      const via = this.lookup(gateway, dev?.name);
      if (via?.direct !== true || via.dev === undefined) throw new Refused('RTNETLINK answers: No route to host');
      out = this.devices.get(via.dev);
    }
    if (!out) throw new Refused('Error: Egress device not specified.');
    if (out.name === 'lo') throw new Refused('Error: Egress device can not be loopback device for this route.');
    if (!dev && this.isLocal6(gateway, linkLocal ? out : undefined)) throw new Refused('Error: Gateway can not be a local address.');
    if (!out.up) throw new Refused('Error: Nexthop device is not up.');
    return out.name;
  }

  /**
   * The route the kernel finds for a gateway (on `dev`, when given): the longest prefix holding it
   * among the connected subnets of the devices that are up and table main's routes of its family;
   * `direct` when it has no gateway (a connected subnet or a device route). IPv4 looks at scope
   * link routes only (a route with a gateway is passed over); IPv6 takes the longest, whatever it is.
   */
  private lookup(address: string, dev: string | undefined): { dev?: string; direct: boolean } | undefined {
    const host = hostPrefix(address);
    const v6 = address.includes(':');
    let best: { len: number; dev?: string; direct: boolean } | undefined;
    const consider = (p: Prefix, onDev: string | undefined, direct: boolean) => {
      if ((dev !== undefined && onDev !== dev) || !prefixContains(p, host)) return;
      if (!best || prefixLength(p) > best.len) best = { len: prefixLength(p), dev: onDev, direct };
    };
    for (const l of this.devices.values()) if (l.up) for (const a of l.addrs) if (a.includes(':') === v6) consider(parsePrefix(a, true), l.name, true);
    for (const r of this.table.values()) {
      if (r.dst.includes(':') !== v6) continue;
      const direct = r.type === 'unicast' && r.gateway === undefined && r.hops === undefined;
      if (direct || v6) consider(parsePrefix(r.dst), r.dev, direct);
    }
    return best;
  }

  /** Whether an IPv6 address is one of this host's (of `on` only, when given: a link-local one). */
  private isLocal6(address: string, on: MemLink | undefined): boolean {
    const has = (l: MemLink) => l.linkLocal === address || l.addrs.some((a) => a.slice(0, a.indexOf('/')) === address);
    return on ? has(on) : [...this.devices.values()].some(has);
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
    const dev = this.reach(canon(o.via), o.dev, false);
    this.nhs.set(id, { id, gateway: canon(o.via), dev, protocol: o.proto === undefined ? 'unspec' : protoName(o.proto) });
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
        l.vxlan = { id: Number(o.id), local: o.local === undefined ? undefined : canon(o.local), port: Number(o.dstport ?? 4789), learning: o.nolearning === undefined };
        if (o.dev !== undefined) l.vxlan.link = this.device(o.dev).name;
      } else if (o.type !== 'ipip' && o.type !== 'veth' && o.type !== 'bridge') throw new Refused(`Error: Unknown device type.`);
      this.devices.set(name, l);
      return;
    }
    const l = this.device(o.dev);
    if (cmd === 'del' || cmd === 'delete') {
      this.down(l);
      this.devices.delete(l.name);
      this.unregister(l.name);
      this.echo({ type: 'link-deleted', name: l.name });
      return;
    }
    if (cmd !== 'set') throw new Refused(`Command "${cmd}" is unknown, try "ip link help".`);
    if (o.address !== undefined) l.mac = o.address.toLowerCase();
    if (o.mtu !== undefined) l.mtu = Number(o.mtu);
    if (o.up !== undefined) this.up(l);
    if (o.down !== undefined) this.down(l);
  }

  /** A device comes up: its link-local address (of the MAC it has now), its dead next hops live again. */
  private up(l: MemLink): void {
    if (l.up) return;
    l.up = true;
    l.linkLocal = linkLocalOf(l);
    for (const r of this.table.values()) for (const h of r.hops ?? []) if (h.dev === l.name) delete h.dead;
  }

  /**
   * A device goes down: its IPv6 addresses and neighbours go, and the routes through it (IPv4 ones
   * without an event, IPv6 ones with one); a multipath route keeps a next hop there, dead, until
   * every next hop is.
   */
  private down(l: MemLink): void {
    if (!l.up) return;
    l.up = false;
    l.addrs = l.addrs.filter((a) => !a.includes(':'));
    delete l.linkLocal;
    for (const address of this.neigh.get(l.name)?.keys() ?? []) this.echo({ type: 'neigh-deleted', address, dev: l.name });
    this.neigh.delete(l.name);
    for (const [k, r] of this.table) {
      const v6 = r.dst.includes(':');
      if (r.hops) {
        for (const h of r.hops) if (h.dev === l.name) h.dead = true;
        if (!r.hops.every((h) => h.dead)) continue;
        this.table.delete(k);
        if (v6) for (const _ of r.hops) this.echo({ type: 'route-deleted', dst: r.dst });
      } else if (r.dev === l.name && r.type === 'unicast' && r.nhid === undefined) {
        this.table.delete(k);
        if (v6) this.echo({ type: 'route-deleted', dst: r.dst });
      }
    }
  }

  /**
   * A device is gone (after down()): its neighbours and FDB entries, the nexthop objects on it and
   * the routes using them or it. IPv4 drops a multipath route with a next hop there, silently; IPv6
   * drops just those next hops (each is a route to the kernel), with an event each.
   */
  private unregister(name: string): void {
    for (const address of this.neigh.get(name)?.keys() ?? []) this.echo({ type: 'neigh-deleted', address, dev: name });
    this.neigh.delete(name);
    for (const f of this.fdbs.get(name) ?? []) {
      this.echo({ type: 'fdb-deleted', mac: f.mac, dev: name });
      if (f.dst !== undefined) this.echo({ type: 'neigh-deleted', address: f.dst, dev: name });
    }
    this.fdbs.delete(name);
    const goneNh = new Set<number>();
    for (const [id, n] of this.nhs) if (n.dev === name) goneNh.add(id);
    for (const id of goneNh) this.nhs.delete(id);
    for (const [k, r] of this.table) {
      const v6 = r.dst.includes(':');
      if (r.nhid !== undefined && goneNh.has(r.nhid)) this.table.delete(k);
      else if (r.hops?.some((h) => h.dev === name)) {
        if (!v6) {
          this.table.delete(k);
          continue;
        }
        const left = r.hops.filter((h) => h.dev !== name);
        for (let i = left.length; i < r.hops.length; i++) this.echo({ type: 'route-deleted', dst: r.dst });
        if (left.length === 0) this.table.delete(k);
        else if (left.length > 1) r.hops = left;
        else {
          delete r.hops;
          Object.assign(r, { gateway: left[0].gateway, dev: left[0].dev, onlink: left[0].onlink ?? false });
        }
      } else if (r.dev === name) {
        this.table.delete(k);
        if (v6) this.echo({ type: 'route-deleted', dst: r.dst });
      }
    }
  }

  private addrLine(cmd: string, w: string[]): void {
    const text = w.shift() ?? '';
    const l = this.device(options(w, []).dev);
    const v6 = text.includes(':');
    const full = normAddr(text);
    const has = l.addrs.includes(full) || l.linkLocal === full.slice(0, full.indexOf('/'));
    if (cmd === 'del' || cmd === 'delete') {
      // IPv4 without a length: any length (iproute2 warns about the "wildcard deletion").
      const i = l.addrs.findIndex((a) => a === full || (!v6 && !text.includes('/') && a.startsWith(`${text}/`)));
      if (i >= 0) l.addrs.splice(i, 1);
      else if (v6 && has) delete l.linkLocal;
      else throw new Refused(v6 ? 'Error: ipv6: address not found.' : 'Error: ipv4: Address not found.');
      return;
    }
    if (cmd === 'add' && has) throw new Refused(v6 ? 'Error: ipv6: address already assigned.' : 'Error: ipv4: Address already assigned.');
    if (!has) l.addrs.push(full);
  }

  private neighLine(cmd: string, w: string[]): void {
    const address = canon(w.shift() ?? '');
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
    const dst = o.dst === undefined ? undefined : canon(o.dst);
    if (cmd === 'del' || cmd === 'delete') {
      const i = list.findIndex((f) => f.mac === mac && (dst === undefined || f.dst === dst));
      if (i < 0) throw new Refused('RTNETLINK answers: No such file or directory');
      const [gone] = list.splice(i, 1);
      this.echo({ type: 'fdb-deleted', mac, dev: l.name });
      // `ip monitor neigh` sees the bridge-family entry too, and prints it like a neighbour.
      if (gone.dst !== undefined) this.echo({ type: 'neigh-deleted', address: gone.dst, dev: l.name });
      return;
    }
    const entry = { mac, dst, permanent: o.permanent !== undefined };
    if (cmd === 'append') list.push(entry);
    else if (cmd === 'replace' || cmd === 'add') {
      const i = list.findIndex((f) => f.mac === mac);
      if (i >= 0 && cmd === 'add') throw new Refused('RTNETLINK answers: File exists');
      if (i >= 0) list[i] = entry;
      else list.push(entry);
    } else throw new Refused(`Command "${cmd}" is unknown, try "bridge fdb help".`);
  }
}
