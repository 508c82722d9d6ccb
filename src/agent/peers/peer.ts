/**
 * One configured BGP neighbour: the pure FSM of src/session driven by sockets and time, both
 * injected (io/transport.ts, io/scheduler.ts) so a Peer runs in-process in tests.
 *
 * A peer has a main session and, while two TCP connections race (RFC 4271 6.8), a second one.
 * Each session is `{ state, connection }`; every event goes through `step()` and the returned
 * actions are carried out here, in order. All timers of a session are one scheduler timer on
 * `nextDeadline(state)`.
 *
 * The second session exists only while its connection does: when that connection ends (the peer
 * closed it, or it lost the collision) the slot is retired, never left to dial on its own; when
 * the main session's connection ends first, the second one becomes the main session. So there is
 * never more than one session per peer past OpenConfirm, and never two Established.
 */
import type { Logger } from 'pino';
import { Signal } from '../../lib/signal.js';
import { createSession, detectCollision, nextDeadline, step } from '../../session/index.js';
import type { Action, GracefulRetention, Negotiated, SessionConfig, SessionEvent, SessionState, StateName, StopCause, StopMode } from '../../session/index.js';
import { encodeKeepalive } from '../../wire/keepalive.js';
import { encodeNotification } from '../../wire/notification.js';
import { encodeOpen } from '../../wire/open.js';
import { encodeRouteRefresh } from '../../wire/route-refresh.js';
import { ErrorCode, MessageType, OpenSubcode } from '../../wire/iana.js';
import type { WireError } from '../../wire/errors.js';
import type { BgpMessage, Capability, RouteRefreshMessage, UpdateMessage, WireOptions } from '../../wire/types.js';
import { toHex } from '../../lib/hex.js';
import { systemScheduler, type Scheduler, type Timer } from '../io/scheduler.js';
import { netTransport, type BgpSocket, type Transport } from '../io/transport.js';
import { Connection } from './connection.js';
import { logEvent } from '../observability/log-events.js';
import { MessageCounters } from './message-counters.js';

/** UPDATE messages among encoded messages (type octet 18 = 2, RFC 4271 4.1); route refreshes are not. */
export function countUpdates(messages: readonly Uint8Array[]): number {
  let n = 0;
  for (const m of messages) if (m.length > 18 && m[18] === MessageType.UPDATE) n++;
  return n;
}

export interface PeerConfig {
  /** A stable name for logs and status (the address when nothing better is known). */
  name: string;
  address: string;
  port: number;
  /** Source address for outgoing connections. */
  localAddress?: string;
  /** TCP MD5 key (RFC 2385) for this peer's connections. */
  password?: string;
  session: SessionConfig;
}

export interface PeerCounters {
  messagesIn: number;
  messagesOut: number;
  updatesIn: number;
  updatesOut: number;
  bytesIn: number;
  bytesOut: number;
  establishedTransitions: number;
  /**
   * Dial attempts given up by the ConnectRetry timer since the last connection came up: with TCP
   * MD5 a wrong or missing key looks exactly like this (the peer's kernel drops the SYN).
   */
  dialTimeouts: number;
}

export type PeerEvent =
  | { type: 'state'; peer: string; from: StateName; to: StateName; reason: string }
  | { type: 'established'; peer: string; negotiated: Negotiated }
  | { type: 'down'; peer: string; reason: string; retain?: GracefulRetention }
  | { type: 'update'; peer: string; update: UpdateMessage }
  | { type: 'route-refresh'; peer: string; refresh: RouteRefreshMessage }
  /** ConnectRetry gave up on a dial that never completed (counters.dialTimeouts is `count`). */
  | { type: 'dial-timeout'; peer: string; count: number };

interface Slot {
  state: SessionState;
  conn: Connection | undefined;
  /** An outgoing connection attempt not yet completed. */
  dialing: BgpSocket | undefined;
  timer: Timer | undefined;
  /** A NOTIFICATION to flush before the Disconnect that follows it. */
  lastWords: Uint8Array | undefined;
}

export class Peer {
  readonly events = new Signal<PeerEvent>();
  readonly counters: PeerCounters = {
    messagesIn: 0,
    messagesOut: 0,
    updatesIn: 0,
    updatesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    establishedTransitions: 0,
    dialTimeouts: 0,
  };
  /** By message type both ways, and the last NOTIFICATION each way (`weft neighbor`). */
  readonly messages = new MessageCounters();
  private main: Slot;
  private second: Slot | undefined;
  private stopped = false;

  private readonly scheduler: Scheduler;
  private readonly transport: Transport;

  constructor(
    readonly config: PeerConfig,
    private readonly log: Logger,
    io: { scheduler?: Scheduler; transport?: Transport } = {},
  ) {
    this.scheduler = io.scheduler ?? systemScheduler;
    this.transport = io.transport ?? netTransport;
    this.main = this.newSlot();
  }

  private now(): number {
    return this.scheduler.now();
  }

  get state(): SessionState {
    return this.main.state;
  }

  /** Negotiated options of the Established session, if any. */
  get negotiated(): Negotiated | undefined {
    return this.main.state.name === 'Established' ? this.main.state.negotiated : undefined;
  }

  get established(): boolean {
    return this.main.state.name === 'Established';
  }

  private newSlot(): Slot {
    return { state: createSession(this.config.session), conn: undefined, dialing: undefined, timer: undefined, lastWords: undefined };
  }

  start(): void {
    this.stopped = false;
    // ManualStart also for a passive session with dialOnStart: its one dial at start (fsm-common.ts start).
    const s = this.config.session;
    this.dispatch(this.main, { type: s.passive && !s.dialOnStart ? 'ManualStart_Passive' : 'ManualStart' });
  }

  /**
   * Administrative stop: a Cease with an RFC 9003 shutdown communication when given. The cause
   * defaults to Administrative Shutdown (RFC 4486 subcode 2); a peer removed from the
   * configuration gets 'cease.peer-deconfigured' (subcode 3); a peer over its max-prefix limit
   * 'cease.max-prefixes' (subcode 1) with `data` = AFI, SAFI and the limit (RFC 4486 4). No
   * automatic restart follows: the caller starts the peer again when it wants.
   */
  stop(shutdownMessage?: string, cause?: StopCause, data?: Uint8Array, mode?: StopMode): void {
    const ev: SessionEvent = { type: 'ManualStop', shutdownMessage, cause, data, ...(mode ? { mode } : {}) };
    this.dispatch(this.main, ev);
    if (this.second) this.dispatch(this.second, ev);
  }

  /**
   * Stops for good: no restart, timers cleared, the event stream completed. `mode` 'graceful':
   * the peer is to keep our routes (we restart); 'withdraw': it is to drop them (graceful-restart.ts).
   */
  close(shutdownMessage?: string, cause?: StopCause, mode?: StopMode): void {
    this.stop(shutdownMessage, cause, undefined, mode);
    this.stopped = true;
    for (const s of [this.main, this.second]) s?.timer?.cancel();
    this.events.complete();
  }

  /** Tears the session down with a Cease of the given cause (e.g. max-prefix) and lets it restart. */
  reset(cause: 'cease.administrative-reset' | 'cease.other-configuration-change' | 'cease.bfd-down' | 'cease.hard-reset', text?: string, data?: Uint8Array): void {
    this.dispatch(this.main, { type: 'AutomaticStop', cause, shutdownMessage: text, data });
  }

  /** The capabilities of our next OPENs (graceful restart clears the R bit once the restart is over). */
  setCapabilities(capabilities: Capability[]): void {
    this.config.session.capabilities = capabilities;
    for (const s of [this.main, this.second]) if (s) s.state = { ...s.state, config: { ...s.state.config, capabilities } };
  }

  /** Queues UPDATE messages (already encoded with `encodeOptions`) on the Established session. */
  send(messages: Uint8Array[]): boolean {
    const conn = this.main.conn;
    if (!this.established || !conn) return false;
    this.counters.updatesOut += countUpdates(messages);
    this.counters.messagesOut += messages.length;
    for (const m of messages) this.messages.sent(m);
    conn.enqueue(messages);
    return true;
  }

  /** Asks the peer to send its routes again (RFC 2918). */
  requestRefresh(afi: number, safi: number): boolean {
    const n = this.negotiated;
    if (!n?.routeRefresh || !this.main.conn) return false;
    this.main.conn.writeNow(encodeRouteRefresh({ type: 'route-refresh', afi, safi, subtype: 0 }));
    return true;
  }

  /** Wall-clock milliseconds of a session time (`SessionError.at`, on this peer's monotonic clock). */
  wallTime(at: number): number {
    return this.scheduler.wallClock() - (this.now() - at);
  }

  get encodeOptions(): WireOptions | undefined {
    return this.negotiated?.encode;
  }

  /** The main session's TCP connection, when it has one (addresses and ports for `weft neighbor`). */
  get tcp(): Pick<Connection, 'localAddress' | 'localPort' | 'remoteAddress' | 'remotePort' | 'direction'> | undefined {
    return this.main.conn;
  }

  /** Our address on the current connection (the natural NEXT_HOP self). */
  get localAddress(): string | undefined {
    return this.main.conn?.localAddress;
  }

  /** Bytes waiting to be written to the peer. */
  get backlog(): number {
    return this.main.conn?.backlog ?? 0;
  }

  /**
   * An inbound connection from this peer's address (the listener matched it). Attached to the
   * main session when that has none, else raced against it in a second session (RFC 4271 6.8).
   */
  accept(socket: BgpSocket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    const main = this.main;
    if (main.conn === undefined) {
      // Whether the session takes it is the FSM's call: Connect and Active do, and so does an Idle
      // session waiting only to restart; a stopped one refuses (its Disconnect closes the socket).
      this.abortDial(main);
      this.attach(main, this.connection(socket, 'inbound'), 'TcpConnectionConfirmed');
      return;
    }
    if (this.second || main.state.name === 'Established') {
      // A third connection while two race, or one next to an Established session: RFC 4271 6.8,
      // "a connection collision with an existing BGP connection that is in the Established state
      // causes closing of the newly created connection".
      socket.destroy();
      return;
    }
    const slot = this.newSlot();
    this.second = slot;
    this.attach(slot, this.connection(socket, 'inbound'), 'TcpConnectionConfirmed', { type: 'ManualStart_Passive' });
  }

  private connection(socket: BgpSocket, direction: 'inbound' | 'outbound'): Connection {
    return new Connection(socket, direction, this.scheduler);
  }

  // ---------------------------------------------------------------- the event loop

  private dispatch(slot: Slot, event: SessionEvent): void {
    if (slot !== this.main && slot !== this.second) return; // a retired slot
    const { state, actions } = step(slot.state, event, this.now());
    const wasNegotiated = slot.state.negotiated;
    slot.state = state;
    if (state.negotiated && !wasNegotiated && slot.conn) slot.conn.setOptions(state.negotiated.decode);
    for (const a of actions) this.perform(slot, a, event);
    this.schedule(slot);
    if (event.type === 'BGPOpen') this.checkCollision();
    this.retireSecond();
  }

  /**
   * The second session lives only as long as its connection: once that is gone it is retired
   * (before this, it fell back to Active, dialled on its own and could reach Established next to
   * the main session). When the main session lost its connection first and the second still has
   * one, the second becomes the main session.
   */
  private retireSecond(): void {
    const second = this.second;
    if (!second) return;
    if (second.conn === undefined) {
      this.drop(second);
      this.second = undefined;
      return;
    }
    const main = this.main;
    if (main.conn === undefined && main.dialing === undefined && main.state.name !== 'Established') {
      logEvent(this.log, 'session.promoted', { state: second.state.name, reason: 'the main connection ended; the racing inbound connection carries on' });
      this.drop(main);
      this.main = second;
      this.second = undefined;
      this.events.next({ type: 'state', peer: this.config.name, from: main.state.name, to: second.state.name, reason: 'racing connection kept' });
    }
  }

  private drop(slot: Slot): void {
    slot.timer?.cancel();
    slot.timer = undefined;
    this.abortDial(slot);
  }

  private schedule(slot: Slot): void {
    slot.timer?.cancel();
    slot.timer = undefined;
    if (this.stopped) return;
    const at = nextDeadline(slot.state);
    if (at === undefined) return;
    const delay = Math.max(0, at - this.now());
    slot.timer = this.scheduler.after(delay + 1, () => {
      slot.timer = undefined;
      // Timers yield to input already waiting: libuv runs due timers before it polls for I/O, so
      // after an event-loop stall (a busy host: 100 agents on 2 cores) a ConnectRetry or hold
      // timer would otherwise act before the 'connect' or the KEEPALIVE that arrived in time,
      // abandoning every dial that completed during the stall. The Tick runs after the poll phase.
      this.scheduler.soon(() => this.dispatch(slot, { type: 'Tick' }));
    });
  }

  private perform(slot: Slot, a: Action, event: SessionEvent): void {
    const peer = this.config.name;
    switch (a.type) {
      case 'Connect':
        this.dial(slot);
        return;
      case 'Disconnect':
        if (slot.dialing && event.type === 'Tick') {
          this.counters.dialTimeouts++;
          this.events.next({ type: 'dial-timeout', peer: this.config.name, count: this.counters.dialTimeouts });
        }
        this.abortDial(slot);
        slot.conn?.close('session ended', slot.lastWords);
        slot.lastWords = undefined;
        slot.conn = undefined;
        return;
      case 'SendOpen':
        this.write(slot, encodeOpen(a.open));
        return;
      case 'SendKeepalive':
        this.write(slot, encodeKeepalive());
        return;
      case 'SendNotification': {
        const bytes = encodeNotification({ type: 'notification', code: a.code, subcode: a.subcode, data: a.data });
        slot.lastWords = bytes;
        this.counters.messagesOut++;
        this.messages.sent(bytes);
        this.messages.notificationSent({ code: a.code, subcode: a.subcode, data: a.data }, this.scheduler.wallClock());
        logEvent(this.log, 'session.notification-sent', { code: a.code, subcode: a.subcode, errorCode: a.errorCode, ...(a.data.length ? { data: toHex(a.data) } : {}) });
        return;
      }
      case 'Established':
        if (slot !== this.main) {
          if (this.main.state.name === 'Established') {
            // Never two Established sessions: the newer connection closes (RFC 4271 6.8).
            this.dispatch(slot, { type: 'OpenCollisionDump' });
            return;
          }
          // The racing connection got there first (the main one never heard the peer's OPEN, so
          // the identifiers could not be compared): RFC 4271 6.8, the Established connection wins.
          // It becomes the session and the other one closes with Cease/7.
          const old = this.main;
          this.main = slot;
          this.second = old;
          logEvent(this.log, 'session.collision', { keep: slot.state.connection, reason: `the Established connection wins (RFC 4271 6.8): the ${old.state.connection ?? 'other'} connection had not received the peer's OPEN` });
          this.dispatch(old, { type: 'OpenCollisionDump' });
          this.events.next({ type: 'state', peer, from: old.state.name, to: 'Established', reason: 'racing connection kept' });
        }
        this.counters.establishedTransitions++;
        logEvent(this.log, 'session.established', { peerAs: a.negotiated.peerAs,
          peerBgpId: a.negotiated.peerBgpId,
          holdTime: a.negotiated.holdTime,
          families: a.negotiated.families.map((f) => `${f.afi}/${f.safi}`),
          fourOctetAs: a.negotiated.fourOctetAs,
          routeRefresh: a.negotiated.routeRefresh,
          extendedMessage: a.negotiated.extendedMessage,
        });
        this.events.next({ type: 'established', peer, negotiated: a.negotiated });
        return;
      case 'SessionDown':
        logEvent(this.log, 'session.down', { reason: a.reason });
        this.events.next({ type: 'down', peer, reason: a.reason, ...(a.retain ? { retain: a.retain } : {}) });
        return;
      case 'DeliverUpdate':
        this.counters.updatesIn++;
        if (a.update.problems?.length) {
          logEvent(this.log, 'session.update-problems', { problems: a.update.problems.map((p) => ({ code: p.code, severity: p.severity, message: p.message })),
          });
        }
        this.events.next({ type: 'update', peer, update: a.update });
        return;
      case 'DeliverRouteRefresh':
        logEvent(this.log, 'session.route-refresh', { afi: a.refresh.afi, safi: a.refresh.safi, subtype: a.refresh.subtype });
        this.events.next({ type: 'route-refresh', peer, refresh: a.refresh });
        return;
      case 'ReleaseResources':
        return;
      case 'Transition':
        if (slot === this.main) {
          logEvent(this.log, 'session.transition', { from: a.from, to: a.to, fsmEvent: a.event, reason: a.reason });
          this.events.next({ type: 'state', peer, from: a.from, to: a.to, reason: a.reason });
        }
        return;
      case 'Log':
        this.log[a.level]({ event: 'session.fsm' }, a.message);
        return;
      default: {
        const never: never = a;
        throw new Error(`unhandled action ${JSON.stringify(never)}`);
      }
    }
  }

  private write(slot: Slot, bytes: Uint8Array): void {
    if (!slot.conn) return;
    this.counters.messagesOut++;
    this.messages.sent(bytes);
    slot.conn.writeNow(bytes);
  }

  private dial(slot: Slot): void {
    if (slot.dialing || slot.conn) return;
    const { address, port, localAddress, password } = this.config;
    const socket = this.transport.dial({ host: address, port, localAddress, ...(password !== undefined ? { password } : {}) });
    slot.dialing = socket;
    const onError = (e: Error) => {
      if (slot.dialing !== socket) return;
      slot.dialing = undefined;
      logEvent(this.log, 'session.dial-failed', { error: e.message });
      this.dispatch(slot, { type: 'TcpConnectionFails', reason: e.message });
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      if (slot.dialing !== socket) {
        socket.destroy();
        return;
      }
      slot.dialing = undefined;
      this.attach(slot, this.connection(socket, 'outbound'), 'Tcp_CR_Acked');
    });
  }

  private abortDial(slot: Slot): void {
    const s = slot.dialing;
    slot.dialing = undefined;
    s?.destroy();
  }

  /** The connection joins the slot (started first with `start`, for a second slot) and the FSM hears of it. */
  private attach(slot: Slot, conn: Connection, event: 'Tcp_CR_Acked' | 'TcpConnectionConfirmed', start?: SessionEvent): void {
    slot.conn = conn;
    this.counters.dialTimeouts = 0;
    conn.events.subscribe((ev) => {
      if (slot.conn !== conn) return; // a connection the session already let go of
      this.counters.bytesIn = conn.bytesIn;
      this.counters.bytesOut = conn.bytesOut;
      switch (ev.type) {
        case 'message':
          this.counters.messagesIn++;
          this.messages.received(ev.message.type);
          this.dispatch(slot, this.messageEvent(ev.message));
          return;
        case 'error':
          logEvent(this.log, 'session.message-error', { errorCode: ev.error.code,
            offset: ev.error.offset,
            error: ev.error.message,
          });
          this.dispatch(slot, this.errorEvent(ev.error));
          return;
        case 'closed':
          slot.conn = undefined;
          this.dispatch(slot, { type: 'TcpConnectionFails', reason: ev.reason });
          return;
        case 'internal-error':
          this.internalError(slot, ev.error);
          return;
      }
    });
    if (start) this.dispatch(slot, start);
    this.dispatch(slot, { type: event });
  }

  /** A bug while handling this session's input: the session ends with a Cease and restarts. */
  private internalError(slot: Slot, error: unknown): void {
    logEvent(this.log, 'session.internal-error', { err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error) });
    try {
      this.dispatch(slot, { type: 'AutomaticStop', cause: 'cease.administrative-reset', shutdownMessage: 'internal error' });
    } catch {
      // The session's own handling is what failed: drop the connection without ceremony.
      slot.conn?.close('internal error');
    }
  }

  private messageEvent(m: BgpMessage): SessionEvent {
    switch (m.type) {
      case 'open':
        return { type: 'BGPOpen', open: m };
      case 'update':
        return { type: 'UpdateMsg', update: m };
      case 'keepalive':
        return { type: 'KeepAliveMsg' };
      case 'route-refresh':
        return { type: 'RouteRefreshMsg', refresh: m };
      case 'notification':
        this.messages.notificationReceived(m, this.scheduler.wallClock());
        logEvent(this.log, 'session.notification-received', { code: m.code,
          subcode: m.subcode,
          shutdownMessage: m.shutdownMessage,
          ...(m.data.length ? { data: toHex(m.data) } : {}),
        });
        return m.code === ErrorCode.OPEN_MESSAGE && m.subcode === OpenSubcode.UNSUPPORTED_VERSION
          ? { type: 'NotifMsgVerErr', notification: m }
          : { type: 'NotifMsg', notification: m };
    }
  }

  private errorEvent(error: WireError): SessionEvent {
    if (error.code.startsWith('open.')) return { type: 'BGPOpenMsgErr', error };
    if (error.code.startsWith('update.')) return { type: 'UpdateMsgErr', error };
    return { type: 'BGPHeaderErr', error };
  }

  /** RFC 4271 6.8: once a racing connection knows the peer's BGP Identifier, keep one. */
  private checkCollision(): void {
    const second = this.second;
    if (!second) return;
    const d = detectCollision(this.main.state, second.state);
    if (!d) return;
    const loser = this.main.state.connection === d.close ? this.main : second;
    const winner = loser === this.main ? second : this.main;
    logEvent(this.log, 'session.collision', { keep: d.keep, reason: d.reason });
    this.dispatch(loser, { type: 'OpenCollisionDump' });
    loser.timer?.cancel();
    this.main = winner;
    this.second = undefined;
    // The winner's transitions so far were not published (it was the second slot): publish its state.
    if (winner.state.name !== loser.state.name) {
      this.events.next({ type: 'state', peer: this.config.name, from: loser.state.name, to: winner.state.name, reason: d.reason });
    }
  }
}
