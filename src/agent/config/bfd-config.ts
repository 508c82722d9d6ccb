/**
 * The `bfd` setting of an external peer and of the mesh: `true` (300 ms x 3, FRR's defaults),
 * `false`, or `{ interval, multiplier }` with the interval in milliseconds. The interval is both
 * what weft sends at once the session is Up (bfd.DesiredMinTxInterval) and what it asks of the
 * peer (bfd.RequiredMinRxInterval), as BIRD's `interval` sets both (RFC 5880 6.8.1).
 */
import { z } from 'zod';

export const BFD_DEFAULT_INTERVAL_MS = 300;
export const BFD_DEFAULT_MULTIPLIER = 3;

/** What a peer's BFD session runs with; undefined: no BFD. */
export interface BfdSetting {
  intervalMs: number;
  multiplier: number;
}

const bfdObject = z.strictObject({
  enabled: z.boolean().default(true),
  /**
   * Milliseconds. At least 50: below that a JavaScript event loop on a busy host misses its own
   * transmit slots (see README, BFD).
   */
  interval: z.number().int('must be whole milliseconds').min(50, 'must be at least 50 ms').max(60_000, 'must be at most 60000 ms').default(BFD_DEFAULT_INTERVAL_MS),
  /** bfd.DetectMult: packets missed before the session is declared down (1..255, RFC 5880 4.1). */
  multiplier: z.number().int().min(1).max(255).default(BFD_DEFAULT_MULTIPLIER),
});

export const bfdSchema = z
  .union([z.boolean(), bfdObject], { error: 'must be true, false or { interval: MS, multiplier: N }' })
  .transform((v): BfdSetting | undefined => {
    if (v === false) return undefined;
    if (v === true) return { intervalMs: BFD_DEFAULT_INTERVAL_MS, multiplier: BFD_DEFAULT_MULTIPLIER };
    return v.enabled ? { intervalMs: v.interval, multiplier: v.multiplier } : undefined;
  });
