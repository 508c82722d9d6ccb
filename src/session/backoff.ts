/**
 * Idle-hold back-off. RFC 4271 8.1.1 lets a speaker damp peer oscillations with an IdleHoldTimer
 * and leaves "the method of preventing persistent peer oscillation ... outside the scope of this
 * document". Ours: after a session goes down (or a connection attempt fails) the next automatic
 * start waits `nextMs`, which doubles on each consecutive failure up to `maxMs`; a session that had
 * stayed Established for `stableMs` or more counts as healthy, so its going down starts again from
 * `initialMs`.
 */
import type { BackoffConfig } from './types.js';

export const DEFAULT_BACKOFF: BackoffConfig = { initialMs: 1_000, maxMs: 120_000, stableMs: 60_000 };

export interface BackoffState {
  nextMs: number;
  flaps: number;
}

export function initialBackoff(cfg: BackoffConfig): BackoffState {
  return { nextMs: cfg.initialMs, flaps: 0 };
}

/**
 * The wait before the next automatic start, and the back-off state after it.
 * `establishedFor` is how long the session that just went down had been Established (undefined
 * when it never got there).
 */
export function nextBackoff(
  cfg: BackoffConfig,
  st: BackoffState,
  establishedFor: number | undefined,
): { waitMs: number; state: BackoffState } {
  const base = establishedFor !== undefined && establishedFor >= cfg.stableMs ? initialBackoff(cfg) : st;
  const waitMs = Math.min(base.nextMs, cfg.maxMs);
  return { waitMs, state: { nextMs: Math.min(waitMs * 2, cfg.maxMs), flaps: base.flaps + 1 } };
}
