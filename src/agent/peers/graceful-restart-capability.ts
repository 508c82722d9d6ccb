/**
 * The Graceful Restart capability of our OPEN (RFC 4724 3, N bit RFC 8538 2); when R and F are
 * set is decided in graceful-restart.ts.
 */
import { GracefulRestartFlag, type LocalCapabilityOptions } from '../../session/index.js';
import type { AfiSafi } from '../../wire/types.js';
import type { GracefulRestartSettings } from '../config/graceful-restart-settings.js';

/** The GR capability of our OPEN (RFC 4724 3), or undefined when graceful restart is off. */
export function gracefulRestartCapability(
  settings: GracefulRestartSettings,
  families: readonly AfiSafi[],
  restart: { restarting: boolean; forwarding: boolean },
): LocalCapabilityOptions['gracefulRestart'] {
  if (!settings.enabled) return undefined;
  // RFC 4724 3: "Restart State (R): ... When set (value 1), this bit indicates that the BGP
  // speaker has restarted"; RFC 8538 2: N, "the speaker supports Graceful Notification".
  const flags = GracefulRestartFlag.NOTIFICATION | (restart.restarting ? GracefulRestartFlag.RESTART_STATE : 0);
  // RFC 4724 3: "Forwarding State (F): ... whether the forwarding state for routes that were
  // advertised with the given AFI and SAFI has indeed been preserved during the previous BGP restart."
  const ff = restart.forwarding ? GracefulRestartFlag.FORWARDING_STATE : 0;
  return { restartTime: settings.restartTime, flags, families: families.map((f) => ({ afi: f.afi, safi: f.safi, flags: ff })) };
}
