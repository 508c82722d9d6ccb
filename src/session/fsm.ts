/**
 * The BGP finite state machine of RFC 4271 8.2.2 as one pure function:
 * `step(state, event, now) -> { state, actions }`. One session per TCP connection; the agent
 * carries out the actions and feeds back events, and drives all timers with one setTimeout on
 * `nextDeadline(state)` (timers.ts).
 *
 * Where weft differs from the letter of 8.2.2 (each also noted at its case):
 * - NotifMsg in OpenSent is in the RFC's "any other event" list, which answers with an FSM Error
 *   NOTIFICATION. RFC 4271 4.5 closes the connection after a NOTIFICATION, so weft never answers
 *   one: a NOTIFICATION in any state goes to Idle and sends nothing.
 * - BGPHeaderErr in Established sends the header error (RFC 4271 6.1), not an FSM Error.
 * - A timer event for a timer that is not running is stale (the agent's setTimeout raced a step)
 *   and is ignored; in the RFC such events cannot happen.
 * - A `passive` session never dials; RFC 4271 8.2.2 Active would dial when the ConnectRetryTimer
 *   expires, so a passive session does not run that timer.
 * - TcpConnectionFails in Connect (our dial failed) goes to Active with the ConnectRetryTimer
 *   restarted, the path 8.2.2 gives it when the DelayOpenTimer runs, instead of to Idle, which
 *   refuses every connection. The peer's connection is accepted until the next dial, at
 *   ConnectRetry expiry (OpenBGPD and BIRD also accept in this situation). The timer runs longer
 *   after each dial refused in a row: ConnectRetryTime, doubling, up to connectRetryMaxTime
 *   (backoff.ts dialRetryMs); a connection coming up or ManualStart resets it.
 * - A `passive` session with `dialOnStart` (a mesh peer that waits for the other node's dial)
 *   makes one dial at ManualStart, then waits in Active as any passive session does.
 * - Idle refuses incoming connections only while the session is stopped (never started, or
 *   ManualStop). While an automatic restart is pending (the IdleHoldTimer runs after the session
 *   went down), the peer's TcpConnectionConfirmed starts the session from that connection: OPEN
 *   sent, OpenSent, as in Connect and Active. A peer that comes back before our restart is
 *   therefore never refused.
 * - Collision detection (RFC 4271 6.8) runs outside, over two sessions (collision.ts); the loser
 *   gets OpenCollisionDump. A BGPOpen on a session past OpenSent is therefore a second OPEN on the
 *   same connection: an FSM Error (RFC 6608).
 * - UPDATE errors (RFC 7606): only 'session-reset' errors come as UpdateMsgErr. Attribute-discard
 *   and treat-as-withdraw outcomes are not errors for the FSM: they arrive inside an UpdateMsg
 *   (UpdateMessage.problems) and the RIB applies them. An UpdateMsgErr of another severity would be
 *   a codec bug and still resets, since its routes cannot be known.
 * - Not modelled: DelayOpen (events 12, 20), Tcp_CR_Invalid (15), SendNOTIFICATIONwithoutOPEN
 *   (false: no NOTIFICATION before our OPEN went out).
 */
import { assertNever } from '../lib/assert-never.js';
import { WireError } from '../wire/errors.js';
import { familyKey } from '../wire/types.js';
import { moveTo, openSent, receivedReason, start, stopError, toIdle, unchanged } from './fsm-common.js';
import { negotiate, familiesOf } from './negotiate.js';
import { stopNotification } from './graceful-restart.js';
import { checkOpen } from './open-checks.js';
import { dialRetryMs } from './backoff.js';
import { NO_TIMERS, expiredTimers, timerOfEvent, withTimer } from './timers.js';
import type { Action, SessionEvent, SessionState, StepResult } from './types.js';

/** Runs one event. Pure: the same state, event and `now` always give the same result. */
export function step(state: SessionState, event: SessionEvent, now: number): StepResult {
  if (event.type === 'Tick') return tick(state, now);
  const timer = timerOfEvent(event.type);
  if (timer !== undefined && state.timers[timer] === undefined) {
    return unchanged(state, { type: 'Log', level: 'debug', message: `${event.type} ignored: the timer is not running` });
  }
  switch (state.name) {
    case 'Idle':
      return idle(state, event, now);
    case 'Connect':
      return connect(state, event, now);
    case 'Active':
      return active(state, event, now);
    case 'OpenSent':
      return openSentState(state, event, now);
    case 'OpenConfirm':
      return openConfirm(state, event, now);
    case 'Established':
      return established(state, event, now);
    default:
      return assertNever(state.name, 'state');
  }
}

/** Every timer due at `now`, one after another (a timer restarted by its own expiry is not due again). */
function tick(state: SessionState, now: number): StepResult {
  let s = state;
  const actions: Action[] = [];
  for (let guard = 0; guard < 16; guard++) {
    const [ev] = expiredTimers(s, now);
    if (!ev) break;
    const r = step(s, ev, now);
    s = r.state;
    actions.push(...r.actions);
  }
  return { state: s, actions };
}

function ignored(s: SessionState, ev: SessionEvent): StepResult {
  return unchanged(s, { type: 'Log', level: 'debug', message: `${ev.type} ignored in ${s.name}` });
}

function restartTimer(s: SessionState, name: 'hold' | 'keepalive', now: number): SessionState['timers'] {
  const n = s.negotiated;
  const ms = name === 'hold' ? (n ? n.holdTime * 1000 : 0) : (n?.keepaliveMs ?? 0);
  // RFC 4271 4.4: with a negotiated Hold Time of zero neither timer runs.
  return withTimer(s.timers, name, ms > 0 ? now + ms : undefined);
}

/**
 * Idle only until the IdleHoldTimer brings the session back (it went down by itself, or an
 * AutomaticStart waits out the back-off); not after ManualStop, nor before the first start.
 */
function restartPending(s: SessionState): boolean {
  return s.autoRestart && s.timers.idleHold !== undefined;
}

/** RFC 4271 8.2.2 Idle. */
function idle(s: SessionState, ev: SessionEvent, now: number): StepResult {
  switch (ev.type) {
    case 'ManualStart':
      // An operator's start does not wait out the back-offs, and starts them afresh.
      return start({ ...s, backoff: { nextMs: s.config.idleHold.initialMs, flaps: 0 }, dialFailures: 0 }, ev, now, {
        passive: false,
        resetCounter: true,
        reason: 'ManualStart',
      });
    case 'ManualStart_Passive':
      return start({ ...s, dialFailures: 0 }, ev, now, { passive: true, resetCounter: true, reason: 'ManualStart_Passive' });
    case 'AutomaticStart':
      if (s.timers.idleHold !== undefined) {
        return unchanged({ ...s, autoRestart: true }, { type: 'Log', level: 'debug', message: 'AutomaticStart: waiting for the IdleHoldTimer' });
      }
      return start(s, ev, now, { passive: false, resetCounter: true, reason: 'AutomaticStart' });
    case 'IdleHoldTimer_Expires':
      // RFC 4271 8.1.1 Event 13: the back-off is over; start as AutomaticStart would, keeping the count.
      return start(s, ev, now, { passive: false, resetCounter: false, reason: 'IdleHoldTimer expired' });
    case 'ManualStop':
      // RFC 4271 8.2.2: "ManualStop ... ignored in the Idle state", except that it cancels a pending restart.
      if (!s.autoRestart && s.timers.idleHold === undefined) return ignored(s, ev);
      return unchanged(
        { ...s, autoRestart: false, timers: withTimer(s.timers, 'idleHold', undefined) },
        { type: 'Log', level: 'info', message: 'ManualStop: automatic restart cancelled' },
      );
    case 'TcpConnectionConfirmed':
    case 'TcpConnection_Valid':
      if (restartPending(s)) {
        // RFC 4271 8.2.2 Idle: "In this state, BGP FSM refuses all incoming BGP connections". weft
        // refuses only while stopped (see the header): with an automatic restart pending, the
        // peer's connection is the restart, and takes the Connect/Active path of Event 17 ("sends
        // an OPEN message to its peer, sets the HoldTimer to a large value, and changes its state
        // to OpenSent"). The back-off and the ConnectRetryCounter stay as they are.
        if (ev.type === 'TcpConnection_Valid') return ignored(s, ev);
        return openSent({ ...s, timers: withTimer(s.timers, 'idleHold', undefined) }, ev, now, 'inbound');
      }
      return unchanged(s, { type: 'Disconnect' }, { type: 'Log', level: 'debug', message: `${ev.type} in Idle: connection refused` });
    case 'Tcp_CR_Acked':
      // Our own dial completing in Idle is stale (Disconnect aborted it): drop it.
      return unchanged(s, { type: 'Disconnect' }, { type: 'Log', level: 'debug', message: `${ev.type} in Idle: connection refused` });
    default:
      return ignored(s, ev);
  }
}

/** RFC 4271 8.2.2 Connect. */
function connect(s: SessionState, ev: SessionEvent, now: number): StepResult {
  switch (ev.type) {
    case 'ManualStart':
    case 'ManualStart_Passive':
    case 'AutomaticStart':
    case 'TcpConnection_Valid':
      return ignored(s, ev);
    case 'ManualStop':
      return toIdle(s, ev, now, { reason: 'ManualStop', counter: 'zero', manual: true });
    case 'ConnectRetryTimer_Expires': {
      if (s.config.passive) {
        // The one dial of a passive session's start (dialOnStart) went unanswered: abandon it and
        // wait for the peer, as passive sessions do (no ConnectRetryTimer in Active).
        return moveTo(s, 'Active', ev, now, 'ConnectRetryTimer expired: the dial at start abandoned; waiting for the peer to connect (passive)', {
          timers: NO_TIMERS,
        }, [{ type: 'Disconnect' }]);
      }
      // "drops the TCP connection, restarts the ConnectRetryTimer, ... initiates a TCP connection
      // to the other BGP peer, ... and stays in the Connect state." A dial whose SYN is never
      // answered is abandoned here: Disconnect aborts it, Connect dials afresh. Every way into
      // Connect starts the ConnectRetryTimer (start, Active's expiry, and this case), so no dial
      // outlives ConnectRetry. Logged: there is no Transition to show the retry.
      const retryMs = s.config.connectRetryTime * 1000;
      return unchanged(
        { ...s, timers: withTimer(s.timers, 'connectRetry', now + retryMs) },
        { type: 'Disconnect' },
        { type: 'Connect' },
        { type: 'Log', level: 'info', message: `ConnectRetryTimer expired in Connect: dial abandoned after ${retryMs / 1000} s, dialling again` },
      );
    }
    case 'Tcp_CR_Acked':
      return openSent(s, ev, now, 'outbound');
    case 'TcpConnectionConfirmed':
      return openSent(s, ev, now, 'inbound');
    case 'TcpConnectionFails': {
      // RFC 4271 8.2.2 Connect, Event 18: "If the DelayOpenTimer is running, the local system:
      // restarts the ConnectRetryTimer, ... continues to listen for a connection that may be
      // initiated by the remote BGP peer, and changes its state to Active." Without DelayOpen the
      // RFC goes to Idle, which "refuses all incoming BGP connections": a dial refused at once
      // would leave the session in Idle almost all the time, and a peer that only dials (ExaBGP's
      // default) could never connect. weft takes the Active path always (see the header); the
      // next dial goes out when the ConnectRetryTimer expires in Active. As in the RFC's Idle
      // path, the ConnectRetryCounter is not incremented.
      // The wait in Active grows with the dials refused in a row (backoff.ts dialRetryMs): a
      // peer that is not up yet is not dialled every ConnectRetry forever (in a starting mesh that
      // is O(N^2) refused dials a second). Its own connection is still accepted at once.
      // A passive session got here from its one dial at start (dialOnStart): it waits, no timer.
      const why = `TCP connection failed${ev.reason ? `: ${ev.reason}` : ''}`;
      const lastError = { direction: 'local' as const, message: why, at: now };
      if (s.config.passive) {
        return moveTo(s, 'Active', ev, now, `${why}; waiting for the peer to connect (passive)`, { timers: NO_TIMERS, connection: undefined, lastError }, []);
      }
      const dialFailures = s.dialFailures + 1;
      const retryMs = dialRetryMs(s.config.connectRetryTime * 1000, s.config.connectRetryMaxTime * 1000, dialFailures);
      return moveTo(s, 'Active', ev, now, `${why}; listening, dialling again in ${retryMs / 1000} s`, {
        timers: { ...NO_TIMERS, connectRetry: now + retryMs },
        connection: undefined,
        dialFailures,
        lastError,
      }, []); // nothing to drop: the dial that failed was the only connection (Tcp_CR_Acked leaves Connect)
    }
    case 'NotifMsg':
    case 'NotifMsgVerErr':
      return toIdle(s, ev, now, { reason: receivedReason(ev.notification), counter: 'increment', received: ev.notification });
    default:
      // BGPHeaderErr, BGPOpenMsgErr and "any other event": no NOTIFICATION (no OPEN sent yet).
      return toIdle(s, ev, now, { reason: `unexpected ${ev.type} in Connect`, counter: 'increment' });
  }
}

/** RFC 4271 8.2.2 Active. */
function active(s: SessionState, ev: SessionEvent, now: number): StepResult {
  switch (ev.type) {
    case 'ManualStart':
    case 'ManualStart_Passive':
    case 'AutomaticStart':
    case 'TcpConnection_Valid':
      return ignored(s, ev);
    case 'ManualStop':
      return toIdle(s, ev, now, { reason: 'ManualStop', counter: 'zero', manual: true });
    case 'ConnectRetryTimer_Expires':
      // "restarts the ConnectRetryTimer (with initial value), initiates a TCP connection to the
      // other BGP peer, continues to listen ..., and changes its state to Connect."
      return moveTo(s, 'Connect', ev, now, 'ConnectRetryTimer expired: connecting to the peer', {
        timers: withTimer(s.timers, 'connectRetry', now + s.config.connectRetryTime * 1000),
      }, [{ type: 'Connect' }]);
    case 'Tcp_CR_Acked':
      return openSent(s, ev, now, 'outbound');
    case 'TcpConnectionConfirmed':
      return openSent(s, ev, now, 'inbound');
    case 'TcpConnectionFails':
      return toIdle(s, ev, now, { reason: `TCP connection failed${ev.reason ? `: ${ev.reason}` : ''}`, counter: 'increment' });
    case 'NotifMsg':
    case 'NotifMsgVerErr':
      return toIdle(s, ev, now, { reason: receivedReason(ev.notification), counter: 'increment', received: ev.notification });
    default:
      return toIdle(s, ev, now, { reason: `unexpected ${ev.type} in Active`, counter: 'increment' });
  }
}

/** Events that end the session the same way in OpenSent, OpenConfirm and Established. */
function commonOpenStates(s: SessionState, ev: SessionEvent, now: number): StepResult | undefined {
  switch (ev.type) {
    case 'ManualStart':
    case 'ManualStart_Passive':
    case 'AutomaticStart':
      return ignored(s, ev);
    case 'TcpConnection_Valid':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      // "a second TCP connection may be in progress. This second TCP connection is tracked per
      // Section 6.8": the agent runs it as a session of its own.
      return ignored(s, ev);
    case 'ManualStop': {
      // RFC 8538 5 / RFC 4724 4.1: the NOTIFICATION depends on the stop mode and the N bit
      // (graceful-restart.ts stopNotification); a graceful stop without N sends none.
      const send = stopNotification(s, ev.mode ?? 'default', ev.cause ?? 'cease.administrative-shutdown', (c) => stopError(c, ev.shutdownMessage, ev.data));
      const why = send ? send.message : 'graceful restart: TCP closed without a NOTIFICATION (RFC 4724 4.1)';
      return toIdle(s, ev, now, { reason: `ManualStop (${why})`, counter: 'zero', manual: true, ...(send ? { send } : {}) });
    }
    case 'AutomaticStop': {
      const send = stopError(ev.cause ?? 'cease.other-configuration-change', ev.shutdownMessage, ev.data);
      return toIdle(s, ev, now, { reason: `AutomaticStop (${send.message})`, counter: 'increment', send });
    }
    case 'HoldTimer_Expires':
      return toIdle(s, ev, now, {
        reason: 'HoldTimer expired',
        counter: 'increment',
        send: new WireError('hold-timer-expired', 'HoldTimer expired'),
      });
    case 'OpenCollisionDump':
      return toIdle(s, ev, now, {
        reason: 'connection collision: this connection closes',
        counter: 'increment',
        send: new WireError('cease.connection-collision', 'connection collision resolution'),
      });
    case 'NotifMsg':
      return toIdle(s, ev, now, { reason: receivedReason(ev.notification), counter: 'increment', received: ev.notification });
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      if (ev.type === 'BGPOpenMsgErr' && s.name === 'Established') return undefined; // an OPEN in Established: FSM Error
      return toIdle(s, ev, now, { reason: `${ev.error.code}: ${ev.error.message}`, counter: 'increment', send: ev.error });
    default:
      return undefined;
  }
}

/** RFC 4271 8.2.2 OpenSent. */
function openSentState(s: SessionState, ev: SessionEvent, now: number): StepResult {
  const common = commonOpenStates(s, ev, now);
  if (common) return common;
  switch (ev.type) {
    case 'TcpConnectionFails':
      // "closes the BGP connection, restarts the ConnectRetryTimer, continues to listen for a
      // connection that may be initiated by the remote BGP peer, and changes its state to Active."
      return moveTo(s, 'Active', ev, now, `TCP connection failed${ev.reason ? `: ${ev.reason}` : ''}`, {
        timers: { connectRetry: s.config.passive ? undefined : now + s.config.connectRetryTime * 1000, hold: undefined, keepalive: undefined, idleHold: undefined },
        connection: undefined,
      }, [{ type: 'Disconnect' }]);
    case 'BGPOpen': {
      // "the OPEN message is checked for correctness"; on an error, BGPOpenMsgErr.
      const err = checkOpen(s.config, ev.open);
      if (err) return toIdle(s, ev, now, { reason: `${err.code}: ${err.message}`, counter: 'increment', send: err });
      const negotiated = negotiate(s.config, ev.open);
      // "resets the DelayOpenTimer to zero, sets the BGP ConnectRetryTimer to zero, sends a
      // KEEPALIVE message, and sets a KeepaliveTimer ... sets the HoldTimer according to the
      // negotiated value ... changes its state to OpenConfirm." (RFC 4271 8.2.2 OpenSent, Event 19)
      const next: SessionState = { ...s, negotiated, timers: { ...s.timers, connectRetry: undefined } };
      const hold = negotiated.holdTime === 0 ? 'no hold timer' : `hold ${negotiated.holdTime} s`;
      return moveTo(s, 'OpenConfirm', ev, now, `OPEN from AS ${negotiated.peerAs} id ${negotiated.peerBgpId} accepted (${hold})`, {
        negotiated,
        peerOpen: ev.open,
        timers: restartTimers(next, now),
      }, [{ type: 'SendKeepalive' }]);
    }
    case 'NotifMsgVerErr':
      // "sets the ConnectRetryTimer to zero, releases all BGP resources, drops the TCP connection,
      // and changes its state to Idle." No counter increment.
      return toIdle(s, ev, now, { reason: receivedReason(ev.notification), counter: 'keep', received: ev.notification });
    default:
      // RFC 6608 3: "any other event" in OpenSent -> FSM Error, Unexpected Message in OpenSent.
      return toIdle(s, ev, now, {
        reason: `unexpected ${ev.type} in OpenSent`,
        counter: 'increment',
        send: new WireError('fsm.unexpected-in-opensent', `unexpected ${ev.type} in OpenSent`),
      });
  }
}

function restartTimers(s: SessionState, now: number): SessionState['timers'] {
  return restartTimer({ ...s, timers: restartTimer(s, 'hold', now) }, 'keepalive', now);
}

function sendKeepalive(s: SessionState, now: number): StepResult {
  // RFC 4271 8.2.2: "sends a KEEPALIVE message, restarts the KeepaliveTimer, and remains in the ... state."
  return unchanged({ ...s, timers: restartTimer(s, 'keepalive', now) }, { type: 'SendKeepalive' });
}

/** RFC 4271 8.2.2 OpenConfirm. */
function openConfirm(s: SessionState, ev: SessionEvent, now: number): StepResult {
  const common = commonOpenStates(s, ev, now);
  if (common) return common;
  switch (ev.type) {
    case 'KeepaliveTimer_Expires':
      return sendKeepalive(s, now);
    case 'TcpConnectionFails':
      return toIdle(s, ev, now, { reason: `TCP connection failed${ev.reason ? `: ${ev.reason}` : ''}`, counter: 'increment' });
    case 'NotifMsgVerErr':
      return toIdle(s, ev, now, { reason: receivedReason(ev.notification), counter: 'keep', received: ev.notification });
    case 'KeepAliveMsg': {
      // "restarts the HoldTimer and changes its state to Established."
      const negotiated = s.negotiated;
      if (!negotiated) return toIdle(s, ev, now, { reason: 'OpenConfirm without a negotiation result', counter: 'increment' });
      return moveTo(s, 'Established', ev, now, `KEEPALIVE received: session up with AS ${negotiated.peerAs}`, {
        timers: restartTimer(s, 'hold', now),
        establishedAt: now,
      }, [{ type: 'Established', negotiated }]);
    }
    default:
      // RFC 6608 3: FSM Error, Unexpected Message in OpenConfirm.
      return toIdle(s, ev, now, {
        reason: `unexpected ${ev.type} in OpenConfirm`,
        counter: 'increment',
        send: new WireError('fsm.unexpected-in-openconfirm', `unexpected ${ev.type} in OpenConfirm`),
      });
  }
}

/** RFC 4271 8.2.2 Established. */
function established(s: SessionState, ev: SessionEvent, now: number): StepResult {
  const common = commonOpenStates(s, ev, now);
  if (common) return common;
  switch (ev.type) {
    case 'KeepaliveTimer_Expires':
      return sendKeepalive(s, now);
    case 'TcpConnectionFails':
      return toIdle(s, ev, now, { reason: `TCP connection failed${ev.reason ? `: ${ev.reason}` : ''}`, counter: 'increment' });
    case 'NotifMsgVerErr':
      return toIdle(s, ev, now, { reason: receivedReason(ev.notification), counter: 'increment', received: ev.notification });
    case 'KeepAliveMsg':
      // "restarts its HoldTimer, if the negotiated HoldTime value is non-zero".
      return unchanged({ ...s, timers: restartTimer(s, 'hold', now) });
    case 'UpdateMsg':
      // "processes the message, restarts its HoldTimer, if the negotiated HoldTime value is non-zero".
      return unchanged({ ...s, timers: restartTimer(s, 'hold', now) }, { type: 'DeliverUpdate', update: ev.update });
    case 'RouteRefreshMsg': {
      const next = { ...s, timers: restartTimer(s, 'hold', now) };
      // RFC 2918 4: a ROUTE-REFRESH for an <AFI, SAFI> we did not advertise "shall" be ignored.
      const ours = familiesOf(s.config.capabilities).some((f) => f.afi === ev.refresh.afi && f.safi === ev.refresh.safi);
      if (!ours) {
        return unchanged(next, { type: 'Log', level: 'warn', message: `ROUTE-REFRESH for family ${familyKey(ev.refresh.afi, ev.refresh.safi)} we did not advertise: ignored` });
      }
      return unchanged(next, { type: 'DeliverRouteRefresh', refresh: ev.refresh });
    }
    case 'UpdateMsgErr': {
      const note = ev.error.severity === 'session-reset' ? '' : ` (severity ${ev.error.severity} should have come inside the UPDATE)`;
      return toIdle(s, ev, now, { reason: `${ev.error.code}: ${ev.error.message}${note}`, counter: 'increment', send: ev.error });
    }
    default:
      // RFC 6608 3: FSM Error, Unexpected Message in Established (BGPOpen, BGPOpenMsgErr, stale starts).
      return toIdle(s, ev, now, {
        reason: `unexpected ${ev.type} in Established`,
        counter: 'increment',
        send: new WireError('fsm.unexpected-in-established', `unexpected ${ev.type} in Established`),
      });
  }
}

