/**
 * Golden table of RFC 4271 8.2.2: every [state, event] pair weft handles -> the next state, the
 * action types in order, and the NOTIFICATION sent (code/subcode) if any. Each state is reached
 * through `step` (see session-fixtures.ts) and every event runs at t = 1000.
 */
import { describe, expect, it } from 'vitest';
import { step, type StateName } from '../../src/session/index.js';
import { EVENTS, notifications, reach, snapshot, types, type EventName } from './session-fixtures.js';

type Row = [to: StateName, actions: string[], notification?: [number, number]];

const LOG = ['Log'];
const DOWN = ['Disconnect', 'ReleaseResources', 'Transition'];
const NOTIFY_DOWN = ['SendNotification', ...DOWN];
const EST_DOWN = ['Disconnect', 'ReleaseResources', 'SessionDown', 'Transition'];
const EST_NOTIFY_DOWN = ['SendNotification', ...EST_DOWN];

const IDLE: Record<EventName, Row> = {
  ManualStart: ['Connect', ['Connect', 'Transition']],
  ManualStart_Passive: ['Active', ['Transition']],
  AutomaticStart: ['Connect', ['Connect', 'Transition']],
  ManualStop: ['Idle', LOG],
  AutomaticStop: ['Idle', LOG],
  ConnectRetryTimer_Expires: ['Idle', LOG], // timers not running: stale
  HoldTimer_Expires: ['Idle', LOG],
  KeepaliveTimer_Expires: ['Idle', LOG],
  IdleHoldTimer_Expires: ['Idle', LOG],
  TcpConnection_Valid: ['Idle', ['Disconnect', 'Log']], // "refuses all incoming BGP connections"
  Tcp_CR_Acked: ['Idle', ['Disconnect', 'Log']],
  TcpConnectionConfirmed: ['Idle', ['Disconnect', 'Log']],
  TcpConnectionFails: ['Idle', LOG],
  BGPOpen: ['Idle', LOG],
  BGPHeaderErr: ['Idle', LOG],
  BGPOpenMsgErr: ['Idle', LOG],
  OpenCollisionDump: ['Idle', LOG],
  NotifMsgVerErr: ['Idle', LOG],
  NotifMsg: ['Idle', LOG],
  KeepAliveMsg: ['Idle', LOG],
  UpdateMsg: ['Idle', LOG],
  UpdateMsgErr: ['Idle', LOG],
  RouteRefreshMsg: ['Idle', LOG],
};

const CONNECT: Record<EventName, Row> = {
  ManualStart: ['Connect', LOG],
  ManualStart_Passive: ['Connect', LOG],
  AutomaticStart: ['Connect', LOG],
  ManualStop: ['Idle', DOWN],
  AutomaticStop: ['Idle', DOWN],
  ConnectRetryTimer_Expires: ['Connect', ['Disconnect', 'Connect', 'Log']],
  HoldTimer_Expires: ['Connect', LOG],
  KeepaliveTimer_Expires: ['Connect', LOG],
  IdleHoldTimer_Expires: ['Connect', LOG],
  TcpConnection_Valid: ['Connect', LOG],
  Tcp_CR_Acked: ['OpenSent', ['SendOpen', 'Transition']],
  TcpConnectionConfirmed: ['OpenSent', ['SendOpen', 'Transition']],
  TcpConnectionFails: ['Active', ['Transition']], // weft: listen until ConnectRetry (fsm.ts header)
  BGPOpen: ['Idle', DOWN],
  BGPHeaderErr: ['Idle', DOWN],
  BGPOpenMsgErr: ['Idle', DOWN],
  OpenCollisionDump: ['Idle', DOWN],
  NotifMsgVerErr: ['Idle', DOWN],
  NotifMsg: ['Idle', DOWN],
  KeepAliveMsg: ['Idle', DOWN],
  UpdateMsg: ['Idle', DOWN],
  UpdateMsgErr: ['Idle', DOWN],
  RouteRefreshMsg: ['Idle', DOWN],
};

const ACTIVE: Record<EventName, Row> = {
  ...CONNECT,
  ManualStart: ['Active', LOG],
  ManualStart_Passive: ['Active', LOG],
  AutomaticStart: ['Active', LOG],
  ConnectRetryTimer_Expires: ['Connect', ['Connect', 'Transition']],
  HoldTimer_Expires: ['Active', LOG],
  KeepaliveTimer_Expires: ['Active', LOG],
  IdleHoldTimer_Expires: ['Active', LOG],
  TcpConnection_Valid: ['Active', LOG],
  TcpConnectionFails: ['Idle', DOWN],
};

const OPEN_SENT: Record<EventName, Row> = {
  ManualStart: ['OpenSent', LOG],
  ManualStart_Passive: ['OpenSent', LOG],
  AutomaticStart: ['OpenSent', LOG],
  ManualStop: ['Idle', NOTIFY_DOWN, [6, 2]],
  AutomaticStop: ['Idle', NOTIFY_DOWN, [6, 1]],
  ConnectRetryTimer_Expires: ['OpenSent', LOG],
  HoldTimer_Expires: ['Idle', NOTIFY_DOWN, [4, 0]],
  KeepaliveTimer_Expires: ['OpenSent', LOG],
  IdleHoldTimer_Expires: ['OpenSent', LOG],
  TcpConnection_Valid: ['OpenSent', LOG],
  Tcp_CR_Acked: ['OpenSent', LOG],
  TcpConnectionConfirmed: ['OpenSent', LOG],
  TcpConnectionFails: ['Active', ['Disconnect', 'Transition']],
  BGPOpen: ['OpenConfirm', ['SendKeepalive', 'Transition']],
  BGPHeaderErr: ['Idle', NOTIFY_DOWN, [1, 3]],
  BGPOpenMsgErr: ['Idle', NOTIFY_DOWN, [2, 0]],
  OpenCollisionDump: ['Idle', NOTIFY_DOWN, [6, 7]],
  NotifMsgVerErr: ['Idle', DOWN],
  NotifMsg: ['Idle', DOWN],
  KeepAliveMsg: ['Idle', NOTIFY_DOWN, [5, 1]],
  UpdateMsg: ['Idle', NOTIFY_DOWN, [5, 1]],
  UpdateMsgErr: ['Idle', NOTIFY_DOWN, [5, 1]],
  RouteRefreshMsg: ['Idle', NOTIFY_DOWN, [5, 1]],
};

const OPEN_CONFIRM: Record<EventName, Row> = {
  ManualStart: ['OpenConfirm', LOG],
  ManualStart_Passive: ['OpenConfirm', LOG],
  AutomaticStart: ['OpenConfirm', LOG],
  ManualStop: ['Idle', NOTIFY_DOWN, [6, 2]],
  AutomaticStop: ['Idle', NOTIFY_DOWN, [6, 1]],
  ConnectRetryTimer_Expires: ['OpenConfirm', LOG],
  HoldTimer_Expires: ['Idle', NOTIFY_DOWN, [4, 0]],
  KeepaliveTimer_Expires: ['OpenConfirm', ['SendKeepalive']],
  IdleHoldTimer_Expires: ['OpenConfirm', LOG],
  TcpConnection_Valid: ['OpenConfirm', LOG],
  Tcp_CR_Acked: ['OpenConfirm', LOG],
  TcpConnectionConfirmed: ['OpenConfirm', LOG],
  TcpConnectionFails: ['Idle', DOWN],
  BGPOpen: ['Idle', NOTIFY_DOWN, [5, 2]],
  BGPHeaderErr: ['Idle', NOTIFY_DOWN, [1, 3]],
  BGPOpenMsgErr: ['Idle', NOTIFY_DOWN, [2, 0]],
  OpenCollisionDump: ['Idle', NOTIFY_DOWN, [6, 7]],
  NotifMsgVerErr: ['Idle', DOWN],
  NotifMsg: ['Idle', DOWN],
  KeepAliveMsg: ['Established', ['Established', 'Transition']],
  UpdateMsg: ['Idle', NOTIFY_DOWN, [5, 2]],
  UpdateMsgErr: ['Idle', NOTIFY_DOWN, [5, 2]],
  RouteRefreshMsg: ['Idle', NOTIFY_DOWN, [5, 2]],
};

const ESTABLISHED: Record<EventName, Row> = {
  ManualStart: ['Established', LOG],
  ManualStart_Passive: ['Established', LOG],
  AutomaticStart: ['Established', LOG],
  ManualStop: ['Idle', EST_NOTIFY_DOWN, [6, 2]],
  AutomaticStop: ['Idle', EST_NOTIFY_DOWN, [6, 1]],
  ConnectRetryTimer_Expires: ['Established', LOG],
  HoldTimer_Expires: ['Idle', EST_NOTIFY_DOWN, [4, 0]],
  KeepaliveTimer_Expires: ['Established', ['SendKeepalive']],
  IdleHoldTimer_Expires: ['Established', LOG],
  TcpConnection_Valid: ['Established', LOG],
  Tcp_CR_Acked: ['Established', LOG],
  TcpConnectionConfirmed: ['Established', LOG],
  TcpConnectionFails: ['Idle', EST_DOWN],
  BGPOpen: ['Idle', EST_NOTIFY_DOWN, [5, 3]],
  BGPHeaderErr: ['Idle', EST_NOTIFY_DOWN, [1, 3]],
  BGPOpenMsgErr: ['Idle', EST_NOTIFY_DOWN, [5, 3]],
  OpenCollisionDump: ['Idle', EST_NOTIFY_DOWN, [6, 7]],
  NotifMsgVerErr: ['Idle', EST_DOWN],
  NotifMsg: ['Idle', EST_DOWN],
  KeepAliveMsg: ['Established', []],
  UpdateMsg: ['Established', ['DeliverUpdate']],
  UpdateMsgErr: ['Idle', EST_NOTIFY_DOWN, [3, 1]],
  RouteRefreshMsg: ['Established', ['DeliverRouteRefresh']],
};

const TABLE: Record<StateName, Record<EventName, Row>> = {
  Idle: IDLE,
  Connect: CONNECT,
  Active: ACTIVE,
  OpenSent: OPEN_SENT,
  OpenConfirm: OPEN_CONFIRM,
  Established: ESTABLISHED,
};

describe('RFC 4271 8.2.2 transition table', () => {
  for (const [from, rows] of Object.entries(TABLE) as [StateName, Record<EventName, Row>][]) {
    describe(from, () => {
      for (const [name, [to, actions, notif]] of Object.entries(rows) as [EventName, Row][]) {
        it(`${name} -> ${to} [${actions.join(', ')}]`, () => {
          const s = reach(from);
          const before = snapshot(s);
          const r = step(s, EVENTS[name], 1000);
          expect(r.state.name).toBe(to);
          expect(types(r.actions)).toEqual(actions);
          expect(notifications(r.actions)).toEqual(notif ? [notif] : []);
          expect(snapshot(s)).toBe(before); // pure: the input state is untouched
          const t = r.actions.find((a) => a.type === 'Transition');
          if (to !== from) {
            expect(t).toMatchObject({ from, to, event: name });
            expect(r.state.lastTransition).toMatchObject({ from, to, event: name, at: 1000 });
            expect(r.state.lastTransition?.reason).toBe(t?.type === 'Transition' ? t.reason : undefined);
            expect(r.state.lastTransition?.reason.length).toBeGreaterThan(0);
          } else {
            expect(t).toBeUndefined();
          }
          if (to === 'Idle' && from !== 'Idle') {
            // Every way down clears the session timers and schedules the automatic restart.
            expect(r.state.timers).toMatchObject({ connectRetry: undefined, hold: undefined, keepalive: undefined });
            const manual = name === 'ManualStop';
            expect(r.state.timers.idleHold).toBe(manual ? undefined : 1000 + 1000);
            expect(r.state.connection).toBeUndefined();
            expect(r.state.negotiated).toBeUndefined();
          }
        });
      }
    });
  }
});
