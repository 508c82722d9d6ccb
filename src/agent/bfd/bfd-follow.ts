/**
 * How a BGP session reacts to its BFD session (RFC 5882):
 * - BFD starts when the peer is configured and comes up on its own (RFC 5882 3.1: "the BFD
 *   session ... is established independently"); BGP never waits for it. FRR and BIRD do the same
 *   by default: BGP is not held back by a BFD session that is not (yet) Up, so a peer without BFD
 *   or with BFD filtered still peers, only without fast detection.
 * - BFD leaving Up takes the BGP session down at once (RFC 5882 3.2 and 4.3): AutomaticStop with
 *   Cease subcode 10 "BFD Down" (RFC 9384); the routes are withdrawn as the session ends. When the
 *   N bit of RFC 8538 was negotiated, any Cease but Hard Reset would keep the peer's routes as
 *   stale (graceful restart), which defeats the point of BFD: weft then sends Cease/9 Hard Reset
 *   wrapping Cease/10 (RFC 8538 3), as BIRD does without `bfd graceful`. weft's BFD shares fate
 *   with its control plane (C bit clear), so a BFD failure cannot tell a restart from a dead host.
 * - Down because the peer said AdminDown does not touch BGP (RFC 5882 3.2: "the client SHOULD NOT
 *   ... bring the session down"): the peer only stopped BFD.
 * - BGP restarts by itself after its usual idle hold (session/backoff.ts counts BFD Down as a
 *   failure, so a flapping path is damped), whatever BFD's state.
 */
import type { Logger } from 'pino';
import { gracefulMode } from '../../session/index.js';
import { CeaseSubcode, ErrorCode } from '../../wire/iana.js';
import { describeDiag } from '../../wire/bfd.js';
import { logEvent } from '../observability/log-events.js';
import type { PeerSpec } from '../peers/mesh.js';
import type { Peer } from '../peers/peer.js';
import type { BfdService } from './bfd-service.js';
import type { BfdSession, BfdTransition } from './bfd-session.js';

/** What of a peer entry (agent-peers.ts) BFD needs. */
export interface BfdClient {
  spec: Pick<PeerSpec, 'address' | 'localAddress' | 'bfd'>;
  peer: Peer;
  removed: boolean;
}

const BGP_RUNNING = new Set(['OpenSent', 'OpenConfirm', 'Established']);

/** Starts the BFD session of a peer entry (spec.bfd set) and ties BGP to it. */
export function bfdFollowsSession(service: BfdService, e: BfdClient, log: Logger, setLastError: (text: string) => void): BfdSession | undefined {
  const b = e.spec.bfd;
  if (!b) return undefined;
  const us = b.intervalMs * 1000;
  const session = service.add(e.spec.address, { desiredMinTxUs: us, requiredMinRxUs: us, detectMult: b.multiplier }, e.spec.localAddress);
  session.events.subscribe((t) => onTransition(e, t, log, setLastError));
  return session;
}

function onTransition(e: BfdClient, t: BfdTransition, log: Logger, setLastError: (text: string) => void): void {
  logEvent(log, 'bfd.transition', { from: t.from, to: t.to, diag: describeDiag(t.diag), reason: t.reason });
  if (t.from !== 'Up' || t.to === 'Up' || t.to === 'AdminDown' || e.removed) return;
  if (t.peerAdminDown) return;
  const bgp = e.peer.state.name;
  if (!BGP_RUNNING.has(bgp)) return;
  const text = `BFD down: ${t.reason} (${describeDiag(t.diag)})`;
  const hard = gracefulMode(e.peer.state).n;
  logEvent(log, 'bfd.session-down', { bgpState: bgp, diag: describeDiag(t.diag), reason: t.reason, notification: hard ? 'Cease/9 Hard Reset (Cease/10 BFD Down)' : 'Cease/10 BFD Down' });
  if (hard) e.peer.reset('cease.hard-reset', text, new Uint8Array([ErrorCode.CEASE, CeaseSubcode.BFD_DOWN]));
  else e.peer.reset('cease.bfd-down', text);
  setLastError(text);
}
