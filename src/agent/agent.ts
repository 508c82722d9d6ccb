/**
 * `weft agent`: the routing daemon. It joins the pieces: one Peer (session FSM on node:net) per
 * mesh node and external peer (agent-peers.ts keeps them in step with the config, the nodes file
 * and the etcd registry), the RIB (Adj-RIB-In -> Loc-RIB -> Adj-RIB-Out), this node's blocks as
 * local routes, the data-plane hand-off (RouteSink), host protection, the control socket and the
 * metrics. What happens to routes (sessions up and down, UPDATEs, ROUTE-REFRESH, the flush to
 * peers and the kernel) is peers/routing.ts; this file is the life cycle, reload and control.
 */
import type { Logger } from 'pino';
import { formatPrefix, type Prefix } from '../lib/prefix.js';
import { AdjRibOut } from '../rib/export.js';
import { Rib } from '../rib/loc-rib.js';
import { compileImportPolicy, type Policy } from '../rib/policy.js';
import type { AgentConfig, LoadedConfig } from './config/agent-config.js';
import { loadAgentConfig } from './config/config-load.js';
import { AgentPeers, type PeerEntry } from './peers/agent-peers.js';
import { AgentRouting } from './peers/routing.js';
import { underlayAddresses } from './config/config-helpers.js';
import { LocalBlocks } from './blocks.js';
import { GracefulRestart } from './peers/graceful-restart.js';
import type { StopMode } from '../session/index.js';
import { ConfigError } from './config/config-error.js';
import { agentMd5Problem } from './config/md5-check.js';
import { ControlServer } from './control/control-server.js';
import type { AgentStatus, BlockChange, ControlHandlers, ControlOp, ControlReply, ControlResult, ReloadSummary, RequestOf } from './control/protocol.js';
import type { IpDriver } from '../dataplane/ip-driver.js';
import { systemScheduler, type Scheduler } from './io/scheduler.js';
import { netTransport, type Transport } from './io/transport.js';
import type { DatagramTransport } from './bfd/datagram.js';
import type { AgentView } from './view.js';
import { peerStatuses, routeViews } from './control/views.js';
import { neighborViews } from './control/neighbor-views.js';
import { pathViews } from './control/rib-views.js';
import { Listener } from './peers/listener.js';
import { logEvent } from './observability/log-events.js';
import type { PeerSpec } from './peers/mesh.js';
import type { AgentCounters, AgentMetrics } from './observability/metrics.js';
import { peerAttempted, readiness } from './observability/readiness.js';
import { LoggingSink, TeeSink, type RouteSink } from './kernel/route-sink.js';
import { DataplaneBridge } from './kernel/dataplane-bridge.js';
import { HostProtection, type FirewallMembers } from './kernel/host-protection.js';
import { nftRunner, type NftRunner } from './kernel/nft-runner.js';
import { VtepSources } from './kernel/vtep-sources.js';
import { canonicalAddress } from '../lib/address.js';
import type { EtcdRegistry } from './membership/registry.js';

export type { PeerEntry };

export interface AgentOptions {
  sink?: RouteSink;
  /** Overrides config.control.socket (tests); false: no control socket (requests through `request`). */
  controlSocket?: string | false;
  /** The time and TCP seams (io/): real timers and node:net unless given (in-process tests). */
  scheduler?: Scheduler;
  transport?: Transport;
  /** The UDP seam of BFD (bfd/datagram.ts): node:dgram unless given. */
  datagrams?: DatagramTransport;
  /** The kernel the data plane drives (default: iproute2, in `netns`); a MemoryKernel in tests. */
  ipDriver?: IpDriver;
  /** Reads the configuration again on reload (default: loadAgentConfig of the same file). */
  loadConfig?: (source: string) => LoadedConfig;
  /** Run the kernel data plane in this network namespace (tests); default: the agent's own. */
  netns?: string;
  /** How host protection runs nft (default: nft, in `netns`). */
  nft?: NftRunner;
}

export class Agent implements AgentView {
  config: AgentConfig;
  readonly rib: Rib;
  readonly ribOut: AdjRibOut;
  /** Prometheus metrics, when enabled (metrics.listen). */
  private metrics: AgentMetrics | undefined;
  readonly counters: AgentCounters = { updatesReceived: 0, updatesSent: 0, bestPathChanges: 0, routesTooLarge: 0 };
  /** The sessions, by peer address (agent-peers.ts). */
  readonly entries: Map<string, PeerEntry>;
  readonly startedAt: number;
  readonly scheduler: Scheduler;
  private readonly transport: Transport;
  listenPort: number | undefined;
  metricsPort: number | undefined;
  private readonly sink: RouteSink;
  private listener: Listener | undefined;
  private control: ControlServer | undefined;
  private readonly peers: AgentPeers;
  /** This node's blocks (blocks.ts). */
  private readonly localBlockSet: LocalBlocks;
  /** Sessions up and down, UPDATEs, ROUTE-REFRESHes and Loc-RIB changes (peers/routing.ts). */
  private readonly routing: AgentRouting;
  private stopping = false;
  /** Graceful restart, both roles (peers/graceful-restart.ts); made at start, once the kernel was read. */
  private gr: GracefulRestart | undefined;
  /** The kernel data plane (dataplane-bridge.ts); undefined when dataplane.enabled is false. */
  readonly dataplane: DataplaneBridge | undefined;
  /** weft's nftables table (kernel/host-protection.ts). */
  private readonly hostProtection: HostProtection;
  /** Next hops of the pod blocks learned from peers: known VTEPs besides the mesh (vtep-sources.ts). */
  private readonly vteps = new VtepSources();
  /** The etcd registry (membership.etcd), loaded only when configured (membership/agent-membership.ts). */
  private registry: EtcdRegistry | undefined;

  constructor(
    private loaded: LoadedConfig,
    private readonly log: Logger,
    private readonly opts: AgentOptions = {},
  ) {
    this.config = loaded.config;
    this.scheduler = opts.scheduler ?? systemScheduler;
    this.transport = opts.transport ?? netTransport;
    this.startedAt = this.scheduler.wallClock();
    const c = this.config;
    // The schema makes routerId required when the node has no IPv4 address.
    const routerId = c.node.routerId ?? underlayAddresses(c).v4?.address ?? c.node.address.address;
    const local = { asn: c.node.asn, routerId, clusterId: c.routeReflector?.clusterId };
    this.rib = new Rib({ local, maxPaths: c.maxPaths });
    this.localBlockSet = new LocalBlocks(() => this.config, this.rib, log, (c) => this.routing.onChanges(c));
    this.ribOut = new AdjRibOut(this.rib, { local, routeReflector: c.routeReflector !== undefined });
    const sink = opts.sink ?? new LoggingSink(log);
    this.dataplane = c.dataplane.enabled ? new DataplaneBridge(this, log, { netns: opts.netns, driver: opts.ipDriver, scheduler: this.scheduler }) : undefined;
    this.sink = this.dataplane ? new TeeSink([sink, this.dataplane]) : sink;
    this.peers = new AgentPeers(() => this.config, () => this.routerId, log, {
      established: (e) => this.routing.onEstablished(e),
      down: (e, retain) => this.routing.onDown(e, retain),
      removed: (e) => this.gr?.removed(e.spec.id),
      update: (e, u) => {
        this.counters.updatesReceived++;
        this.routing.onUpdate(e, u);
      },
      refresh: (e, afi, safi, subtype) => this.routing.onRefresh(e, afi, safi, subtype),
      importPolicyChanged: (e) => this.reapplyImportPolicy(e),
    }, { scheduler: this.scheduler, transport: this.transport, datagrams: opts.datagrams });
    this.entries = this.peers.entries;
    this.routing = new AgentRouting({
      config: () => this.config,
      rib: this.rib,
      ribOut: this.ribOut,
      entries: this.entries,
      counters: this.counters,
      log,
      scheduler: this.scheduler,
      sink: this.sink,
      dataplane: this.dataplane,
      vteps: this.vteps,
      gr: () => this.gr,
      importPolicy: (spec) => this.importPolicy(spec),
      maxPrefix: (e, over) => this.peers.maxPrefix(e, over),
      routesChanged: () => this.hostProtection.update('routes'),
    });
    this.hostProtection = new HostProtection({
      config: () => this.config,
      members: () => this.firewallMembers(),
      runner: opts.nft ?? nftRunner(opts.netns),
      scheduler: this.scheduler,
      log,
      // A table left from hostProtection on is removed only by an agent that owns the host's kernel.
      removeWhenOff: opts.nft !== undefined || (c.dataplane.enabled && opts.ipDriver === undefined),
    });
  }

  /** Who may reach this host's BGP, VXLAN and BFD ports: the configured sessions (host-protection.ts). */
  private firewallMembers(): FirewallMembers {
    const specs = [...this.entries.values()].map((e) => e.spec);
    const addr = (a: string) => canonicalAddress(a);
    const bfd = specs.filter((s) => s.bfd !== undefined).map((s) => addr(s.address));
    return {
      bgp: specs.map((s) => addr(s.address)),
      vxlan: [...specs.filter((s) => s.kind === 'mesh').map((s) => s.address), ...this.vteps.addresses()].map(addr),
      bfd: bfd.length > 0 ? bfd : undefined,
    };
  }

  get routerId(): string {
    return this.rib.local.routerId;
  }

  get controlSocket(): string | false {
    return this.opts.controlSocket ?? this.config.control.socket;
  }

  // ------------------------------------------------------------------ life cycle

  /**
   * Control socket first (refuses when another agent answers), then metrics and the nodes file,
   * the blocks, the data plane (kernel routes read and held before any peer can change the RIB),
   * the sessions, and only then the BGP listener: every configured peer is known from the first
   * moment weft listens, so none is refused as unknown while the data plane adopts a large table.
   * The sessions start (dial) only once weft listens (agent-peers.ts holdStarts, issue 15).
   */
  async start(): Promise<void> {
    // The real transport needs the MD5 addon for passwords (an injected one, in tests, does not).
    const md5 = this.transport === netTransport ? agentMd5Problem(this.config) : undefined;
    if (md5) throw new ConfigError(this.loaded.source, [md5]);
    for (const w of this.loaded.warnings) logEvent(this.log, 'agent.config-warning', { warning: w });
    const socket = this.controlSocket;
    if (socket !== false) {
      this.control = new ControlServer(socket, this.handlers(), this.log);
      await this.control.start();
    }
    try {
      const m = this.config.metrics.listen;
      if (m !== false) {
        const { AgentMetrics } = await import('./observability/metrics.js');
        const { peerMetricStat } = await import('./observability/metrics-source.js');
        const dp = () => this.dataplane && { ...this.dataplane.status(), inSync: this.dataplane.inSync };
        this.metrics = new AgentMetrics({
          peerStats: () => [...this.entries.values()].map((e) => peerMetricStat(this, e)),
          ribSize: () => this.rib.size(),
          startedAt: this.startedAt,
          counters: this.counters,
          dataplane: this.dataplane ? dp : undefined,
          bfdDropped: () => this.peers.bfd.dropped,
          ready: () => readiness({ started: this.listenPort !== undefined, peers: [...this.entries.values()].map((e) => ({ id: e.spec.id, attempted: peerAttempted(e.peer) })), dataplane: dp() }),
        });
        if (this.dataplane) this.dataplane.observer = this.metrics.dataplaneObserver(() => this.scheduler.now());
        this.metricsPort = await this.metrics.listen(m.host, m.port, this.log);
      }
      this.peers.holdSessionStarts(); // until the listener is up (agent-peers.ts holdStarts)
      this.peers.startWatcher();
      this.localBlockSet.apply();
      await this.dataplane?.start();
      this.startGracefulRestart();
      this.peers.apply('start');
      // The firewall is in place (or adopted) before weft listens; refuses to start without it.
      await this.hostProtection.start();
      this.listener = new Listener((addr) => this.entries.get(addr)?.peer, this.log, { transport: this.transport, scheduler: this.scheduler, passwords: () => this.peers.passwords() });
      this.peers.onApplied = () => {
        this.updateListenerKeys();
        this.hostProtection.update('peers');
      };
      this.listenPort = await this.listener.listen(this.config.listen.address, this.config.listen.port);
      this.peers.startHeld();
      if (this.config.membership?.etcd) {
        const { startRegistry } = await import('./membership/agent-membership.js');
        this.registry = await startRegistry(this.config, this.log, { nodes: (n) => this.peers.setRegistryNodes(n), blocks: (b) => this.localBlockSet.setClaimed(b) }, this.metrics?.registry);
      }
    } catch (e) {
      this.hostProtection.stop();
      this.peers.closeAll('weft agent failed to start');
      await this.stopServers();
      throw e;
    }
    logEvent(this.log, 'agent.started', { node: this.config.node.name, routerId: this.routerId, peers: this.entries.size, blocks: this.localBlockSet.size });
  }

  /** One control request in-process: the same handlers as the control socket, errors as replies. */
  async request<Op extends ControlOp>(req: RequestOf<Op>): Promise<ControlReply<Op>> {
    const h = this.handlers()[req.op] as (r: RequestOf<Op>) => Promise<ControlResult<Op>> | ControlResult<Op>;
    try {
      return { ok: true, ...(await h(req)) };
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  }

  /**
   * RFC 4724 4.1: this start is a restart when weft's own routes were in the kernel (the data
   * plane found them); then the R and F bits go out and tables to graceful peers wait for the
   * restart to complete (peers/graceful-restart.ts).
   */
  private startGracefulRestart(): void {
    const restarted = (this.dataplane?.foundAtStart ?? 0) > 0;
    this.gr = new GracefulRestart({
      rib: this.rib,
      entries: this.entries,
      onChanges: (c) => this.routing.onChanges(c),
      advertise: (e) => this.routing.sendTable(e),
      capabilitiesChanged: () => this.peers.refreshCapabilities(),
    }, this.scheduler, this.log, restarted, this.config.gracefulRestart.restartTime);
    this.peers.restartFlags = () => this.gr?.restartFlags() ?? { restarting: false, forwarding: false };
  }

  gracefulRestartView(e: PeerEntry) {
    return this.gr?.view(e);
  }

  /**
   * Closes every session, then everything. `mode` (session/graceful-restart.ts): 'graceful' (the
   * default of SIGTERM) lets peers with graceful restart keep our routes while we restart (no
   * NOTIFICATION without the N bit, Cease/Administrative Reset with it); 'withdraw' makes them drop
   * them (Hard Reset with N); 'default' sends Cease/Administrative Shutdown (RFC 9003 text).
   */
  async shutdown(message = 'weft agent is shutting down', mode: StopMode = 'default'): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    // The sessions closing below withdraw every learned route from the RIB: that must not reach
    // the kernel (keepRoutesOnExit), so the data plane stops following the RIB first.
    this.dataplane?.freeze();
    logEvent(this.log, 'agent.shutdown', { message });
    this.gr?.stop();
    this.hostProtection.stop(); // the table stays: the host stays protected while weft is down
    this.peers.closeAll(message, mode);
    this.routing.flush();
    await this.stopServers();
    await this.dataplane?.stop(!this.config.dataplane.keepRoutesOnExit);
    this.sink.close?.();
  }

  private async stopServers(): Promise<void> {
    this.peers.stopWatcher();
    await this.registry?.stop();
    await this.listener?.close();
    await this.control?.close();
    await this.metrics?.close();
  }

  // ------------------------------------------------------------------ configuration

  /** The listening socket's TCP MD5 keys follow the peers (reload, nodes file). */
  private updateListenerKeys(): void {
    try {
      this.listener?.updatePasswords();
    } catch (e) {
      logEvent(this.log, 'listener.md5-keys-failed', { error: (e as Error).message });
    }
  }

  /** SIGHUP / {"op":"reload"}: peers and blocks diffed; node, listen, control and metrics need a restart. */
  reload(): ReloadSummary {
    let next: LoadedConfig;
    try {
      next = (this.opts.loadConfig ?? loadAgentConfig)(this.loaded.source);
      const md5 = this.transport === netTransport ? agentMd5Problem(next.config) : undefined;
      if (md5) throw new ConfigError(next.source, [md5]);
    } catch (e) {
      const problems = e instanceof ConfigError ? e.problems : [(e as Error).message];
      logEvent(this.log, 'agent.reload-failed', { problems });
      throw new Error(`reload refused, the running configuration stays: ${problems.join('; ')}`);
    }
    const old = this.config;
    const fixed = ['node', 'listen', 'control', 'metrics', 'routeReflector', 'dataplane', 'maxPaths', 'membership', 'autoBlocks'] as const;
    const restartNeeded = fixed.filter((k) => JSON.stringify(old[k]) !== JSON.stringify(next.config[k]));
    const poolsChanged = JSON.stringify(old.pools) !== JSON.stringify(next.config.pools);
    this.loaded = next;
    this.config = { ...next.config, node: old.node, listen: old.listen, control: old.control, metrics: old.metrics, routeReflector: old.routeReflector, dataplane: old.dataplane, maxPaths: old.maxPaths, membership: old.membership, autoBlocks: old.autoBlocks };
    this.peers.rewatch(old);
    this.localBlockSet.apply(poolsChanged);
    if (poolsChanged || JSON.stringify(old.vxlan) !== JSON.stringify(this.config.vxlan)) this.dataplane?.reconfigure();
    const d = this.peers.apply('reload');
    this.hostProtection.update('reload');
    if (poolsChanged) this.reapplyImportPolicies();
    const summary = {
      added: d.add.map((s) => s.id),
      removed: d.remove.map((s) => s.id),
      changed: d.change.map((c) => c.to.id),
      unchanged: d.unchanged.length,
      restartNeeded: [...restartNeeded],
      warnings: next.warnings,
    };
    logEvent(this.log, 'agent.reload', summary);
    return summary;
  }

  /**
   * The pools changed, so every import policy did. RFC 2918 1: the routes held from each peer are
   * "re-examined against the new policy": a narrower policy takes effect at once on what the RIB
   * holds (routes outside every pool go, from the RIB and the kernel). Routes the old policy
   * refused are held nowhere; when the new one may accept them the peer is asked to send its
   * routes again (ROUTE-REFRESH), or, if it cannot refresh, only that session is reset.
   */
  private reapplyImportPolicies(): void {
    for (const e of this.entries.values()) this.reapplyImportPolicy(e);
  }

  /** One peer's import policy again (its rules, max-prefix or the pools changed); see above. */
  private reapplyImportPolicy(e: PeerEntry): void {
    if (!e.info) return;
    const id = e.info.id;
    const next = this.importPolicy(e.spec);
    const again = this.rib.needsRoutesAgain(id, next);
    const changes = this.rib.setPolicy(id, next);
    this.routing.onChanges(changes);
    const over = this.rib.checkMaxPrefix(id);
    if (over) {
      this.peers.maxPrefix(e, over);
      return;
    }
    let action = 'none';
    if (again) {
      const n = e.peer.negotiated;
      const asked = n?.families.filter((f) => e.peer.requestRefresh(f.afi, f.safi)).length ?? 0;
      if (asked > 0) action = 'route-refresh';
      else {
        action = 'session-reset';
        e.peer.reset('cease.other-configuration-change', 'import policy widened and the peer has no route refresh');
      }
    }
    logEvent(this.log, 'agent.policy-reapplied', { peer: id, changes: changes.length, routesAgain: again, action });
  }

  private importPolicy(s: PeerSpec): Policy {
    return compileImportPolicy({
      kind: s.kind === 'mesh' ? 'mesh' : 'external',
      pools: this.config.pools.map((p) => p.cidr),
      underlay: this.config.node.address.subnet,
      maxPrefix: s.maxPrefix?.limit,
      rules: s.importRules,
    });
  }

  // ------------------------------------------------------------------ blocks (blocks.ts)

  advertise(text: string): BlockChange {
    return this.localBlockSet.advertise(text);
  }

  withdraw(text: string): BlockChange {
    return this.localBlockSet.withdraw(text);
  }

  localBlocks(): Prefix[] {
    return this.localBlockSet.list();
  }

  // ------------------------------------------------------------------ control API

  /** The control API, one handler per op (control/protocol.ts). */
  private handlers(): ControlHandlers {
    const views = () => routeViews(this);
    return {
      status: () => ({ status: this.status() }),
      routes: async () => ({ routes: this.dataplane ? await this.dataplane.annotate(views()) : views() }),
      explain: async (req) => {
        if (!this.dataplane) throw new Error('the data plane is disabled (dataplane.enabled: false)');
        return { explain: await this.dataplane.explain(req.address, views()) };
      },
      advertise: async (req) => (req.prefix === 'auto' ? (await import('./membership/agent-membership.js')).advertiseClaimed(this.registry) : this.advertise(req.prefix)),
      withdraw: async (req) => {
        const r = this.withdraw(req.prefix);
        if (this.registry) await (await import('./membership/agent-membership.js')).releaseClaimed(this.registry, r.prefix);
        return r;
      },
      reload: () => ({ reload: this.reload() }),
      neighbors: () => ({ neighbors: neighborViews(this) }),
      paths: (req) => ({ paths: pathViews(this, req.table, req.peer) }),
    };
  }

  status(): AgentStatus {
    const c = this.config;
    return {
      node: {
        name: c.node.name,
        asn: c.node.asn,
        routerId: this.routerId,
        address: `${c.node.address.address}/${c.node.address.length}`,
        ...(c.node.address4 ? { address4: `${c.node.address4.address}/${c.node.address4.length}` } : {}),
        ...(c.node.address6 ? { address6: `${c.node.address6.address}/${c.node.address6.length}` } : {}),
      },
      uptimeSeconds: Math.round((this.scheduler.wallClock() - this.startedAt) / 1000),
      listen: { address: this.listener?.address ?? c.listen.address, port: this.listenPort },
      routeReflector: c.routeReflector !== undefined,
      refusedConnections: this.listener?.refused ?? 0,
      rib: { prefixes: this.rib.size(), local: this.rib.localCount() },
      memory: memoryMiB(),
      blocks: this.localBlocks().map(formatPrefix),
      peers: peerStatuses(this),
      bfdDropped: { ...this.peers.bfd.dropped },
      ...(this.dataplane ? { dataplane: this.dataplane.status() } : {}),
      hostProtection: this.hostProtection.status(),
    };
  }
}

function memoryMiB(): AgentStatus['memory'] {
  const m = process.memoryUsage();
  const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
  return { rssMiB: mib(m.rss), heapUsedMiB: mib(m.heapUsed), heapTotalMiB: mib(m.heapTotal), externalMiB: mib(m.external) };
}
