/**
 * `gracefulRestart` (RFC 4724, with the N bit of RFC 8538): on by default, as in Calico's BIRD.
 * Top level: the settings; `mesh.gracefulRestart` and `peers[].gracefulRestart` override any of
 * them for those sessions. `true` / `false` stand for `{ enabled: true / false }`.
 *
 * - restartTime (s): what our OPEN advertises (RFC 4724 3, "the estimated time (in seconds) it
 *   will take for the BGP session to be re-established after a restart"; 12 bits, <= 4095).
 * - staleTime (s): the upper bound on keeping a peer's stale routes, counted from the moment its
 *   session went down (RFC 4724 4.2: "an implementation MAY support a (configurable) timer that
 *   imposes this upper bound"). At least restartTime.
 */
import { z } from 'zod';

export interface GracefulRestartSettings {
  enabled: boolean;
  restartTime: number;
  staleTime: number;
}

export const GRACEFUL_RESTART_DEFAULTS: GracefulRestartSettings = { enabled: true, restartTime: 120, staleTime: 360 };

const restartTime = z.number().int().min(1).max(4095);
const staleTime = z.number().int().min(1).max(86400);
const shorthand = (v: unknown) => (typeof v === 'boolean' ? { enabled: v } : v);

export const gracefulRestartSchema = z.preprocess(
  shorthand,
  z.strictObject({
    enabled: z.boolean().default(GRACEFUL_RESTART_DEFAULTS.enabled),
    restartTime: restartTime.default(GRACEFUL_RESTART_DEFAULTS.restartTime),
    staleTime: staleTime.default(GRACEFUL_RESTART_DEFAULTS.staleTime),
  }),
);

/** Per peer / mesh: only what differs from the top level. */
export const gracefulRestartOverrideSchema = z.preprocess(
  shorthand,
  z.strictObject({ enabled: z.boolean().optional(), restartTime: restartTime.optional(), staleTime: staleTime.optional() }),
);

export type GracefulRestartOverride = z.output<typeof gracefulRestartOverrideSchema>;

/** The settings of one session: the top level with the override on top. */
export function resolveGracefulRestart(top: GracefulRestartSettings | undefined, over: GracefulRestartOverride | undefined): GracefulRestartSettings {
  const base = top ?? GRACEFUL_RESTART_DEFAULTS;
  return {
    enabled: over?.enabled ?? base.enabled,
    restartTime: over?.restartTime ?? base.restartTime,
    staleTime: over?.staleTime ?? base.staleTime,
  };
}

/** staleTime below restartTime would end the wait before the restart time does: a config problem. */
export function gracefulRestartProblem(g: GracefulRestartSettings): string | undefined {
  if (!g.enabled || g.staleTime >= g.restartTime) return undefined;
  return `staleTime ${g.staleTime} s is less than restartTime ${g.restartTime} s`;
}
