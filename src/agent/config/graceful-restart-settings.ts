/**
 * The resolved graceful-restart settings of one session (RFC 4724, RFC 8538 N bit) and how the
 * top level and a per-session override combine. Kept apart from the zod schemas in
 * graceful-restart-config.ts on purpose: the running agent needs these (peers/mesh.ts) but must
 * not keep zod resident (the config is validated in a short-lived child; DESIGN.md, ~12 MiB RSS).
 */

export interface GracefulRestartSettings {
  enabled: boolean;
  restartTime: number;
  staleTime: number;
}

/** Per peer / mesh: only what differs from the top level (the parsed `gracefulRestart` override). */
export interface GracefulRestartOverride {
  enabled?: boolean | undefined;
  restartTime?: number | undefined;
  staleTime?: number | undefined;
}

export const GRACEFUL_RESTART_DEFAULTS: GracefulRestartSettings = { enabled: true, restartTime: 120, staleTime: 360 };

/** The settings of one session: the top level with the override on top. */
export function resolveGracefulRestart(top: GracefulRestartSettings | undefined, over: GracefulRestartOverride | undefined): GracefulRestartSettings {
  const base = top ?? GRACEFUL_RESTART_DEFAULTS;
  return {
    enabled: over?.enabled ?? base.enabled,
    restartTime: over?.restartTime ?? base.restartTime,
    staleTime: over?.staleTime ?? base.staleTime,
  };
}
