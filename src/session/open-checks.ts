/**
 * The checks a received OPEN must pass (RFC 4271 6.2, RFC 5492 5, RFC 6286 2.2, RFC 6793 4.1,
 * RFC 7607 2). Each returns the WireError to answer with (the NOTIFICATION code/subcode come from
 * the one table in src/wire/errors.ts), or undefined when the OPEN is acceptable.
 *
 * Decisions:
 * - BGP Identifier (RFC 6286 2.2): refused when zero, and when equal to ours only for an internal
 *   peer. RFC 6286 2.2 allows equal identifiers across AS boundaries ("the BGP Identifier ... MUST
 *   be unique within an AS"), and 6.8 collisions between such peers are then broken on the AS
 *   number (collision.ts). RFC 4271's "valid unicast IP host address" is no longer required.
 * - Peer AS (RFC 6793 4.1): the four-octet AS capability, when present, is the peer's AS; My
 *   Autonomous System is then not compared (it should be AS_TRANS or the same number). AS 0 is
 *   always refused (RFC 7607 2).
 */
import { ipv4ToNumber, isIpv4 } from '../lib/address.js';
import { encodeCapabilities } from '../wire/capabilities.js';
import { WireError } from '../wire/errors.js';
import { AS_TRANS } from '../wire/iana.js';
import { BGP_VERSION, capabilitiesOf, openAsn } from '../wire/open.js';
import { familyKey, type AfiSafi, type Capability, type OpenMessage } from '../wire/types.js';
import { familiesOf } from './negotiate.js';
import type { PeerAsConfig } from './types.js';

/** What the checks need of the session configuration. */
export interface OpenCheckConfig {
  localAs: number;
  bgpId: string;
  peerAs: PeerAsConfig;
  capabilities: readonly Capability[];
  requiredFamilies: readonly AfiSafi[];
}

function u16(v: number): Uint8Array {
  return Uint8Array.of((v >>> 8) & 255, v & 255);
}

/**
 * RFC 4271 6.2: "If the version number in the Version field of the received OPEN message is not
 * supported, then the Error Subcode MUST be set to Unsupported Version Number. The Data field is
 * a 2-octet unsigned integer, which indicates the largest, locally-supported version number".
 */
export function checkVersion(open: OpenMessage): WireError | undefined {
  if (open.version === BGP_VERSION) return undefined;
  return new WireError('open.unsupported-version', `peer speaks BGP version ${open.version}, weft speaks ${BGP_VERSION}`, {
    data: u16(BGP_VERSION),
  });
}

/** The AS the peer must be in, when it is a single number. */
function expectedAs(cfg: OpenCheckConfig): number | undefined {
  if (typeof cfg.peerAs === 'number') return cfg.peerAs;
  return cfg.peerAs === 'internal' ? cfg.localAs : undefined;
}

/**
 * RFC 6793 4.1: an AS above 65535 can only be signalled in the four-octet AS capability; a peer
 * expected in such an AS that does not send the capability cannot be that AS. RFC 5492 5: "the
 * speaker MAY send a NOTIFICATION ... Unsupported Capability. The message MUST contain the
 * capability or capabilities that cause the speaker to send the message" - we send ours.
 */
export function checkFourOctetAsRequired(cfg: OpenCheckConfig, open: OpenMessage): WireError | undefined {
  const want = expectedAs(cfg);
  if (want === undefined || want <= 0xffff) return undefined;
  if (capabilitiesOf(open).some((c) => c.type === 'four-octet-as')) return undefined;
  const ours = cfg.capabilities.find((c) => c.type === 'four-octet-as') ?? { type: 'four-octet-as', asn: cfg.localAs };
  return new WireError('open.unsupported-capability', `peer should be AS ${want}, which needs the four-octet AS capability it did not send`, {
    data: encodeCapabilities([ours]),
  });
}

/**
 * RFC 4271 6.2: "If the Autonomous System field of the OPEN message is unacceptable, then the
 * Error Subcode MUST be set to Bad Peer AS." The data is the 2-octet My Autonomous System field
 * as received. RFC 7607 2: a peer AS of zero is "Bad Peer AS" too.
 */
export function checkPeerAs(cfg: OpenCheckConfig, open: OpenMessage): WireError | undefined {
  const asn = openAsn(open);
  const bad = (why: string) => new WireError('open.bad-peer-as', why, { data: u16(open.myAs) });
  if (asn === 0 || open.myAs === 0) return bad('peer AS is 0 (RFC 7607)');
  const shown = asn === open.myAs || open.myAs !== AS_TRANS ? `${asn}` : `${asn} (My AS ${open.myAs})`;
  if (cfg.peerAs === 'internal') {
    return asn === cfg.localAs ? undefined : bad(`peer AS ${shown} is not our AS ${cfg.localAs} (peer configured internal)`);
  }
  if (cfg.peerAs === 'external') {
    return asn !== cfg.localAs ? undefined : bad(`peer AS ${shown} is our own AS (peer configured external)`);
  }
  return asn === cfg.peerAs ? undefined : bad(`peer AS ${shown}, expected ${cfg.peerAs}`);
}

/**
 * RFC 4271 6.2: "If the Hold Time field of the OPEN message is unacceptable, then the Error
 * Subcode MUST be set to Unacceptable Hold Time. An implementation MUST reject Hold Time values
 * of one or two seconds."
 */
export function checkHoldTime(open: OpenMessage): WireError | undefined {
  if (open.holdTime !== 1 && open.holdTime !== 2) return undefined;
  return new WireError('open.unacceptable-hold-time', `peer hold time ${open.holdTime} s (must be 0 or at least 3)`);
}

/**
 * RFC 6286 2.2: "If the BGP Identifier field of the OPEN message is zero, or if it is the same as
 * the BGP Identifier of the local BGP speaker and the message is from an internal peer, then the
 * Error Subcode is set to 'Bad BGP Identifier'."
 */
export function checkBgpId(cfg: OpenCheckConfig, open: OpenMessage): WireError | undefined {
  const id = isIpv4(open.bgpId) ? ipv4ToNumber(open.bgpId) : 0;
  if (id === 0) return new WireError('open.bad-bgp-id', `peer BGP Identifier ${open.bgpId} is zero (RFC 6286 2.1)`);
  const internal = openAsn(open) === cfg.localAs;
  if (internal && id === ipv4ToNumber(cfg.bgpId)) {
    return new WireError('open.bad-bgp-id', `internal peer has our own BGP Identifier ${open.bgpId}`);
  }
  return undefined;
}

/**
 * RFC 4271 6.2: "If one of the Optional Parameters in the OPEN message is not recognized, then
 * the Error Subcode MUST be set to Unsupported Optional Parameters." Only Capabilities (2) is known.
 */
export function checkOptionalParameters(open: OpenMessage): WireError | undefined {
  for (const p of open.params) {
    if (p.type === 'unknown') return new WireError('open.unsupported-opt-param', `unsupported optional parameter type ${p.code}`);
  }
  return undefined;
}

/**
 * RFC 5492 5 for families we require (config `requiredFamilies`): the peer must enable each (RFC
 * 4760 8: no multiprotocol capability at all means IPv4 unicast only). The data lists the
 * multiprotocol capabilities missing.
 */
export function checkRequiredFamilies(cfg: OpenCheckConfig, open: OpenMessage): WireError | undefined {
  if (cfg.requiredFamilies.length === 0) return undefined;
  const theirs = new Set(familiesOf(capabilitiesOf(open)).map((f) => familyKey(f.afi, f.safi)));
  const missing = cfg.requiredFamilies.filter((f) => !theirs.has(familyKey(f.afi, f.safi)));
  if (missing.length === 0) return undefined;
  const caps: Capability[] = missing.map((f) => ({ type: 'multiprotocol', afi: f.afi, safi: f.safi }));
  return new WireError('open.unsupported-capability', `peer does not enable required famil${missing.length > 1 ? 'ies' : 'y'} ${missing.map((f) => familyKey(f.afi, f.safi)).join(', ')}`, {
    data: encodeCapabilities(caps),
  });
}

/** Both RFC 5492 5 checks. */
export function checkRequiredCapabilities(cfg: OpenCheckConfig, open: OpenMessage): WireError | undefined {
  return checkFourOctetAsRequired(cfg, open) ?? checkRequiredFamilies(cfg, open);
}

/**
 * All checks, in the order of RFC 4271 6.2 (version, AS, hold time, identifier, parameters), the
 * missing four-octet AS capability before the AS comparison it makes impossible, and the required
 * families last. The first failure wins.
 */
export function checkOpen(cfg: OpenCheckConfig, open: OpenMessage): WireError | undefined {
  return (
    checkVersion(open) ??
    checkFourOctetAsRequired(cfg, open) ??
    checkPeerAs(cfg, open) ??
    checkHoldTime(open) ??
    checkBgpId(cfg, open) ??
    checkOptionalParameters(open) ??
    checkRequiredFamilies(cfg, open)
  );
}
