/**
 * The session timers as data (RFC 4271 8 and 10). The agent keeps one setTimeout for
 * `nextDeadline(state)` and, when it fires, sends a `Tick` (or the events of `expiredTimers`).
 */
import type { SessionEvent, SessionState, TimerName, Timers } from './types.js';

export const NO_TIMERS: Timers = { connectRetry: undefined, hold: undefined, keepalive: undefined, idleHold: undefined };

/**
 * The order expired timers are handled in when several are due at once: a start first, and the
 * hold timer before the keepalive timer, so a dead session does not send a last KEEPALIVE.
 */
export const TIMER_ORDER: readonly TimerName[] = ['idleHold', 'connectRetry', 'hold', 'keepalive'];

export const TIMER_EVENTS = {
  idleHold: 'IdleHoldTimer_Expires',
  connectRetry: 'ConnectRetryTimer_Expires',
  hold: 'HoldTimer_Expires',
  keepalive: 'KeepaliveTimer_Expires',
} as const satisfies Record<TimerName, SessionEvent['type']>;

/** The timer behind a timer event. */
export function timerOfEvent(type: SessionEvent['type']): TimerName | undefined {
  for (const name of TIMER_ORDER) if (TIMER_EVENTS[name] === type) return name;
  return undefined;
}

/** The earliest running deadline, or undefined when no timer runs. */
export function nextDeadline(state: SessionState): number | undefined {
  let next: number | undefined;
  for (const name of TIMER_ORDER) {
    const d = state.timers[name];
    if (d !== undefined && (next === undefined || d < next)) next = d;
  }
  return next;
}

/** The events of the timers due at `now` (a deadline equal to `now` has expired), in TIMER_ORDER. */
export function expiredTimers(state: SessionState, now: number): SessionEvent[] {
  const out: SessionEvent[] = [];
  for (const name of TIMER_ORDER) {
    const d = state.timers[name];
    if (d !== undefined && d <= now) out.push({ type: TIMER_EVENTS[name] });
  }
  return out;
}

/**
 * RFC 4271 4.2: "Hold Time ... the BGP speaker MUST calculate the value of the Hold Timer by using
 * the smaller of its configured Hold Time and the Hold Time received in the OPEN message. The Hold
 * Time MUST be either zero or at least three seconds."
 */
export function negotiateHoldTime(ours: number, theirs: number): number {
  return Math.min(ours, theirs);
}

/**
 * The KEEPALIVE interval in ms for a negotiated hold time. RFC 4271 4.4: "If the negotiated Hold
 * Time interval is zero, then periodic KEEPALIVE messages MUST NOT be sent"; RFC 4271 10 suggests
 * one third of the hold time. A configured interval is used when it is shorter than that third:
 * a longer one (say 30 s against a hold time of 9 s the peer asked for) would let the peer's hold
 * timer expire, so the third wins.
 */
export function keepaliveMs(holdTimeSec: number, configuredSec: number | undefined): number {
  if (holdTimeSec === 0) return 0;
  const third = Math.floor((holdTimeSec * 1000) / 3);
  if (configuredSec === undefined || configuredSec <= 0) return third;
  return Math.min(configuredSec * 1000, third);
}

export function withTimer(timers: Timers, name: TimerName, deadline: number | undefined): Timers {
  return { ...timers, [name]: deadline };
}
