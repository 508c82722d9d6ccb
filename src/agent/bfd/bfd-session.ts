/**
 * One BFD session driven by time and a UDP socket: the pure machine of session/bfd-fsm.ts, its
 * timers as one scheduler timer on the next deadline, its packets sent from a socket bound to a
 * source port in 49152-65535 with TTL 255 (RFC 5881 4, 5). The service (bfd-service.ts) hands it
 * the packets it demultiplexed; it tells its owner about every state change.
 */
import { Signal } from '../../lib/signal.js';
import {
  bfdNextDeadline,
  bfdStep,
  createBfdSession,
  detectionTimeUs,
  txIntervalUs,
  type BfdDiscardReason,
  type BfdEvent,
  type BfdSessionConfig,
  type BfdSessionState,
} from '../../session/bfd-fsm.js';
import { BFD_CONTROL_PORT, describeDiag, encodeBfdControl, type BfdControlPacket, type BfdStateName } from '../../wire/bfd.js';
import type { Scheduler, Timer } from '../io/scheduler.js';
import type { DatagramSocket } from './datagram.js';

export interface BfdTransition {
  from: BfdStateName;
  to: BfdStateName;
  diag: number;
  reason: string;
  /** Up -> Down because the peer said AdminDown: RFC 5882 3.2, the client must not go down for it. */
  peerAdminDown: boolean;
}

export interface BfdSessionCounters {
  packetsIn: number;
  packetsOut: number;
  /** Packets that reached this session and were discarded (RFC 5880 6.8.6), by reason. */
  discarded: Partial<Record<BfdDiscardReason, number>>;
  upTransitions: number;
  /** Up -> Down because no packet came for a Detection Time. */
  detectionTimeouts: number;
}

/** Upper bounds (ms) of the timer lateness histogram; the last bucket is everything above 500 ms. */
export const LATENESS_BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500] as const;

/**
 * How well the event loop keeps BFD's time: how late each timer fired (ms after its deadline),
 * and the gaps between packets from the peer while Up (what our own detection sees: the peer's
 * jitter plus its event loop plus the network).
 */
export interface BfdTiming {
  /** Timer firings per lateness bucket (LATENESS_BOUNDS_MS, then > 500 ms). */
  lateness: number[];
  lateMaxMs: number;
  /** Largest gap between two packets from the peer while Up, ms. */
  rxGapMaxMs: number;
  /** Gaps while Up longer than two thirds of the Detection Time: one more like it and it would have gone Down. */
  rxNearMisses: number;
}

/** What `weft status` shows of a BFD session. */
export interface BfdSessionStatus {
  state: BfdStateName;
  remoteState: BfdStateName;
  localDiscriminator: number;
  remoteDiscriminator: number;
  /** Diagnostic of the last local state change, as text. */
  diagnostic: string;
  remoteDiagnostic: string;
  /** Periodic transmit interval now (before jitter), ms. */
  txIntervalMs: number;
  /** Detection Time now, ms (0 until the peer was heard). */
  detectTimeMs: number;
  configured: { intervalMs: number; multiplier: number };
  /** ISO time of the last state change. */
  since: string;
  packetsIn: number;
  packetsOut: number;
  upTransitions: number;
  detectionTimeouts: number;
  discarded: Record<string, number>;
  timing: BfdTiming;
  /** Why the socket could not be opened, when it could not. */
  error?: string;
}

export class BfdSession {
  readonly events = new Signal<BfdTransition>();
  readonly counters: BfdSessionCounters = { packetsIn: 0, packetsOut: 0, discarded: {}, upTransitions: 0, detectionTimeouts: 0 };
  private s: BfdSessionState;
  private timer: Timer | undefined;
  private socket: DatagramSocket | undefined;
  private closed = false;
  private since: number;
  private lastRx: number | undefined;
  private readonly timing: BfdTiming = { lateness: LATENESS_BOUNDS_MS.map(() => 0).concat(0), lateMaxMs: 0, rxGapMaxMs: 0, rxNearMisses: 0 };
  error: string | undefined;

  constructor(
    readonly peerAddress: string,
    config: BfdSessionConfig,
    readonly localDiscr: number,
    private readonly scheduler: Scheduler,
    private readonly random: () => number = Math.random,
    private readonly port = BFD_CONTROL_PORT,
    /**
     * Runs the Tick once the packets already waiting have been read (bfd-service.ts whenDrained):
     * libuv runs due timers before it polls for I/O, so after an event-loop stall the detection
     * timer would otherwise expire before the packets that arrived in time are read.
     */
    private readonly afterInput: (fn: () => void) => void = (fn) => scheduler.soon(fn),
  ) {
    this.s = createBfdSession(config, localDiscr);
    this.since = scheduler.wallClock();
  }

  get state(): BfdSessionState {
    return this.s;
  }

  /** The socket to send from; the session starts (Down, transmitting) once it has one. */
  attach(socket: DatagramSocket): void {
    if (this.closed) {
      socket.close();
      return;
    }
    this.socket = socket;
    this.dispatch({ type: 'Start' });
  }

  /** A packet the service selected for this session. */
  receive(packet: BfdControlPacket): void {
    if (this.closed) return;
    this.counters.packetsIn++;
    const now = this.scheduler.now();
    if (this.s.state === 'Up' && this.s.remoteState === 'Up' && packet.state === 'Up' && this.lastRx !== undefined) {
      const gap = now - this.lastRx;
      if (gap > this.timing.rxGapMaxMs) this.timing.rxGapMaxMs = Math.round(gap * 10) / 10;
      if (gap > (detectionTimeUs(this.s) / 1000) * (2 / 3)) this.timing.rxNearMisses++;
    }
    this.lastRx = now;
    this.dispatch({ type: 'Packet', packet });
  }

  /** Tells the peer AdminDown (RFC 5880 6.8.16) once, then closes: no timers left. */
  close(): void {
    if (this.closed) return;
    if (this.socket) this.dispatch({ type: 'Stop' });
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.socket?.close();
    this.socket = undefined;
    this.events.complete();
  }

  status(): BfdSessionStatus {
    const s = this.s;
    return {
      state: s.state,
      remoteState: s.remoteState,
      localDiscriminator: s.localDiscr,
      remoteDiscriminator: s.remoteDiscr,
      diagnostic: describeDiag(s.localDiag),
      remoteDiagnostic: describeDiag(s.remoteDiag),
      txIntervalMs: txIntervalUs(s) / 1000,
      detectTimeMs: detectionTimeUs(s) / 1000,
      configured: { intervalMs: s.config.desiredMinTxUs / 1000, multiplier: s.config.detectMult },
      since: new Date(this.since).toISOString(),
      packetsIn: this.counters.packetsIn,
      packetsOut: this.counters.packetsOut,
      upTransitions: this.counters.upTransitions,
      detectionTimeouts: this.counters.detectionTimeouts,
      discarded: { ...this.counters.discarded } as Record<string, number>,
      timing: { ...this.timing, lateness: [...this.timing.lateness] },
      ...(this.error !== undefined ? { error: this.error } : {}),
    };
  }

  private dispatch(ev: BfdEvent): void {
    const { state, actions } = bfdStep(this.s, ev, this.scheduler.now());
    this.s = state;
    for (const a of actions) {
      switch (a.type) {
        case 'Send':
          this.counters.packetsOut++;
          this.socket?.send(encodeBfdControl(a.packet), this.peerAddress, this.port);
          break;
        case 'Discard':
          this.counters.discarded[a.reason] = (this.counters.discarded[a.reason] ?? 0) + 1;
          break;
        case 'Transition': {
          this.since = this.scheduler.wallClock();
          if (a.to === 'Up') this.counters.upTransitions++;
          if (a.from === 'Up' && a.diag === 1) this.counters.detectionTimeouts++;
          const peerAdminDown = a.from === 'Up' && state.remoteState === 'AdminDown';
          this.events.next({ from: a.from, to: a.to, diag: a.diag, reason: a.reason, peerAdminDown });
          break;
        }
      }
    }
    this.schedule();
  }

  private late(ms: number): void {
    const t = this.timing;
    const late = Math.max(0, ms);
    let i = LATENESS_BOUNDS_MS.findIndex((b) => late <= b);
    if (i < 0) i = LATENESS_BOUNDS_MS.length;
    t.lateness[i] = (t.lateness[i] ?? 0) + 1;
    if (late > t.lateMaxMs) t.lateMaxMs = Math.round(late * 10) / 10;
  }

  private schedule(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.closed) return;
    const at = bfdNextDeadline(this.s);
    if (at === undefined) return;
    this.timer = this.scheduler.after(Math.max(0, at - this.scheduler.now()), () => {
      this.timer = undefined;
      this.late(this.scheduler.now() - at);
      this.afterInput(() => {
        if (!this.closed) this.dispatch({ type: 'Tick', jitter: this.random() });
      });
    });
  }
}
