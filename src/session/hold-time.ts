/** The negotiated hold time and the KEEPALIVE interval that follows from it (RFC 4271 4.2, 4.4). */

/**
 * RFC 4271 4.2: "Hold Time ... the BGP speaker MUST calculate the value of the Hold Timer by using
 * the smaller of its configured Hold Time and the Hold Time received in the OPEN message. The Hold
 * Time MUST be either zero or at least three seconds."
 */
export function negotiateHoldTime(ours: number, theirs: number): number {
  return Math.min(ours, theirs);
}

/**
 * The KEEPALIVE interval in ms for a negotiated hold time. RFC 4271 4.4: "If the negotiated Hold
 * Time interval is zero, then periodic KEEPALIVE messages MUST NOT be sent"; RFC 4271 10 suggests
 * one third of the hold time. A configured interval is used when it is shorter than that third:
 * a longer one (say 30 s against a hold time of 9 s the peer asked for) would let the peer's hold
 * timer expire, so the third wins.
 */
export function keepaliveMs(holdTimeSec: number, configuredSec: number | undefined): number {
  if (holdTimeSec === 0) return 0;
  const third = Math.floor((holdTimeSec * 1000) / 3);
  if (configuredSec === undefined || configuredSec <= 0) return third;
  return Math.min(configuredSec * 1000, third);
}
