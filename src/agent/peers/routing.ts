/**
 * The routing half of the agent: what happens when a session comes up or goes down, an UPDATE or
 * a ROUTE-REFRESH arrives, and the Loc-RIB changes. An UPDATE goes through ribInput into
 * Rib.applyUpdate; the Loc-RIB changes are recorded in the AdjRibOut log and queued for the sink;
 * one flush per event-loop turn (Scheduler.soon) turns them into UPDATEs per Established peer
 * (packed per attribute set) and hands the best-path changes to the sink. A peer that becomes
 * Established gets the full table and End-of-RIB (RFC 4724 2); a ROUTE-REFRESH gets its family's
 * table again (RFC 2918 4, RFC 7313 4). Agent (agent.ts) owns the parts; this class only joins them.
 */
import type { Logger } from 'pino';
import { formatPrefix, type Prefix } from '../../lib/prefix.js';
import type { AdjRibOut, OutBatch } from '../../rib/export.js';
import type { Rib, Change } from '../../rib/loc-rib.js';
import type { PeerInfo } from '../../rib/peer.js';
import { compileExportPolicy, type Policy } from '../../rib/policy.js';
import { isEndOfRib } from '../../wire/eor.js';
import { Afi, Safi } from '../../wire/iana.js';
import type { UpdateMessage } from '../../wire/types.js';
import type { TooLarge } from '../../wire/update-pack.js';
import { familiesOf, type GracefulRetention } from '../../session/index.js';
import type { AgentConfig } from '../config/agent-config.js';
import { underlayAddresses } from '../config/config-helpers.js';
import type { DataplaneBridge } from '../kernel/dataplane-bridge.js';
import type { RouteSink } from '../kernel/route-sink.js';
import { vxlanPools, type VtepSources } from '../kernel/vtep-sources.js';
import type { Scheduler } from '../io/scheduler.js';
import { logEvent } from '../observability/log-events.js';
import type { AgentCounters } from '../observability/metrics.js';
import { initialAdvertisement, refreshAnswer } from './advertise.js';
import type { PeerEntry } from './agent-peers.js';
import { familyText, negotiatedOnly, NO_IPV4_NEXT_HOP, sessionNextHops } from './families.js';
import type { GracefulRestart } from './graceful-restart.js';
import type { PeerSpec } from './mesh.js';
import { countUpdates } from './peer.js';
import { ribInput, type InputRefusal } from './update-input.js';

/** What the routing half needs from the agent. */
export interface RoutingDeps {
  config(): AgentConfig;
  readonly rib: Rib;
  readonly ribOut: AdjRibOut;
  readonly entries: ReadonlyMap<string, PeerEntry>;
  readonly counters: AgentCounters;
  readonly log: Logger;
  readonly scheduler: Scheduler;
  readonly sink: RouteSink;
  readonly dataplane: DataplaneBridge | undefined;
  readonly vteps: VtepSources;
  /** Graceful restart, once the agent has started (peers/graceful-restart.ts). */
  gr(): GracefulRestart | undefined;
  importPolicy(s: PeerSpec): Policy;
  /** A peer went over its max-prefix limit (agent-peers.ts). */
  maxPrefix(e: PeerEntry, over: NonNullable<ReturnType<Rib['checkMaxPrefix']>>): void;
  /** The learned next hops changed: host protection follows (kernel/host-protection.ts). */
  routesChanged(): void;
}

export class AgentRouting {
  /** Routes not sent to a peer because they do not fit its maximum message size (logged once per prefix). */
  private readonly tooLarge = new Map<string, Set<Prefix>>();
  private flushScheduled = false;
  private pendingSink: Change[] = [];

  constructor(private readonly d: RoutingDeps) {}

  onEstablished(e: PeerEntry): void {
    const n = e.peer.negotiated;
    if (!n) return;
    const info: PeerInfo = {
      id: e.spec.id,
      address: e.spec.address,
      asn: n.peerAs,
      routerId: n.peerBgpId,
      type: n.internal ? 'ibgp' : 'ebgp',
      isRrClient: e.spec.kind === 'reflector-client',
      localAsn: this.d.config().node.asn,
    };
    if (e.info) this.onDown(e);
    this.d.gr()?.established(info.id, info, n);
    this.d.rib.addPeer(info, this.d.importPolicy(e.spec));
    // Next hop self per family (families.ts): the session's address in its family, the underlay
    // address in the other (IPv4-mapped for IPv6 on an IPv4-only node; RFC 8950 where negotiated).
    const hops = sessionNextHops(e.peer.localAddress ?? this.d.config().node.address.address, underlayAddresses(this.d.config()), n);
    this.d.ribOut.addPeer({ info, ...hops, policy: compileExportPolicy(e.spec.exportRules) });
    const v4Pools = this.d.config().pools.some((p) => typeof p.cidr === 'number');
    if (hops.nextHopSelf.ipv4 === undefined && v4Pools && n.families.some((f) => f.afi === Afi.IPV4 && f.safi === Safi.UNICAST)) {
      logEvent(this.d.log, 'agent.family-not-negotiated', { peer: e.spec.id, family: 'ipv4-unicast', why: NO_IPV4_NEXT_HOP });
    }
    e.info = info;
    e.unsentFamilies = undefined;
    e.received = 0;
    e.receivedIpv6 = 0;
    e.inputRefused = {};
    e.lastError = undefined;
    e.lastErrorAt = undefined;
    this.tooLarge.delete(info.id);
    if (this.d.gr()?.defer(e, n)) return; // RFC 4724 4.1: we restarted; the table waits (graceful-restart.ts)
    this.sendTable(e);
  }

  /** The full table and End-of-RIB (RFC 4724 2) to a newly Established peer. */
  sendTable(e: PeerEntry): void {
    const n = e.peer.negotiated;
    const info = e.info;
    if (!n || !info) return;
    const msgs = initialAdvertisement(n, () => this.messages(e, this.d.ribOut.fullTable(info.id)));
    this.send(e, msgs);
    this.d.gr()?.tableSent();
    logEvent(this.d.log, 'agent.routes-sent', { peer: info.id, messages: msgs.length, fullTable: true });
  }

  /** With `retain` (RFC 4724 4.2) the peer's routes stay, stale (graceful-restart.ts); else they go. */
  onDown(e: PeerEntry, retain?: GracefulRetention): void {
    if (!e.info) return;
    const id = e.info.id;
    e.info = undefined;
    this.d.gr()?.forget(e);
    this.d.ribOut.removePeer(id);
    if (retain && this.d.gr()?.sessionDown(e, id, retain)) return;
    this.d.gr()?.removed(id, 'the session ended without graceful restart');
    this.onChanges(this.d.rib.removePeer(id));
  }

  onUpdate(e: PeerEntry, u: UpdateMessage): void {
    if (!e.info) return;
    const id = e.info.id;
    const eor = isEndOfRib(u);
    if (eor) {
      this.d.rib.endOfRib(id, eor);
      logEvent(this.d.log, 'agent.end-of-rib', { peer: id, family: `${eor.afi}/${eor.safi}` });
      this.d.gr()?.endOfRib(id, eor);
      this.d.dataplane?.endOfRib();
      return;
    }
    const changes: Change[] = [];
    const ipv4ExtendedNextHop = e.peer.negotiated?.extendedNextHop.receive.some((x) => x.afi === Afi.IPV4 && x.safi === Safi.UNICAST && x.nextHopAfi === Afi.IPV6) ?? false;
    const input = ribInput(u, { ipv4ExtendedNextHop });
    e.received += input.announced;
    e.receivedIpv6 = (e.receivedIpv6 ?? 0) + input.announcedIpv6;
    for (const [reason, n] of Object.entries(input.refused) as [InputRefusal, number][]) e.inputRefused[reason] = (e.inputRefused[reason] ?? 0) + n;
    for (const r of input.updates) changes.push(...this.d.rib.applyUpdate(id, r));
    if (changes.length > 0) this.d.dataplane?.observer?.arrived();
    logEvent(this.d.log, 'agent.routes-received', { peer: id, changes: changes.length });
    this.onChanges(changes);
    const over = this.d.rib.checkMaxPrefix(id);
    if (over) this.d.maxPrefix(e, over);
  }

  /** A ROUTE-REFRESH from the peer: the family's table again (advertise.ts refreshAnswer). */
  onRefresh(e: PeerEntry, afi: number, safi: number, subtype = 0): void {
    const n = e.peer.negotiated;
    const info = e.info;
    if (!info || !n) return;
    const msgs = refreshAnswer(n, afi, safi, subtype, () => {
      const all = this.d.ribOut.fullTable(info.id);
      const v4 = afi === Afi.IPV4;
      return this.messages(e, {
        peerId: all.peerId,
        announce: all.announce.filter((g) => (typeof g.prefixes[0] === 'number') === v4),
        withdraw: all.withdraw.filter((p) => (typeof p === 'number') === v4),
      });
    });
    if (msgs) this.send(e, msgs);
  }

  /** Queues encoded messages on the peer's session; the process-wide UPDATE counter follows. */
  private send(e: PeerEntry, msgs: Uint8Array[]): void {
    if (e.peer.send(msgs)) this.d.counters.updatesSent += countUpdates(msgs);
  }

  /**
   * UPDATEs for a batch, only for families the session negotiated (RFC 4760 8). The routes of
   * another family stay counted in the Adj-RIB-Out (`weft status` shows them as not sent) and
   * are logged once per session and family.
   */
  private messages(e: PeerEntry, batch: OutBatch): Uint8Array[] {
    const n = e.peer.negotiated;
    const opts = e.peer.encodeOptions;
    if (!n || !opts) return [];
    const { batch: b, unsent } = negotiatedOnly(batch, n);
    for (const [family, routes] of unsent) {
      e.unsentFamilies ??= new Set();
      if (e.unsentFamilies.has(family)) continue;
      e.unsentFamilies.add(family);
      const offered = familiesOf(n.peerCapabilities).map((f) => familyText(f.afi, f.safi));
      logEvent(this.d.log, 'agent.family-not-negotiated', { peer: e.spec.id, family, routes, negotiated: n.families.map((f) => familyText(f.afi, f.safi)), peerOffered: offered });
    }
    return this.d.ribOut.messages(b, opts, (t) => this.onTooLarge(e, t));
  }

  /**
   * Routes whose attributes do not fit this peer's maximum message size are not sent to it (BIRD:
   * "attribute list too long"); the rest of the table flows. Logged once per prefix and session,
   * counted in status and metrics.
   */
  private onTooLarge(e: PeerEntry, t: TooLarge): void {
    const id = e.spec.id;
    let seen = this.tooLarge.get(id);
    if (!seen) this.tooLarge.set(id, (seen = new Set()));
    const fresh = t.prefixes.filter((p) => !seen.has(p));
    for (const p of fresh) seen.add(p);
    e.tooLarge = seen.size;
    this.d.counters.routesTooLarge += fresh.length;
    if (fresh.length === 0) return;
    logEvent(this.d.log, 'agent.route-too-large', {
      peer: id,
      prefixes: fresh.slice(0, 20).map(formatPrefix),
      count: fresh.length,
      attributeOctets: t.attributeOctets,
      maxOctets: t.maxOctets,
    });
  }

  onChanges(changes: readonly Change[]): void {
    if (changes.length === 0) return;
    this.d.ribOut.onChanges(changes);
    let n = 0;
    for (const c of changes) {
      // Every Change goes to the sink: one whose best path stayed changed its multipath set (ECMP:
      // the kernel route gains or loses a next hop; the data plane reads rib.multipath(prefix)).
      this.pendingSink.push(c);
      if (c.best !== c.previous) n++;
    }
    this.d.counters.bestPathChanges += n;
    if (this.d.vteps.apply(changes, vxlanPools(this.d.config().pools))) this.d.routesChanged();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.d.scheduler.soon(() => this.flush());
    }
  }

  /** One turn's worth of changes: to the sink, then to every Established peer. */
  flush(): void {
    this.flushScheduled = false;
    if (this.pendingSink.length > 0) {
      const batch = this.pendingSink;
      this.pendingSink = [];
      this.d.sink.apply(batch);
    }
    for (const e of this.d.entries.values()) {
      if (!e.info || !e.peer.established || this.d.gr()?.isDeferred(e)) continue;
      try {
        const msgs = this.messages(e, this.d.ribOut.pendingFor(e.info.id));
        if (msgs.length === 0) continue;
        this.send(e, msgs);
        logEvent(this.d.log, 'agent.routes-sent', { peer: e.info.id, messages: msgs.length });
      } catch (err) {
        // A bug in export for one peer ends that session, never the agent (nor the other peers' updates).
        logEvent(this.d.log, 'session.internal-error', { peer: e.spec.id, during: 'export', err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) });
        e.peer.reset('cease.administrative-reset', 'internal error');
      }
    }
  }
}
