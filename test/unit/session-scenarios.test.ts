/**
 * Realistic sequences replayed through `step`, one per lockout or damping defect of issue 10:
 * the events are what the agent feeds the FSM (dial results, accepted connections, messages, and
 * Ticks at `nextDeadline` as its single setTimeout would fire them), at the times they would
 * happen against a real peer.
 */
import { describe, expect, it } from 'vitest';
import { compareAddresses, createSession, nextDeadline, shouldDial, step, type Action, type SessionEvent, type SessionState, type StateName } from '../../src/session/index.js';
import { EVENTS, notification, peerOpen, session } from './session-fixtures.js';

/** The mesh timers of weft's agent defaults: hold 30 s, ConnectRetry 5 s. */
const RETRY_MS = 5000;
const MESH = { holdTime: 30, connectRetryTime: RETRY_MS / 1000 } as const;

/** One session and everything it asked the agent to do, in order. */
class Replay {
  readonly actions: Action[] = [];
  readonly transitions: { at: number; from: StateName; to: StateName; event: string }[] = [];
  now = 0;

  constructor(public state: SessionState) {}

  /** Feeds one event at time `at` (never earlier than the last one) and returns its actions. */
  at(at: number, event: SessionEvent): Action[] {
    expect(at).toBeGreaterThanOrEqual(this.now);
    this.now = at;
    const r = step(this.state, event, at);
    this.state = r.state;
    this.actions.push(...r.actions);
    for (const a of r.actions) if (a.type === 'Transition') this.transitions.push({ at, from: a.from, to: a.to, event: a.event });
    return r.actions;
  }

  /** Lets time run to `until`: a Tick at each deadline on the way, as the agent's timer fires them. */
  runUntil(until: number): Action[] {
    const out: Action[] = [];
    for (let d = nextDeadline(this.state); d !== undefined && d <= until; d = nextDeadline(this.state)) out.push(...this.at(d, { type: 'Tick' }));
    this.now = until;
    return out;
  }

  /** The peer's OPEN and KEEPALIVE arrive 10 and 20 ms after the connection came up. */
  handshake(at: number): Action[] {
    const sent = [...this.at(at + 10, { type: 'BGPOpen', open: peerOpen({ holdTime: 30 }) }), ...this.at(at + 20, EVENTS.KeepAliveMsg)];
    expect(this.state.name).toBe('Established');
    return sent;
  }
}

function kinds(actions: Action[]): string[] {
  return actions.map((a) => a.type);
}

describe('issue 10 item 2: after a failed dial the peer may still connect (dial-only peers, e.g. ExaBGP)', () => {
  it('the dial is refused at once -> Active -> the peer connects -> Established within ConnectRetry', () => {
    const r = new Replay(session(MESH));
    expect(kinds(r.at(0, EVENTS.ManualStart))).toEqual(['Connect', 'Transition']);
    // The peer does not listen: the SYN is answered with a RST a millisecond later.
    r.at(1, { type: 'TcpConnectionFails', reason: 'connect ECONNREFUSED 10.0.0.2:179' });
    expect(r.state.name).toBe('Active');
    expect(nextDeadline(r.state)).toBe(1 + RETRY_MS);
    // The peer dials us 300 ms later: accepted, our OPEN goes out.
    expect(kinds(r.at(300, EVENTS.TcpConnectionConfirmed))).toEqual(['SendOpen', 'Transition']);
    expect(r.state.connection).toBe('inbound');
    r.handshake(300);
    expect(r.now).toBeLessThan(RETRY_MS);
    expect(kinds(r.actions)).not.toContain('Disconnect');
    expect(r.transitions.map((t) => t.to)).toEqual(['Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established']);
  });

  it('every dial is refused for a minute; the peer connects at a random moment of a retry period and is accepted', () => {
    for (const offset of [0, 1, 2500, RETRY_MS - 1]) {
      const r = new Replay(session(MESH));
      r.at(0, EVENTS.ManualStart);
      let dials = 1;
      // The agent's loop: each dial fails 1 ms after it went out. Issue 15: the wait in Active
      // doubles with each refused dial, from ConnectRetry up to 30 s (backoff.ts dialRetryMs).
      const waits: number[] = [];
      for (let t = 0; t < 60_000; ) {
        r.at(t + 1, { type: 'TcpConnectionFails', reason: 'ECONNREFUSED' });
        const next = nextDeadline(r.state);
        waits.push(next! - (t + 1));
        t = next!;
        expect(kinds(r.runUntil(t))).toEqual(['Connect', 'Transition']);
        dials++;
      }
      expect(waits).toEqual([5_000, 10_000, 20_000, 30_000]);
      expect(dials).toBe(5); // at 0, 5, 15, 35 and 65 s: not one per ConnectRetry period
      const t0 = r.now + 1;
      r.at(t0, { type: 'TcpConnectionFails', reason: 'ECONNREFUSED' });
      expect(r.state.name).toBe('Active');
      const connectAt = t0 + offset;
      r.runUntil(connectAt);
      r.at(connectAt, EVENTS.TcpConnectionConfirmed);
      r.handshake(connectAt);
      expect(kinds(r.actions)).not.toContain('SendNotification');
    }
  });
});

describe('issue 10 item 2: a peer Established within ConnectRetry of ours is never refused', () => {
  it('the peer restarts (TCP closed), dials back 200 ms later while our restart is pending: accepted', () => {
    const r = new Replay(session(MESH));
    r.at(0, EVENTS.ManualStart);
    r.at(2, EVENTS.Tcp_CR_Acked);
    r.handshake(2);
    // Ten minutes later the peer's daemon restarts: the connection closes.
    const down = r.at(600_000, { type: 'TcpConnectionFails', reason: 'read ECONNRESET' });
    expect(kinds(down)).toContain('SessionDown');
    expect(r.state.name).toBe('Idle');
    const restartAt = nextDeadline(r.state)!;
    expect(restartAt - 600_000).toBeLessThanOrEqual(RETRY_MS);
    // The restarted peer dials first.
    expect(kinds(r.at(600_200, EVENTS.TcpConnectionConfirmed))).toEqual(['SendOpen', 'Transition']);
    r.handshake(600_200);
    expect(r.now - 600_000).toBeLessThan(RETRY_MS);
    expect(r.transitions.slice(-4).map((t) => t.to)).toEqual(['Idle', 'OpenSent', 'OpenConfirm', 'Established']);
  });

  it('the peer closes with a Cease and reconnects at once: accepted', () => {
    const r = new Replay(session({ ...MESH, passive: true }));
    r.at(0, EVENTS.ManualStart_Passive);
    r.at(50, EVENTS.TcpConnectionConfirmed);
    r.handshake(50);
    r.at(90_000, { type: 'NotifMsg', notification: notification(6, 4, 'restarting') });
    expect(r.state.name).toBe('Idle');
    r.at(90_010, EVENTS.TcpConnectionConfirmed);
    r.handshake(90_010);
  });

  it('after ManualStop the connection is refused, and stays refused', () => {
    const r = new Replay(session(MESH));
    r.at(0, EVENTS.ManualStart);
    r.at(2, EVENTS.Tcp_CR_Acked);
    r.handshake(2);
    r.at(1000, { type: 'ManualStop', shutdownMessage: 'maintenance' });
    expect(nextDeadline(r.state)).toBeUndefined();
    expect(kinds(r.at(1200, EVENTS.TcpConnectionConfirmed))).toEqual(['Disconnect', 'Log']);
    expect(r.state.name).toBe('Idle');
  });
});

describe('issue 10 item 10: a dial that has not completed within ConnectRetry is abandoned and retried', () => {
  it('cold mesh: the peer host is not up, SYNs go unanswered; each dial is dropped after ConnectRetry and the next one reaches the peer', () => {
    const r = new Replay(session(MESH));
    r.at(0, EVENTS.ManualStart);
    // Nothing answers for 17 s: the agent hears nothing about the dial at all.
    const retries = r.runUntil(17_000);
    expect(kinds(retries)).toEqual(['Disconnect', 'Connect', 'Log', 'Disconnect', 'Connect', 'Log', 'Disconnect', 'Connect', 'Log']);
    expect(r.state.name).toBe('Connect');
    expect(nextDeadline(r.state)).toBe(20_000);
    // The dial that went out at 15 s completes.
    r.at(17_001, EVENTS.Tcp_CR_Acked);
    r.handshake(17_001);
    // Every dial but the last was abandoned before the next: never two in flight.
    let inFlight = 0;
    for (const a of r.actions) {
      if (a.type === 'Connect') inFlight++;
      if (a.type === 'Disconnect') inFlight = 0;
      expect(inFlight).toBeLessThanOrEqual(1);
    }
  });

  it('the same after a session went down (IdleHold restart) and after a failed dial (Active)', () => {
    const r = new Replay(session(MESH));
    r.at(0, EVENTS.ManualStart);
    r.at(1, EVENTS.Tcp_CR_Acked);
    r.handshake(1);
    r.at(100_000, EVENTS.HoldTimer_Expires);
    expect(r.state.name).toBe('Idle');
    // The IdleHold restart dials; the dial hangs; at ConnectRetry it is dropped and redialled.
    const restart = r.runUntil(100_000 + 1000 + RETRY_MS);
    expect(kinds(restart)).toEqual(['Connect', 'Transition', 'Disconnect', 'Connect', 'Log']);
    // This one is refused at once: Active, and the dial after that hangs again.
    r.at(r.now + 1, { type: 'TcpConnectionFails', reason: 'ECONNREFUSED' });
    const t = r.now;
    expect(kinds(r.runUntil(t + 2 * RETRY_MS))).toEqual(['Connect', 'Transition', 'Disconnect', 'Connect', 'Log']);
    expect(r.state.name).toBe('Connect');
    expect(nextDeadline(r.state)).toBe(t + 3 * RETRY_MS);
  });
});

describe('issue 10 item 3: clean flaps are retried within ConnectRetry, failures are damped', () => {
  /** One `birdc disable` + `birdc enable` on a passive peer (weft dials): returns how long weft was down. */
  function disableEnable(r: Replay, at: number, subcode: number): number {
    r.at(at, { type: 'NotifMsg', notification: notification(6, subcode, 'birdc disable') });
    expect(r.state.name).toBe('Idle');
    // BIRD is enabled again 100 ms later; weft's restart dials when IdleHold expires.
    const restart = nextDeadline(r.state)!;
    expect(restart - at).toBeLessThanOrEqual(RETRY_MS);
    expect(kinds(r.runUntil(restart))).toEqual(['Connect', 'Transition']);
    r.at(restart + 1, EVENTS.Tcp_CR_Acked);
    r.handshake(restart + 1);
    return r.now - at;
  }

  it('five birdc disable/enable cycles (Cease received): weft is back within ConnectRetry every time', () => {
    const r = new Replay(session(MESH));
    r.at(0, EVENTS.ManualStart);
    r.at(1, EVENTS.Tcp_CR_Acked);
    r.handshake(1);
    const downtimes: number[] = [];
    for (let i = 0; i < 5; i++) downtimes.push(disableEnable(r, r.now + 20_000, i % 2 ? 4 : 2));
    expect(downtimes).toEqual([1021, 1021, 1021, 1021, 1021]);
  });

  it('the peer process restarts five times (connection closed, refused while it is down): back within ConnectRetry every time', () => {
    const r = new Replay(session(MESH));
    r.at(0, EVENTS.ManualStart);
    r.at(1, EVENTS.Tcp_CR_Acked);
    r.handshake(1);
    for (let i = 0; i < 5; i++) {
      const at = r.now + 20_000;
      r.at(at, { type: 'TcpConnectionFails', reason: 'read ECONNRESET' });
      // The first redial hits the peer while it is down; the second, ConnectRetry later, gets through.
      r.runUntil(nextDeadline(r.state)!);
      expect(r.state.name).toBe('Connect');
      r.at(r.now + 1, { type: 'TcpConnectionFails', reason: 'connect ECONNREFUSED' });
      r.runUntil(nextDeadline(r.state)!);
      r.at(r.now + 1, EVENTS.Tcp_CR_Acked);
      r.handshake(r.now);
      expect(r.now - at).toBeLessThanOrEqual(1000 + 1 + RETRY_MS + 1 + 20);
    }
    expect(r.state.backoff).toEqual({ nextMs: 1000, flaps: 0 });
  });

  it('a peer with the wrong AS refuses five times in a row: the waits grow', () => {
    const r = new Replay(session(MESH));
    r.at(0, EVENTS.ManualStart);
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      r.at(r.now + 1, EVENTS.Tcp_CR_Acked);
      const down = r.at(r.now + 10, { type: 'BGPOpen', open: peerOpen({ asn: 65099 }) });
      expect(down.find((a) => a.type === 'SendNotification')).toMatchObject({ code: 2, subcode: 2 });
      const restart = nextDeadline(r.state)!;
      waits.push(restart - r.now);
      r.runUntil(restart);
      expect(r.state.name).toBe('Connect');
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000]);
  });
});

describe('issue 10 item 5: mesh dial direction as calico-node configures BIRD', () => {
  /**
   * calico-node's confd (confd/pkg/backends/calico/bgp_processor.go) sets `passive on` towards a
   * mesh peer when `peerIP > currentNodeIP` (Go string comparison). Modelled here in our words.
   */
  const calicoBirdPassive = (local: string, peer: string): boolean => peer > local;

  interface Node {
    address: string;
    state: SessionState;
    dials: number;
  }

  function node(address: string, passive: boolean): Node {
    const state = createSession({ localAs: 64512, peerAs: 'internal', bgpId: address, holdTime: 30, connectRetryTime: 5, passive });
    return { address, state, dials: 0 };
  }

  /**
   * Two sessions wired back to back: a Connect reaches the other side when it listens (Active or
   * Connect), OPEN and KEEPALIVE are delivered; time advances to each next deadline. Returns when
   * both are Established or at `until`.
   */
  function wire(a: Node, b: Node, until: number): number {
    // Work in arrival order: a SYN reaches the other side after both have started.
    const queue: (() => void)[] = [];
    const other = (n: Node) => (n === a ? b : a);
    let now = 0;
    const feed = (n: Node, ev: SessionEvent) => {
      const r = step(n.state, ev, now);
      n.state = r.state;
      for (const act of r.actions) {
        const o = other(n);
        if (act.type === 'Connect') {
          n.dials++;
          queue.push(() => {
            if (o.state.name !== 'Active' && o.state.name !== 'Connect') return feed(n, { type: 'TcpConnectionFails', reason: 'ECONNREFUSED' });
            feed(o, { type: 'TcpConnectionConfirmed' });
            feed(n, { type: 'Tcp_CR_Acked' });
          });
        }
        if (act.type === 'SendOpen') queue.push(() => feed(o, { type: 'BGPOpen', open: act.open }));
        if (act.type === 'SendKeepalive') queue.push(() => feed(o, { type: 'KeepAliveMsg' }));
      }
    };
    feed(a, { type: 'ManualStart' });
    feed(b, { type: 'ManualStart' });
    while (now <= until) {
      while (queue.length) queue.shift()!();
      if (a.state.name === 'Established' && b.state.name === 'Established') return now;
      const next = [nextDeadline(a.state), nextDeadline(b.state)].filter((d): d is number => d !== undefined);
      if (!next.length) break;
      now = Math.min(...next);
      feed(a, { type: 'Tick' });
      feed(b, { type: 'Tick' });
    }
    return Infinity;
  }

  const BIRDS = ['10.0.0.9', '10.0.0.10', '10.0.0.100', '10.0.0.20'];

  for (const weft of ['10.0.0.9', '10.0.0.10', '10.0.0.100', '10.0.0.20', '10.0.0.15']) {
    it(`weft at ${weft} among Calico BIRD nodes: one side of each pair dials, every session comes up at once`, () => {
      for (const bird of BIRDS.filter((x) => x !== weft)) {
        const w = node(weft, !shouldDial(weft, bird));
        const b = node(bird, calicoBirdPassive(bird, weft));
        expect(w.state.config.passive).not.toBe(b.state.config.passive);
        const upAt = wire(w, b, 60_000);
        expect(upAt).toBe(0); // the dialler connects at its start: no retry, no collision
        expect(w.dials + b.dials).toBe(1);
        expect(w.dials).toBe(weft > bird ? 1 : 0);
      }
    });
  }

  it('10.0.0.9 dials 10.0.0.10 and 10.0.0.20 dials 10.0.0.100 (text order, not numeric)', () => {
    const w = node('10.0.0.9', !shouldDial('10.0.0.9', '10.0.0.10'));
    const b = node('10.0.0.10', calicoBirdPassive('10.0.0.10', '10.0.0.9'));
    expect(wire(w, b, 60_000)).toBe(0);
    expect([w.dials, b.dials]).toEqual([1, 0]);
    const w2 = node('10.0.0.100', !shouldDial('10.0.0.100', '10.0.0.20'));
    const b2 = node('10.0.0.20', calicoBirdPassive('10.0.0.20', '10.0.0.100'));
    expect(wire(w2, b2, 60_000)).toBe(0);
    expect([w2.dials, b2.dials]).toEqual([0, 1]);
  });

  it('the numeric rule weft used before leaves both sides passive against Calico: the session never comes up', () => {
    const numericDial = (local: string, peer: string) => compareAddresses(local, peer) < 0;
    // weft .12 numerically above BIRD .11: passive under the old rule; BIRD is passive towards .12.
    const w = node('10.0.0.12', !numericDial('10.0.0.12', '10.0.0.11'));
    const b = node('10.0.0.11', calicoBirdPassive('10.0.0.11', '10.0.0.12'));
    expect([w.state.config.passive, b.state.config.passive]).toEqual([true, true]);
    expect(wire(w, b, 60_000)).toBe(Infinity);
    expect([w.state.name, b.state.name]).toEqual(['Active', 'Active']);
  });
});
