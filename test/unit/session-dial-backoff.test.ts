/**
 * Issue 15: refused dials back off (backoff.ts dialRetryMs, fsm.ts Connect TcpConnectionFails) and
 * a passive mesh session dials once when it starts (dialOnStart, fsm-common.ts start).
 */
import { describe, expect, it } from 'vitest';
import { dialRetryMs } from '../../src/session/backoff.js';
import { createSession, step, type SessionState } from '../../src/session/index.js';
import { EVENTS, config, peerOpen, reach, run, session, types } from './session-fixtures.js';

const REFUSED = { type: 'TcpConnectionFails', reason: 'connect ECONNREFUSED' } as const;

/** Refuses every dial of `s` (started, in Connect) `n` times; returns the waits in Active and the state. */
function refuseDials(s: SessionState, n: number, t0: number): { waits: number[]; state: SessionState; now: number } {
  const waits: number[] = [];
  let now = t0;
  for (let i = 0; i < n; i++) {
    expect(s.name).toBe('Connect');
    s = step(s, REFUSED, now).state;
    expect(s.name).toBe('Active');
    const due = s.timers.connectRetry;
    if (due === undefined) throw new Error('no ConnectRetryTimer in Active');
    waits.push(due - now);
    // Nothing happens before the timer; at its expiry the next dial goes out.
    expect(step(s, { type: 'Tick' }, due - 1).actions).toEqual([]);
    const r = step(s, { type: 'Tick' }, due);
    expect(types(r.actions)).toEqual(['Connect', 'Transition']);
    s = r.state;
    now = due;
  }
  return { waits, state: s, now };
}

describe('dialRetryMs', () => {
  it('starts at ConnectRetryTime and doubles up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => dialRetryMs(5_000, 30_000, n))).toEqual([5_000, 10_000, 20_000, 30_000, 30_000, 30_000]);
    expect(dialRetryMs(1_000, 30_000, 0)).toBe(1_000);
    expect(dialRetryMs(1_000, 30_000, 1_000)).toBe(30_000); // no overflow for long runs
  });

  it('never waits less than ConnectRetryTime, whatever the cap', () => {
    expect([1, 2, 5].map((n) => dialRetryMs(120_000, 30_000, n))).toEqual([120_000, 120_000, 120_000]);
  });
});

describe('refused dials back off (RFC 4271 10: ConnectRetryTime is the initial value)', () => {
  it('each refused dial in a row doubles the wait in Active, up to max(ConnectRetryTime, 30 s)', () => {
    const s = step(session({ connectRetryTime: 5 }), EVENTS.ManualStart, 0).state;
    expect(s.config.connectRetryMaxTime).toBe(30);
    const { waits, state } = refuseDials(s, 6, 0);
    expect(waits).toEqual([5_000, 10_000, 20_000, 30_000, 30_000, 30_000]);
    expect(state.dialFailures).toBe(6);
    // The RFC's ConnectRetryCounter is not what grows (it counts sessions that failed, not dials).
    expect(state.connectRetryCounter).toBe(0);
  });

  it('the reason says when the next dial goes out', () => {
    const s = refuseDials(step(session({ connectRetryTime: 5 }), EVENTS.ManualStart, 0).state, 2, 0).state;
    const r = step(s, REFUSED, 15_000);
    expect(r.actions.find((a) => a.type === 'Transition')).toMatchObject({ reason: 'TCP connection failed: connect ECONNREFUSED; listening, dialling again in 20 s' });
  });

  it('connectRetryMaxTime sets the cap; below ConnectRetryTime it is refused, naming the field', () => {
    const s = step(session({ connectRetryTime: 5, connectRetryMaxTime: 12 }), EVENTS.ManualStart, 0).state;
    expect(refuseDials(s, 4, 0).waits).toEqual([5_000, 10_000, 12_000, 12_000]);
    expect(() => createSession(config({ connectRetryTime: 5, connectRetryMaxTime: 4 }))).toThrow(/connectRetryMaxTime must be an integer in 5\.\.65535, got 4/);
    // A ConnectRetryTime above the default cap is the cap: the wait never grows.
    expect(createSession(config({ connectRetryTime: 120 })).config.connectRetryMaxTime).toBe(120);
  });

  it("the peer's connection is still accepted at once in Active, and resets the back-off", () => {
    const backedOff = refuseDials(step(session({ connectRetryTime: 5 }), EVENTS.ManualStart, 0).state, 5, 0);
    expect(backedOff.state.name).toBe('Connect');
    const active = step(backedOff.state, REFUSED, backedOff.now).state;
    expect(active.timers.connectRetry! - backedOff.now).toBe(30_000);
    const inbound = step(active, EVENTS.TcpConnectionConfirmed, backedOff.now + 1);
    expect(inbound.state.name).toBe('OpenSent');
    expect(types(inbound.actions)).toEqual(['SendOpen', 'Transition']);
    expect(inbound.state.dialFailures).toBe(0);
  });

  it('after a clean flap the next refused dial waits ConnectRetryTime again (clean flaps are not damped)', () => {
    let s = refuseDials(step(session({ connectRetryTime: 5 }), EVENTS.ManualStart, 0).state, 4, 0).state;
    // The dial goes through: the session comes up, then the peer restarts cleanly.
    s = run(s, [
      [EVENTS.Tcp_CR_Acked, 100_000],
      [{ type: 'BGPOpen', open: peerOpen() }, 100_010],
      [EVENTS.KeepAliveMsg, 100_020],
      [{ type: 'TcpConnectionFails', reason: 'peer closed' }, 100_030],
    ]).state;
    expect(s.name).toBe('Idle');
    const restartAt = s.timers.idleHold!;
    expect(restartAt - 100_030).toBeLessThanOrEqual(5_000);
    s = step(s, { type: 'Tick' }, restartAt).state;
    expect(s.name).toBe('Connect');
    expect(refuseDials(s, 2, restartAt).waits).toEqual([5_000, 10_000]);
  });

  it('ManualStart starts the back-off afresh; an automatic restart keeps it', () => {
    const backedOff = refuseDials(step(session({ connectRetryTime: 5 }), EVENTS.ManualStart, 0).state, 4, 0);
    const stopped = step(backedOff.state, EVENTS.ManualStop, backedOff.now).state;
    const again = step(stopped, EVENTS.ManualStart, backedOff.now + 1).state;
    expect(again.dialFailures).toBe(0);
    expect(step(again, REFUSED, backedOff.now + 2).state.timers.connectRetry).toBe(backedOff.now + 2 + 5_000);
    // A NOTIFICATION in Connect sends the session to Idle; its automatic restart does not reset the count.
    const idle = step(backedOff.state, { type: 'NotifMsg', notification: { type: 'notification', code: 6, subcode: 5, data: new Uint8Array() } }, backedOff.now).state;
    expect(idle.name).toBe('Idle');
    const restarted = step(idle, { type: 'Tick' }, idle.timers.idleHold!).state;
    expect(restarted.name).toBe('Connect');
    expect(restarted.dialFailures).toBe(4);
  });

  it('a dial that completes resets the count', () => {
    const backedOff = refuseDials(step(session({ connectRetryTime: 5 }), EVENTS.ManualStart, 0).state, 3, 0);
    expect(step(backedOff.state, EVENTS.Tcp_CR_Acked, backedOff.now).state.dialFailures).toBe(0);
  });
});

describe('dialOnStart: a passive (mesh) session dials once when it starts', () => {
  const cfg = { passive: true, dialOnStart: true, connectRetryTime: 5 };

  it('ManualStart dials once; refused, it waits in Active with no ConnectRetryTimer and never dials again', () => {
    const r = step(session(cfg), EVENTS.ManualStart, 0);
    expect(r.state.name).toBe('Connect');
    expect(types(r.actions)).toEqual(['Connect', 'Transition']);
    expect(r.actions.find((a) => a.type === 'Transition')).toMatchObject({ reason: 'ManualStart: connecting to the peer once, then waiting for it (passive)' });
    const refused = step(r.state, REFUSED, 3);
    expect(refused.state.name).toBe('Active');
    expect(refused.state.timers).toEqual({ connectRetry: undefined, hold: undefined, keepalive: undefined, idleHold: undefined });
    expect(types(refused.actions)).toEqual(['Transition']);
    expect(step(refused.state, { type: 'Tick' }, 10_000_000).actions).toEqual([]);
    // The peer's connection is accepted.
    expect(step(refused.state, EVENTS.TcpConnectionConfirmed, 9_000).state.name).toBe('OpenSent');
  });

  it('a dial at start that is never answered is abandoned at ConnectRetry, and the session waits', () => {
    const s = step(session(cfg), EVENTS.ManualStart, 0).state;
    expect(s.timers.connectRetry).toBe(5_000);
    const r = step(s, { type: 'Tick' }, 5_000);
    expect(r.state.name).toBe('Active');
    expect(types(r.actions)).toEqual(['Disconnect', 'Transition']);
    expect(r.state.timers.connectRetry).toBeUndefined();
  });

  it('the dial at start may bring the session up', () => {
    const s = run(session(cfg), [
      [EVENTS.ManualStart, 0],
      [EVENTS.Tcp_CR_Acked, 1],
    ]).state;
    expect(s.name).toBe('OpenSent');
    expect(s.connection).toBe('outbound');
  });

  it('only ManualStart dials: ManualStart_Passive (a racing second session), AutomaticStart and restarts do not', () => {
    for (const ev of [EVENTS.ManualStart_Passive, EVENTS.AutomaticStart]) {
      const r = step(session(cfg), ev, 0);
      expect(r.state.name).toBe('Active');
      expect(types(r.actions)).toEqual(['Transition']);
    }
    // Established, then the connection closes: the automatic restart waits passively.
    const est = reach('Established', cfg);
    const idle = step(est, { type: 'TcpConnectionFails', reason: 'peer closed' }, 100).state;
    const restarted = step(idle, { type: 'Tick' }, idle.timers.idleHold!);
    expect(restarted.state.name).toBe('Active');
    expect(types(restarted.actions)).not.toContain('Connect');
  });

  it('without passive, dialOnStart changes nothing; passive without it never dials', () => {
    const r = step(session({ dialOnStart: true, connectRetryTime: 5 }), EVENTS.ManualStart, 0);
    expect(r.actions.find((a) => a.type === 'Transition')).toMatchObject({ reason: 'ManualStart: connecting to the peer' });
    const p = step(session({ passive: true, connectRetryTime: 5 }), EVENTS.ManualStart, 0);
    expect(p.state.name).toBe('Active');
    expect(types(p.actions)).toEqual(['Transition']);
  });
});
