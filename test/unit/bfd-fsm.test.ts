// The BFD session as a pure step function (src/session/bfd-fsm.ts): RFC 5880 6.2 state diagram,
// 6.8.6 reception rules, 6.8.7 transmission (jitter, Poll/Final), 6.8.3 slow start and the Poll
// Sequence that moves to the configured interval, 6.8.4 detection time.
import { describe, expect, it } from 'vitest';
import {
  bfdNextDeadline,
  bfdStep,
  BFD_SLOW_TX_US,
  createBfdSession,
  detectionTimeUs,
  txIntervalUs,
  type BfdAction,
  type BfdEvent,
  type BfdSessionConfig,
  type BfdSessionState,
} from '../../src/session/bfd-fsm.js';
import type { BfdControlPacket, BfdStateName } from '../../src/wire/bfd.js';

const CFG = { desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMult: 3 };
const LOCAL = 0x1111;
const REMOTE = 0x2222;

function peerPacket(state: BfdStateName, o: Partial<BfdControlPacket> = {}): BfdControlPacket {
  return {
    diag: 0,
    state,
    poll: false,
    final: false,
    cpi: false,
    demand: false,
    multipoint: false,
    detectMult: 3,
    myDiscriminator: REMOTE,
    yourDiscriminator: state === 'Down' || state === 'AdminDown' ? 0 : LOCAL,
    desiredMinTxUs: 300_000,
    requiredMinRxUs: 300_000,
    requiredMinEchoRxUs: 0,
    ...o,
  };
}

class Run {
  s: BfdSessionState;
  actions: BfdAction[] = [];
  constructor(cfg: BfdSessionConfig = CFG) {
    this.s = createBfdSession(cfg, LOCAL);
  }
  step(ev: BfdEvent, now: number): BfdAction[] {
    const r = bfdStep(this.s, ev, now);
    this.s = r.state;
    this.actions.push(...r.actions);
    return r.actions;
  }
  rx(state: BfdStateName, now: number, o: Partial<BfdControlPacket> = {}): BfdAction[] {
    return this.step({ type: 'Packet', packet: peerPacket(state, o) }, now);
  }
  tick(now: number, jitter = 0.5): BfdAction[] {
    return this.step({ type: 'Tick', jitter }, now);
  }
  sent(actions = this.actions): BfdControlPacket[] {
    return actions.flatMap((a) => (a.type === 'Send' ? [a.packet] : []));
  }
  transitions(actions = this.actions): string[] {
    return actions.flatMap((a) => (a.type === 'Transition' ? [`${a.from}->${a.to}/${a.diag}`] : []));
  }
}

/** A started session brought Up by the three-way handshake at t=0. */
function upSession(): Run {
  const r = new Run();
  r.step({ type: 'Start' }, 0);
  r.rx('Down', 10);
  r.rx('Up', 20);
  return r;
}

describe('BFD state machine: RFC 5880 6.2 state diagram', () => {
  it('starts AdminDown; Start makes it Down and sends at once, slow (1 s) while not Up (6.8.3)', () => {
    const r = new Run();
    expect(r.s.state).toBe('AdminDown');
    expect(r.transitions(r.step({ type: 'Start' }, 0))).toEqual(['AdminDown->Down/0']);
    expect(bfdNextDeadline(r.s)).toBe(0);
    const [p] = r.sent(r.tick(0));
    expect(p).toMatchObject({ state: 'Down', myDiscriminator: LOCAL, yourDiscriminator: 0, desiredMinTxUs: BFD_SLOW_TX_US, requiredMinRxUs: 300_000, requiredMinEchoRxUs: 0, detectMult: 3, poll: false, final: false });
  });

  it.each<[BfdStateName, BfdStateName, BfdStateName, number]>([
    ['Down', 'Down', 'Init', 0],
    ['Down', 'Init', 'Up', 0],
    ['Down', 'Up', 'Down', 0], // an Up peer does not bring a Down session up
    ['Down', 'AdminDown', 'Down', 0],
    ['Init', 'Init', 'Up', 0],
    ['Init', 'Up', 'Up', 0],
    ['Init', 'Down', 'Init', 0],
    ['Init', 'AdminDown', 'Down', 3],
    ['Up', 'Up', 'Up', 0],
    ['Up', 'Init', 'Up', 0],
    ['Up', 'Down', 'Down', 3],
    ['Up', 'AdminDown', 'Down', 3],
  ])('%s + received %s -> %s (diag %d)', (from, received, to, diag) => {
    const r = new Run();
    r.step({ type: 'Start' }, 0);
    if (from === 'Init' || from === 'Up') r.rx('Down', 1);
    if (from === 'Up') r.rx('Up', 2);
    expect(r.s.state).toBe(from);
    r.rx(received, 5);
    expect(r.s.state).toBe(to);
    if (to !== from) expect(r.s.localDiag).toBe(diag);
  });

  it('Stop: AdminDown with Diag 7, told to the peer at once, then for a Detection Time only (6.8.16)', () => {
    const r = upSession();
    const a = r.step({ type: 'Stop' }, 100);
    expect(r.transitions(a)).toEqual(['Up->AdminDown/7']);
    expect(r.sent(a)[0]).toMatchObject({ state: 'AdminDown', diag: 7 });
    // Packets from the peer no longer move it (6.8.6 "If bfd.SessionState is AdminDown, discard").
    const d = r.rx('Up', 150);
    expect(d.find((x) => x.type === 'Discard')).toMatchObject({ reason: 'admin-down' });
    let now = 150;
    let sends = 0;
    let last = 0;
    for (let i = 0; i < 100 && bfdNextDeadline(r.s) !== undefined; i++) {
      now = bfdNextDeadline(r.s)!;
      const n = r.sent(r.tick(now)).length;
      sends += n;
      if (n > 0) last = now;
    }
    // Slow rate (1 s) while not Up, for max(Detection Time, 3 intervals) = 3 s.
    expect(sends).toBeGreaterThan(0);
    expect(last).toBeLessThanOrEqual(100 + 3000);
    expect(bfdNextDeadline(r.s)).toBeUndefined();
  });
});

describe('BFD reception rules (RFC 5880 6.8.6)', () => {
  it('records the peer: bfd.RemoteDiscr, RemoteMinRxInterval, state', () => {
    const r = new Run();
    r.step({ type: 'Start' }, 0);
    r.rx('Down', 5, { requiredMinRxUs: 2_000_000 });
    expect(r.s.remoteDiscr).toBe(REMOTE);
    expect(r.s.remoteMinRxUs).toBe(2_000_000);
    expect(r.s.remoteState).toBe('Down');
    // 6.8.7: the transmit interval is the larger of ours and the peer's Required Min RX.
    expect(txIntervalUs(r.s)).toBe(2_000_000);
    const [p] = r.sent(r.tick(bfdNextDeadline(r.s)!));
    expect(p!.yourDiscriminator).toBe(REMOTE);
  });

  it('discards a packet with somebody else\'s Your Discriminator', () => {
    const r = new Run();
    r.step({ type: 'Start' }, 0);
    const a = r.rx('Down', 5, { yourDiscriminator: 999 });
    expect(a).toEqual([expect.objectContaining({ type: 'Discard', reason: 'your-discriminator-mismatch' })]);
    expect(r.s.remoteDiscr).toBe(0);
  });

  it('discards Your Discriminator zero unless the State is Down or AdminDown', () => {
    const r = new Run();
    r.step({ type: 'Start' }, 0);
    for (const st of ['Init', 'Up'] as const) {
      expect(r.rx(st, 5, { yourDiscriminator: 0 })).toEqual([expect.objectContaining({ type: 'Discard', reason: 'your-discriminator-zero' })]);
    }
    expect(r.s.state).toBe('Down');
  });

  it('discards a packet with the A bit (no authentication configured)', () => {
    const r = new Run();
    r.step({ type: 'Start' }, 0);
    expect(r.rx('Down', 5, { auth: { authType: 1, data: new Uint8Array([1, 0, 0, 0]) } })).toEqual([
      expect.objectContaining({ type: 'Discard', reason: 'auth-unsupported' }),
    ]);
  });

  it('answers a Poll at once with Final and no Poll, off the periodic schedule (6.8.7)', () => {
    const r = upSession();
    const at = 123;
    const a = r.rx('Up', at, { poll: true, desiredMinTxUs: 100_000 });
    const [f] = r.sent(a);
    expect(f).toMatchObject({ final: true, poll: false, state: 'Up' });
  });
});

describe('BFD timers: slow start, Poll Sequence, jitter, detection time', () => {
  it('going Up moves to the configured interval with a Poll Sequence; the Final ends it (6.5, 6.8.3)', () => {
    const r = upSession();
    expect(r.s.desiredMinTxUs).toBe(300_000);
    expect(r.s.polling).toBe(true);
    // The decrease takes effect at once: the next packet is due within 300 ms, and carries P.
    const next = bfdNextDeadline(r.s)!;
    expect(next).toBeLessThanOrEqual(20 + 300);
    const [p] = r.sent(r.tick(next));
    expect(p).toMatchObject({ poll: true, final: false, desiredMinTxUs: 300_000 });
    r.rx('Up', next + 5, { final: true });
    expect(r.s.polling).toBe(false);
    const [q] = r.sent(r.tick(bfdNextDeadline(r.s)!));
    expect(q!.poll).toBe(false);
  });

  it('going Down falls back to the slow 1 s interval', () => {
    const r = upSession();
    r.rx('Down', 100, { diag: 1 });
    expect(r.s.state).toBe('Down');
    expect(r.s.desiredMinTxUs).toBe(BFD_SLOW_TX_US);
    expect(r.s.polling).toBe(false);
  });

  it('jitters each periodic packet to 75-100% of the interval, 75-90% with Detect Mult 1 (6.8.7)', () => {
    for (const [mult, lo, hi] of [[3, 0.75, 1], [1, 0.75, 0.9]] as const) {
      for (const j of [0, 0.5, 0.999]) {
        const r = new Run({ ...CFG, detectMult: mult });
        r.step({ type: 'Start' }, 0);
        r.tick(0, j);
        const gap = bfdNextDeadline(r.s)!;
        expect(gap).toBeGreaterThanOrEqual(1000 * lo);
        expect(gap).toBeLessThanOrEqual(1000 * hi);
      }
    }
  });

  it('sends nothing periodic when the peer asks for Required Min RX 0 (6.8.7)', () => {
    const r = new Run();
    r.step({ type: 'Start' }, 0);
    r.rx('Down', 1, { requiredMinRxUs: 0 });
    expect(r.s.timers.tx).toBeUndefined();
  });

  it('detection time = the peer\'s Detect Mult x max(our Required Min RX, its Desired Min TX) (6.8.4)', () => {
    const r = upSession();
    r.rx('Up', 100, { detectMult: 5, desiredMinTxUs: 200_000 });
    expect(detectionTimeUs(r.s)).toBe(5 * 300_000);
    r.rx('Up', 110, { detectMult: 3, desiredMinTxUs: 400_000 });
    expect(detectionTimeUs(r.s)).toBe(3 * 400_000);
    expect(r.s.timers.detect).toBe(110 + 1200);
  });

  it('Up -> Down with Diag 1 when a Detection Time passes without a packet; the peer is forgotten (6.8.1)', () => {
    const r = upSession();
    r.rx('Up', 1000);
    let now = 1000;
    const seen: string[] = [];
    while (bfdNextDeadline(r.s)! < 1900) {
      now = bfdNextDeadline(r.s)!;
      seen.push(...r.transitions(r.tick(now)));
    }
    expect(seen).toEqual([]);
    expect(r.s.state).toBe('Up');
    const a = r.tick(1900);
    expect(r.transitions(a)).toEqual(['Up->Down/1']);
    expect(r.s.remoteDiscr).toBe(0);
    // It keeps sending (slowly) so the session can come back by itself.
    expect(r.s.timers.tx).toBeDefined();
    expect(r.s.desiredMinTxUs).toBe(BFD_SLOW_TX_US);
  });

  it('a passive session sends nothing until it has heard from the peer (6.1, 6.8.7)', () => {
    const r = new Run({ ...CFG, passive: true });
    r.step({ type: 'Start' }, 0);
    expect(r.sent(r.tick(0))).toEqual([]);
    r.rx('Down', 50);
    expect(r.s.state).toBe('Init');
    expect(r.sent(r.tick(bfdNextDeadline(r.s)!)).length).toBe(1);
  });
});

describe('two BFD sessions talking', () => {
  it('come Up through the three-way handshake, agree on 300 ms, and one detects the other freezing within its detection time', () => {
    const a = { s: createBfdSession(CFG, 1) };
    const b = { s: createBfdSession(CFG, 2) };
    const wire: { to: typeof a; p: BfdControlPacket; at: number }[] = [];
    const run = (x: typeof a, y: typeof a, ev: BfdEvent, now: number, frozen: boolean) => {
      const r = bfdStep(x.s, ev, now);
      x.s = r.state;
      if (!frozen) for (const act of r.actions) if (act.type === 'Send') wire.push({ to: y, p: act.packet, at: now + 1 });
      return r.actions;
    };
    run(a, b, { type: 'Start' }, 0, false);
    run(b, a, { type: 'Start' }, 300, false);
    let now = 0;
    let frozenB = false;
    let downAt: number | undefined;
    let frozeAt = 0;
    for (; now < 20_000; now++) {
      if (!frozenB && b.s.state === 'Up' && a.s.state === 'Up' && !a.s.polling && !b.s.polling && now > 6000) {
        frozenB = true;
        frozeAt = now;
        expect(a.s.txUs).toBe(300_000);
        expect(b.s.txUs).toBe(300_000);
      }
      for (const m of wire.filter((w) => w.at === now)) {
        if (m.to === b && frozenB) continue;
        run(m.to, m.to === a ? b : a, { type: 'Packet', packet: m.p }, now, m.to === b && frozenB);
      }
      for (const [x, y] of [[a, b], [b, a]] as const) {
        const d = bfdNextDeadline(x.s);
        if (x === b && frozenB) continue; // a frozen process runs no timers either
        if (d !== undefined && d <= now) {
          const acts = run(x, y, { type: 'Tick', jitter: 0.5 }, now, x === b && frozenB);
          if (x === a && acts.some((t) => t.type === 'Transition' && t.to === 'Down')) downAt = now;
        }
      }
      if (downAt !== undefined) break;
    }
    expect(frozenB).toBe(true);
    expect(downAt! - frozeAt).toBeLessThanOrEqual(900 + 1);
    expect(downAt! - frozeAt).toBeGreaterThan(900 * 0.5);
    expect(a.s.localDiag).toBe(1);
  });
});
