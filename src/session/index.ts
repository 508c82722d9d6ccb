/** The BGP session: RFC 4271 8 FSM as a pure step function, timers as data, OPEN checks, negotiation, collisions. */
export * from './types.js';
export { step } from './fsm.js';
export { createSession, resolveConfig, localOpen, DEFAULTS } from './config.js';
export { nextDeadline, expiredTimers, negotiateHoldTime, keepaliveMs, TIMER_ORDER } from './timers.js';
export { DEFAULT_BACKOFF, nextBackoff, initialBackoff, restartWait, type BackoffState, type SessionEnd } from './backoff.js';
export * from './open-checks.js';
export * from './negotiate.js';
export * from './collision.js';
export { describe as describeNotificationCode, stopError } from './fsm-common.js';
export * from './graceful-restart.js';
