/** The FSM beyond the table: what the actions carry, reasons, counters, errors, passive sessions. */
import { describe, expect, it } from 'vitest';
import { step, type Action, type SessionState } from '../../src/session/index.js';
import { bytesEqual, toHex } from '../../src/lib/hex.js';
import { WireError } from '../../src/wire/errors.js';
import { AS_TRANS } from '../../src/wire/iana.js';
import { EVENTS, LOCAL_AS, PEER_ID, T, peerOpen, reach, run, session, types } from './session-fixtures.js';

function find<K extends Action['type']>(actions: Action[], type: K): Extract<Action, { type: K }> {
  const a = actions.find((x): x is Extract<Action, { type: K }> => x.type === type);
  if (!a) throw new Error(`no ${type} action in ${types(actions).join(',')}`);
  return a;
}

describe('starting', () => {
  it('ManualStart dials, starts the ConnectRetryTimer and zeroes the counter', () => {
    const r = step({ ...session(), connectRetryCounter: 5 }, EVENTS.ManualStart, 500);
    expect(r.state.name).toBe('Connect');
    expect(r.state.connectRetryCounter).toBe(0);
    expect(r.state.timers.connectRetry).toBe(500 + 120_000);
    expect(r.state.autoRestart).toBe(true);
    expect(find(r.actions, 'Transition').reason).toBe('ManualStart: connecting to the peer');
  });

  it('a passive session goes to Active, never dials and runs no ConnectRetryTimer', () => {
    for (const ev of [EVENTS.ManualStart, EVENTS.AutomaticStart, EVENTS.ManualStart_Passive]) {
      const r = step(session({ passive: true }), ev, 0);
      expect(r.state.name).toBe('Active');
      expect(types(r.actions)).toEqual(['Transition']);
      expect(r.state.timers.connectRetry).toBeUndefined();
    }
  });

  it('ManualStart_Passive without the passive option listens first, then dials when ConnectRetry expires', () => {
    const s = step(session(), EVENTS.ManualStart_Passive, 0).state;
    expect(s.timers.connectRetry).toBe(120_000);
    const r = step(s, { type: 'Tick' }, 120_000);
    expect(r.state.name).toBe('Connect');
    expect(types(r.actions)).toEqual(['Connect', 'Transition']);
    expect(r.state.timers.connectRetry).toBe(240_000);
  });

  it('a dial that fails goes to Active with the ConnectRetryTimer restarted, and dials again when it expires', () => {
    // RFC 4271 8.2.2 Connect, TcpConnectionFails with the DelayOpenTimer running: "restarts the
    // ConnectRetryTimer, ... continues to listen for a connection that may be initiated by the
    // remote BGP peer, and changes its state to Active" (weft takes this path always: fsm.ts header).
    const r = step({ ...reach('Connect'), connectRetryCounter: 2 }, { type: 'TcpConnectionFails', reason: 'ECONNREFUSED' }, 7);
    expect(r.state.name).toBe('Active');
    expect(r.state.timers).toEqual({ connectRetry: 7 + 120_000, hold: undefined, keepalive: undefined, idleHold: undefined });
    expect(r.state.connectRetryCounter).toBe(2);
    expect(r.state.autoRestart).toBe(true);
    expect(r.state.connection).toBeUndefined();
    expect(r.state.lastError).toMatchObject({ direction: 'local', message: 'TCP connection failed: ECONNREFUSED', at: 7 });
    expect(find(r.actions, 'Transition').reason).toBe('TCP connection failed: ECONNREFUSED; listening, dialling again in 120 s');
    // The peer's own connection is accepted meanwhile.
    const inbound = step(r.state, EVENTS.TcpConnectionConfirmed, 60_000);
    expect(inbound.state.name).toBe('OpenSent');
    expect(inbound.state.connection).toBe('inbound');
    // Or ConnectRetry expires and the next dial goes out.
    const again = step(r.state, { type: 'Tick' }, 7 + 120_000);
    expect(again.state.name).toBe('Connect');
    expect(types(again.actions)).toEqual(['Connect', 'Transition']);
  });

  it('ConnectRetry in Connect redials and stays', () => {
    const r = step(reach('Connect'), { type: 'Tick' }, 120_000);
    expect(r.state.name).toBe('Connect');
    expect(types(r.actions)).toEqual(['Disconnect', 'Connect', 'Log']);
    expect(r.state.timers.connectRetry).toBe(240_000);
  });
});

describe('Idle: refusing and accepting connections', () => {
  /** Idle with an automatic restart pending: the session went down (here the peer closed it). */
  function pendingRestart(): SessionState {
    const s = step(reach('Established'), { type: 'TcpConnectionFails', reason: 'peer closed' }, 100).state;
    expect([s.name, s.autoRestart, s.timers.idleHold]).toEqual(['Idle', true, 1100]);
    return s;
  }

  it('with an automatic restart pending, the peer connection starts the session: OpenSent, OPEN sent, IdleHold stopped', () => {
    const down = { ...pendingRestart(), connectRetryCounter: 3, backoff: { nextMs: 4000, flaps: 2 } };
    const r = step(down, EVENTS.TcpConnectionConfirmed, 500);
    expect(r.state.name).toBe('OpenSent');
    expect(types(r.actions)).toEqual(['SendOpen', 'Transition']);
    expect(r.state.connection).toBe('inbound');
    expect(r.state.timers).toEqual({ connectRetry: undefined, hold: 500 + 240_000, keepalive: undefined, idleHold: undefined });
    expect(r.state.autoRestart).toBe(true);
    expect(r.state.connectRetryCounter).toBe(3);
    expect(r.state.backoff).toEqual({ nextMs: 4000, flaps: 2 });
    expect(find(r.actions, 'Transition')).toMatchObject({ from: 'Idle', to: 'OpenSent', event: 'TcpConnectionConfirmed' });
  });

  it('a passive session with a restart pending accepts too', () => {
    const down = step(reach('OpenSent', { passive: true }), EVENTS.HoldTimer_Expires, 0).state;
    expect(down.timers.idleHold).toBe(1000);
    expect(step(down, EVENTS.TcpConnectionConfirmed, 10).state.name).toBe('OpenSent');
  });

  it('with a restart pending, TcpConnection_Valid is not refused (the connection goes on to TcpConnectionConfirmed)', () => {
    const r = step(pendingRestart(), EVENTS.TcpConnection_Valid, 500);
    expect(r.state.name).toBe('Idle');
    expect(types(r.actions)).toEqual(['Log']);
  });

  it('a stopped session (ManualStop, or never started) refuses every connection (RFC 4271 8.2.2 Idle)', () => {
    const stopped = step(pendingRestart(), EVENTS.ManualStop, 200).state;
    expect(stopped.autoRestart).toBe(false);
    for (const s of [stopped, session(), step(reach('Established'), EVENTS.ManualStop, 5).state]) {
      for (const ev of [EVENTS.TcpConnectionConfirmed, EVENTS.TcpConnection_Valid, EVENTS.Tcp_CR_Acked]) {
        const r = step(s, ev, 500);
        expect(r.state).toBe(s);
        expect(types(r.actions)).toEqual(['Disconnect', 'Log']);
      }
    }
  });

  it('our own dial completing in Idle (a stale Tcp_CR_Acked) is still dropped', () => {
    const r = step(pendingRestart(), EVENTS.Tcp_CR_Acked, 500);
    expect(r.state.name).toBe('Idle');
    expect(types(r.actions)).toEqual(['Disconnect', 'Log']);
  });
});

describe('OpenSent', () => {
  it('sends our OPEN, records the connection direction and sets the 4 minute hold timer', () => {
    const r = step(reach('Connect'), EVENTS.Tcp_CR_Acked, 10);
    const open = find(r.actions, 'SendOpen').open;
    expect(open).toMatchObject({ type: 'open', version: 4, myAs: LOCAL_AS, holdTime: 90, bgpId: '10.0.0.1' });
    expect(open.params.flatMap((p) => (p.type === 'capabilities' ? p.capabilities.map((c) => c.type) : []))).toEqual([
      'multiprotocol',
      'route-refresh',
      'four-octet-as',
    ]);
    expect(r.state.connection).toBe('outbound');
    expect(r.state.timers).toEqual({ connectRetry: undefined, hold: 10 + 240_000, keepalive: undefined, idleHold: undefined });
    expect(step(reach('Active'), EVENTS.TcpConnectionConfirmed, 10).state.connection).toBe('inbound');
  });

  it('a 4-octet local AS goes out as AS_TRANS with the real AS in the capability (RFC 6793)', () => {
    const s = run(session({ localAs: 4_200_000_000, peerAs: 65001 }), [[EVENTS.ManualStart, 0], [EVENTS.Tcp_CR_Acked, 1]]);
    const open = find(s.actions, 'SendOpen').open;
    expect(open.myAs).toBe(AS_TRANS);
    expect(JSON.stringify(open.params)).toContain('"asn":4200000000');
  });

  it('TCP failure returns to Active with the ConnectRetryTimer restarted', () => {
    const r = step(reach('OpenSent'), EVENTS.TcpConnectionFails, 50);
    expect(r.state.name).toBe('Active');
    expect(r.state.timers).toEqual({ connectRetry: 50 + 120_000, hold: undefined, keepalive: undefined, idleHold: undefined });
    expect(r.state.connection).toBeUndefined();
    expect(find(r.actions, 'Transition').reason).toBe('TCP connection failed: ECONNRESET');
  });

  it('a good OPEN: KEEPALIVE sent, negotiated timers set, reason names the peer', () => {
    const r = step(reach('OpenSent'), EVENTS.BGPOpen, T.open);
    expect(r.state.timers).toEqual({ connectRetry: undefined, hold: T.open + 90_000, keepalive: T.open + 30_000, idleHold: undefined });
    expect(r.state.peerOpen?.bgpId).toBe(PEER_ID);
    expect(find(r.actions, 'Transition').reason).toBe(`OPEN from AS ${LOCAL_AS} id ${PEER_ID} accepted (hold 90 s)`);
  });

  it('a bad OPEN sends its NOTIFICATION and increments the ConnectRetryCounter', () => {
    const r = step(reach('OpenSent'), { type: 'BGPOpen', open: peerOpen({ asn: 65001 }) }, T.open);
    expect(r.state.name).toBe('Idle');
    const n = find(r.actions, 'SendNotification');
    expect([n.code, n.subcode, toHex(n.data), n.errorCode]).toEqual([2, 2, 'fde9', 'open.bad-peer-as']);
    expect(r.state.connectRetryCounter).toBe(1);
    expect(r.state.lastError).toMatchObject({ direction: 'sent', errorCode: 'open.bad-peer-as', code: 2, subcode: 2 });
    expect(find(r.actions, 'Transition').reason).toMatch(/^open.bad-peer-as: peer AS 65001, expected 64512; restarting in 1 s$/);
  });

  it('a peer hold time of 1 or 2 seconds is refused with OPEN/6', () => {
    for (const holdTime of [1, 2]) {
      const r = step(reach('OpenSent'), { type: 'BGPOpen', open: peerOpen({ holdTime }) }, T.open);
      const n = find(r.actions, 'SendNotification');
      expect([n.code, n.subcode]).toEqual([2, 6]);
    }
  });

  it('NotifMsgVerErr goes Idle without counting (RFC 4271 8.2.2)', () => {
    const r = step(reach('OpenSent'), EVENTS.NotifMsgVerErr, 50);
    expect(r.state.connectRetryCounter).toBe(0);
    expect(r.state.lastError).toMatchObject({ direction: 'received', code: 2, subcode: 1 });
  });
});

describe('OpenConfirm and Established', () => {
  it('KEEPALIVE brings the session up and announces the negotiation', () => {
    const r = step(reach('OpenConfirm'), EVENTS.KeepAliveMsg, T.keepalive);
    const est = find(r.actions, 'Established');
    expect(est.negotiated).toMatchObject({ peerAs: LOCAL_AS, peerBgpId: PEER_ID, internal: true, holdTime: 90, keepaliveMs: 30_000 });
    expect(r.state.establishedAt).toBe(T.keepalive);
    expect(r.state.timers.hold).toBe(T.keepalive + 90_000);
    expect(r.state.timers.keepalive).toBe(T.open + 30_000); // the keepalive timer keeps running
    expect(find(r.actions, 'Transition').reason).toBe(`KEEPALIVE received: session up with AS ${LOCAL_AS}`);
  });

  it('UPDATE and ROUTE-REFRESH are passed up and restart the hold timer', () => {
    const s = reach('Established');
    const u = step(s, EVENTS.UpdateMsg, 5000);
    expect(find(u.actions, 'DeliverUpdate').update).toBe(EVENTS.UpdateMsg.update);
    expect(u.state.timers.hold).toBe(95_000);
    const rr = step(s, EVENTS.RouteRefreshMsg, 6000);
    expect(find(rr.actions, 'DeliverRouteRefresh').refresh).toEqual({ type: 'route-refresh', afi: 1, safi: 1, subtype: 0 });
    expect(rr.state.timers.hold).toBe(96_000);
  });

  it('a ROUTE-REFRESH for a family we did not advertise is ignored (RFC 2918 4)', () => {
    const r = step(reach('Established'), { type: 'RouteRefreshMsg', refresh: { type: 'route-refresh', afi: 2, safi: 1, subtype: 0 } }, 100);
    expect(r.state.name).toBe('Established');
    expect(types(r.actions)).toEqual(['Log']);
  });

  it('leaving Established tells the RIB with SessionDown and the reason', () => {
    const r = step(reach('Established'), EVENTS.HoldTimer_Expires, 90_030);
    const down = find(r.actions, 'SessionDown');
    expect(down.reason).toBe('HoldTimer expired');
    expect(down.error).toMatchObject({ direction: 'sent', code: 4, subcode: 0 });
    expect(r.state.lastTransition?.reason).toBe('HoldTimer expired; restarting in 1 s');
  });

  it('an UPDATE error resets with its own NOTIFICATION and data', () => {
    const error = new WireError('update.attribute-length', 'ORIGIN length 2', { data: Uint8Array.of(0x40, 1, 2, 0, 0) });
    const r = step(reach('Established'), { type: 'UpdateMsgErr', error }, 100);
    const n = find(r.actions, 'SendNotification');
    expect([n.code, n.subcode, toHex(n.data)]).toEqual([3, 5, '4001020000']);
    expect(r.state.name).toBe('Idle');
  });

  it('an UpdateMsgErr of a lesser severity still resets (its routes are unknown) and says so', () => {
    const error = new WireError('update.invalid-origin', 'ORIGIN 7', { severity: 'treat-as-withdraw' });
    const r = step(reach('Established'), { type: 'UpdateMsgErr', error }, 100);
    expect(r.state.name).toBe('Idle');
    expect(find(r.actions, 'SessionDown').reason).toContain('severity treat-as-withdraw should have come inside the UPDATE');
  });

  it('an UPDATE with RFC 7606 problems is delivered, not an error', () => {
    const problem = new WireError('update.invalid-origin', 'ORIGIN 7', { severity: 'treat-as-withdraw' });
    const r = step(reach('Established'), { type: 'UpdateMsg', update: { ...EVENTS.UpdateMsg.update, problems: [problem] } }, 100);
    expect(r.state.name).toBe('Established');
    expect(types(r.actions)).toEqual(['DeliverUpdate']);
  });

  it('a received NOTIFICATION goes Idle silently and keeps the RFC 9003 text', () => {
    const r = step(reach('Established'), EVENTS.NotifMsg, 100);
    expect(types(r.actions)).not.toContain('SendNotification');
    expect(r.state.lastError).toMatchObject({ direction: 'received', code: 6, subcode: 2, shutdownMessage: 'maintenance' });
    expect(find(r.actions, 'SessionDown').reason).toBe('received NOTIFICATION 6/2 Cease / Administrative Shutdown: "maintenance"');
  });
});

describe('stopping', () => {
  it('ManualStop sends Cease/2 with the RFC 9003 shutdown communication and disables restarts', () => {
    const r = step(reach('Established'), { type: 'ManualStop', shutdownMessage: 'upgrade, back in 5' }, 100);
    const n = find(r.actions, 'SendNotification');
    expect([n.code, n.subcode]).toEqual([6, 2]);
    expect(n.data[0]).toBe(18);
    expect(new TextDecoder().decode(n.data.subarray(1))).toBe('upgrade, back in 5');
    expect(r.state.autoRestart).toBe(false);
    expect(r.state.timers.idleHold).toBeUndefined();
    expect(r.state.connectRetryCounter).toBe(0);
  });

  it('a long shutdown communication is cut to 255 octets at a character boundary', () => {
    const text = 'é'.repeat(200); // 400 octets of UTF-8
    const r = step(reach('OpenConfirm'), { type: 'ManualStop', shutdownMessage: text }, 100);
    const n = find(r.actions, 'SendNotification');
    expect(n.data[0]).toBe(254);
    expect(n.data.length).toBe(255);
    expect(new TextDecoder('utf-8', { fatal: true }).decode(n.data.subarray(1))).toBe('é'.repeat(127));
  });

  it('ManualStop may name another Cease subcode; only 2 and 4 carry text', () => {
    const r = step(reach('Established'), { type: 'ManualStop', cause: 'cease.peer-deconfigured', shutdownMessage: 'gone' }, 1);
    const n = find(r.actions, 'SendNotification');
    expect([n.code, n.subcode, n.data.length]).toEqual([6, 3, 0]);
    const reset = find(step(reach('Established'), { type: 'ManualStop', cause: 'cease.administrative-reset', shutdownMessage: 'x' }, 1).actions, 'SendNotification');
    expect([reset.subcode, toHex(reset.data)]).toEqual([4, '0178']);
  });

  it('AutomaticStop names its cause and counts as a failure (the session restarts after the back-off)', () => {
    const r = step(reach('Established'), { type: 'AutomaticStop', cause: 'cease.max-prefixes' }, 100);
    expect(find(r.actions, 'SendNotification').errorCode).toBe('cease.max-prefixes');
    expect(r.state.connectRetryCounter).toBe(1);
    expect(r.state.timers.idleHold).toBe(1100);
  });

  it('ManualStop in Idle cancels a pending automatic restart', () => {
    const down = step(reach('OpenSent'), EVENTS.HoldTimer_Expires, 5).state;
    expect(down.timers.idleHold).toBe(1005);
    const r = step(down, EVENTS.ManualStop, 6);
    expect(r.state.timers.idleHold).toBeUndefined();
    expect(r.state.autoRestart).toBe(false);
    expect(types(r.actions)).toEqual(['Log']);
  });
});

describe('counters and purity', () => {
  it('TcpConnectionFails in Connect keeps the counter; in Active it increments', () => {
    expect(step({ ...reach('Connect'), connectRetryCounter: 3 }, EVENTS.TcpConnectionFails, 1).state.connectRetryCounter).toBe(3);
    expect(step({ ...reach('Active'), connectRetryCounter: 3 }, EVENTS.TcpConnectionFails, 1).state.connectRetryCounter).toBe(4);
  });

  it('the same state, event and time give the same result', () => {
    const s: SessionState = reach('OpenSent');
    const a = step(s, EVENTS.BGPOpen, 20);
    const b = step(s, EVENTS.BGPOpen, 20);
    expect(a).toEqual(b);
  });

  it('a NOTIFICATION with data survives into lastError', () => {
    const n = { type: 'notification' as const, code: 3, subcode: 1, data: Uint8Array.of(1, 2) };
    const r = step(reach('Established'), { type: 'NotifMsg', notification: n }, 1);
    expect(bytesEqual(r.state.lastError?.data ?? new Uint8Array(), Uint8Array.of(1, 2))).toBe(true);
  });
});
