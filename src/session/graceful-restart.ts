/**
 * Graceful restart in the session (RFC 4724, with the N bit of RFC 8538): which ways out of
 * Established leave the peer's routes in place (marked stale) instead of withdrawing them, and
 * which NOTIFICATION an administrative stop sends once the N bit is in play. Pure, like fsm.ts:
 * the answer travels on the SessionDown action; the agent keeps the timers and the RIB.
 *
 * Not here: long-lived graceful restart (RFC 9494). weft neither advertises nor honours it.
 */
import { WireError, type WireErrorCode } from '../wire/errors.js';
import { CeaseSubcode, ErrorCode } from '../wire/iana.js';
import type { Capability, NotificationMessage } from '../wire/types.js';
import { GracefulRestartFlag } from './negotiate.js';
import type { GracefulRetention, SessionEvent, SessionState, StopCause, StopMode } from './types.js';

export type { GracefulRetention, StopMode };

/**
 * RFC 8538 5, "When to Send Hard Reset": Maximum Number of Prefixes Reached, Administrative
 * Shutdown and Peer De-configured are "Hard Reset"; the other Ceases are "Graceful Cease", and
 * Administrative Reset is "provided by operator".
 */
const HARD_RESET_CAUSES: ReadonlySet<WireErrorCode> = new Set<WireErrorCode>([
  'cease.max-prefixes',
  'cease.administrative-shutdown',
  'cease.peer-deconfigured',
]);

/** Whether our capability list sets the N bit. */
export function localNotificationBit(caps: readonly Capability[]): boolean {
  const gr = caps.find((c) => c.type === 'graceful-restart');
  return gr !== undefined && gr.type === 'graceful-restart' && (gr.flags & GracefulRestartFlag.NOTIFICATION) !== 0;
}

/** GR negotiated on the session: both sent the capability; `n` when both set the N bit (RFC 8538 2). */
export function gracefulMode(s: SessionState): { gr: boolean; n: boolean } {
  const g = s.negotiated?.gracefulRestart;
  const gr = g !== undefined && g.local && g.peer !== undefined;
  return { gr, n: gr && g.peer!.notification && localNotificationBit(s.config.capabilities) };
}

const isHardReset = (n: { code: number; subcode: number }): boolean => n.code === ErrorCode.CEASE && n.subcode === CeaseSubcode.HARD_RESET;

/**
 * Whether the routes of a session that leaves Established are kept (RFC 4724 4.2: "When the
 * Receiving Speaker detects termination of the TCP session for a BGP session with a peer that has
 * advertised the Graceful Restart Capability, it MUST retain the routes received from the peer
 * for all the address families that were previously received in the Graceful Restart Capability
 * and MUST mark them as stale routing information").
 * - The TCP connection failed: kept.
 * - Our hold timer expired: kept. RFC 4724 ties retention to the TCP session ending; a hold timer
 *   that expires means the peer is gone the same way (a killed BGP process behind a live TCP
 *   stack, a frozen host), and the NOTIFICATION we send then reaches nobody. (BIRD does the same.)
 * - A NOTIFICATION sent or received: with N exchanged, RFC 8538 4 has both the sender and the
 *   receiver follow the RFC 4724 procedures for every NOTIFICATION but Cease/Hard Reset: kept
 *   unless it is a Hard Reset. Without N, RFC 4724 does not apply once a NOTIFICATION was
 *   exchanged (the gap RFC 8538 1 describes): not kept.
 * - The peer advertised no family in its capability: nothing to keep.
 */
export function retention(
  s: SessionState,
  ev: SessionEvent,
  o: { send?: WireError; received?: NotificationMessage },
): GracefulRetention | undefined {
  if (s.name !== 'Established') return undefined;
  const mode = gracefulMode(s);
  const peer = s.negotiated?.gracefulRestart.peer;
  if (!mode.gr || !peer || peer.families.length === 0) return undefined;
  const keep = (reason: string): GracefulRetention => ({
    restartTime: peer.restartTime,
    families: peer.families.map((f) => ({ afi: f.afi, safi: f.safi })),
    notification: mode.n,
    reason,
  });
  if (o.received) {
    if (!mode.n) return undefined;
    return isHardReset(o.received) ? undefined : keep('NOTIFICATION received, N bit negotiated (RFC 8538 4)');
  }
  if (o.send) {
    if (isHardReset(o.send.notification)) return undefined;
    if (mode.n) return keep('NOTIFICATION sent, N bit negotiated (RFC 8538 4)');
    return o.send.code === 'hold-timer-expired' ? keep('hold timer expired (RFC 4724 4.2)') : undefined;
  }
  return ev.type === 'TcpConnectionFails' ? keep('TCP connection closed (RFC 4724 4.2)') : undefined;
}

/**
 * RFC 8538 3: a Hard Reset carries the NOTIFICATION it stands for in its Data field: one octet
 * error code (6, Cease), one octet subcode, then that NOTIFICATION's data.
 */
export function hardReset(inner: WireError): WireError {
  const n = inner.notification;
  const data = new Uint8Array(2 + n.data.length);
  data[0] = n.code;
  data[1] = n.subcode;
  data.set(n.data, 2);
  return new WireError('cease.hard-reset', `Hard Reset (${inner.message})`, { data });
}

/**
 * The NOTIFICATION an administrative stop sends, or undefined for none (a graceful stop without
 * N). `build` makes the Cease of a cause (with the RFC 9003 text and data of the stop).
 */
export function stopNotification(s: SessionState, mode: StopMode, cause: StopCause, build: (c: StopCause) => WireError): WireError | undefined {
  const m = gracefulMode(s);
  if (mode === 'graceful' && m.gr) return m.n ? build('cease.administrative-reset') : undefined;
  if (!m.n) return build(cause);
  if (mode === 'withdraw' || HARD_RESET_CAUSES.has(cause)) return hardReset(build(cause));
  return build(cause);
}
