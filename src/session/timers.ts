/**
 * The session timers as data (RFC 4271 8 and 10). The agent keeps one setTimeout for
 * `nextDeadline(state)` and, when it fires, sends a `Tick` (or the events of `expiredTimers`).
 */
import type { SessionEvent, SessionState, TimerName, Timers } from './types.js';

export { keepaliveMs, negotiateHoldTime } from './hold-time.js';

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

export function withTimer(timers: Timers, name: TimerName, deadline: number | undefined): Timers {
  return { ...timers, [name]: deadline };
}
