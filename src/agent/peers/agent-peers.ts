/**
 * The agent's sessions: one Peer per desired PeerSpec (mesh.ts), kept in step with the
 * configuration and the mesh nodes file. A reload or a nodes-file change opens and closes only the
 * sessions whose spec changed (diffPeers); the others are not touched. Also the max-prefix stop
 * and its restart timer (RFC 4486 4).
 *
 * What a session's events mean for routing (the RIB, Adj-RIB-Out, the sink) is the agent's
 * business: it gets them through PeerRouting.
 */
import type { Logger } from 'pino';
import type { Subscription } from '../../lib/signal.js';
import type { MaxPrefixExceeded } from '../../rib/adj-rib-in.js';
import type { PeerInfo } from '../../rib/peer.js';
import { localCapabilities, type GracefulRetention, type StopMode } from '../../session/index.js';
import { underlayAddresses } from '../config/config-helpers.js';
import { offeredExtendedNextHop, offeredFamilies } from './families.js';
import { gracefulRestartCapability } from './graceful-restart-capability.js';
import { Afi, Safi } from '../../wire/iana.js';
import type { UpdateMessage } from '../../wire/types.js';
import type { AgentConfig, MeshNode } from '../config/agent-config.js';
import type { Scheduler, Timer } from '../io/scheduler.js';
import type { Transport } from '../io/transport.js';
import { BfdService } from '../bfd/bfd-service.js';
import type { BfdSession } from '../bfd/bfd-session.js';
import type { DatagramTransport } from '../bfd/datagram.js';
import { bfdFollowsSession } from '../bfd/bfd-follow.js';
import { logEvent } from '../observability/log-events.js';
import { peerLogger } from '../observability/logger.js';
import { desiredPeers, diffPeers, sessionKey, NodesFileWatcher, type PeerDiff, type PeerSpec } from './mesh.js';
import { Peer } from './peer.js';
import type { InputRefusal } from './update-input.js';

const familyName = (afi: number, safi: number): string =>
  `${afi === Afi.IPV4 ? 'IPv4' : afi === Afi.IPV6 ? 'IPv6' : `AFI ${afi}`} ${safi === Safi.UNICAST ? 'unicast' : `SAFI ${safi}`}`;

export interface PeerEntry {
  spec: PeerSpec;
  peer: Peer;
  sub: Subscription;
  /** Set while the peer is Established (and known to the RIB). */
  info: PeerInfo | undefined;
  since: string;
  /** Prefixes announced by the peer in this session, before import policy. */
  received: number;
  /** Of those, IPv6 prefixes (the metrics' family label). */
  receivedIpv6?: number;
  lastError: string | undefined;
  /** When lastError was set (ISO time). */
  lastErrorAt: string | undefined;
  /** Refused on the agent's input path in this session (update-input.ts), by reason. */
  inputRefused: Partial<Record<InputRefusal, number>>;
  restartTimer: Timer | undefined;
  /** Routes not sent to the peer in this session because they do not fit its maximum message size. */
  tooLarge: number;
  /** Families whose routes were not sent in this session (not negotiated): each is logged once. */
  unsentFamilies?: Set<string>;
  removed: boolean;
  /** The BFD session following this one (spec.bfd), if any. */
  bfd?: BfdSession;
}

/** What the agent does with a session's routing events. A throw resets that session only. */
export interface PeerRouting {
  established(e: PeerEntry): void;
  /**
   * The session left Established, or an Established peer was removed: its routes go, or with
   * `retain` stay stale (graceful restart, RFC 4724 4.2).
   */
  down(e: PeerEntry, retain?: GracefulRetention): void;
  /** A peer that was not Established was removed (its stale routes, if any, go). */
  removed?(e: PeerEntry): void;
  update(e: PeerEntry, u: UpdateMessage): void;
  refresh(e: PeerEntry, afi: number, safi: number, subtype?: number): void;
  /** The peer's import rules or max-prefix changed; the session stays. */
  importPolicyChanged(e: PeerEntry): void;
}

export class AgentPeers {
  /** By peer address (what the listener matches incoming connections on). */
  readonly entries = new Map<string, PeerEntry>();
  private watcher: NodesFileWatcher | undefined;
  private fileNodes: MeshNode[] = [];
  private stopping = false;
  /** R and F bits of our graceful restart capability (graceful-restart.ts; set by the agent). */
  restartFlags: () => { restarting: boolean; forwarding: boolean } = () => ({ restarting: false, forwarding: false });
  /** Called after every apply (start, reload, nodes file): the listener's TCP MD5 keys follow the peers. */
  onApplied: (() => void) | undefined;
  /**
   * Sessions created while this is set are not started until `startHeld()` (the agent holds them
   * from its start until its BGP listener is up). Issue 15: a node that dials only once it
   * listens knows, when a dial is refused, that the peer is not listening yet, so the peer's own
   * first dial (or the one dial at start of a listening mesh session) will find this node up; a
   * dial made before listening could be refused at both ends and leave the pair to the back-off.
   */
  private holdStarts = false;

  constructor(
    /** The running configuration (it changes on reload). */
    private readonly config: () => AgentConfig,
    private readonly routerId: () => string,
    private readonly log: Logger,
    private readonly routing: PeerRouting,
    private readonly io: { scheduler: Scheduler; transport: Transport; datagrams?: DatagramTransport },
  ) {}

  private bfdService: BfdService | undefined;

  /** The agent's BFD (created with the first peer that has BFD); packets dropped before any session. */
  get bfd(): BfdService {
    this.bfdService ??= new BfdService(this.log, { scheduler: this.io.scheduler, datagrams: this.io.datagrams });
    return this.bfdService;
  }

  /** New sessions wait for `startHeld()` (see holdStarts). */
  holdSessionStarts(): void {
    this.holdStarts = true;
  }

  /** Starts the sessions held since `holdSessionStarts()`; later ones start at once again. */
  startHeld(): void {
    this.holdStarts = false;
    for (const e of this.entries.values()) if (!e.removed && e.peer.state.name === 'Idle' && !e.peer.state.autoRestart) e.peer.start();
  }

  // ------------------------------------------------------------------ the nodes file

  /** Reads mesh.nodesFile (throws ConfigError when broken) and watches it; nothing when unset. */
  startWatcher(): void {
    const c = this.config();
    const file = c.mesh.nodesFile;
    if (file === undefined) return;
    this.watcher = new NodesFileWatcher(file, c.mesh.pollInterval, this.log, (nodes) => {
      this.fileNodes = nodes;
      this.apply('nodes file');
    });
    this.fileNodes = this.watcher.start();
  }

  stopWatcher(): void {
    this.watcher?.stop();
  }

  private registryNodes: MeshNode[] = [];

  /** The members from the etcd registry (membership/registry.ts): the same path as the nodes file. */
  setRegistryNodes(nodes: MeshNode[]): void {
    this.registryNodes = nodes;
    this.apply('registry');
  }

  /** After a reload: a new nodes file (or poll interval) is read and watched instead of the old one. */
  rewatch(old: AgentConfig): void {
    const now = this.config();
    if (old.mesh.nodesFile === now.mesh.nodesFile && old.mesh.pollInterval === now.mesh.pollInterval) return;
    this.watcher?.stop();
    this.watcher = undefined;
    this.fileNodes = [];
    try {
      this.startWatcher();
    } catch (e) {
      logEvent(this.log, 'agent.nodes-file-error', { file: now.mesh.nodesFile, error: (e as Error).message });
    }
  }

  // ------------------------------------------------------------------ sessions

  /** Opens and closes sessions so that they match the configuration and the nodes file. */
  apply(why: string): PeerDiff {
    const d = diffPeers(
      [...this.entries.values()].map((e) => e.spec),
      desiredPeers(this.config(), [...this.fileNodes, ...this.registryNodes]),
    );
    for (const s of d.remove) this.remove(this.entries.get(s.address)!, 'peer de-configured', why);
    for (const c of d.change) {
      const e = this.entries.get(c.from.address)!;
      if (sessionKey(c.from) === sessionKey(c.to)) {
        // Only the import policy changed: the session stays, its routes are examined again.
        e.spec = c.to;
        this.routing.importPolicyChanged(e);
        continue;
      }
      this.remove(e, 'peer configuration changed', why);
      this.add(c.to, why);
    }
    for (const s of d.add) this.add(s, why);
    this.onApplied?.();
    return d;
  }

  /** The TCP MD5 keys of the configured peers, by address (for the listening socket). */
  passwords(): Map<string, string> {
    const out = new Map<string, string>();
    for (const e of this.entries.values()) if (e.spec.password !== undefined) out.set(e.spec.address, e.spec.password);
    return out;
  }

  /**
   * Every session closed with Cease/Administrative Shutdown and `message`; no restart after.
   * `mode` 'graceful' lets peers with graceful restart keep our routes, 'withdraw' makes them drop
   * them (session/graceful-restart.ts stopNotification).
   */
  closeAll(message: string, mode?: StopMode): void {
    this.stopping = true;
    for (const e of [...this.entries.values()]) this.remove(e, message, 'shutdown', mode);
  }

  /** Our OPEN's capabilities for a session: families and RFC 8950 next hops as families.ts decides. */
  private capabilities(spec: PeerSpec) {
    const c = this.config();
    const families = offeredFamilies(c.pools);
    const extendedNextHop = offeredExtendedNextHop(c.pools, underlayAddresses(c));
    const gracefulRestart = gracefulRestartCapability(spec.gracefulRestart, families, this.restartFlags());
    return localCapabilities({ localAs: c.node.asn, families, enhancedRouteRefresh: true, extendedNextHop, ...(gracefulRestart ? { gracefulRestart } : {}) });
  }

  /** The capabilities changed (the restart is over: R cleared): the next OPENs carry the new ones. */
  refreshCapabilities(): void {
    for (const e of this.entries.values()) e.peer.setCapabilities(this.capabilities(e.spec));
  }

  private add(spec: PeerSpec, why: string): void {
    const c = this.config();
    const log = peerLogger(this.log, spec.id);
    const peer = new Peer(
      {
        name: spec.id,
        address: spec.address,
        port: spec.port,
        localAddress: spec.localAddress,
        password: spec.password,
        session: {
          localAs: c.node.asn,
          bgpId: this.routerId(),
          peerAs: spec.asn,
          holdTime: spec.holdTime,
          keepaliveTime: spec.keepalive,
          connectRetryTime: spec.connectRetry,
          passive: spec.passive,
          dialOnStart: spec.passive && spec.dialOnStart === true,
          // Refused dials back off only between members (mesh, registry): there the listening side
          // dials once when it starts, and N members dialling each other every ConnectRetry is the
          // O(N^2) start-up cost of issue 15. A configured peer (a ToR, a reflector, a router under
          // test) is one session: it is dialled every ConnectRetry, as before, so it comes back
          // within that once it listens again.
          ...(spec.dialOnStart === true ? {} : { connectRetryMaxTime: spec.connectRetry }),
          capabilities: this.capabilities(spec),
        },
      },
      log,
      this.io,
    );
    const e: PeerEntry = { spec, peer, sub: undefined as unknown as Subscription, info: undefined, since: this.isoNow(), received: 0, lastError: undefined, lastErrorAt: undefined, inputRefused: {}, restartTimer: undefined, tooLarge: 0, removed: false };
    e.sub = peer.events.subscribe((ev) => {
      try {
        switch (ev.type) {
          case 'state':
            e.since = this.isoNow();
            return;
          case 'established':
            return this.routing.established(e);
          case 'down':
            this.setLastError(e, peer.state.lastError?.message ?? ev.reason);
            return this.routing.down(e, ev.retain);
          case 'update':
            return this.routing.update(e, ev.update);
          case 'route-refresh':
            return this.routing.refresh(e, ev.refresh.afi, ev.refresh.safi, ev.refresh.subtype);
        }
      } catch (err) {
        // A bug here must not take the other sessions down: log it and reset this one.
        logEvent(log, 'session.internal-error', { err, during: ev.type });
        peer.reset('cease.administrative-reset', 'internal error');
      }
    });
    this.entries.set(spec.address, e);
    if (spec.bfd) e.bfd = bfdFollowsSession(this.bfd, e, log, (text) => this.setLastError(e, text));
    logEvent(this.log, 'agent.peer-added', { peer: spec.id, address: spec.address, kind: spec.kind, passive: spec.passive, why });
    if (!this.holdStarts) peer.start();
  }

  private remove(e: PeerEntry, message: string, why = 'shutdown', mode?: StopMode): void {
    e.removed = true;
    e.restartTimer?.cancel();
    if (this.entries.get(e.spec.address) === e) this.entries.delete(e.spec.address);
    // RFC 4486 3: a peer removed from the configuration gets Cease/3 Peer De-configured; an agent
    // shutting down sends Cease/2 Administrative Shutdown. Both carry the reason as RFC 9003 text.
    e.peer.close(message, why === 'shutdown' ? 'cease.administrative-shutdown' : 'cease.peer-deconfigured', why === 'shutdown' ? mode : undefined);
    if (e.bfd) this.bfd.remove(e.spec.address, e.bfd);
    if (e.info) this.routing.down(e);
    else this.routing.removed?.(e);
    e.sub.unsubscribe();
    if (why !== 'shutdown') logEvent(this.log, 'agent.peer-removed', { peer: e.spec.id, address: e.spec.address, why, message });
  }

  /**
   * RFC 4486 4: Cease / Maximum Number of Prefixes Reached with AFI, SAFI and the limit as data;
   * one ManualStop (no automatic restart), then the agent starts the session again after
   * restartAfter seconds.
   */
  maxPrefix(e: PeerEntry, over: MaxPrefixExceeded): void {
    const after = e.spec.maxPrefix?.restartAfter ?? 60;
    const { count, limit } = over;
    const family = familyName(over.afi, over.safi);
    const text = `max-prefix: ${count} prefixes > limit ${limit} (${family}); restarting in ${after} s`;
    logEvent(this.log, 'agent.max-prefix', { peer: e.spec.id, count, limit, family, restartAfter: after }, `${text} (Cease/1 sent)`);
    e.peer.stop(undefined, 'cease.max-prefixes', over.data);
    this.setLastError(e, text);
    e.restartTimer?.cancel();
    e.restartTimer = this.io.scheduler.after(after * 1000, () => {
      e.restartTimer = undefined;
      if (!e.removed && !this.stopping) e.peer.start();
    });
  }

  private isoNow(): string {
    return new Date(this.io.scheduler.wallClock()).toISOString();
  }

  private setLastError(e: PeerEntry, text: string): void {
    e.lastError = text;
    e.lastErrorAt = this.isoNow();
  }
}
