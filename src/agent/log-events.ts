/**
 * The one catalogue of weft's log events: each has a stable name (the `event` field of the JSON
 * line), a level and what it means. Code logs through `logEvent` so names cannot drift.
 */
import type { Logger } from 'pino';

export const LOG_EVENTS = {
  'session.transition': { level: 'info', text: 'a session changed FSM state' },
  'session.established': { level: 'info', text: 'a session reached Established; negotiated options follow' },
  'session.down': { level: 'warn', text: 'a session left Established; its routes are withdrawn' },
  'session.notification-sent': { level: 'warn', text: 'weft sent a NOTIFICATION' },
  'session.notification-received': { level: 'warn', text: 'the peer sent a NOTIFICATION' },
  'session.message-error': { level: 'warn', text: 'a message from the peer did not decode (the RFC error follows)' },
  'session.update-problems': { level: 'warn', text: 'RFC 7606: attributes discarded or an UPDATE treated as withdraw' },
  'session.update': { level: 'debug', text: 'an UPDATE was received' },
  'session.route-refresh': { level: 'info', text: 'the peer asked for our routes again' },
  'session.collision': { level: 'info', text: 'two connections to one peer: one was closed (RFC 4271 6.8)' },
  'session.dial-failed': { level: 'debug', text: 'an outgoing connection failed' },
  'session.fsm': { level: 'debug', text: 'a note from the state machine' },
  'listener.started': { level: 'info', text: 'listening for BGP connections' },
  'listener.refused': { level: 'warn', text: 'a connection from an address that is no configured peer was refused' },
  'speaker.sent': { level: 'info', text: 'routes were sent to a peer' },
  'speaker.received': { level: 'info', text: 'routes were received from a peer' },
  'speaker.shutdown': { level: 'info', text: 'weft is shutting down its sessions' },
} as const satisfies Record<string, { level: 'debug' | 'info' | 'warn' | 'error'; text: string }>;

export type LogEventName = keyof typeof LOG_EVENTS;

export function logEvent(log: Logger, event: LogEventName, fields: Record<string, unknown>, msg?: string): void {
  const { level, text } = LOG_EVENTS[event];
  log[level]({ event, ...fields }, msg ?? text);
}
