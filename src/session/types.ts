/**
 * The BGP session as data: the state of the RFC 4271 8 finite state machine, the events that
 * drive it (names after RFC 4271 8.1) and the actions it asks the agent to carry out. Nothing
 * here reads a clock or touches a socket: times are monotonic milliseconds passed in by the caller.
 */
import type { WireError, WireErrorCode } from '../wire/errors.js';
import type {
  AfiSafi,
  Capability,
  NotificationMessage,
  OpenMessage,
  RouteRefreshMessage,
  UpdateMessage,
} from '../wire/types.js';
import type { Negotiated } from './negotiate.js';

/** RFC 4271 8.2.2: the six states. */
export const STATE_NAMES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;
export type StateName = (typeof STATE_NAMES)[number];

/** Which side opened the TCP connection a session runs on. */
export type ConnectionDirection = 'inbound' | 'outbound';

/**
 * The AS we expect the peer to be in: a number, or 'internal' (the peer must be in our AS) or
 * 'external' (the peer must be in any other AS).
 */
export type PeerAsConfig = number | 'internal' | 'external';

/** The idle-hold back-off (RFC 4271 8.1.1 DampPeerOscillations; the method is ours, see backoff.ts). */
export interface BackoffConfig {
  /** The first wait after a session goes down. */
  initialMs: number;
  /** The wait never grows past this. */
  maxMs: number;
  /** A session Established at least this long resets the wait to initialMs when it goes down. */
  stableMs: number;
}

/** What a session needs to know; all times in seconds as on the wire, except the back-off. */
export interface SessionConfig {
  localAs: number;
  /** Our BGP Identifier, dotted quad. */
  bgpId: string;
  peerAs: PeerAsConfig;
  /** RFC 4271 4.2: 0 (no keepalives, no hold timer) or >= 3. Default 90 (RFC 4271 10). */
  holdTime?: number;
  /** Seconds between KEEPALIVEs; default (and upper bound) one third of the negotiated hold time. */
  keepaliveTime?: number;
  /** RFC 4271 10: ConnectRetryTime, default 120 seconds. */
  connectRetryTime?: number;
  /**
   * The longest wait in Active after refused dials in a row (backoff.ts dialRetryMs); default
   * max(connectRetryTime, 30) seconds.
   */
  connectRetryMaxTime?: number;
  /** RFC 4271 8.2.2: the "large value" of the hold timer in OpenSent, default 240 seconds. */
  openSentHoldTime?: number;
  /** Never dial: wait in Active for the peer to connect (RFC 4271 8.1.1 PassiveTcpEstablishment). */
  passive?: boolean;
  /**
   * With `passive`: ManualStart makes one dial before the session waits passively (a mesh node
   * that starts late reaches a peer whose own dials have backed off). Default false.
   */
  dialOnStart?: boolean;
  /** The capabilities our OPEN carries; default from `localCapabilities` (negotiate.ts). */
  capabilities?: Capability[];
  /** Families the peer must also enable, or the OPEN is refused with OPEN/7 (RFC 5492 5). */
  requiredFamilies?: AfiSafi[];
  idleHold?: Partial<BackoffConfig>;
}

/** SessionConfig with every default filled in (see config.ts). */
export interface ResolvedConfig {
  localAs: number;
  bgpId: string;
  peerAs: PeerAsConfig;
  holdTime: number;
  keepaliveTime: number | undefined;
  connectRetryTime: number;
  connectRetryMaxTime: number;
  openSentHoldTime: number;
  passive: boolean;
  dialOnStart: boolean;
  capabilities: Capability[];
  requiredFamilies: AfiSafi[];
  idleHold: BackoffConfig;
}

/** RFC 4271 8: the timers, each a deadline in monotonic ms, or undefined when not running. */
export interface Timers {
  connectRetry: number | undefined;
  hold: number | undefined;
  keepalive: number | undefined;
  idleHold: number | undefined;
}

export type TimerName = keyof Timers;

/** A NOTIFICATION we sent or received, or another reason a session ended, for `weft status`. */
export interface SessionError {
  direction: 'sent' | 'received' | 'local';
  /** The WireError string code when we sent it. */
  errorCode?: WireErrorCode;
  code?: number;
  subcode?: number;
  data?: Uint8Array;
  /** RFC 9003 shutdown communication, when one came with a Cease. */
  shutdownMessage?: string;
  message: string;
  at: number;
}

export interface TransitionRecord {
  from: StateName;
  to: StateName;
  event: SessionEvent['type'];
  reason: string;
  at: number;
}

export interface SessionState {
  name: StateName;
  config: ResolvedConfig;
  timers: Timers;
  /** RFC 4271 8: ConnectRetryCounter. */
  connectRetryCounter: number;
  /**
   * Our dials refused or failed in a row since a connection last came up (or ManualStart): the
   * wait in Active before the next dial grows with it (backoff.ts dialRetryMs).
   */
  dialFailures: number;
  /**
   * Whether the session restarts by itself after going down (set by ManualStart/AutomaticStart,
   * cleared by ManualStop): the IdleHold timer then brings it back.
   */
  autoRestart: boolean;
  /** The wait the next automatic restart will use, and how many times in a row it has grown. */
  backoff: { nextMs: number; flaps: number };
  /** The TCP connection the session runs on, once there is one. */
  connection: ConnectionDirection | undefined;
  /** The peer's OPEN, from OpenConfirm on. */
  peerOpen: OpenMessage | undefined;
  /** The negotiation result, from OpenConfirm on (announced with the Established action). */
  negotiated: Negotiated | undefined;
  /** When the session last became Established. */
  establishedAt: number | undefined;
  lastError: SessionError | undefined;
  lastTransition: TransitionRecord | undefined;
}

/** What the SessionDown action says when the peer's routes are to be kept (RFC 4724 4.2). */
export interface GracefulRetention {
  /** The Restart Time the peer advertised (seconds): how long to wait for the session to return. */
  restartTime: number;
  /** The families to keep: those "previously received in the Graceful Restart Capability". */
  families: AfiSafi[];
  /** RFC 8538: both sides set the N bit. */
  notification: boolean;
  /** Why the routes stay, for logs and status. */
  reason: string;
}

/**
 * How an administrative stop closes the session.
 * - 'default': the Cease of the cause (RFC 4486); with N negotiated, the causes RFC 8538 5 lists
 *   as "Hard Reset" go out wrapped in a Hard Reset (the peer then drops our routes).
 * - 'graceful': we are restarting and want the peer to keep our routes (RFC 4724 4.1). With N
 *   negotiated a Cease other than Hard Reset keeps graceful restart (RFC 8538 4), so
 *   Administrative Reset goes out (RFC 8538 5: its behaviour is "provided by operator"); without
 *   N every NOTIFICATION ends graceful restart at the peer, so none is sent: TCP just closes.
 * - 'withdraw': the peer must drop our routes now: Hard Reset with N, the Cease otherwise.
 */
export type StopMode = 'default' | 'graceful' | 'withdraw';

/** Cease subcodes an administrative stop may carry (RFC 4486 3). */
export type StopCause = Extract<WireErrorCode, `cease.${string}`>;

/**
 * RFC 4271 8.1 events. Not modelled: the DelayOpen timer and its events (12, 20), Tcp_CR_Invalid
 * (15; the agent refuses such connections itself) and the optional start variants with
 * DampPeerOscillations (6, 7: our IdleHold back-off is always on).
 */
export type SessionEvent =
  | { type: 'ManualStart' } // 1
  | { type: 'ManualStop'; cause?: StopCause; shutdownMessage?: string; data?: Uint8Array; mode?: StopMode } // 2, RFC 9003 text; data: the Cease data (RFC 4486 4); mode: graceful-restart.ts
  | { type: 'AutomaticStart' } // 3
  | { type: 'ManualStart_Passive' } // 4
  | { type: 'AutomaticStop'; cause?: StopCause; shutdownMessage?: string; data?: Uint8Array } // 8
  | { type: 'ConnectRetryTimer_Expires' } // 9
  | { type: 'HoldTimer_Expires' } // 10
  | { type: 'KeepaliveTimer_Expires' } // 11
  | { type: 'IdleHoldTimer_Expires' } // 13
  | { type: 'TcpConnection_Valid' } // 14: an inbound connection request arrived
  | { type: 'Tcp_CR_Acked' } // 16: our dial completed
  | { type: 'TcpConnectionConfirmed' } // 17: an inbound connection was accepted
  | { type: 'TcpConnectionFails'; reason?: string } // 18
  | { type: 'BGPOpen'; open: OpenMessage } // 19
  | { type: 'BGPHeaderErr'; error: WireError } // 21
  | { type: 'BGPOpenMsgErr'; error: WireError } // 22
  | { type: 'OpenCollisionDump' } // 23: collision.ts decided this connection loses
  | { type: 'NotifMsgVerErr'; notification?: NotificationMessage } // 24
  | { type: 'NotifMsg'; notification: NotificationMessage } // 25
  | { type: 'KeepAliveMsg' } // 26
  | { type: 'UpdateMsg'; update: UpdateMessage } // 27
  | { type: 'UpdateMsgErr'; error: WireError } // 28
  | { type: 'RouteRefreshMsg'; refresh: RouteRefreshMessage } // RFC 2918
  | { type: 'Tick' }; // "some deadline may have passed": runs every expired timer

export type SessionEventType = SessionEvent['type'];

/**
 * What the agent must do, in order. Send* and Disconnect apply to the connection the session
 * runs on (`state.connection`).
 */
export type Action =
  | { type: 'Connect' }
  | { type: 'Disconnect' }
  | { type: 'SendOpen'; open: OpenMessage }
  | { type: 'SendKeepalive' }
  | { type: 'SendNotification'; code: number; subcode: number; data: Uint8Array; errorCode: WireErrorCode }
  | { type: 'Established'; negotiated: Negotiated }
  /** Left Established: the routes learned from the peer are to be removed, or with `retain` kept as stale (RFC 4724 4.2). */
  | { type: 'SessionDown'; reason: string; error: SessionError | undefined; retain?: GracefulRetention }
  | { type: 'DeliverUpdate'; update: UpdateMessage }
  | { type: 'DeliverRouteRefresh'; refresh: RouteRefreshMessage }
  | { type: 'ReleaseResources' }
  | { type: 'Transition'; from: StateName; to: StateName; event: SessionEventType; reason: string }
  | { type: 'Log'; level: 'debug' | 'info' | 'warn'; message: string };

export type ActionType = Action['type'];

export interface StepResult {
  state: SessionState;
  actions: Action[];
}
