/**
 * Graceful restart in the agent (RFC 4724, N bit RFC 8538), both roles. The session layer says
 * when a session's end keeps the routes (SessionDown.retain, session/graceful-restart.ts); the
 * Loc-RIB keeps them as stale paths (Rib.markStale / sweepStale). This file owns the timers and
 * the decisions in between.
 *
 * Receiving speaker (RFC 4724 4.2), per peer:
 * - down with `retain`: the peer's routes of the retained families are marked stale (the kernel
 *   keeps them: same attributes, same route); routes of other families go. The Restart Time the
 *   peer advertised and our staleTime (upper bound) start.
 * - back: the restart timer stops; "If ... the F bit for a specific address family is not set in
 *   the newly received OPEN message, or if a specific address family is not included in the newly
 *   received OPEN message, or if the Graceful Restart Capability is not received in the
 *   re-established session at all, then the Receiving Speaker MUST immediately remove all the
 *   stale routes from the peer that it is retaining for that address family."
 * - End-of-RIB for a family: "the Receiving Speaker MUST immediately remove all the routes from
 *   the peer that are still marked as stale for that address family" (routes the peer sent again
 *   are fresh by then, so only the missing ones go).
 * - the Restart Time passes before the session is back ("If the session does not get
 *   re-established within the 'Restart Time' that the peer advertised previously, the Receiving
 *   Speaker MUST delete all the stale routes"), or the staleTime upper bound passes: all go.
 *
 * Restarting speaker (RFC 4724 4.1): this start is a restart when the data plane found weft's
 * own routes in the kernel (they survived the last run: keepRoutesOnExit, or kill -9). Then our
 * OPEN sets the R bit (never on a first start: gobgp#2596) and the F bit per family (the kernel
 * forwarding state was preserved). On a first start F is set from the first table sent on (see
 * tableSent). "Once the session between the Restarting Speaker and the
 * Receiving Speaker is re-established, the Restarting Speaker ... MUST defer route selection ...
 * until it either (a) receives the End-of-RIB marker from all its peers (excluding the ones with
 * the 'Restart State' bit set in the received capability and excluding the ones that do not
 * advertise the graceful restart capability) or (b) the Selection_Deferral_Timer ... expires."
 * weft's simplest correct reading: the initial table and End-of-RIB to peers that negotiated GR
 * (they keep our old routes meanwhile) wait until every configured peer is Established and has
 * sent End-of-RIB for each negotiated family (unless it set R or has no GR), or until the
 * selection deferral timer: min(restartTime, 60) s, so it ends before a peer with the default
 * 120 s restart time gives up on us. Peers without GR get the table at once (they dropped our
 * routes; waiting would only cost traffic). When the deferral ends, R is cleared for later OPENs.
 *
 * Not built: long-lived graceful restart (RFC 9494: LLGR capability 71, LLGR_STALE / NO_LLGR
 * communities). Stale routes are kept at most staleTime.
 */
import type { Logger } from 'pino';
import type { Change, Rib } from '../../rib/loc-rib.js';
import { sameInfo } from '../../rib/loc-rib.js';
import type { PeerInfo } from '../../rib/peer.js';
import type { GracefulRetention, Negotiated } from '../../session/index.js';
import { Afi, Safi } from '../../wire/iana.js';
import type { GracefulRestartView } from '../control/protocol.js';
import type { Scheduler, Timer } from '../io/scheduler.js';
import { logEvent } from '../observability/log-events.js';
import type { PeerEntry } from './agent-peers.js';

/** RFC 4724 4.1 Selection_Deferral_Timer, at most (see the header). */
const MAX_DEFERRAL_SECONDS = 60;

/** Family index of the Loc-RIB (0 IPv4 unicast, 1 IPv6 unicast); undefined for others. */
function familyIndex(f: { afi: number; safi: number }): 0 | 1 | undefined {
  if (f.safi !== Safi.UNICAST) return undefined;
  return f.afi === Afi.IPV4 ? 0 : f.afi === Afi.IPV6 ? 1 : undefined;
}

interface Waiting {
  families: (0 | 1)[];
  restartTimer: Timer | undefined;
  staleTimer: Timer;
  /** Wall-clock ms. */
  restartDeadline: number | undefined;
  staleDeadline: number;
  reason: string;
}

/** What the agent lends this file. */
export interface GracefulRestartHost {
  readonly rib: Rib;
  readonly entries: ReadonlyMap<string, PeerEntry>;
  onChanges(changes: Change[]): void;
  /** The initial table and End-of-RIB to a peer whose advertisement was deferred. */
  advertise(e: PeerEntry): void;
  /** Our capabilities changed (R cleared): later OPENs use the new ones. */
  capabilitiesChanged(): void;
}

export class GracefulRestart {
  private readonly waiting = new Map<string, Waiting>();
  private restarting: boolean;
  /** F: our forwarding state (the kernel routes) outlives a session: since the restart, or since our first table went out. */
  private forwarding: boolean;
  private readonly deferred = new Set<PeerEntry>();
  private deferralTimer: Timer | undefined;
  /** The agent is shutting down: sessions it closes keep nothing. */
  private stopped = false;

  constructor(
    private readonly host: GracefulRestartHost,
    private readonly scheduler: Scheduler,
    private readonly log: Logger,
    /** weft's own routes were in the kernel at start (dataplane-bridge.ts foundAtStart). */
    readonly restarted: boolean,
    restartTime: number,
  ) {
    this.restarting = restarted;
    this.forwarding = restarted;
    if (restarted) {
      const s = Math.min(restartTime, MAX_DEFERRAL_SECONDS);
      this.deferralTimer = scheduler.after(s * 1000, () => this.finishDeferral(`selection deferral timer (${s} s)`), true);
      logEvent(log, 'gr.restarting', { deferralSeconds: s });
    }
  }

  /** R and F for the next OPEN. */
  restartFlags(): { restarting: boolean; forwarding: boolean } {
    return { restarting: this.restarting, forwarding: this.forwarding };
  }

  /**
   * Our table went to a peer. On a first start F is clear in the first OPENs (nothing was kept:
   * peers holding stale routes of ours from before, say, a reboot drop them at once, RFC 4724
   * 4.2); from now on weft's kernel routes outlive any one session, so later OPENs set F.
   */
  tableSent(): void {
    if (this.forwarding) return;
    this.forwarding = true;
    this.host.capabilitiesChanged();
  }

  // ------------------------------------------------------------------ receiving speaker

  /** A session went down with `retain`: keeps the peer's routes stale. False: nothing kept (remove as usual). */
  sessionDown(e: PeerEntry, id: string, retain: GracefulRetention): boolean {
    const settings = e.spec.gracefulRestart;
    if (!settings.enabled || this.stopped) return false;
    const fams = [...new Set(retain.families.map(familyIndex).filter((f): f is 0 | 1 => f !== undefined))];
    if (fams.length === 0) return false;
    const rib = this.host.rib;
    const changes = rib.markStale(id, fams);
    // RFC 4724 4.2 retains only the families "previously received in the Graceful Restart Capability".
    for (const f of [0, 1] as const) {
      if (fams.includes(f)) continue;
      changes.push(...rib.markStale(id, [f]), ...rib.sweepStale(id, f));
    }
    this.clear(id);
    const now = this.scheduler.wallClock();
    const restartS = Math.min(retain.restartTime, settings.staleTime);
    const w: Waiting = {
      families: fams,
      restartTimer: this.scheduler.after(restartS * 1000, () => this.expire(id, `restart time ${retain.restartTime} s passed without the session`), true),
      staleTimer: this.scheduler.after(settings.staleTime * 1000, () => this.expire(id, `stale time ${settings.staleTime} s passed`), true),
      restartDeadline: now + restartS * 1000,
      staleDeadline: now + settings.staleTime * 1000,
      reason: retain.reason,
    };
    this.waiting.set(id, w);
    logEvent(this.log, 'gr.stale', { peer: id, routes: rib.staleCount(id), restartTime: retain.restartTime, staleTime: settings.staleTime, why: retain.reason });
    this.host.onChanges(changes);
    this.checkDeferral();
    return true;
  }

  /**
   * The session is back (call before Rib.addPeer): families the new OPEN does not keep lose their
   * stale routes now (RFC 4724 4.2, see the header); a peer that comes back as another speaker
   * (router id, AS) loses all of them.
   */
  established(id: string, info: PeerInfo, n: Negotiated): void {
    const w = this.waiting.get(id);
    if (!w) return;
    w.restartTimer?.cancel();
    w.restartTimer = undefined;
    w.restartDeadline = undefined;
    const rib = this.host.rib;
    const old = rib.peerInfo(id);
    if (old !== undefined && !sameInfo(old, info)) {
      this.done(id, this.sweep(id), 'the peer came back with another identity');
      return;
    }
    const gr = n.gracefulRestart;
    const kept = (f: 0 | 1) => gr.local && gr.peer !== undefined && gr.peer.families.some((x) => familyIndex(x) === f && x.forwardingPreserved);
    const changes: Change[] = [];
    for (const f of w.families.filter((x) => !kept(x))) changes.push(...this.sweep(id, f));
    w.families = w.families.filter(kept);
    if (w.families.length === 0) this.done(id, changes, 'no F bit in the new OPEN');
    else {
      this.host.onChanges(changes);
      logEvent(this.log, 'gr.resumed', { peer: id, stale: rib.staleCount(id), families: w.families.map((f) => (f === 0 ? 'ipv4' : 'ipv6')) });
    }
  }

  /** End-of-RIB from the peer (RFC 4724 4.2): its remaining stale routes of the family go. */
  endOfRib(id: string, family: { afi: number; safi: number }): void {
    const f = familyIndex(family);
    const w = this.waiting.get(id);
    if (w && f !== undefined && w.families.includes(f)) {
      const changes = this.sweep(id, f);
      w.families = w.families.filter((x) => x !== f);
      if (w.families.length === 0) this.done(id, changes, 'End-of-RIB');
      else this.host.onChanges(changes);
    }
    this.checkDeferral();
  }

  /** The peer was de-configured: nothing of it is kept. */
  removed(id: string, why = 'peer removed'): void {
    if (!this.waiting.has(id)) return;
    this.done(id, this.sweep(id), why);
  }

  private expire(id: string, why: string): void {
    if (!this.waiting.has(id)) return;
    this.done(id, this.sweep(id), why);
  }

  /** The peer's stale routes (of a family) removed; nothing when the RIB no longer knows the peer. */
  private sweep(id: string, f?: 0 | 1): Change[] {
    return this.host.rib.peerInfo(id) === undefined ? [] : this.host.rib.sweepStale(id, f);
  }

  private done(id: string, changes: Change[], why: string): void {
    this.clear(id);
    logEvent(this.log, 'gr.stale-removed', { peer: id, routes: changes.filter((c) => c.best === undefined).length, why });
    this.host.onChanges(changes);
  }

  private clear(id: string): void {
    const w = this.waiting.get(id);
    if (!w) return;
    w.restartTimer?.cancel();
    w.staleTimer.cancel();
    this.waiting.delete(id);
  }

  // ------------------------------------------------------------------ restarting speaker

  /** Whether the initial advertisement to this newly Established peer waits (RFC 4724 4.1). */
  defer(e: PeerEntry, n: Negotiated): boolean {
    if (!this.restarting || !n.gracefulRestart.local || n.gracefulRestart.peer === undefined) return false;
    this.deferred.add(e);
    // Checked after this turn: the caller finishes setting the session up first.
    this.scheduler.soon(() => this.checkDeferral());
    return true;
  }

  isDeferred(e: PeerEntry): boolean {
    return this.deferred.has(e);
  }

  /** A session that left Established is no longer waiting for the table. */
  forget(e: PeerEntry): void {
    this.deferred.delete(e);
    this.checkDeferral();
  }

  /** RFC 4724 4.1 (a): End-of-RIB from every peer that is not itself restarting and has GR. */
  private checkDeferral(): void {
    if (!this.restarting) return;
    const rib = this.host.rib;
    for (const e of this.host.entries.values()) {
      const n = e.peer.negotiated;
      if (!n || !e.info) return; // not up yet: wait (or the timer)
      const peer = n.gracefulRestart.peer;
      if (!n.gracefulRestart.local || !peer || peer.restarting) continue;
      if (!n.families.every((f) => rib.hasEndOfRib(e.info!.id, f))) return;
    }
    this.finishDeferral('End-of-RIB from every peer');
  }

  private finishDeferral(why: string): void {
    if (!this.restarting) return;
    this.restarting = false;
    this.deferralTimer?.cancel();
    this.deferralTimer = undefined;
    const waiting = [...this.deferred];
    this.deferred.clear();
    logEvent(this.log, 'gr.selection-done', { why, peers: waiting.map((e) => e.spec.id) });
    for (const e of waiting) if (e.peer.established && e.info) this.host.advertise(e);
    this.host.capabilitiesChanged();
  }

  /** The agent is shutting down (call before closing the sessions). */
  stop(): void {
    this.stopped = true;
    this.restarting = false;
    this.deferred.clear();
    this.deferralTimer?.cancel();
    for (const id of [...this.waiting.keys()]) this.clear(id);
  }

  // ------------------------------------------------------------------ views

  /** For `weft status`. */
  view(e: PeerEntry): GracefulRestartView {
    const id = e.spec.id;
    const n = e.peer.negotiated;
    const w = this.waiting.get(id);
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    const v: GracefulRestartView = {
      enabled: e.spec.gracefulRestart.enabled,
      stale: this.host.rib.staleCount(id),
    };
    if (n) {
      v.negotiated = n.gracefulRestart.local && n.gracefulRestart.peer !== undefined;
      if (n.gracefulRestart.peer) {
        v.peerRestartTime = n.gracefulRestart.peer.restartTime;
        v.notification = v.negotiated && n.gracefulRestart.peer.notification;
      }
    }
    if (w) {
      v.state = w.restartTimer ? 'peer restarting' : 'waiting for End-of-RIB';
      v.staleUntil = iso(w.staleDeadline);
      if (w.restartDeadline !== undefined) v.restartUntil = iso(w.restartDeadline);
      v.reason = w.reason;
    }
    if (this.deferred.has(e)) v.state = 'our table deferred (we restarted)';
    return v;
  }
}
