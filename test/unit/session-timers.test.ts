/** Timers as data: deadlines, expiry at exactly the deadline, keepalive scheduling, idle-hold back-off. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expiredTimers, keepaliveMs, nextBackoff, nextDeadline, restartWait, step, type SessionEvent, type SessionState } from '../../src/session/index.js';
import { EVENTS, T, notification, peerOpen, reach, run, session, types, type EventName } from './session-fixtures.js';

const tick = { type: 'Tick' } as const;

describe('deadlines', () => {
  it('nextDeadline is the earliest running timer; none in a fresh Idle', () => {
    expect(nextDeadline(session())).toBeUndefined();
    expect(nextDeadline(reach('Connect'))).toBe(120_000);
    expect(nextDeadline(reach('OpenSent'))).toBe(T.tcp + 240_000);
    expect(nextDeadline(reach('Established'))).toBe(T.open + 30_000); // keepalive before hold
  });

  it('expiredTimers lists the due timers in order, a deadline equal to now included', () => {
    const s: SessionState = { ...reach('Established'), timers: { connectRetry: undefined, hold: 500, keepalive: 500, idleHold: undefined } };
    expect(expiredTimers(s, 499)).toEqual([]);
    expect(expiredTimers(s, 500)).toEqual([{ type: 'HoldTimer_Expires' }, { type: 'KeepaliveTimer_Expires' }]);
  });

  it('a Tick with nothing due changes nothing', () => {
    const s = reach('Established');
    const r = step(s, tick, 100);
    expect(r.state).toBe(s);
    expect(r.actions).toEqual([]);
  });

  it('hold and keepalive due together: the hold timer wins and no KEEPALIVE goes out', () => {
    const s: SessionState = { ...reach('Established'), timers: { connectRetry: undefined, hold: 500, keepalive: 500, idleHold: undefined } };
    const r = step(s, tick, 500);
    expect(r.state.name).toBe('Idle');
    expect(types(r.actions)).not.toContain('SendKeepalive');
  });
});

describe('ConnectRetry in Connect: a dial that does not complete is abandoned and retried (RFC 4271 8.2.2)', () => {
  const RETRY = 120_000;

  /** In Connect with the ConnectRetryTimer running, and nextDeadline reporting it. */
  function expectDialTimer(s: SessionState, deadline: number): void {
    expect(s.name).toBe('Connect');
    expect(s.timers.connectRetry).toBe(deadline);
    expect(nextDeadline(s)).toBe(deadline);
  }

  it('runs in every path into Connect', () => {
    // ManualStart and AutomaticStart from Idle.
    expectDialTimer(step(session(), EVENTS.ManualStart, 5).state, 5 + RETRY);
    expectDialTimer(step(session(), EVENTS.AutomaticStart, 5).state, 5 + RETRY);
    // The IdleHoldTimer restart after a session went down.
    const down = step(reach('Established'), EVENTS.HoldTimer_Expires, 1000).state;
    expectDialTimer(step(down, tick, down.timers.idleHold!).state, 2000 + RETRY);
    // Active -> Connect when ConnectRetry expires: after ManualStart_Passive, after a failed dial,
    // and after a connection lost in OpenSent.
    const passiveStart = step(session(), EVENTS.ManualStart_Passive, 0).state;
    expectDialTimer(step(passiveStart, tick, RETRY).state, 2 * RETRY);
    const failedDial = step(reach('Connect'), EVENTS.TcpConnectionFails, 10).state;
    expectDialTimer(step(failedDial, tick, 10 + RETRY).state, 10 + 2 * RETRY);
    const lost = step(reach('OpenSent'), EVENTS.TcpConnectionFails, 50).state;
    expectDialTimer(step(lost, tick, 50 + RETRY).state, 50 + 2 * RETRY);
    // Connect -> Connect on expiry.
    expectDialTimer(step(reach('Connect'), tick, RETRY).state, 2 * RETRY);
  });

  it('a dial still in flight at expiry is dropped, then dialled again, and the retry is logged', () => {
    const r = step(reach('Connect'), tick, RETRY);
    expect(types(r.actions)).toEqual(['Disconnect', 'Connect', 'Log']);
    expect(r.actions[2]).toEqual({ type: 'Log', level: 'info', message: 'ConnectRetryTimer expired in Connect: dial abandoned after 120 s, dialling again' });
    expect(r.state.connectRetryCounter).toBe(0);
  });

  /** Events a fuzzed agent may feed (a Tick at a random time stands for any timer). */
  const anyEvent = fc.constantFrom(...(Object.keys(EVENTS) as EventName[])).map((n): SessionEvent => EVENTS[n]);
  const script = fc.array(fc.tuple(fc.oneof(anyEvent, fc.constant<SessionEvent>({ type: 'Tick' })), fc.integer({ min: 0, max: 200_000 })), { maxLength: 40 });

  it('property: after any sequence of events, a session that can go anywhere has a deadline to get there', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), script, (passive, zeroHold, events) => {
        let s = session({ passive, holdTime: zeroHold ? 0 : 90 });
        let now = 0;
        for (const [ev, dt] of events) {
          now += dt;
          s = step(s, ev, now).state;
          const t = s.timers;
          // Connect is a dial in flight: it always ends at ConnectRetry expiry.
          if (s.name === 'Connect') expect(t.connectRetry).toBeGreaterThan(0);
          // Active dials when ConnectRetry expires, unless the session never dials.
          if (s.name === 'Active') expect(t.connectRetry === undefined).toBe(s.config.passive);
          // A session down by itself comes back at IdleHold expiry.
          if (s.name === 'Idle') expect(t.idleHold !== undefined).toBe(s.autoRestart);
          if (s.name === 'OpenSent') expect(t.hold).toBeDefined();
          if ((s.name === 'OpenConfirm' || s.name === 'Established') && s.negotiated?.holdTime) expect(t.hold).toBeDefined();
          // The agent's one setTimeout: nextDeadline reports a running timer whenever there is one.
          expect(nextDeadline(s) === undefined).toBe(Object.values(t).every((x) => x === undefined));
          // No deadline in the past is left behind by a timer event handled at `now`.
          if (ev.type === 'Tick') expect(expiredTimers(s, now)).toEqual([]);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('hold timer', () => {
  it('OpenSent: expires at exactly now = deadline (4 minutes), not a millisecond before', () => {
    const s = reach('OpenSent');
    const deadline = T.tcp + 240_000;
    expect(step(s, tick, deadline - 1).state.name).toBe('OpenSent');
    const r = step(s, tick, deadline);
    expect(r.state.name).toBe('Idle');
    expect(r.actions.find((a) => a.type === 'SendNotification')).toMatchObject({ code: 4, subcode: 0 });
    expect(r.state.lastTransition).toMatchObject({ from: 'OpenSent', to: 'Idle', event: 'HoldTimer_Expires', at: deadline });
  });

  it('Established: each KEEPALIVE pushes the deadline; silence expires it at exactly hold time', () => {
    let s = reach('Established');
    s = step(s, EVENTS.KeepAliveMsg, 60_000).state;
    expect(s.timers.hold).toBe(150_000);
    // Our own keepalives are due every 30 s meanwhile.
    const beforeHold = run(s, [[tick, 30_020], [tick, 60_020], [tick, 90_020], [tick, 120_020], [tick, 149_999]]);
    expect(beforeHold.state.name).toBe('Established');
    expect(types(beforeHold.actions)).toEqual(['SendKeepalive', 'SendKeepalive', 'SendKeepalive', 'SendKeepalive']);
    const r = step(beforeHold.state, tick, 150_000);
    expect(r.state.name).toBe('Idle');
  });

  it('hold time 0 (ours or theirs): no hold timer and no keepalives', () => {
    for (const [ours, theirs] of [[0, 90], [90, 0]]) {
      const s = reach('Established', { holdTime: ours }, peerOpen({ holdTime: theirs }));
      expect(s.negotiated?.holdTime).toBe(0);
      expect(s.timers).toEqual({ connectRetry: undefined, hold: undefined, keepalive: undefined, idleHold: undefined });
      expect(nextDeadline(s)).toBeUndefined();
      expect(step(s, EVENTS.KeepAliveMsg, 10_000_000).state.timers.hold).toBeUndefined();
    }
  });
});

describe('keepalive scheduling', () => {
  it('is one third of the negotiated (smaller) hold time', () => {
    const s = reach('OpenConfirm', {}, peerOpen({ holdTime: 9 }));
    expect(s.negotiated?.holdTime).toBe(9);
    expect(s.timers.keepalive).toBe(T.open + 3000);
    expect(s.timers.hold).toBe(T.open + 9000);
    const r = step(s, tick, T.open + 3000);
    expect(types(r.actions)).toEqual(['SendKeepalive']);
    expect(r.state.timers.keepalive).toBe(T.open + 6000);
  });

  it('uses a configured interval, but never more than a third of the hold time', () => {
    expect(keepaliveMs(90, 10)).toBe(10_000);
    expect(keepaliveMs(90, 60)).toBe(30_000);
    expect(keepaliveMs(10, undefined)).toBe(3333);
    expect(keepaliveMs(0, 10)).toBe(0);
    expect(reach('OpenConfirm', { keepaliveTime: 10 }).timers.keepalive).toBe(T.open + 10_000);
  });
});

describe('idle-hold back-off', () => {
  /** Brings the session down from OpenSent (the peer refuses our OPEN: 2/2 Bad Peer AS) at `now`. */
  function flapAt(s: SessionState, now: number): { state: SessionState; wait: number } {
    const r = step(s, { type: 'NotifMsg', notification: notification(2, 2) }, now);
    expect(r.state.name).toBe('Idle');
    return { state: r.state, wait: (r.state.timers.idleHold ?? NaN) - now };
  }

  /** From Idle after the wait: restart, connect, and reach OpenSent again. */
  function reopen(s: SessionState, now: number): SessionState {
    let r = step(s, tick, now);
    expect(r.state.name).toBe('Connect');
    expect(types(r.actions)).toEqual(['Connect', 'Transition']);
    expect(r.state.lastTransition?.event).toBe('IdleHoldTimer_Expires');
    r = step(r.state, EVENTS.Tcp_CR_Acked, now);
    expect(r.state.name).toBe('OpenSent');
    return r.state;
  }

  it('doubles on each consecutive flap up to the maximum, restarting on IdleHoldTimer expiry', () => {
    let s = reach('OpenSent');
    let now = T.tcp;
    const waits: number[] = [];
    for (let i = 0; i < 9; i++) {
      const f = flapAt(s, now);
      waits.push(f.wait);
      now += f.wait;
      s = reopen(f.state, now);
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 64000, 120000, 120000]);
    expect(s.backoff.flaps).toBe(9);
  });

  it('a peer that is only unreachable (TCP fails in Connect) is retried from Active, the idle-hold back-off untouched', () => {
    // Issue 15: the ConnectRetry wait itself doubles per refused dial up to 30 s (session-dial-backoff.test.ts);
    // the idle-hold back-off (failures of sessions that got a connection) does not grow.
    let s = { ...reach('Connect', { connectRetryTime: 5 }), backoff: { nextMs: 64_000, flaps: 6 } };
    let now = 0;
    const waits = [5000, 10_000, 20_000, 30_000];
    for (let i = 0; i < 4; i++) {
      const r = step(s, EVENTS.TcpConnectionFails, now + 3);
      expect(r.state.name).toBe('Active');
      expect(r.state.timers.connectRetry).toBe(now + 3 + waits[i]);
      expect(nextDeadline(r.state)).toBe(now + 3 + waits[i]);
      expect(r.state.backoff).toEqual({ nextMs: 64_000, flaps: 6 });
      now += 3 + waits[i];
      const again = step(r.state, tick, now);
      expect(types(again.actions)).toEqual(['Connect', 'Transition']);
      s = again.state;
      expect(s.name).toBe('Connect');
    }
  });

  it('a connection that ends in Connect or Active for another reason restarts within ConnectRetry, without growth', () => {
    const grown = { ...reach('Connect', { connectRetryTime: 5 }), backoff: { nextMs: 64_000, flaps: 6 } };
    const r = step(grown, EVENTS.AutomaticStop, 0);
    expect(r.state.name).toBe('Idle');
    expect(r.state.timers.idleHold).toBe(5000);
    expect(r.state.backoff).toEqual({ nextMs: 64_000, flaps: 6 });
    // A short back-off is not lengthened up to ConnectRetry either.
    const fresh = step(reach('Connect', { connectRetryTime: 5 }), EVENTS.AutomaticStop, 0).state;
    expect(fresh.timers.idleHold).toBe(1000);
  });

  it('resets after a session stayed Established for the stable period', () => {
    const grown = { ...reach('Established'), backoff: { nextMs: 64_000, flaps: 6 } };
    const error = { type: 'NotifMsg', notification: notification(3, 1) } as const; // an UPDATE error
    // Up only 59.999 s: keeps growing.
    const short = step(grown, error, T.keepalive + 59_999).state;
    expect(short.timers.idleHold).toBe(T.keepalive + 59_999 + 64_000);
    expect(short.backoff).toEqual({ nextMs: 120_000, flaps: 7 });
    // Up 60 s: back to the first wait.
    const long = step(grown, error, T.keepalive + 60_000).state;
    expect(long.timers.idleHold).toBe(T.keepalive + 60_000 + 1000);
    expect(long.backoff).toEqual({ nextMs: 2000, flaps: 1 });
    // A clean end after the stable period resets it too.
    const clean = step(grown, EVENTS.NotifMsg, T.keepalive + 60_000).state;
    expect(clean.timers.idleHold).toBe(T.keepalive + 60_000 + 1000);
    expect(clean.backoff).toEqual({ nextMs: 1000, flaps: 0 });
  });

  /** Established (hold 90 s, ConnectRetry 5 s) with the given back-off, at T.keepalive. */
  function up(backoff = { nextMs: 1000, flaps: 0 }): SessionState {
    return { ...reach('Established', { connectRetryTime: 5 }), backoff };
  }

  /** The wait and back-off after `ev` ends the session in `s` at time 1000 (must go to Idle). */
  function endWith(s: SessionState, ev: SessionEvent): { wait: number; backoff: SessionState['backoff'] } {
    const r = step(s, ev, 1000);
    expect(r.state.name).toBe('Idle');
    expect(r.state.autoRestart).toBe(true);
    return { wait: r.state.timers.idleHold! - 1000, backoff: r.state.backoff };
  }

  const CLEAN_ENDS: [string, SessionEvent][] = [
    ['Cease / Administrative Shutdown received (birdc disable)', EVENTS.NotifMsg],
    ['Cease / Administrative Reset received (birdc restart)', { type: 'NotifMsg', notification: notification(6, 4) }],
    ['Cease / Peer De-configured received', { type: 'NotifMsg', notification: notification(6, 3) }],
    ['Cease / Hard Reset received', { type: 'NotifMsg', notification: notification(6, 9) }],
    ['the TCP connection closed after Established (peer restart)', { type: 'TcpConnectionFails', reason: 'read ECONNRESET' }],
    ['our administrative reset', { type: 'AutomaticStop', cause: 'cease.administrative-reset' }],
    ['our configuration change', { type: 'AutomaticStop', cause: 'cease.other-configuration-change' }],
  ];

  for (const [what, ev] of CLEAN_ENDS) {
    it(`a clean end does not grow the wait, and never waits longer than ConnectRetry: ${what}`, () => {
      expect(endWith(up(), ev)).toEqual({ wait: 1000, backoff: { nextMs: 1000, flaps: 0 } });
      // After earlier errors grew it, the clean end keeps it but restarts within ConnectRetry.
      expect(endWith(up({ nextMs: 64_000, flaps: 6 }), ev)).toEqual({ wait: 5000, backoff: { nextMs: 64_000, flaps: 6 } });
    });
  }

  it('five clean flaps in a row each restart within ConnectRetry', () => {
    let s = reach('Established', { connectRetryTime: 5 });
    let now: number = T.keepalive;
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      now += 10_000; // up 10 s: far from the stable period, so no reset helps
      const down = step(s, { type: 'NotifMsg', notification: notification(6, i % 2 ? 4 : 2) }, now).state;
      const wait = down.timers.idleHold! - now;
      waits.push(wait);
      now += wait;
      s = run(down, [[tick, now], [EVENTS.Tcp_CR_Acked, now + 1], [EVENTS.BGPOpen, now + 2], [EVENTS.KeepAliveMsg, now + 3]]).state;
      expect(s.name).toBe('Established');
      now += 3;
    }
    expect(waits).toEqual([1000, 1000, 1000, 1000, 1000]);
    for (const w of waits) expect(w).toBeLessThanOrEqual(5000);
    expect(s.backoff).toEqual({ nextMs: 1000, flaps: 0 });
  });

  it('five OPEN errors in a row grow the wait', () => {
    let s = reach('OpenSent');
    let now: number = T.tcp;
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const down = step(s, { type: 'BGPOpen', open: peerOpen({ asn: 65001 }) }, now).state; // we send OPEN/2 Bad Peer AS
      expect(down.lastError).toMatchObject({ direction: 'sent', code: 2, subcode: 2 });
      waits.push(down.timers.idleHold! - now);
      now = down.timers.idleHold!;
      s = run(down, [[tick, now], [EVENTS.Tcp_CR_Acked, now]]).state;
      expect(s.name).toBe('OpenSent');
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect(s.backoff).toEqual({ nextMs: 32_000, flaps: 5 });
  });

  const FAILURES: [string, SessionState['name'], SessionEvent][] = [
    ['an UPDATE error NOTIFICATION received', 'Established', { type: 'NotifMsg', notification: notification(3, 1) }],
    ['a version NOTIFICATION received', 'Established', EVENTS.NotifMsgVerErr],
    ['hold timer expiry', 'Established', EVENTS.HoldTimer_Expires],
    ['an UPDATE decode error (we send 3/x)', 'Established', EVENTS.UpdateMsgErr],
    ['a header error (we send 1/x)', 'Established', EVENTS.BGPHeaderErr],
    ['an FSM error (a second OPEN)', 'Established', EVENTS.BGPOpen],
    ['our max-prefix stop (Cease, but a failure)', 'Established', EVENTS.AutomaticStop],
    ['hold timer expiry before Established', 'OpenConfirm', EVENTS.HoldTimer_Expires],
    ['TCP closed before Established', 'OpenConfirm', EVENTS.TcpConnectionFails],
    ['a Cease received before Established (the peer rejects us)', 'OpenSent', { type: 'NotifMsg', notification: notification(6, 5) }],
    ['an OPEN error received', 'OpenSent', { type: 'NotifMsg', notification: notification(2, 2) }],
  ];

  for (const [what, from, ev] of FAILURES) {
    it(`a failure grows the wait: ${what} in ${from}`, () => {
      const s = { ...reach(from, { connectRetryTime: 5 }), backoff: { nextMs: 8000, flaps: 3 } };
      expect(endWith(s, ev)).toEqual({ wait: 8000, backoff: { nextMs: 16_000, flaps: 4 } });
    });
  }

  it('a connection collision is no failure: the Cease/7 we send or receive before Established', () => {
    const s = { ...reach('OpenConfirm', { connectRetryTime: 5 }), backoff: { nextMs: 8000, flaps: 3 } };
    expect(endWith(s, EVENTS.OpenCollisionDump)).toEqual({ wait: 5000, backoff: { nextMs: 8000, flaps: 3 } });
    expect(endWith(s, { type: 'NotifMsg', notification: notification(6, 7) })).toEqual({ wait: 5000, backoff: { nextMs: 8000, flaps: 3 } });
  });

  it('is configurable', () => {
    const s = reach('OpenSent', { idleHold: { initialMs: 5000, maxMs: 12_000, stableMs: 1000 } });
    const a = flapAt(s, T.tcp);
    expect(a.wait).toBe(5000);
    const b = flapAt(reopen(a.state, T.tcp + 5000), T.tcp + 5000);
    expect(b.wait).toBe(10_000);
    const c = flapAt(reopen(b.state, T.tcp + 15_000), T.tcp + 15_000);
    expect(c.wait).toBe(12_000);
  });

  it('AutomaticStart waits for the IdleHoldTimer; ManualStart does not, and resets the back-off', () => {
    const down = step({ ...reach('Connect'), backoff: { nextMs: 8000, flaps: 3 } }, EVENTS.AutomaticStop, 0).state;
    const auto = step(down, EVENTS.AutomaticStart, 1);
    expect(auto.state.name).toBe('Idle');
    expect(auto.state.timers.idleHold).toBe(8000);
    const manual = step(down, EVENTS.ManualStart, 1);
    expect(manual.state.name).toBe('Connect');
    expect(manual.state.timers.idleHold).toBeUndefined();
    expect(manual.state.backoff).toEqual({ nextMs: 1000, flaps: 0 });
  });

  it('a passive session restarts into Active', () => {
    const down = step(reach('OpenSent', { passive: true }), EVENTS.NotifMsg, 0).state;
    const r = step(down, tick, 1000);
    expect(r.state.name).toBe('Active');
    expect(types(r.actions)).toEqual(['Transition']);
  });

  it('nextBackoff on its own', () => {
    const cfg = { initialMs: 1000, maxMs: 4000, stableMs: 100 };
    expect(nextBackoff(cfg, { nextMs: 1000, flaps: 0 }, undefined)).toEqual({ waitMs: 1000, state: { nextMs: 2000, flaps: 1 } });
    expect(nextBackoff(cfg, { nextMs: 4000, flaps: 5 }, 99)).toEqual({ waitMs: 4000, state: { nextMs: 4000, flaps: 6 } });
    expect(nextBackoff(cfg, { nextMs: 4000, flaps: 5 }, 100)).toEqual({ waitMs: 1000, state: { nextMs: 2000, flaps: 1 } });
  });

  it('restartWait on its own: failures grow, clean ends keep the state and wait at most ConnectRetry', () => {
    const cfg = { initialMs: 1000, maxMs: 4000, stableMs: 100 };
    expect(restartWait(cfg, { nextMs: 2000, flaps: 1 }, 'failure', undefined, 500)).toEqual({ waitMs: 2000, state: { nextMs: 4000, flaps: 2 } });
    expect(restartWait(cfg, { nextMs: 2000, flaps: 1 }, 'clean', undefined, 5000)).toEqual({ waitMs: 2000, state: { nextMs: 2000, flaps: 1 } });
    expect(restartWait(cfg, { nextMs: 2000, flaps: 1 }, 'clean', 99, 500)).toEqual({ waitMs: 500, state: { nextMs: 2000, flaps: 1 } });
    expect(restartWait(cfg, { nextMs: 4000, flaps: 3 }, 'clean', 100, 5000)).toEqual({ waitMs: 1000, state: { nextMs: 1000, flaps: 0 } });
  });
});
