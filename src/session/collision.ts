/**
 * Connection collisions (RFC 4271 6.8, RFC 6286 2.3) and the mesh dialling rule, as pure
 * functions. The agent runs one session (one FSM) per TCP connection; when two connections to the
 * same peer both know the peer's BGP Identifier, it asks `detectCollision` which one to keep and
 * sends `OpenCollisionDump` to the other, which then closes with Cease/7.
 */
import { ipv4ToNumber, ipv6ToBytes, isIpv4 } from '../lib/address.js';
import { WireError } from '../wire/errors.js';
import type { ConnectionDirection, SessionState } from './types.js';

export interface CollisionInput {
  localBgpId: string;
  peerBgpId: string;
  localAs: number;
  peerAs: number;
  /**
   * The direction of a connection already Established, if one is. RFC 4271 6.8: "a connection
   * collision with an existing BGP connection that is in the Established state causes closing of
   * the newly created connection."
   */
  established?: ConnectionDirection;
}

export interface CollisionDecision {
  keep: ConnectionDirection;
  close: ConnectionDirection;
  reason: string;
  /** What the closed connection sends: Cease / Connection Collision Resolution (RFC 4486 3). */
  notification: WireError;
}

function other(d: ConnectionDirection): ConnectionDirection {
  return d === 'inbound' ? 'outbound' : 'inbound';
}

function decision(keep: ConnectionDirection, reason: string): CollisionDecision {
  return {
    keep,
    close: other(keep),
    reason,
    notification: new WireError('cease.connection-collision', `connection collision: closing the ${other(keep)} connection (${reason})`),
  };
}

/**
 * RFC 4271 6.8: the BGP Identifiers are compared as 4-octet unsigned integers; the connection
 * initiated by the speaker with the higher identifier survives (ours is the outbound connection,
 * the peer's the inbound one). RFC 6286 2.3: "If the BGP Identifiers of the peers involved in the
 * connection collision are identical, then the connection initiated by the BGP speaker with the
 * larger AS number is preserved." Identical identifiers and AS numbers cannot reach this point
 * (open-checks.ts refuses an internal peer with our identifier); the outbound connection is kept.
 */
export function resolveCollision(c: CollisionInput): CollisionDecision {
  if (c.established !== undefined) return decision(c.established, 'the Established connection wins');
  const local = ipv4ToNumber(c.localBgpId);
  const peer = ipv4ToNumber(c.peerBgpId);
  if (local > peer) return decision('outbound', `our BGP Identifier ${c.localBgpId} > ${c.peerBgpId}`);
  if (local < peer) return decision('inbound', `peer BGP Identifier ${c.peerBgpId} > ${c.localBgpId}`);
  if (c.localAs > c.peerAs) return decision('outbound', `equal BGP Identifiers, our AS ${c.localAs} > ${c.peerAs} (RFC 6286)`);
  if (c.localAs < c.peerAs) return decision('inbound', `equal BGP Identifiers, peer AS ${c.peerAs} > ${c.localAs} (RFC 6286)`);
  return decision('outbound', 'equal BGP Identifiers and AS numbers');
}

/**
 * Two sessions (one per connection) to the same peer: a decision once both have received the
 * peer's OPEN (OpenConfirm), or one is Established; else undefined. RFC 4271 6.8 lets a speaker
 * also look at OpenSent connections when it knows the identifier by other means; weft does not.
 */
export function detectCollision(a: SessionState, b: SessionState): CollisionDecision | undefined {
  if (a.connection === undefined || b.connection === undefined || a.connection === b.connection) return undefined;
  const est = a.name === 'Established' ? a : b.name === 'Established' ? b : undefined;
  // RFC 4271 6.8: on receipt of an OPEN, the connections in OpenConfirm are examined. A connection
  // still in OpenSent has not heard the peer yet: deciding then would close a connection the peer
  // may already have chosen (BIRD resets both when that happens). So both must have the peer's
  // OPEN, unless one is Established (which wins anyway).
  if (!est && !(a.peerOpen && b.peerOpen)) return undefined;
  const known = a.peerOpen ? a : b.peerOpen ? b : undefined;
  if (!known?.negotiated) return undefined;
  return resolveCollision({
    localBgpId: known.config.bgpId,
    peerBgpId: known.negotiated.peerBgpId,
    localAs: known.config.localAs,
    peerAs: known.negotiated.peerAs,
    established: est?.connection,
  });
}

function addressKey(addr: string): { family: number; bytes: number[] } {
  if (isIpv4(addr)) {
    const n = ipv4ToNumber(addr);
    return { family: 4, bytes: [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255] };
  }
  return { family: 6, bytes: Array.from(ipv6ToBytes(addr)) };
}

/**
 * Orders two addresses: IPv4 before IPv6, then by value. Throws on text that is not an address.
 * Not the mesh dialling order (see shouldDial, which compares text).
 */
export function compareAddresses(a: string, b: string): number {
  const x = addressKey(a);
  const y = addressKey(b);
  if (x.family !== y.family) return x.family - y.family;
  for (let i = 0; i < x.bytes.length; i++) if (x.bytes[i] !== y.bytes[i]) return x.bytes[i] - y.bytes[i];
  return 0;
}

/**
 * The mesh dialling rule, as calico-node configures its BIRD mesh, so that a weft host can stand
 * in a Calico mesh: of two mesh nodes the one whose address TEXT sorts higher dials; the other is
 * passive and waits in Active. So a mesh pair opens exactly one connection and never collides.
 *
 * calico-node's confd (confd/pkg/backends/calico/bgp_processor.go) renders `passive on` towards
 * a mesh peer when `peerIP > currentNodeIP`: a Go comparison of two strings, byte by byte, not of
 * two numbers. So 10.0.0.9 dials 10.0.0.10 ('9' > '1'), 10.0.0.20 dials 10.0.0.100, and
 * 192.168.10.1 dials 192.168.1.2 ('0' > '.'). IPv6 compares the same way: fd00::2 dials
 * fd00::10, and a hex letter sorts above every digit (fd00::a dials fd00::9).
 *
 * The text is compared exactly as given (JS `>` on UTF-16 code units equals Go's byte order for
 * ASCII). Calico's strings are Go's net.IP.String() forms (dotted quad; RFC 5952 lower-case
 * compressed IPv6), so callers must pass addresses in that form for the two sides to agree:
 * "FD00::A" or "fd00:0:0::a" would sort differently from Calico's "fd00::a". Returns false for
 * equal addresses (ourselves).
 */
export function shouldDial(localAddress: string, peerAddress: string): boolean {
  return localAddress > peerAddress;
}
