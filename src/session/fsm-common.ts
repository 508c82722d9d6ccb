/**
 * The moves the RFC 4271 8.2.2 state descriptions repeat: starting from Idle, entering OpenSent,
 * and the many ways back to Idle ("drops the TCP connection, releases all BGP resources, ...").
 */
import { WIRE_ERRORS, WireError, type WireErrorCode } from '../wire/errors.js';
import { CeaseSubcode, ErrorCode } from '../wire/iana.js';
import { buildShutdown, carriesShutdownMessage, describeNotification, parseShutdownMessage } from '../wire/notification.js';
import type { NotificationMessage } from '../wire/types.js';
import { initialBackoff, restartWait, type SessionEnd } from './backoff.js';
import { localOpen } from './config.js';
import { retention } from './graceful-restart.js';
import { NO_TIMERS } from './timers.js';
import type {
  Action,
  ConnectionDirection,
  SessionError,
  SessionEvent,
  SessionState,
  StateName,
  StepResult,
  StopCause,
} from './types.js';

/** The same state, nothing to do. */
export function unchanged(s: SessionState, ...actions: Action[]): StepResult {
  return { state: s, actions };
}

/** A state change (or a patch of the same state) with its Transition action last. */
export function moveTo(
  s: SessionState,
  to: StateName,
  ev: SessionEvent,
  now: number,
  reason: string,
  patch: Partial<SessionState>,
  actions: Action[],
): StepResult {
  const next: SessionState = { ...s, ...patch, name: to };
  if (to === s.name) return { state: next, actions };
  next.lastTransition = { from: s.name, to, event: ev.type, reason, at: now };
  return { state: next, actions: [...actions, { type: 'Transition', from: s.name, to, event: ev.type, reason }] };
}

/**
 * RFC 4271 8.2.2 Idle, ManualStart / AutomaticStart: "initializes all BGP resources for the peer
 * connection, sets ConnectRetryCounter to zero, starts the ConnectRetryTimer with the initial
 * value, initiates a TCP connection to the other BGP peer, listens for a connection that may be
 * initiated by the remote BGP peer, and changes its state to Connect." The passive variants go
 * to Active instead, without dialling. A `passive` configuration never dials on its own, so it
 * also runs no ConnectRetryTimer in Active (whose expiry there would dial); with `dialOnStart` its
 * ManualStart makes one dial first (weft's addition for the mesh, not RFC 4271 8.1.1
 * PassiveTcpEstablishment: a peer whose dials have backed off hears at once that we are up).
 */
export function start(
  s: SessionState,
  ev: SessionEvent,
  now: number,
  how: { passive: boolean; resetCounter: boolean; reason: string },
): StepResult {
  const neverDial = s.config.passive;
  // dialOnStart: a passive session's ManualStart dials once (Connect), then falls back to waiting
  // in Active without a ConnectRetryTimer (fsm.ts Connect). Only ManualStart: automatic restarts
  // and the second session of a collision (ManualStart_Passive) stay passive.
  const dialOnce = neverDial && s.config.dialOnStart && ev.type === 'ManualStart';
  const passive = (how.passive || neverDial) && !dialOnce;
  const timers = { ...NO_TIMERS, connectRetry: passive && neverDial ? undefined : now + s.config.connectRetryTime * 1000 };
  const patch: Partial<SessionState> = {
    timers,
    autoRestart: true,
    connectRetryCounter: how.resetCounter ? 0 : s.connectRetryCounter,
  };
  if (passive) return moveTo(s, 'Active', ev, now, `${how.reason}: waiting for the peer to connect`, patch, []);
  const what = dialOnce ? 'connecting to the peer once, then waiting for it (passive)' : 'connecting to the peer';
  return moveTo(s, 'Connect', ev, now, `${how.reason}: ${what}`, patch, [{ type: 'Connect' }]);
}

/**
 * RFC 4271 8.2.2 Connect / Active, Tcp_CR_Acked or TcpConnectionConfirmed: "stops the
 * ConnectRetryTimer (if running) and sets the ConnectRetryTimer to zero, completes BGP
 * initialization, sends an OPEN message to its peer, sets the HoldTimer to a large value, and
 * changes its state to OpenSent." ("A HoldTimer value of 4 minutes is suggested.")
 */
export function openSent(s: SessionState, ev: SessionEvent, now: number, connection: ConnectionDirection): StepResult {
  const timers = { ...NO_TIMERS, hold: now + s.config.openSentHoldTime * 1000 };
  // A connection came up: the dial back-off (backoff.ts dialRetryMs) starts afresh.
  return moveTo(s, 'OpenSent', ev, now, `${connection} TCP connection up: OPEN sent`, { timers, connection, dialFailures: 0 }, [
    { type: 'SendOpen', open: localOpen(s.config) },
  ]);
}

/**
 * The NOTIFICATION of an administrative stop. RFC 9003 2: Cease / Administrative Shutdown and
 * Cease / Administrative Reset may carry a shutdown communication (a length octet and up to 255
 * octets of UTF-8). Other Cease subcodes carry the caller's `data` when given: RFC 4486 4, for
 * Maximum Number of Prefixes Reached, "the speaker MAY include ... the Data field ... AFI (2
 * octets), SAFI (1 octet), and the prefix upper bound (4 octets)".
 */
export function stopError(cause: StopCause, shutdownMessage: string | undefined, data?: Uint8Array): WireError {
  const subcode = WIRE_ERRORS[cause][1];
  const withText = subcode === CeaseSubcode.ADMINISTRATIVE_SHUTDOWN || subcode === CeaseSubcode.ADMINISTRATIVE_RESET;
  if (!withText || shutdownMessage === undefined) return new WireError(cause, cause, data ? { data } : {});
  const n = buildShutdown(subcode, shutdownMessage);
  return new WireError(cause, `${cause}: ${JSON.stringify(n.shutdownMessage ?? '')}`, { data: n.data });
}

/** "6/2 Cease / Administrative Shutdown: \"text\"", for reasons and logs. */
export function describe(code: number, subcode: number, shutdownMessage?: string): string {
  const text = shutdownMessage !== undefined ? `: ${JSON.stringify(shutdownMessage)}` : '';
  return `${code}/${subcode} ${describeNotification(code, subcode)}${text}`;
}

export interface ToIdle {
  reason: string;
  /** RFC 4271 8.2.2: what happens to the ConnectRetryCounter. */
  counter: 'increment' | 'zero' | 'keep';
  /** The NOTIFICATION to send before dropping the connection. */
  send?: WireError;
  /** The NOTIFICATION the peer sent (NotifMsg, NotifMsgVerErr). */
  received?: NotificationMessage;
  /** ManualStop: no automatic restart afterwards. */
  manual?: boolean;
}

/** The Ceases we send that close a session on purpose, not because something failed (RFC 4486 3). */
const ADMINISTRATIVE_CEASES: ReadonlySet<WireErrorCode> = new Set<WireErrorCode>([
  'cease.administrative-shutdown',
  'cease.peer-deconfigured',
  'cease.administrative-reset',
  'cease.other-configuration-change',
  'cease.connection-collision',
]);

/**
 * Whether a session's end is a failure for the back-off (backoff.ts) or a clean end.
 * - Nothing was exchanged yet (Connect, Active): the peer is only unreachable, no oscillation to
 *   damp; growing the wait would keep a host that boots late waiting minutes. Clean.
 * - We send a NOTIFICATION: clean for our administrative Ceases (a reset, a configuration change,
 *   the loser of a collision), a failure for every error and for the other Ceases (max-prefix,
 *   out of resources, BFD down, ...).
 * - We receive one: RFC 4271 6.7, "In the absence of any fatal errors ..., a BGP peer MAY choose,
 *   at any given time, to close its BGP connection by sending the NOTIFICATION message with the
 *   Error Code Cease": a Cease that ends an Established session is a clean close (a peer's
 *   `birdc disable`, restart, reconfiguration). Before Established a Cease means the peer refused
 *   the session (Connection Rejected, shut down), a failure, except Connection Collision
 *   Resolution (RFC 4271 6.8: the other connection goes on). Any other code is an error.
 * - The connection closes (TcpConnectionFails): clean after Established (the peer restarted),
 *   a failure before it.
 * - Anything else (hold timer expiry, decode and FSM errors) sends a NOTIFICATION: see above.
 */
export function sessionEnd(s: SessionState, ev: SessionEvent, o: ToIdle): SessionEnd {
  if (s.name === 'Connect' || s.name === 'Active') return 'clean';
  if (o.send) return ADMINISTRATIVE_CEASES.has(o.send.code) ? 'clean' : 'failure';
  const r = o.received;
  if (r) {
    if (r.code !== ErrorCode.CEASE) return 'failure';
    if (r.subcode === CeaseSubcode.CONNECTION_COLLISION_RESOLUTION) return 'clean';
    return s.name === 'Established' ? 'clean' : 'failure';
  }
  return s.name === 'Established' && ev.type === 'TcpConnectionFails' ? 'clean' : 'failure';
}

/**
 * Back to Idle: send the NOTIFICATION if any, drop the connection, release resources, tell the
 * RIB when an Established session ends, and schedule the automatic restart after the back-off.
 */
export function toIdle(s: SessionState, ev: SessionEvent, now: number, o: ToIdle): StepResult {
  const actions: Action[] = [];
  let error: SessionError;
  if (o.send) {
    const n = o.send.notification;
    actions.push({ type: 'SendNotification', code: n.code, subcode: n.subcode, data: n.data, errorCode: o.send.code });
    error = { direction: 'sent', errorCode: o.send.code, code: n.code, subcode: n.subcode, data: n.data, message: o.send.message, at: now };
  } else if (o.received) {
    const r = o.received;
    error = { direction: 'received', code: r.code, subcode: r.subcode, data: r.data, message: o.reason, at: now };
    if (r.shutdownMessage !== undefined) error.shutdownMessage = r.shutdownMessage;
  } else {
    error = { direction: 'local', message: o.reason, at: now };
  }
  actions.push({ type: 'Disconnect' }, { type: 'ReleaseResources' });
  if (s.name === 'Established') {
    const retain = retention(s, ev, o);
    actions.push(retain ? { type: 'SessionDown', reason: o.reason, error, retain } : { type: 'SessionDown', reason: o.reason, error });
  }

  const counter = o.counter === 'zero' ? 0 : o.counter === 'increment' ? s.connectRetryCounter + 1 : s.connectRetryCounter;
  let timers = NO_TIMERS;
  let backoff = s.backoff;
  let reason = o.reason;
  const restart = !o.manual && s.autoRestart;
  if (restart) {
    const establishedFor = s.name === 'Established' && s.establishedAt !== undefined ? now - s.establishedAt : undefined;
    const b = restartWait(s.config.idleHold, s.backoff, sessionEnd(s, ev, o), establishedFor, s.config.connectRetryTime * 1000);
    timers = { ...NO_TIMERS, idleHold: now + b.waitMs };
    backoff = b.state;
    reason = `${o.reason}; restarting in ${b.waitMs / 1000} s`;
  } else if (o.manual) {
    backoff = initialBackoff(s.config.idleHold);
  }
  return moveTo(
    s,
    'Idle',
    ev,
    now,
    reason,
    {
      timers,
      backoff,
      connectRetryCounter: counter,
      autoRestart: restart,
      connection: undefined,
      peerOpen: undefined,
      negotiated: undefined,
      establishedAt: undefined,
      lastError: error,
    },
    actions,
  );
}

/** The reason text of a received NOTIFICATION. */
export function receivedReason(n: NotificationMessage | undefined, what = 'NOTIFICATION'): string {
  if (!n) return `received ${what}`;
  return `received ${what} ${describe(n.code, n.subcode, n.shutdownMessage)}${hardResetCause(n)}`;
}

/**
 * RFC 8538 3: a Cease/Hard Reset carries the NOTIFICATION it stands for in its Data (code, subcode,
 * that NOTIFICATION's data): " (6/3 Cease / Peer De-configured)", with the RFC 9003 text when the
 * inner Cease has one; "" for anything else.
 */
function hardResetCause(n: NotificationMessage): string {
  if (n.code !== ErrorCode.CEASE || n.subcode !== CeaseSubcode.HARD_RESET || n.data.length < 2) return '';
  const inner = n.data.subarray(2);
  const text = carriesShutdownMessage(n.data[0], n.data[1]) ? parseShutdownMessage(inner) : undefined;
  return ` (${describe(n.data[0], n.data[1], text)})`;
}
