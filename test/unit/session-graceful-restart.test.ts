/** Graceful restart in the FSM (RFC 4724 4.2, RFC 8538): which session ends keep the peer's routes, and what a stop sends. */
import { describe, expect, it } from 'vitest';
import { GracefulRestartFlag, localCapabilities, step, type Action, type SessionEvent } from '../../src/session/index.js';
import { toHex } from '../../src/lib/hex.js';
import { WireError } from '../../src/wire/errors.js';
import { LOCAL_AS, notification, notifications, peerOpen, reach } from './session-fixtures.js';

const N = GracefulRestartFlag.NOTIFICATION;
const F = GracefulRestartFlag.FORWARDING_STATE;
const caps = (flags: number | undefined) =>
  localCapabilities({ localAs: LOCAL_AS, ...(flags === undefined ? {} : { gracefulRestart: { restartTime: 120, flags, families: [{ afi: 1, safi: 1, flags: F }] } }) });

/** Established with GR on our side (`ours` flags) and the peer's (`theirs`); undefined: no capability. */
function established(ours: number | undefined, theirs: number | undefined) {
  return reach('Established', { capabilities: caps(ours) }, peerOpen({ capabilities: caps(theirs) }));
}

function down(actions: Action[]): Extract<Action, { type: 'SessionDown' }> {
  const d = actions.find((a): a is Extract<Action, { type: 'SessionDown' }> => a.type === 'SessionDown');
  if (!d) throw new Error('no SessionDown');
  return d;
}

const ends: Record<string, SessionEvent> = {
  tcp: { type: 'TcpConnectionFails', reason: 'ECONNRESET' },
  hold: { type: 'HoldTimer_Expires' },
  ceaseIn: { type: 'NotifMsg', notification: notification(6, 2, 'bye') },
  hardResetIn: { type: 'NotifMsg', notification: notification(6, 9) },
  errorIn: { type: 'NotifMsg', notification: notification(3, 1) },
  updateErr: { type: 'UpdateMsgErr', error: new WireError('update.malformed-attribute-list', 'bad') },
};

describe('graceful restart: retention on session end (RFC 4724 4.2, RFC 8538 4)', () => {
  it('TCP failure keeps the routes, with the peer restart time and families', () => {
    const r = step(established(0, 0), ends.tcp, 100);
    expect(down(r.actions).retain).toMatchObject({ restartTime: 120, families: [{ afi: 1, safi: 1 }], notification: false });
  });

  it('hold timer expiry keeps them (with and without N)', () => {
    expect(down(step(established(0, 0), ends.hold, 1e6).actions).retain).toBeDefined();
    expect(down(step(established(N, N), ends.hold, 1e6).actions).retain?.notification).toBe(true);
  });

  it('without N a NOTIFICATION received or sent ends graceful restart', () => {
    expect(down(step(established(0, 0), ends.ceaseIn, 100).actions).retain).toBeUndefined();
    expect(down(step(established(0, 0), ends.updateErr, 100).actions).retain).toBeUndefined();
    // N on one side only is not negotiated.
    expect(down(step(established(N, 0), ends.ceaseIn, 100).actions).retain).toBeUndefined();
    expect(down(step(established(0, N), ends.ceaseIn, 100).actions).retain).toBeUndefined();
  });

  it('with N every NOTIFICATION but Cease/Hard Reset keeps the routes', () => {
    expect(down(step(established(N, N), ends.ceaseIn, 100).actions).retain).toBeDefined();
    expect(down(step(established(N, N), ends.errorIn, 100).actions).retain).toBeDefined();
    expect(down(step(established(N, N), ends.updateErr, 100).actions).retain).toBeDefined();
    expect(down(step(established(N, N), ends.hardResetIn, 100).actions).retain).toBeUndefined();
  });

  it('no retention when either side lacks the capability or the peer lists no family', () => {
    expect(down(step(established(undefined, 0), ends.tcp, 100).actions).retain).toBeUndefined();
    expect(down(step(established(0, undefined), ends.tcp, 100).actions).retain).toBeUndefined();
    const noFamilies = localCapabilities({ localAs: LOCAL_AS, gracefulRestart: { restartTime: 120, families: [] } });
    const s = reach('Established', { capabilities: caps(0) }, peerOpen({ capabilities: noFamilies }));
    expect(down(step(s, ends.tcp, 100).actions).retain).toBeUndefined();
  });
});

describe('graceful restart: administrative stops (RFC 8538 5)', () => {
  it('graceful stop without N sends no NOTIFICATION, just closes', () => {
    const r = step(established(0, 0), { type: 'ManualStop', mode: 'graceful', shutdownMessage: 'restarting' }, 100);
    expect(notifications(r.actions)).toEqual([]);
    expect(r.actions.map((a) => a.type)).toContain('Disconnect');
    expect(r.state.name).toBe('Idle');
  });

  it('graceful stop with N sends Cease/Administrative Reset (a graceful Cease) with the text', () => {
    const r = step(established(N, N), { type: 'ManualStop', mode: 'graceful', shutdownMessage: 'restarting' }, 100);
    expect(notifications(r.actions)).toEqual([[6, 4]]);
  });

  it('graceful stop of a session without GR sends the usual Cease', () => {
    const r = step(established(undefined, undefined), { type: 'ManualStop', mode: 'graceful' }, 100);
    expect(notifications(r.actions)).toEqual([[6, 2]]);
  });

  it('withdraw with N sends Hard Reset wrapping Administrative Shutdown; without N a plain Cease/2', () => {
    const r = step(established(N, N), { type: 'ManualStop', mode: 'withdraw', shutdownMessage: 'bye' }, 100);
    const n = r.actions.find((a): a is Extract<Action, { type: 'SendNotification' }> => a.type === 'SendNotification')!;
    expect([n.code, n.subcode]).toEqual([6, 9]);
    // Data: 06 02 (the Cease it stands for), then that Cease's RFC 9003 text (length 3, "bye").
    expect(toHex(n.data)).toBe('060203627965');
    expect(notifications(step(established(0, 0), { type: 'ManualStop', mode: 'withdraw' }, 100).actions)).toEqual([[6, 2]]);
  });

  it('with N the Hard Reset causes of RFC 8538 5 are wrapped (max-prefix), graceful Ceases are not', () => {
    expect(notifications(step(established(N, N), { type: 'ManualStop', cause: 'cease.max-prefixes' }, 100).actions)).toEqual([[6, 9]]);
    expect(notifications(step(established(N, N), { type: 'ManualStop', cause: 'cease.peer-deconfigured' }, 100).actions)).toEqual([[6, 9]]);
    expect(notifications(step(established(N, N), { type: 'AutomaticStop', cause: 'cease.other-configuration-change' }, 100).actions)).toEqual([[6, 6]]);
    expect(notifications(step(established(0, 0), { type: 'ManualStop', cause: 'cease.max-prefixes' }, 100).actions)).toEqual([[6, 1]]);
  });

  it('a Hard Reset we send ends graceful restart on our side too', () => {
    const r = step(established(N, N), { type: 'ManualStop', mode: 'withdraw' }, 100);
    expect(down(r.actions).retain).toBeUndefined();
  });
});

describe('a received Hard Reset names what it stands for (RFC 8538 3)', () => {
  it('the inner Cease, with its shutdown communication', async () => {
    const { receivedReason } = await import('../../src/session/fsm-common.js');
    const inner = Uint8Array.of(6, 3);
    expect(receivedReason({ type: 'notification', code: 6, subcode: 9, data: inner })).toBe('received NOTIFICATION 6/9 Cease / Hard Reset (6/3 Cease / Peer De-configured)');
    const text = Buffer.from('bye');
    const withText = Uint8Array.from([6, 2, text.length, ...text]);
    expect(receivedReason({ type: 'notification', code: 6, subcode: 9, data: withText })).toBe('received NOTIFICATION 6/9 Cease / Hard Reset (6/2 Cease / Administrative Shutdown: "bye")');
    expect(receivedReason({ type: 'notification', code: 6, subcode: 9, data: new Uint8Array(0) })).toBe('received NOTIFICATION 6/9 Cease / Hard Reset');
  });
});
