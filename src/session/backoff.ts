/**
 * Idle-hold back-off. RFC 4271 8.1.1 lets a speaker damp peer oscillations with an IdleHoldTimer
 * and leaves "the method of preventing persistent peer oscillation ... outside the scope of this
 * document". Ours damps failures only, not restarts:
 * - after a failure (the session failed before Established, or ended with an error: see
 *   `sessionEnd` in fsm-common.ts) the next automatic start waits `nextMs`, which doubles on each
 *   failure up to `maxMs`;
 * - after a clean end (a Cease from the peer, the connection closed after Established, our own
 *   administrative reset) or a peer that is merely unreachable, the wait does not grow, and is
 *   never longer than the ConnectRetry time: a peer doing `birdc disable/enable` comes back as
 *   fast each time (BIRD likewise grows its start delay on errors only);
 * - a session that had stayed Established for `stableMs` or more counts as healthy, so its
 *   going down, clean or not, starts again from `initialMs`.
 * The dials themselves have a back-off of their own, in Active (`dialRetryMs` below, issue 15):
 * a peer that refuses every dial is dialled ConnectRetryTime apart at first, then up to
 * 30 s apart; the idle-hold wait above is not what grows there.
 */
import type { BackoffConfig } from './types.js';

export const DEFAULT_BACKOFF: BackoffConfig = { initialMs: 1_000, maxMs: 120_000, stableMs: 60_000 };

export interface BackoffState {
  nextMs: number;
  /** Failures in a row (clean ends do not count, and do not break the run). */
  flaps: number;
}

/** What a session's end means for the back-off. */
export type SessionEnd = 'failure' | 'clean';

export function initialBackoff(cfg: BackoffConfig): BackoffState {
  return { nextMs: cfg.initialMs, flaps: 0 };
}

/**
 * The wait before the next automatic start after a failure, and the back-off state after it.
 * `establishedFor` is how long the session that just went down had been Established (undefined
 * when it never got there).
 */
export function nextBackoff(
  cfg: BackoffConfig,
  st: BackoffState,
  establishedFor: number | undefined,
): { waitMs: number; state: BackoffState } {
  const base = stable(cfg, establishedFor) ? initialBackoff(cfg) : st;
  const waitMs = Math.min(base.nextMs, cfg.maxMs);
  return { waitMs, state: { nextMs: Math.min(waitMs * 2, cfg.maxMs), flaps: base.flaps + 1 } };
}

/**
 * The wait after a session ended `end`: a failure grows the back-off (nextBackoff); a clean end
 * keeps it (or resets it after a stable session) and waits at most `connectRetryMs`.
 */
export function restartWait(
  cfg: BackoffConfig,
  st: BackoffState,
  end: SessionEnd,
  establishedFor: number | undefined,
  connectRetryMs: number,
): { waitMs: number; state: BackoffState } {
  if (end === 'failure') return nextBackoff(cfg, st, establishedFor);
  const base = stable(cfg, establishedFor) ? initialBackoff(cfg) : st;
  return { waitMs: Math.min(base.nextMs, cfg.maxMs, connectRetryMs), state: base };
}

function stable(cfg: BackoffConfig, establishedFor: number | undefined): boolean {
  return establishedFor !== undefined && establishedFor >= cfg.stableMs;
}

/**
 * The default cap of the dial back-off, in seconds (when the ConnectRetryTime is lower). Short
 * enough that a peer which was down is dialled again within half a minute even when nothing else
 * brings the session up; BIRD waits its whole connect retry time, 120 s by default, after each
 * refused dial.
 */
export const DIAL_BACKOFF_CAP_S = 30;

/**
 * How long a session waits in Active after its `failures`-th refused or failed dial in a row
 * before it dials again: ConnectRetryTime after the first, doubling after each further one, up to
 * `maxMs`. RFC 4271 10: "ConnectRetryTime is a mandatory FSM attribute that stores the initial
 * value for the ConnectRetryTimer"; only the initial value is fixed (8.2.2 Active restarts the
 * timer "with initial value" when it expires), and 8.1.1 leaves "the method of preventing
 * persistent peer oscillation" to the implementation: a longer wait after a refused dial is ours.
 * Why it grows: in a mesh that is starting, every dialer retrying every ConnectRetry is
 * O(N^2) refused dials a second, which starves the nodes still starting (bench results
 * 2026-12-06). The peer's own connection is still accepted at once in Active, and a weft mesh
 * node that starts dials once (dialOnStart), so the wait delays a session only when the late
 * peer never dials (a Calico BIRD node, `passive on` towards us): by at most `maxMs`.
 */
export function dialRetryMs(connectRetryMs: number, maxMs: number, failures: number): number {
  const doublings = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(connectRetryMs * 2 ** doublings, Math.max(maxMs, connectRetryMs));
}
