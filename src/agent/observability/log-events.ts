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
  'session.promoted': { level: 'info', text: 'the main connection to a peer ended while a racing inbound one was open: that one carries the session on' },
  'session.dial-failed': { level: 'debug', text: 'an outgoing connection failed' },
  'session.internal-error': { level: 'error', text: 'a bug while handling one session\'s input: that session is reset, the agent goes on' },
  'session.fsm': { level: 'debug', text: 'a note from the state machine' },
  'bfd.transition': { level: 'info', text: 'a BFD session changed state (RFC 5880 6.2); the diagnostic says why' },
  'bfd.session-down': { level: 'warn', text: 'BFD went Down from Up: the BGP session is closed with Cease/10 BFD Down (RFC 5882, RFC 9384) and its routes withdrawn' },
  'bfd.listening': { level: 'info', text: 'receiving BFD Control packets (UDP 3784, RFC 5881)' },
  'bfd.socket-error': { level: 'error', text: 'a BFD socket could not be opened or used' },
  'bfd.dropped': { level: 'warn', text: 'a BFD packet was dropped (malformed, unknown source or discriminator); counted, the first ones logged' },
  'listener.started': { level: 'info', text: 'listening for BGP connections' },
  'listener.ipv4-only': { level: 'warn', text: 'the host has no IPv6, so the default dual-stack listener (::) could not be opened: listening on 0.0.0.0 (IPv4 peers only)' },
  'listener.refused': { level: 'warn', text: 'a connection from an address that is no configured peer was refused' },
  'listener.refused-summary': { level: 'warn', text: 'more refused connections than the log shows one by one: counted since the last line' },
  'listener.md5-keys-failed': { level: 'error', text: 'the TCP MD5 keys of the listening socket could not follow the peers (a peer with a password cannot connect in)' },
  'speaker.sent': { level: 'info', text: 'routes were sent to a peer' },
  'speaker.received': { level: 'info', text: 'routes were received from a peer' },
  'speaker.shutdown': { level: 'info', text: 'weft is shutting down its sessions' },
  'agent.started': { level: 'info', text: 'the agent is running: sessions, control socket and metrics are up' },
  'agent.config-warning': { level: 'warn', text: 'the configuration has something that works but is probably not meant' },
  'agent.peer-added': { level: 'info', text: 'a peer was configured (config, reload or nodes file)' },
  'agent.peer-removed': { level: 'info', text: 'a peer was de-configured; its session is closed' },
  'agent.routes-received': { level: 'debug', text: 'an UPDATE from a peer was applied to the RIB' },
  'agent.routes-sent': { level: 'debug', text: 'UPDATEs were sent to a peer' },
  'agent.family-not-negotiated': { level: 'warn', text: 'routes of an address family the session did not negotiate (or IPv4 routes with no IPv4 next hop, RFC 8950 not negotiated) are not sent to that peer; once per session and family, weft status counts them' },
  'agent.route-too-large': { level: 'warn', text: 'a route\'s attributes do not fit the peer\'s maximum message size: not sent to that peer (logged once per prefix)' },
  'agent.policy-reapplied': { level: 'info', text: 'an import policy changed: the paths already held from the peer were evaluated again' },
  'agent.end-of-rib': { level: 'info', text: 'a peer finished its initial routes for a family (RFC 4724)' },
  'agent.max-prefix': { level: 'warn', text: 'a peer sent more prefixes than its limit: Cease/1, restart later (RFC 4486)' },
  'agent.block-added': { level: 'info', text: 'a local block is now advertised' },
  'agent.block-removed': { level: 'info', text: 'a local block is no longer advertised' },
  'agent.reload': { level: 'info', text: 'the configuration was reloaded' },
  'agent.reload-failed': { level: 'error', text: 'a configuration reload failed; the running configuration stays' },
  'agent.reload-deferred': { level: 'info', text: 'SIGHUP while the agent was starting: the reload runs once it has started' },
  'agent.shutdown-deferred': { level: 'info', text: 'SIGTERM/SIGINT while the agent was starting: it shuts down once it has started' },
  'agent.nodes-file': { level: 'info', text: 'the mesh nodes file changed' },
  'agent.nodes-file-error': { level: 'error', text: 'the mesh nodes file could not be read; the last good node list stays' },
  'agent.shutdown': { level: 'info', text: 'the agent is shutting down' },
  'gr.stale': { level: 'warn', text: 'a peer with graceful restart went down: its routes stay, marked stale, until it is back and sends End-of-RIB or its restart time passes (RFC 4724 4.2)' },
  'gr.resumed': { level: 'info', text: 'a peer with stale routes is back: they wait for its End-of-RIB (RFC 4724 4.2)' },
  'gr.stale-removed': { level: 'info', text: 'a peer\'s stale routes that it did not announce again were removed (End-of-RIB, restart time, stale time)' },
  'gr.restarting': { level: 'info', text: 'weft restarted with its routes still in the kernel: R and F bits set, tables to graceful peers deferred until End-of-RIB from all peers or the deferral timer (RFC 4724 4.1)' },
  'gr.selection-done': { level: 'info', text: 'restart complete: the deferred tables and End-of-RIB go out, the R bit is cleared (RFC 4724 4.1)' },
  'dataplane.started': { level: 'info', text: 'the kernel data plane is running; the message says the MTU containers must use' },
  'dataplane.batch': { level: 'info', text: 'the data plane applied one batch of iproute2 lines (counts, deletes, a sample)' },
  'dataplane.error': { level: 'error', text: 'the data plane could not apply something (it retries on the next pass)' },
  'dataplane.held': { level: 'info', text: 'routes already in the kernel at start are kept until End-of-RIB or the grace period' },
  'dataplane.released': { level: 'info', text: 'held routes were let go (End-of-RIB, a RIB route, or the grace period)' },
  'dataplane.stopped': { level: 'info', text: 'the data plane stopped (routes kept, or withdrawn when keepRoutesOnExit is false)' },
  'route.desired': { level: 'debug', text: 'a best-path change handed to the data plane' },
  'control.listening': { level: 'info', text: 'the control socket is listening' },
  'control.bad-request': { level: 'warn', text: 'a control request was refused' },
  'metrics.listening': { level: 'info', text: 'Prometheus metrics are served over HTTP' },
} as const satisfies Record<string, { level: 'debug' | 'info' | 'warn' | 'error'; text: string }>;

export type LogEventName = keyof typeof LOG_EVENTS;

export function logEvent(log: Logger, event: LogEventName, fields: Record<string, unknown>, msg?: string): void {
  const { level, text } = LOG_EVENTS[event];
  log[level]({ event, ...fields }, msg ?? text);
}
