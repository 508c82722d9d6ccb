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
import { GRACEFUL_RESTART_DEFAULTS, type GracefulRestartOverride, type GracefulRestartSettings } from './graceful-restart-settings.js';

// The resolved shapes and resolveGracefulRestart live in a zod-free file the running agent imports.
export { GRACEFUL_RESTART_DEFAULTS, resolveGracefulRestart, type GracefulRestartOverride, type GracefulRestartSettings } from './graceful-restart-settings.js';

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

/** The parsed override; a compile error if the schema's output stops fitting the plain shape the agent uses. */
type Fits<T extends U, U> = T;
export type ParsedGracefulRestartOverride = Fits<z.output<typeof gracefulRestartOverrideSchema>, GracefulRestartOverride>;

/** staleTime below restartTime would end the wait before the restart time does: a config problem. */
export function gracefulRestartProblem(g: GracefulRestartSettings): string | undefined {
  if (!g.enabled || g.staleTime >= g.restartTime) return undefined;
  return `staleTime ${g.staleTime} s is less than restartTime ${g.restartTime} s`;
}
