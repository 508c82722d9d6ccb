/**
 * The agent's side of the kernel data plane: Loc-RIB best paths -> dataplane-desired.ts -> one
 * src/dataplane Dataplane (reconcile with iproute2). It is a RouteSink: the agent hands it each
 * flush's best-path changes (the Loc-RIB's Change objects) and it passes their prefixes on to the
 * Dataplane (changed()). It is also the Dataplane's RouteSource: asked for a prefix's route, it
 * decides from the RIB's best path at that moment; asked for the whole state (a full plan: at
 * start, on reconfiguration, when held routes go at once, for VXLAN routes, whose MAC per VTEP is
 * decided over all routes), it assembles it from every best path. No per-prefix table is kept
 * here: at 1M routes the only per-prefix state is the Loc-RIB and the Dataplane's route index.
 *
 * Compact: decisions are memoised per best path (every prefix of one UPDATE shares its Path), so
 * a table of 1M routes from one peer holds one RouteDecision, one RemoteRoute and one reason
 * string, not 1M of each. Their `route.prefix` is therefore that of the first prefix; decision()
 * gives a copy with the right one.
 *
 * Restart without dropping traffic (graceful-restart-like, after RFC 4724 4.2's "retain the
 * routes ... until End-of-RIB"): Dataplane.start() adopts what is in the kernel (no flush), but
 * the RIB is empty while the sessions come up, so a plain desired state would delete every remote
 * route at once. So at start the weft routes already in the kernel are read and HELD: kept in the
 * desired state, exactly as they are, until (per route) the RIB has a best path for the prefix
 * (that replaces it), or the peer at the route's gateway address (the mesh node, or the ToR) has
 * sent End-of-RIB for the family, or - for a gateway that is no configured peer - every
 * configured peer has; or at the latest after dataplane.restartGraceSeconds (default: the largest
 * configured hold time, at least 10 s). Only then does a route the RIB no longer has go away. A
 * kill -9 and restart therefore changes no route that the peers still announce.
 */
import type { Logger } from 'pino';
import { PrefixMap } from '../../lib/prefix-map.js';
import { isV4, parsePrefix, type Prefix } from '../../lib/prefix.js';
import { Dataplane, type BatchRecord, type RouteSource } from '../../dataplane/dataplane.js';
import type { IpDriver } from '../../dataplane/ip-driver.js';
import { Iproute2Driver } from '../../dataplane/iproute2.js';
import { readKernelState } from '../../dataplane/kernel-read.js';
import { isWeftRoute, type KernelState } from '../../dataplane/kernel-state.js';
import { IPIP_DEVICE, isVniDevice, VXLAN6_DEVICE, VXLAN_DEVICE, type DesiredState, type RemoteRoute } from '../../dataplane/model.js';
import { underlayAddresses } from '../config/config-helpers.js';
import { vxlanTunnelOf } from '../../wire/attr-tunnel-encap.js';
import type { Change } from '../../rib/loc-rib.js';
import type { Path } from '../../rib/peer.js';
import type { DataplaneStatus, ExplainView, RouteView } from '../control/protocol.js';
import type { AgentView } from '../view.js';
import { systemScheduler, type Scheduler, type Timer } from '../io/scheduler.js';
import {
  assembleDesired,
  blockDecision,
  decideRoute,
  otherVnis,
  podMtu,
  poolOf,
  type DesiredContext,
  type PoolLike,
  type RibRoute,
  type RouteDecision,
} from './dataplane-desired.js';
import { annotateRoutes, explainAddress } from './dataplane-views.js';
import { logEvent } from '../observability/log-events.js';
import type { RouteSink } from './route-sink.js';
import type { DataplaneObserver } from '../observability/kernel-latency.js';

interface Held {
  route: RemoteRoute;
  /** The address whose End-of-RIB releases it (the gateway's underlay address). */
  holder: string;
}

export interface BridgeOptions {
  /** Work in this network namespace (`ip -n NS`); default: the agent's own. */
  netns?: string;
  /** The kernel (default: iproute2 in `netns`); a MemoryKernel in in-process tests. */
  driver?: IpDriver;
  /** Time (default: real timers). */
  scheduler?: Scheduler;
}

const family = (p: Prefix) => (isV4(p) ? '1/1' : '2/1');

/**
 * Everything of a context that decisions depend on, as strings: what the kernel state depends on,
 * and the node names (only shown: in `weft routes` and the reasons).
 */
function contextKey(c: DesiredContext): { kernel: string; names: string } {
  const pools = c.pools.map((p) => `${p.cidr}:${p.encapsulation}:${p.tunnel}:${p.vni ?? ''}`).join(',');
  const names = c.nodeNames ? [...c.nodeNames].map(([a, n]) => `${a}=${n}`).join(',') : '';
  const other = `${c.otherAddress ?? ''}|${c.otherUnderlay?.device ?? ''}|${c.otherUnderlay?.mtu ?? ''}|${(c.signalledVnis ?? []).join(',')}`;
  return { kernel: `${c.nodeAddress}|${other}|${c.localBlocks.join(',')}|${pools}|${c.underlayDevice}|${c.underlayMtu}|${c.vni}|${c.port}`, names };
}

/** The VXLAN tunnel a path's Tunnel Encapsulation attribute signals (RFC 9012), as RibRoute wants it. */
function tunnelOf(best: Path): Pick<RibRoute, 'tunnel'> {
  const t = best.attrs.tunnelEncap === undefined ? undefined : vxlanTunnelOf(best.attrs.tunnelEncap);
  if (t === undefined || (t.vni === undefined && t.mac === undefined)) return {};
  return { tunnel: { ...(t.vni !== undefined ? { vni: t.vni } : {}), ...(t.mac !== undefined ? { mac: t.mac } : {}) } };
}

/** A decision kept on the best path it was made for (with the pool and family it depends on). */
interface Memo {
  pool: PoolLike | undefined;
  v4: boolean;
  d: RouteDecision;
}

const SHAPE_OF_KIND: Record<string, string> = { blackhole: 'blackhole', [VXLAN_DEVICE]: 'vxlan', [VXLAN6_DEVICE]: 'vxlan', [IPIP_DEVICE]: 'ipip' };

export class DataplaneBridge implements RouteSink {
  private dp: Dataplane | undefined;
  /**
   * Decisions by best path: every prefix of one UPDATE shares one Path, so a table of 1M routes
   * from one peer is decided once (per pool). Replaced whenever the context changes.
   */
  private memo = new WeakMap<Path, Memo>();
  private readonly held = new PrefixMap<Held>();
  /** weft's own routes found in the kernel at start (any kind): this start is a restart (RFC 4724 4.1). */
  foundAtStart = 0;
  /** Latency and batch timing for the metrics (observability/kernel-latency.ts), when metrics are on. */
  observer: DataplaneObserver | undefined;
  /** The next recompute hands the Dataplane the whole state. */
  private whole = true;
  /** End-of-RIB arrived: every held route is checked again. */
  private eor = false;
  /** The context the decisions are made in (see contextKey), and its blocks. */
  private ctx: DesiredContext | undefined;
  private contextSeen = { kernel: '', names: '' };
  private local = new Set<Prefix>();
  private scheduled = false;
  private frozen = false;
  private graceTimer: Timer | undefined;
  /** The devices and blocks of the last whole state (its routes live in the RIB). */
  private devices: DesiredState = { localBlocks: [], routes: [] };
  private underlayDevice = '';
  private underlayMtu = 1500;
  /** VNIs signalled by other nodes (RFC 9012) that our pools do not name: each gets its devices. */
  private readonly signalledVnis = new Set<number>();
  /** The device and MTU of node.address4 / node.address6, when configured and found. */
  private otherUnderlay: { device: string; mtu: number } | undefined;
  /** What the Dataplane asks for routes: answered from the Loc-RIB, no table of our own. */
  private readonly source: RouteSource = { want: (p) => this.wanted(p), state: () => this.wholeState() };

  constructor(
    private readonly agent: AgentView,
    private readonly log: Logger,
    private readonly opts: BridgeOptions = {},
  ) {
    this.driver = opts.driver ?? new Iproute2Driver({ netns: opts.netns });
    this.scheduler = opts.scheduler ?? systemScheduler;
  }

  readonly driver: IpDriver;
  private readonly scheduler: Scheduler;

  // ------------------------------------------------------------------ life cycle

  /** Finds the underlay, holds the kernel's weft routes, starts the Dataplane (adopting, no flush). */
  async start(): Promise<void> {
    const c = this.agent.config;
    await this.findUnderlay(c.dataplane.underlayDevice, c.node.address.address);
    const u = underlayAddresses(c);
    const other = [u.v4, u.v6].find((a) => a !== undefined && a.address !== c.node.address.address);
    if (other) this.otherUnderlay = await this.deviceHolding(other.address);
    const kernel = await readKernelState(this.driver, [VXLAN_DEVICE, VXLAN6_DEVICE], [VXLAN_DEVICE, VXLAN6_DEVICE, IPIP_DEVICE]);
    this.foundAtStart = kernel.routes.filter(isWeftRoute).length;
    this.holdKernelRoutes(kernel);
    const dp = new Dataplane({ netns: this.opts.netns, resyncIntervalMs: c.dataplane.resyncSeconds * 1000 }, { driver: this.driver, clock: this.scheduler });
    dp.on('batch', (b) => this.onBatch(b));
    dp.on('applied', (m) => this.observer?.applied(m));
    dp.on('error', (e) => logEvent(this.log, 'dataplane.error', { error: e.message }));
    dp.useSource(this.source);
    this.dp = dp;
    this.recompute();
    await dp.start();
    const mtu = this.podMtu();
    logEvent(
      this.log,
      'dataplane.started',
      { underlayDevice: this.underlayDevice, underlayMtu: this.underlayMtu, podMtu: mtu.mtu, podMtuReason: mtu.reason, held: this.held.size, routes: this.countByShape() },
      `data plane running on ${this.underlayDevice}; containers must use MTU ${mtu.mtu} (${mtu.reason})`,
    );
    if (this.held.size > 0) {
      const grace = this.graceSeconds();
      logEvent(this.log, 'dataplane.held', { routes: this.held.size, graceSeconds: grace });
      this.graceTimer = this.scheduler.after(grace * 1000, () => this.releaseAll('grace period over'), true);
    }
  }

  /** Stops following the RIB (the agent is shutting down and its sessions close). */
  freeze(): void {
    this.frozen = true;
  }

  /** keepRoutesOnExit (default): the kernel stays as it is; otherwise every weft entry goes. */
  async stop(withdraw: boolean): Promise<void> {
    this.frozen = true;
    this.graceTimer?.cancel();
    const dp = this.dp;
    this.dp = undefined;
    if (!dp) return;
    await dp.stop({ withdraw });
    logEvent(this.log, 'dataplane.stopped', { withdrawn: withdraw });
  }

  private graceSeconds(): number {
    const c = this.agent.config;
    if (c.dataplane.restartGraceSeconds !== undefined) return c.dataplane.restartGraceSeconds;
    return Math.max(10, c.timers.holdTime, ...c.peers.map((p) => p.holdTime));
  }

  /** The device holding an address (the underlay of node.address4 / node.address6), if any. */
  private async deviceHolding(address: string): Promise<{ device: string; mtu: number } | undefined> {
    const links = (await this.driver.links()) as { ifname: string; mtu: number; addr_info?: { local?: string }[] }[];
    const link = links.find((l) => (l.addr_info ?? []).some((a) => a.local === address));
    if (!link) {
      logEvent(this.log, 'dataplane.error', { error: `no interface holds ${address} (ip -json addr): no VXLAN device over its family` });
      return undefined;
    }
    return { device: link.ifname, mtu: link.mtu };
  }

  /** The container MTU for the underlays this node tunnels over. */
  private podMtu(): { mtu: number; reason: string } {
    const c = this.agent.config;
    const primary4 = typeof c.node.address.subnet === 'number';
    const other = this.otherUnderlay?.mtu;
    return podMtu(c.pools, primary4 ? { v4: this.underlayMtu, v6: other } : { v6: this.underlayMtu, v4: other });
  }

  private async findUnderlay(configured: string | undefined, address: string): Promise<void> {
    const links = (await this.driver.links(configured)) as { ifname: string; mtu: number; addr_info?: { local?: string }[] }[];
    const link = configured ? links[0] : links.find((l) => (l.addr_info ?? []).some((a) => a.local === address));
    if (!link) throw new Error(`no interface holds node.address ${address} (ip -json addr); set dataplane.underlayDevice`);
    this.underlayDevice = link.ifname;
    this.underlayMtu = link.mtu;
  }

  /** Weft's unicast routes in the kernel now, as remote routes to keep until End-of-RIB. */
  private holdKernelRoutes(k: KernelState): void {
    const blocks = new Set(this.agent.localBlocks());
    for (const r of k.routes) {
      if (!isWeftRoute(r) || r.type !== 'unicast' || r.metric !== 0) continue;
      const gws = r.multipath ? (r.hops ?? []).flatMap((h) => (h.gateway !== undefined ? [h.gateway] : [])) : r.gateway !== undefined ? [r.gateway] : [];
      if (gws.length === 0) continue;
      let prefix: Prefix;
      try {
        prefix = parsePrefix(r.dst);
      } catch {
        continue;
      }
      if (blocks.has(prefix)) continue;
      const gw = gws[0];
      const reason = `kept from before the restart until End-of-RIB from ${gw} or the grace period`;
      let route: RemoteRoute;
      if (r.dev === VXLAN_DEVICE || r.dev === VXLAN6_DEVICE || (r.dev !== undefined && isVniDevice(r.dev))) {
        const onDev = (e: { dev?: string }) => (e.dev ?? VXLAN_DEVICE) === r.dev;
        const mac = k.neigh.find((n) => n.address === gw && onDev(n))?.lladdr;
        const underlay = (mac && k.fdb.find((f) => f.mac === mac && onDev(f))?.dst) || gw;
        const node: RemoteRoute['node'] = { name: underlay, underlayAddress: underlay, ...(mac ? { mac } : {}) };
        if (r.onlink) node.vtepAddress = gw; // IPv4 over weft.vxlan; the others use the MAC's link-local address
        route = { prefix, shape: 'vxlan', reason, node };
        const vni = r.dev !== undefined && isVniDevice(r.dev) ? Number(r.dev.slice(r.dev.indexOf('-') + 1)) : undefined;
        if (vni !== undefined) route.vni = vni;
      } else if (r.dev === IPIP_DEVICE) {
        route = { prefix, shape: 'ipip', reason, node: { name: gw, underlayAddress: gw } };
      } else {
        route = { prefix, shape: 'direct', reason, node: { name: gw, underlayAddress: gw } };
        if (gws.length > 1) route.nexthops = gws.map((g) => ({ name: g, underlayAddress: g }));
      }
      this.held.set(prefix, { route, holder: route.node.underlayAddress });
    }
  }

  // ------------------------------------------------------------------ changes

  /** Best-path changes: their prefixes go to the Dataplane, which asks wanted() when it plans. */
  apply(changes: readonly Change[]): void {
    const dp = this.dp;
    if (!dp || this.frozen || changes.length === 0) return this.observer?.dropped();
    if (this.held.size > 0) {
      // A held route the RIB now decides is the RIB's.
      for (const c of changes) if (c.best) this.held.delete(c.prefix);
    }
    dp.changed(changes.map((c) => c.prefix));
    this.observer?.handedOff(dp.queuedMarks());
    this.schedule();
  }

  /** A peer sent End-of-RIB: held routes it had may go. */
  endOfRib(): void {
    if (this.held.size === 0) return;
    this.eor = true;
    this.schedule();
  }

  /** Pools, blocks or vxlan settings changed: every decision again. */
  reconfigure(): void {
    this.whole = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || !this.dp || this.frozen) return;
    this.scheduled = true;
    this.scheduler.soon(() => {
      this.scheduled = false;
      if (this.dp && !this.frozen) this.recompute();
    });
  }

  private releaseAll(why: string): void {
    if (this.held.size === 0) return;
    logEvent(this.log, 'dataplane.released', { routes: this.held.size, why });
    this.held.clear();
    this.whole = true;
    this.schedule();
  }

  /**
   * Held routes whose holder has sent End-of-RIB, or that the RIB now decides, are let go; their
   * prefixes are returned.
   */
  private releaseHeld(): Prefix[] {
    const gone: Prefix[] = [];
    if (this.held.size === 0) return gone;
    const agent = this.agent;
    const eor = (address: string, fam: string): boolean => {
      const e = agent.entries.get(address);
      return e?.info !== undefined && agent.rib.hasEndOfRib(e.info.id, fam);
    };
    // A gateway that is no configured peer: released once every peer has sent End-of-RIB (never
    // while no peer is configured yet: at start the peers come after the data plane).
    const everyone = (fam: string) => agent.entries.size > 0 && [...agent.entries.values()].every((e) => e.info !== undefined && agent.rib.hasEndOfRib(e.info.id, fam));
    for (const [p, h] of this.held) {
      const fam = family(p);
      const decided = agent.rib.best(p) !== undefined;
      if (decided || (agent.entries.has(h.holder) ? eor(h.holder, fam) : everyone(fam))) gone.push(p);
    }
    for (const p of gone) this.held.delete(p);
    if (gone.length > 0) logEvent(this.log, 'dataplane.released', { routes: gone.length, remaining: this.held.size, why: 'End-of-RIB or a RIB route' });
    if (this.held.size === 0) this.graceTimer?.cancel();
    return gone;
  }

  context(): DesiredContext {
    const c = this.agent.config;
    const names = new Map<string, string>();
    for (const e of this.agent.entries.values()) names.set(e.spec.address, e.spec.id);
    const u = underlayAddresses(c);
    const other = [u.v4, u.v6].find((a) => a !== undefined && a.address !== c.node.address.address);
    return {
      nodeAddress: `${c.node.address.address}/${c.node.address.length}`,
      ...(other ? { otherAddress: `${other.address}/${other.length}` } : {}),
      ...(this.otherUnderlay ? { otherUnderlay: this.otherUnderlay } : {}),
      ...(this.signalledVnis.size > 0 ? { signalledVnis: [...this.signalledVnis].sort((a, b) => a - b) } : {}),
      pools: c.pools,
      localBlocks: this.agent.localBlocks(),
      nodeNames: names,
      underlayDevice: this.underlayDevice,
      underlayMtu: this.underlayMtu,
      vni: c.vxlan.vni,
      port: c.vxlan.port,
    };
  }

  /** The context decisions are made in now (computed once per change of it). */
  private current(): DesiredContext {
    if (!this.ctx) this.refreshContext();
    return this.ctx!;
  }

  /** Reads the context; a new one drops every decision and asks for a whole state. */
  private refreshContext(): void {
    const ctx = this.context();
    const key = contextKey(ctx);
    const seen = this.contextSeen;
    if (this.ctx && key.kernel === seen.kernel && key.names === seen.names) return;
    this.ctx = ctx;
    this.contextSeen = key;
    this.local = new Set(ctx.localBlocks);
    this.memo = new WeakMap();
    // New names alone (peers configured after the data plane started) change no kernel entry: the
    // decisions are made again as prefixes are asked for, without a full plan.
    if (!this.dp || key.kernel !== seen.kernel) this.whole = true;
  }

  private ribRoute(prefix: Prefix, best: Path, multipath?: readonly Path[]): RibRoute {
    return {
      ...(multipath && multipath.length > 1 ? { multipathNextHops: multipath.map((p) => p.attrs.nextHop) } : {}),
      ...(best.attrs.originatorId !== undefined ? { reflected: true } : {}),
      ...tunnelOf(best),
      prefix,
      nextHop: best.source === 'local' ? '' : best.attrs.nextHop,
      source: best.source,
      peerId: best.peer.id,
      peerAddress: best.peer.address,
      peerType: best.peer.type,
      extCommunities: best.attrs.extCommunities,
    };
  }

  /** The decision for a best path, shared with every prefix of the same path, pool and family. */
  private decide(prefix: Prefix, best: Path): RouteDecision {
    const ctx = this.current();
    const pool = poolOf(prefix, ctx.pools);
    const v4 = isV4(prefix);
    // ECMP: the decision depends on the whole equal set, so it is made per prefix, not shared.
    const multipath = this.agent.rib.multipath(prefix);
    if (multipath.length > 1) return decideRoute(this.ribRoute(prefix, best, multipath), ctx);
    const m = this.memo.get(best);
    if (m && m.pool === pool && m.v4 === v4) return m.d;
    const d = decideRoute(this.ribRoute(prefix, best), ctx);
    this.noteVni(d.route?.vni);
    this.memo.set(best, { pool, v4, d });
    return d;
  }

  /** A VNI a route needs that has no device yet (signalled by its node): devices again, soon. */
  private noteVni(vni: number | undefined): void {
    if (vni === undefined || this.signalledVnis.has(vni) || otherVnis(this.current()).includes(vni)) return;
    this.signalledVnis.add(vni);
    this.schedule();
  }

  /** The route the Dataplane should have for a prefix now (its `prefix` may be another's). */
  private wanted(p: Prefix): RemoteRoute | undefined {
    this.current();
    if (this.local.has(p)) return undefined;
    const best = this.agent.rib.best(p);
    return (best ? this.decide(p, best).route : undefined) ?? this.held.get(p)?.route;
  }

  /** Context check, held routes released by End-of-RIB, and the whole state when it is due. */
  private recompute(): void {
    const dp = this.dp;
    if (!dp) return;
    this.refreshContext();
    if (this.eor) {
      this.eor = false;
      const gone = this.releaseHeld();
      if (gone.length > 0) dp.changed(gone);
    }
    if (!this.whole) return;
    this.whole = false;
    // Devices and blocks now; the Dataplane's full plan asks wholeState() for the routes.
    this.devices = assembleDesired([], this.current());
    dp.setDesired(this.devices);
  }

  /** Every best path's route (each with its own prefix) and the held ones (a full plan only). */
  private wholeState(): DesiredState {
    this.releaseHeld();
    const ctx = this.current();
    const rib = this.agent.rib;
    const local = this.local;
    const held = this.held;
    const decide = (p: Prefix, best: Path) => this.decide(p, best);
    function* all(): Generator<RouteDecision> {
      for (const { prefix, best } of rib.entries()) {
        if (local.has(prefix)) continue;
        const d = decide(prefix, best);
        if (d.route) yield d.route.prefix === prefix ? d : { ...d, route: { ...d.route, prefix } };
        else {
          const h = held.get(prefix);
          if (h) yield { shape: h.route.shape, reason: h.route.reason, route: h.route };
        }
      }
      for (const [p, h] of held) if (!rib.best(p)) yield { shape: h.route.shape, reason: h.route.reason, route: h.route };
    }
    const state = assembleDesired(all(), ctx);
    this.devices = { ...state, routes: [] };
    // Signalled VNIs no route uses any more lose their devices (on the next pass).
    const used = new Set(state.routes.flatMap((r) => (r.vni === undefined ? [] : [r.vni])));
    const unused = [...this.signalledVnis].filter((v) => !used.has(v));
    if (unused.length > 0) {
      for (const v of unused) this.signalledVnis.delete(v);
      this.schedule();
    }
    return state;
  }

  private onBatch(b: BatchRecord): void {
    this.observer?.batch(b.ms, b.full);
    logEvent(this.log, 'dataplane.batch', {
      full: b.full,
      lines: b.count,
      deletes: b.deletes,
      errors: b.errors.length,
      ms: Math.round(b.ms * 10) / 10,
      sample: b.sample,
    });
  }

  // ------------------------------------------------------------------ views

  /** Routes by shape as planned for the kernel (blackholes: our blocks). */
  private countByShape(): Record<string, number> {
    const counts: Record<string, number> = { blackhole: this.devices.localBlocks.length, direct: 0, vxlan: 0, ipip: 0 };
    for (const [kind, n] of this.dp?.routeCounts() ?? []) {
      const shape = SHAPE_OF_KIND[kind] ?? (isVniDevice(kind) ? 'vxlan' : 'direct');
      if (shape !== 'blackhole') counts[shape] += n;
    }
    return counts;
  }

  /** The kernel has everything asked for so far (nothing queued or being written): readiness. */
  get inSync(): boolean {
    return this.dp?.settled ?? false;
  }

  status(): DataplaneStatus {
    const s = this.dp?.stats;
    const mtu = this.podMtu();
    return {
      underlayDevice: this.underlayDevice,
      underlayMtu: this.underlayMtu,
      podMtu: mtu.mtu,
      podMtuReason: mtu.reason,
      routes: this.countByShape(),
      held: this.held.size,
      batches: s?.batches ?? 0,
      linesApplied: s?.linesApplied ?? 0,
      lineErrors: s?.lineErrors ?? 0,
      problems: s?.problems ?? [],
      lastError: s?.lastError,
    };
  }

  /** The decision for a prefix: a block of ours, a learned route, or nothing. */
  decision(prefix: Prefix): RouteDecision | undefined {
    if (this.agent.localBlocks().includes(prefix)) return blockDecision(prefix, this.agent.config.pools);
    const best = this.agent.rib.best(prefix);
    if (!best) return undefined;
    const d = this.decide(prefix, best);
    return d.route && d.route.prefix !== prefix ? { ...d, route: { ...d.route, prefix } } : d;
  }

  /** The data plane's last word on a prefix it did not write ("P: why"), if any. */
  problem(prefixText: string): string | undefined {
    return this.dp?.stats.problems.find((m) => m.startsWith(`${prefixText}: `));
  }

  /** The VXLAN device name routes use (for checking kernel routes). */
  get vxlanDevice(): string {
    return this.devices.vxlan?.device ?? VXLAN_DEVICE;
  }


  /** `weft routes`: each Loc-RIB row gains shape, why and installed. */
  annotate(views: RouteView[]): Promise<RouteView[]> {
    return annotateRoutes(this, views);
  }

  /** `weft explain ADDRESS`: see dataplane-views.ts. */
  explain(address: string, views: readonly RouteView[]): Promise<ExplainView> {
    return explainAddress(this, this.agent, address, views);
  }
}
