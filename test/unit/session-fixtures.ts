/** Shared fixtures for the session tests: a configuration, peer OPENs, and drivers to each state. */
import { createSession, localCapabilities, step, type Action, type SessionConfig, type SessionEvent, type SessionState } from '../../src/session/index.js';
import { WireError } from '../../src/wire/errors.js';
import { buildOpen } from '../../src/wire/open.js';
import type { Capability, NotificationMessage, OpenMessage, UpdateMessage } from '../../src/wire/types.js';

export const LOCAL_AS = 64512;
export const LOCAL_ID = '10.0.0.1';
export const PEER_ID = '10.0.0.2';

export function config(over: Partial<SessionConfig> = {}): SessionConfig {
  return { localAs: LOCAL_AS, bgpId: LOCAL_ID, peerAs: LOCAL_AS, holdTime: 90, connectRetryTime: 120, ...over };
}

export function session(over: Partial<SessionConfig> = {}): SessionState {
  return createSession(config(over));
}

export function peerOpen(o: { asn?: number; holdTime?: number; bgpId?: string; capabilities?: Capability[] } = {}): OpenMessage {
  const asn = o.asn ?? LOCAL_AS;
  return buildOpen({ asn, holdTime: o.holdTime ?? 90, bgpId: o.bgpId ?? PEER_ID, capabilities: o.capabilities ?? localCapabilities({ localAs: asn }) });
}

export const UPDATE: UpdateMessage = { type: 'update', withdrawn: [], attributes: [], nlri: [] };

export function notification(code: number, subcode: number, shutdownMessage?: string): NotificationMessage {
  const n: NotificationMessage = { type: 'notification', code, subcode, data: new Uint8Array(0) };
  if (shutdownMessage !== undefined) n.shutdownMessage = shutdownMessage;
  return n;
}

/** One of each event, keyed by type. */
export const EVENTS = {
  ManualStart: { type: 'ManualStart' },
  ManualStart_Passive: { type: 'ManualStart_Passive' },
  AutomaticStart: { type: 'AutomaticStart' },
  ManualStop: { type: 'ManualStop' },
  AutomaticStop: { type: 'AutomaticStop', cause: 'cease.max-prefixes' },
  ConnectRetryTimer_Expires: { type: 'ConnectRetryTimer_Expires' },
  HoldTimer_Expires: { type: 'HoldTimer_Expires' },
  KeepaliveTimer_Expires: { type: 'KeepaliveTimer_Expires' },
  IdleHoldTimer_Expires: { type: 'IdleHoldTimer_Expires' },
  TcpConnection_Valid: { type: 'TcpConnection_Valid' },
  Tcp_CR_Acked: { type: 'Tcp_CR_Acked' },
  TcpConnectionConfirmed: { type: 'TcpConnectionConfirmed' },
  TcpConnectionFails: { type: 'TcpConnectionFails', reason: 'ECONNRESET' },
  BGPOpen: { type: 'BGPOpen', open: peerOpen() },
  BGPHeaderErr: { type: 'BGPHeaderErr', error: new WireError('header.bad-type', 'bad type 9', { data: Uint8Array.of(9) }) },
  BGPOpenMsgErr: { type: 'BGPOpenMsgErr', error: new WireError('open.malformed', 'bad parameters') },
  OpenCollisionDump: { type: 'OpenCollisionDump' },
  NotifMsgVerErr: { type: 'NotifMsgVerErr', notification: notification(2, 1) },
  NotifMsg: { type: 'NotifMsg', notification: notification(6, 2, 'maintenance') },
  KeepAliveMsg: { type: 'KeepAliveMsg' },
  UpdateMsg: { type: 'UpdateMsg', update: UPDATE },
  UpdateMsgErr: { type: 'UpdateMsgErr', error: new WireError('update.malformed-attribute-list', 'bad attributes') },
  RouteRefreshMsg: { type: 'RouteRefreshMsg', refresh: { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 } },
} as const satisfies Record<Exclude<SessionEvent['type'], 'Tick'>, SessionEvent>;

export type EventName = keyof typeof EVENTS;

/** Runs events at the given times; returns the last state and every action. */
export function run(s: SessionState, events: [SessionEvent, number][]): { state: SessionState; actions: Action[] } {
  const actions: Action[] = [];
  for (const [ev, now] of events) {
    const r = step(s, ev, now);
    s = r.state;
    actions.push(...r.actions);
  }
  return { state: s, actions };
}

/** Times at which `reach` drives each state: ManualStart at 0, TCP up at 10, OPEN at 20, KEEPALIVE at 30. */
export const T = { start: 0, tcp: 10, open: 20, keepalive: 30 } as const;

export function reach(name: SessionState['name'], over: Partial<SessionConfig> = {}, open: OpenMessage = peerOpen()): SessionState {
  const s = session(over);
  const path: [SessionEvent, number][] = [];
  if (name === 'Idle') return s;
  if (name === 'Active') return run(s, [[EVENTS.ManualStart_Passive, T.start]]).state;
  path.push([EVENTS.ManualStart, T.start]);
  if (name !== 'Connect') path.push([EVENTS.Tcp_CR_Acked, T.tcp]);
  if (name === 'OpenConfirm' || name === 'Established') path.push([{ type: 'BGPOpen', open }, T.open]);
  if (name === 'Established') path.push([EVENTS.KeepAliveMsg, T.keepalive]);
  const r = run(s, path);
  if (r.state.name !== name) throw new Error(`could not reach ${name}: in ${r.state.name}`);
  return r.state;
}

export function types(actions: Action[]): string[] {
  return actions.map((a) => a.type);
}

export function notifications(actions: Action[]): [number, number][] {
  return actions.flatMap((a) => (a.type === 'SendNotification' ? [[a.code, a.subcode] as [number, number]] : []));
}

/** A printable copy of a state (Sets and byte arrays included), to check that step never mutates. */
export function snapshot(s: SessionState): string {
  return JSON.stringify(s, (_k, v: unknown) => (v instanceof Set ? [...v] : v instanceof Uint8Array ? Array.from(v) : v));
}
