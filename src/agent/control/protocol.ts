/**
 * The control protocol shared by the agent's server (control-server.ts) and every client (the CLI,
 * the labs, the tests): one JSON object per line each way. Requests are checked here
 * (checkRequest); each op's reply shape is ControlResults[op], so neither side casts.
 *
 *   {"op":"status"}                          -> {"ok":true,"status":{...}}
 *   {"op":"routes"}                          -> {"ok":true,"routes":[...]}
 *   {"op":"advertise","prefix":"10.244.3.0/26"} -> {"ok":true,"prefix":"10.244.3.0/26","changed":true}
 *   {"op":"withdraw","prefix":"10.244.3.0/26"}  -> {"ok":true,"prefix":"10.244.3.0/26","changed":true}
 *   {"op":"reload"}                          -> {"ok":true,"reload":{...}}
 *   {"op":"explain","address":"10.244.7.9"}  -> {"ok":true,"explain":{...}}
 *   {"op":"neighbors"}                       -> {"ok":true,"neighbors":[...]}   (every peer in detail)
 *   {"op":"paths","table":"candidates"}      -> {"ok":true,"paths":[...]}       (every candidate of every prefix)
 *   {"op":"paths","table":"received","peer":"host-b"}   (its Adj-RIB-In; "advertised": its Adj-RIB-Out)
 *   anything wrong                           -> {"ok":false,"error":"what was wrong"}
 */
import type { ViewShape } from '../kernel/dataplane-desired.js';
import type { PeerKind } from '../peers/mesh.js';
import type { BfdSessionStatus } from '../bfd/bfd-session.js';

export type ControlRequest =
  | { op: 'status' }
  | { op: 'routes' }
  | { op: 'advertise'; prefix: string }
  | { op: 'withdraw'; prefix: string }
  | { op: 'reload' }
  | { op: 'explain'; address: string }
  | { op: 'neighbors' }
  | { op: 'paths'; table: PathTable; peer?: string };

/** Which paths `paths` lists: every Loc-RIB candidate, or one peer's Adj-RIB-In / Adj-RIB-Out. */
export type PathTable = 'candidates' | 'received' | 'advertised';
export const PATH_TABLES = ['candidates', 'received', 'advertised'] as const satisfies readonly PathTable[];

/** What each op answers with (the fields next to "ok": true). */
export interface ControlResults {
  status: { status: AgentStatus };
  routes: { routes: RouteView[] };
  explain: { explain: ExplainView };
  advertise: BlockChange;
  withdraw: BlockChange;
  reload: { reload: ReloadSummary };
  neighbors: { neighbors: NeighborView[] };
  paths: { paths: PathView[] };
}

export type ControlOp = ControlRequest['op'];
export type ControlResult<Op extends ControlOp = ControlOp> = ControlResults[Op];
export type ControlReply<Op extends ControlOp = ControlOp> = ({ ok: true } & ControlResult<Op>) | { ok: false; error: string };

export const CONTROL_OPS = ['status', 'routes', 'advertise', 'withdraw', 'reload', 'explain', 'neighbors', 'paths'] as const satisfies readonly ControlOp[];

export type RequestOf<Op extends ControlOp> = Extract<ControlRequest, { op: Op }>;

/** What the server calls, one function per op; a thrown Error becomes {"ok":false,"error":message}. */
export type ControlHandlers = { [Op in ControlOp]: (req: RequestOf<Op>) => Promise<ControlResults[Op]> | ControlResults[Op] };

/** Checks the shape of a parsed request; returns it typed, or the problem. */
export function checkRequest(v: unknown): ControlRequest | string {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'a request must be a JSON object with an "op" field';
  const o = v as Record<string, unknown>;
  if (typeof o.op !== 'string') return `missing "op" (one of ${CONTROL_OPS.join(', ')})`;
  switch (o.op) {
    case 'status':
    case 'routes':
    case 'reload':
    case 'neighbors':
      return { op: o.op };
    case 'paths': {
      const table = o.table ?? 'candidates';
      if (typeof table !== 'string' || !(PATH_TABLES as readonly string[]).includes(table)) return `"paths" needs a "table": one of ${PATH_TABLES.join(', ')}`;
      if (o.peer !== undefined && typeof o.peer !== 'string') return '"peer" must be a string (a peer name or address)';
      if (table !== 'candidates' && o.peer === undefined) return `"paths" with table "${table}" needs a "peer"`;
      return { op: 'paths', table: table as PathTable, ...(o.peer !== undefined ? { peer: o.peer as string } : {}) };
    }
    case 'advertise':
    case 'withdraw':
      if (typeof o.prefix !== 'string') return `"${o.op}" needs a "prefix" string, like "10.244.3.0/26"`;
      return { op: o.op, prefix: o.prefix };
    case 'explain':
      if (typeof o.address !== 'string') return '"explain" needs an "address" string, like "10.244.7.9"';
      return { op: 'explain', address: o.address };
    default:
      return `unknown op ${JSON.stringify(o.op)} (one of ${CONTROL_OPS.join(', ')})`;
  }
}

/** `weft advertise` / `weft withdraw`: the block as normalised, and whether anything changed. */
export interface BlockChange {
  prefix: string;
  changed: boolean;
}

/** `weft reload`: which sessions the new configuration opened, closed or reset. */
export interface ReloadSummary {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: number;
  /** Settings that changed but only take effect after a restart. */
  restartNeeded: string[];
  warnings: string[];
}

export interface DataplaneStatus {
  underlayDevice: string;
  underlayMtu: number;
  /** The MTU containers must use, and why. */
  podMtu: number;
  podMtuReason: string;
  /** Routes in the desired state by shape (what the kernel has once the batches are applied). */
  routes: Record<string, number>;
  /** Routes kept from before a restart, waiting for End-of-RIB or the grace period. */
  held: number;
  batches: number;
  linesApplied: number;
  lineErrors: number;
  problems: string[];
  lastError: string | undefined;
}

/** One row of `weft status`: like `birdc show protocols` with the prefix counts. */
export interface PeerStatusView {
  id: string;
  address: string;
  /** The configured AS (or 'internal'), the negotiated one once known. */
  asn: number | string;
  kind: PeerKind;
  state: string;
  /** Wall-clock time of the last state change. */
  since: string;
  passive: boolean;
  establishedTransitions: number;
  received: number;
  accepted: number;
  advertised: number;
  refused: Record<string, number>;
  updatesIn: number;
  updatesOut: number;
  /** Routes not sent in this session: their attributes do not fit the peer's maximum message size. */
  tooLarge: number;
  /** The address families the session negotiated (RFC 4760), e.g. ["ipv4-unicast", "ipv6-unicast"]; while Established. */
  families?: string[];
  /** Families we have routes for that the session did not negotiate: those routes are not sent. */
  notNegotiated?: UnsentFamilyView[];
  lastError: string | undefined;
  /** When lastError happened (ISO time); set whenever lastError is. */
  lastErrorAt: string | undefined;
  /** Graceful restart (RFC 4724 / RFC 8538) of this session (peers/graceful-restart.ts). */
  gracefulRestart?: GracefulRestartView;
  /** Present when the session has a TCP MD5 password (RFC 2385); the password itself is never shown. */
  md5?: true;
  /** Not Established with MD5: what can be known of why (io/md5/md5.ts md5Diagnosis). */
  md5Diagnosis?: string;
  /** The BFD session following this one (RFC 5880), when the peer has `bfd`. */
  bfd?: BfdSessionStatus;
}

/** A family we have routes for that the session did not negotiate (`weft status`, peers/families.ts). */
export interface UnsentFamilyView {
  /** "ipv6-unicast" */
  family: string;
  /** Routes of that family the export rules give this peer, not sent. */
  routes: number;
  /** 'not negotiated: the peer did not offer it', '... we did not offer it', or no IPv4 next hop (RFC 8950 not negotiated). */
  why: string;
}

/** Graceful restart state of one peer in `weft status`. */
export interface GracefulRestartView {
  enabled: boolean;
  /** Both sides sent the capability (while Established). */
  negotiated?: boolean;
  /** RFC 8538: both set the N bit. */
  notification?: boolean;
  /** The Restart Time the peer advertised (s). */
  peerRestartTime?: number;
  /** The peer's routes held stale now (RFC 4724 4.2). */
  stale: number;
  /** 'peer restarting' | 'waiting for End-of-RIB' | 'our table deferred (we restarted)'. */
  state?: string;
  /** When the stale routes go if the session is not back (ISO time). */
  restartUntil?: string;
  /** The staleTime upper bound (ISO time). */
  staleUntil?: string;
  /** Why the routes were kept. */
  reason?: string;
}

export interface AgentStatus {
  /** address: node.address with its length; address4 / address6: the other family's underlay address, when configured. */
  node: { name: string; asn: number; routerId: string; address: string; address4?: string; address6?: string };
  uptimeSeconds: number;
  listen: { address: string; port: number | undefined };
  routeReflector: boolean;
  refusedConnections: number;
  /** BFD packets dropped before reaching a session (malformed, unknown source or discriminator), by reason. */
  bfdDropped?: Record<string, number>;
  rib: { prefixes: number; local: number };
  /** The agent process's memory now, MiB (process.memoryUsage()). */
  memory: { rssMiB: number; heapUsedMiB: number; heapTotalMiB: number; externalMiB: number };
  blocks: string[];
  peers: PeerStatusView[];
  /** The kernel data plane (absent when dataplane.enabled is false). */
  dataplane?: DataplaneStatus;
  /** Host protection, weft's nftables table (agent/kernel/host-protection.ts). */
  hostProtection?: HostProtectionStatus;
}

/** `weft status`: host protection (issue 13). */
export interface HostProtectionStatus {
  enabled: boolean;
  /** "inet weft" */
  table: string;
  /** Elements per set: bgp4/bgp6 (peers and members), vxlan4/vxlan6 (members), bfd4/bfd6, vnis. */
  sets: Record<string, number>;
  /** Packets dropped so far, per rule (bgp-v4, vxlan-vni, ...), from the last read-back. */
  dropped: Record<string, number>;
  /** Transactions written (start, changes, repairs). */
  writes: number;
  /** Times the table was found missing or altered and written again. */
  repairs: number;
  /** The last read-back (ISO time). */
  lastReconcile?: string;
  lastWrite?: string;
  lastError?: string;
}

/** A path's prefix, where it came from and its attributes: the common part of RouteView and PathView. */
export interface PathFields {
  prefix: string;
  source: 'local' | 'peer';
  peer: string;
  peerAddress: string;
  nextHop: string;
  asPath: string;
  origin: string;
  localPref: number | undefined;
  med: number | undefined;
  communities: string[];
  originatorId: string | undefined;
  clusterList: string[];
}

export interface RouteView extends PathFields {
  /** Why this path is the best ('only path' when alone). */
  reason: string;
  /** The best path is stale: kept from a peer restarting gracefully (RFC 4724 4.2). */
  stale?: boolean;
  /** Candidate paths for the prefix (1 = no competition). */
  candidates: number;
  /** Data plane (when enabled): direct | vxlan | ipip | blackhole | local | none. */
  shape?: string;
  /** Why that shape (decideShape's reason, or why nothing is written). */
  why?: string;
  /** The kernel has the route in that shape now. */
  installed?: boolean;
  /** The data plane's next hops for the prefix (more than one: an ECMP multipath route). */
  via?: string[];
}

/** `weft explain ADDRESS`: which route, block, node and shape carry the address, and why. */
export interface ExplainView {
  address: string;
  route: (Pick<RouteView, 'prefix' | 'source' | 'peer' | 'peerAddress' | 'nextHop'> & { bestReason: string }) | null;
  pool: string | null;
  block: string | null;
  node: { name: string; address: string } | null;
  shape: ViewShape | null;
  why: string;
  /** Pools kept apart (pools[].isolated): why other pools' pods cannot reach this address. */
  isolation?: string;
  mac?: { value: string; source: string };
  installed: boolean;
  kernel: Record<string, unknown> | null;
  kernelError?: string;
}

/** A NOTIFICATION sent or received (`weft neighbor X`): code, subcode, their names, data, when. */
export interface NotificationView {
  code: number;
  subcode: number;
  /** "Cease / Administrative Shutdown" (RFC 4271 4.5 and the IANA subcode registries). */
  name: string;
  /** The data field, hex ('' when empty). */
  data: string;
  /** RFC 9003 shutdown communication (Cease/2, Cease/4), when present. */
  shutdownMessage?: string;
  /** Wall-clock time (ISO). */
  at: string;
}

/** What a session negotiated (while Established), in words a user reads. */
export interface NegotiatedView {
  /** RFC 4760: "ipv4-unicast", "ipv6-unicast". */
  families: string[];
  fourOctetAs: boolean;
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  extendedMessage: boolean;
  /** RFC 4724: our side offered it; the peer's Restart Time and flags when it did too. */
  gracefulRestart: { local: boolean; peer?: { restartTime: number; restarting: boolean; notification: boolean; forwardingPreserved: string[] } };
  /** RFC 8950: "ipv4-unicast over IPv6 (send)" etc. */
  extendedNextHop: string[];
  /** RFC 7911, per family: "ipv4-unicast send/receive". */
  addPath: string[];
  peerHostname?: string;
}

/** One peer in detail: `weft neighbor X`, like `birdc show protocols all X` / `gobgp neighbor X`. */
export interface NeighborView extends PeerStatusView {
  localAs: number;
  /** Our BGP Identifier, and the peer's (from its OPEN, once received). */
  routerId: string;
  peerRouterId?: string;
  /** The port we dial. */
  port: number;
  /** The TCP connection of the session, when there is one. */
  connection?: { direction: 'inbound' | 'outbound'; localAddress: string; localPort: number; remoteAddress: string; remotePort: number };
  /** Seconds; negotiated ones while Established (RFC 4271 4.2: the smaller hold time; keepalive a third of it unless set). */
  timers: { holdTime: number; keepaliveTime: number; connectRetryTime: number; negotiatedHoldTime?: number; negotiatedKeepaliveTime?: number };
  capabilities: { sent: string[]; received?: string[]; negotiated?: NegotiatedView };
  /** Messages by type since the agent created the session (all its connections). */
  messages: { in: Record<string, number>; out: Record<string, number>; bytesIn: number; bytesOut: number; queuedBytes: number };
  /** Per family: announced this session (before import policy), accepted (after it), best in the Loc-RIB, advertised (Adj-RIB-Out). */
  prefixes: Record<string, { received: number; accepted: number; best: number; advertised: number }>;
  lastNotificationSent?: NotificationView;
  lastNotificationReceived?: NotificationView;
  /** Established sessions that went down since the agent created the peer. */
  flaps: number;
}

/** One path of `paths`: a Loc-RIB candidate, or a route of one peer's Adj-RIB-In / Adj-RIB-Out. */
/** `peer`: the peer the path came from ("local" for this node's blocks); for advertised: the peer it goes to. */
export interface PathView extends PathFields {
  /** candidates: best, multipath (in the ECMP set) or lost; with why (for the best: why it won). */
  rank?: 'best' | 'multipath' | 'lost';
  reason?: string;
  stale?: boolean;
  /** received: the import policy changed the attributes (they are shown as received). */
  policyChanged?: boolean;
}
