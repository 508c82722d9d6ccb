/**
 * Session configuration: defaults (RFC 4271 10 suggested values), validation, the initial state
 * and the OPEN we send. A bad configuration is our own mistake, not peer input: it throws a plain
 * Error naming the field.
 */
import { ipv4ToNumber, isIpv4 } from '../lib/address.js';
import { buildOpen } from '../wire/open.js';
import { familyKey, type OpenMessage } from '../wire/types.js';
import { DEFAULT_BACKOFF, DIAL_BACKOFF_CAP_S, initialBackoff } from './backoff.js';
import { familiesOf, localCapabilities } from './negotiate.js';
import { NO_TIMERS } from './timers.js';
import type { ResolvedConfig, SessionConfig, SessionState } from './types.js';

/** RFC 4271 10: suggested HoldTime 90 s, ConnectRetryTime 120 s; 8.2.2: OpenSent hold "4 minutes". */
export const DEFAULTS = { holdTime: 90, connectRetryTime: 120, openSentHoldTime: 240 } as const;

const MAX_ASN = 0xffffffff;

function fail(field: string, why: string): never {
  throw new Error(`session config: ${field} ${why}`);
}

function checkInt(field: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) fail(field, `must be an integer in ${min}..${max}, got ${v}`);
}

export function resolveConfig(c: SessionConfig): ResolvedConfig {
  checkInt('localAs', c.localAs, 1, MAX_ASN);
  if (!isIpv4(c.bgpId) || ipv4ToNumber(c.bgpId) === 0) fail('bgpId', `must be a non-zero dotted quad (RFC 6286 2.1), got ${JSON.stringify(c.bgpId)}`);
  if (typeof c.peerAs === 'number') checkInt('peerAs', c.peerAs, 1, MAX_ASN);
  else if (c.peerAs !== 'internal' && c.peerAs !== 'external') fail('peerAs', `must be a number, 'internal' or 'external'`);
  const holdTime = c.holdTime ?? DEFAULTS.holdTime;
  checkInt('holdTime', holdTime, 0, 0xffff);
  // RFC 4271 4.2: "The Hold Time MUST be either zero or at least three seconds."
  if (holdTime === 1 || holdTime === 2) fail('holdTime', 'must be 0 or at least 3 seconds (RFC 4271 4.2)');
  if (c.keepaliveTime !== undefined) checkInt('keepaliveTime', c.keepaliveTime, 1, 0xffff);
  const connectRetryTime = c.connectRetryTime ?? DEFAULTS.connectRetryTime;
  checkInt('connectRetryTime', connectRetryTime, 1, 0xffff);
  const connectRetryMaxTime = c.connectRetryMaxTime ?? Math.max(connectRetryTime, DIAL_BACKOFF_CAP_S);
  checkInt('connectRetryMaxTime', connectRetryMaxTime, connectRetryTime, 0xffff);
  const openSentHoldTime = c.openSentHoldTime ?? DEFAULTS.openSentHoldTime;
  checkInt('openSentHoldTime', openSentHoldTime, 3, 0xffff);

  const capabilities = c.capabilities ?? localCapabilities({ localAs: c.localAs });
  for (const cap of capabilities) {
    if (cap.type === 'four-octet-as' && cap.asn !== c.localAs) {
      fail('capabilities', `carry four-octet AS ${cap.asn}, not localAs ${c.localAs}`);
    }
  }
  if (c.localAs > 0xffff && !capabilities.some((x) => x.type === 'four-octet-as')) {
    fail('capabilities', `must include four-octet-as: localAs ${c.localAs} does not fit 2 octets (RFC 6793)`);
  }
  const ours = new Set(familiesOf(capabilities).map((f) => familyKey(f.afi, f.safi)));
  const requiredFamilies = c.requiredFamilies ?? [];
  for (const f of requiredFamilies) {
    if (!ours.has(familyKey(f.afi, f.safi))) fail('requiredFamilies', `include ${familyKey(f.afi, f.safi)}, which our capabilities do not enable`);
  }
  const idleHold = { ...DEFAULT_BACKOFF, ...c.idleHold };
  checkInt('idleHold.initialMs', idleHold.initialMs, 1, Number.MAX_SAFE_INTEGER);
  checkInt('idleHold.maxMs', idleHold.maxMs, idleHold.initialMs, Number.MAX_SAFE_INTEGER);
  checkInt('idleHold.stableMs', idleHold.stableMs, 0, Number.MAX_SAFE_INTEGER);
  return {
    localAs: c.localAs,
    bgpId: c.bgpId,
    peerAs: c.peerAs,
    holdTime,
    keepaliveTime: c.keepaliveTime,
    connectRetryTime,
    connectRetryMaxTime,
    openSentHoldTime,
    passive: c.passive ?? false,
    dialOnStart: c.dialOnStart ?? false,
    capabilities,
    requiredFamilies,
    idleHold,
  };
}

/** A new session in Idle (RFC 4271 8.2.2: "Initially, the BGP peer FSM is in the Idle state"). */
export function createSession(config: SessionConfig): SessionState {
  const cfg = resolveConfig(config);
  return {
    name: 'Idle',
    config: cfg,
    timers: NO_TIMERS,
    connectRetryCounter: 0,
    dialFailures: 0,
    autoRestart: false,
    backoff: initialBackoff(cfg.idleHold),
    connection: undefined,
    peerOpen: undefined,
    negotiated: undefined,
    establishedAt: undefined,
    lastError: undefined,
    lastTransition: undefined,
  };
}

/** The OPEN we send (RFC 4271 4.2; RFC 6793 4.1 AS_TRANS is handled by buildOpen). */
export function localOpen(cfg: ResolvedConfig): OpenMessage {
  return buildOpen({ asn: cfg.localAs, holdTime: cfg.holdTime, bgpId: cfg.bgpId, capabilities: cfg.capabilities });
}
