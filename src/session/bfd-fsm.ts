/**
 * One BFD session in asynchronous mode (RFC 5880) as a pure `step(state, event, now)`: the state
 * variables of RFC 5880 6.8.1, the state diagram of 6.2, the reception rules of 6.8.6 (from
 * "select the session" on: the agent picks the session by Your Discriminator or source address),
 * the transmission rules of 6.8.7 and the Poll Sequence of 6.5 as far as weft changes its own
 * intervals (slow 1 s while not Up, 6.8.3, the configured interval once Up). Timers are deadlines
 * in monotonic milliseconds; intervals are microseconds as on the wire.
 *
 * Not modelled: Demand mode (we never set D; a peer's D bit is recorded and weft keeps sending
 * periodically, so a peer in Demand mode still hears from us), the Echo function (we advertise
 * Required Min Echo RX 0, 6.8.9) and authentication (a packet with the A bit is discarded, 6.8.6
 * "If the A bit is set and no authentication is in use").
 */
import { BfdDiag, describeDiag, type BfdControlPacket, type BfdStateName } from '../wire/bfd.js';

/** RFC 5880 6.8.3: "bfd.DesiredMinTxInterval ... not less than one second" while not Up. */
export const BFD_SLOW_TX_US = 1_000_000;

export interface BfdSessionConfig {
  /** bfd.DesiredMinTxInterval once Up, microseconds. */
  desiredMinTxUs: number;
  /** bfd.RequiredMinRxInterval, microseconds. */
  requiredMinRxUs: number;
  /** bfd.DetectMult. */
  detectMult: number;
  /** RFC 5880 6.1: a passive system sends nothing until it has heard from the peer. Default active. */
  passive?: boolean;
}

export interface BfdSessionState {
  config: BfdSessionConfig;
  /** bfd.SessionState. */
  state: BfdStateName;
  /** bfd.RemoteSessionState. */
  remoteState: BfdStateName;
  /** bfd.LocalDiscr: nonzero, unique on this system (the agent picks it). */
  localDiscr: number;
  /** bfd.RemoteDiscr: zero until the peer's My Discriminator is known, and again after a Detection Time without packets. */
  remoteDiscr: number;
  /** bfd.LocalDiag. */
  localDiag: number;
  /** The peer's last Diag field. */
  remoteDiag: number;
  /** bfd.DesiredMinTxInterval as we advertise it now. */
  desiredMinTxUs: number;
  /** The transmit interval in effect (6.8.3: an increase while Up waits for the Poll Sequence to end). */
  txUs: number;
  /** bfd.RemoteMinRxInterval (initialised to 1, 6.8.1). */
  remoteMinRxUs: number;
  /** The peer's last Desired Min TX Interval (its Detection Time input, 6.8.4). */
  remoteMinTxUs: number;
  remoteDetectMult: number;
  /** bfd.RemoteDemandMode: recorded; we go on transmitting periodically (we never enter Demand mode). */
  remoteDemand: boolean;
  /** A Poll Sequence we started is running: periodic packets carry P until a Final arrives (6.5). */
  polling: boolean;
  timers: {
    /** The next periodic transmission. */
    tx: number | undefined;
    /** Detection Time deadline (6.8.4). */
    detect: number | undefined;
    /** While AdminDown: keep telling the peer for one Detection Time (6.8.16), then go quiet. */
    adminDownUntil: number | undefined;
  };
}

export type BfdEvent =
  | { type: 'Start' }
  | { type: 'Stop' }
  | { type: 'Packet'; packet: BfdControlPacket }
  /** Some deadline may have passed; `jitter` in [0, 1) picks the 6.8.7 transmit jitter. */
  | { type: 'Tick'; jitter: number };

/** Why a packet that reached a session is discarded (RFC 5880 6.8.6). */
export type BfdDiscardReason = 'your-discriminator-mismatch' | 'your-discriminator-zero' | 'auth-unsupported' | 'admin-down';

export type BfdAction =
  | { type: 'Send'; packet: BfdControlPacket }
  | { type: 'Transition'; from: BfdStateName; to: BfdStateName; diag: number; reason: string }
  | { type: 'Discard'; reason: BfdDiscardReason; message: string };

export interface BfdStepResult {
  state: BfdSessionState;
  actions: BfdAction[];
}

export function createBfdSession(config: BfdSessionConfig, localDiscr: number): BfdSessionState {
  if (localDiscr === 0 || localDiscr > 0xffffffff) throw new RangeError('bfd.LocalDiscr must be a nonzero 32-bit value (RFC 5880 6.8.1)');
  const slow = Math.max(BFD_SLOW_TX_US, config.desiredMinTxUs);
  return {
    config,
    state: 'AdminDown',
    remoteState: 'Down',
    localDiscr,
    remoteDiscr: 0,
    localDiag: BfdDiag.NONE,
    remoteDiag: BfdDiag.NONE,
    desiredMinTxUs: slow,
    txUs: slow,
    remoteMinRxUs: 1,
    remoteMinTxUs: 0,
    remoteDetectMult: 0,
    remoteDemand: false,
    polling: false,
    timers: { tx: undefined, detect: undefined, adminDownUntil: undefined },
  };
}

/** The earliest deadline, or undefined when no timer runs. */
export function bfdNextDeadline(s: BfdSessionState): number | undefined {
  const ts = [s.timers.tx, s.timers.detect].filter((t): t is number => t !== undefined);
  return ts.length === 0 ? undefined : Math.min(...ts);
}

/** RFC 5880 6.8.7: the interval between periodic packets before jitter, microseconds; 0 = none. */
export function txIntervalUs(s: BfdSessionState): number {
  if (s.remoteMinRxUs === 0) return 0; // "MUST NOT periodically transmit ... if bfd.RemoteMinRxInterval is zero"
  return Math.max(s.txUs, s.remoteMinRxUs);
}

/**
 * RFC 5880 6.8.4, asynchronous mode: "the remote system's bfd.DetectMult multiplied by the agreed
 * transmit interval of the remote system (the greater of bfd.RequiredMinRxInterval and the last
 * received Desired Min TX Interval)". Microseconds.
 */
export function detectionTimeUs(s: BfdSessionState): number {
  return s.remoteDetectMult * Math.max(s.config.requiredMinRxUs, s.remoteMinTxUs);
}

/** The packet this session sends now (6.8.7); `final` answers a Poll (never with P: 6.5). */
export function controlPacket(s: BfdSessionState, final = false): BfdControlPacket {
  return {
    diag: s.localDiag,
    state: s.state,
    poll: s.polling && !final,
    final,
    cpi: false, // weft's BFD shares fate with its control plane (RFC 5880 6.8.7)
    demand: false,
    multipoint: false,
    detectMult: s.config.detectMult,
    myDiscriminator: s.localDiscr,
    yourDiscriminator: s.remoteDiscr,
    desiredMinTxUs: s.desiredMinTxUs,
    requiredMinRxUs: s.config.requiredMinRxUs,
    requiredMinEchoRxUs: 0,
  };
}

const ms = (us: number): number => us / 1000;

export function bfdStep(prev: BfdSessionState, ev: BfdEvent, now: number): BfdStepResult {
  const s: BfdSessionState = { ...prev, timers: { ...prev.timers } };
  const actions: BfdAction[] = [];
  switch (ev.type) {
    case 'Start':
      if (s.state !== 'AdminDown') return { state: prev, actions };
      goTo(s, actions, 'Down', BfdDiag.NONE, 'started');
      s.timers.adminDownUntil = undefined;
      if (!s.config.passive) s.timers.tx = now; // the first packet goes out at once
      return { state: s, actions };
    case 'Stop': {
      if (s.state === 'AdminDown') return { state: prev, actions };
      // 6.8.16: AdminDown with Diag 7; the peer is told for a Detection Time, then silence.
      goTo(s, actions, 'AdminDown', BfdDiag.ADMINISTRATIVELY_DOWN, 'stopped');
      const told = Math.max(ms(detectionTimeUs(s)), ms(txIntervalUs(s)) * 3);
      s.timers.detect = undefined;
      s.polling = false;
      s.timers.adminDownUntil = now + told;
      actions.push({ type: 'Send', packet: controlPacket(s) });
      s.timers.tx = s.remoteDiscr !== 0 ? now + ms(txIntervalUs(s)) : undefined;
      return { state: s, actions };
    }
    case 'Packet':
      receive(s, actions, ev.packet, now);
      return { state: s, actions };
    case 'Tick':
      tick(s, actions, now, ev.jitter);
      return { state: s, actions };
  }
}

function goTo(s: BfdSessionState, actions: BfdAction[], to: BfdStateName, diag: number, reason: string): void {
  const from = s.state;
  if (from === to) return;
  s.state = to;
  s.localDiag = diag;
  actions.push({ type: 'Transition', from, to, diag, reason });
  const slow = Math.max(BFD_SLOW_TX_US, s.config.desiredMinTxUs);
  if (to === 'Up') {
    // 6.8.3: the configured interval replaces the slow one; a change of an advertised interval
    // while Up is announced with a Poll Sequence (6.5). A decrease takes effect at once.
    if (s.config.desiredMinTxUs !== s.desiredMinTxUs) {
      s.desiredMinTxUs = s.config.desiredMinTxUs;
      s.polling = true;
      if (s.desiredMinTxUs < s.txUs) s.txUs = s.desiredMinTxUs;
    }
  } else {
    // Not Up: back to the slow rate (6.8.3 "MUST"); no Poll Sequence outside Up.
    s.desiredMinTxUs = slow;
    s.txUs = slow;
    s.polling = false;
  }
}

/** RFC 5880 6.8.6, from "If bfd.RemoteDiscr ..." selection onwards. */
function receive(s: BfdSessionState, actions: BfdAction[], p: BfdControlPacket, now: number): void {
  const discard = (reason: BfdDiscardReason, message: string) => void actions.push({ type: 'Discard', reason, message });
  if (p.yourDiscriminator !== 0 && p.yourDiscriminator !== s.localDiscr) {
    return discard('your-discriminator-mismatch', `Your Discriminator ${p.yourDiscriminator} is not ours (${s.localDiscr})`);
  }
  // "If the Your Discriminator field is zero and the State field is not Down or AdminDown, the
  // packet MUST be discarded."
  if (p.yourDiscriminator === 0 && p.state !== 'Down' && p.state !== 'AdminDown') {
    return discard('your-discriminator-zero', `Your Discriminator is zero in a packet with State ${p.state}`);
  }
  // "If the A bit is set and no authentication is in use (bfd.AuthType is zero), the packet MUST be discarded."
  if (p.auth) return discard('auth-unsupported', `authentication type ${p.auth.authType} is not configured`);
  s.remoteDiscr = p.myDiscriminator;
  s.remoteState = p.state;
  s.remoteDiag = p.diag;
  s.remoteDemand = p.demand;
  const oldInterval = txIntervalUs(s);
  s.remoteMinRxUs = p.requiredMinRxUs;
  s.remoteMinTxUs = p.desiredMinTxUs;
  s.remoteDetectMult = p.detectMult;
  // "If the Final (F) bit is set ... terminate any Poll Sequence": the new intervals now hold.
  if (p.final && s.polling) {
    s.polling = false;
    s.txUs = s.desiredMinTxUs;
  }
  // "Update the Detection Time as described in section 6.8.4" (it restarts with every packet).
  s.timers.detect = now + ms(detectionTimeUs(s));
  if (s.state === 'AdminDown') return discard('admin-down', 'the session is administratively down');
  if (p.state === 'AdminDown') {
    if (s.state !== 'Down') goTo(s, actions, 'Down', BfdDiag.NEIGHBOR_SIGNALED_DOWN, `the peer went AdminDown (${describeDiag(p.diag)})`);
  } else if (s.state === 'Down') {
    if (p.state === 'Down') goTo(s, actions, 'Init', BfdDiag.NONE, 'the peer is Down: three-way handshake');
    else if (p.state === 'Init') goTo(s, actions, 'Up', BfdDiag.NONE, 'the peer is Init');
  } else if (s.state === 'Init') {
    if (p.state === 'Init' || p.state === 'Up') goTo(s, actions, 'Up', BfdDiag.NONE, `the peer is ${p.state}`);
  } else if (p.state === 'Down') {
    goTo(s, actions, 'Down', BfdDiag.NEIGHBOR_SIGNALED_DOWN, `the peer signalled Down (${describeDiag(p.diag)})`);
  }
  // "Update the transmit interval as described in section 6.8.2" (after the state change: going Up
  // shortens our own interval): a shorter interval than the one the next packet was timed with
  // brings that packet forward.
  const interval = txIntervalUs(s);
  if (interval === 0) s.timers.tx = undefined;
  else if (s.timers.tx === undefined || (interval < oldInterval && s.timers.tx > now + ms(interval))) {
    s.timers.tx = now + ms(interval) * 0.75;
  }
  // 6.8.7: "If a BFD Control packet is received with the Poll (P) bit set to 1, the receiving
  // system MUST transmit a BFD Control packet with the Poll (P) bit clear and the Final (F) bit
  // set as soon as practicable, without respect to the transmission timer".
  if (p.poll) actions.push({ type: 'Send', packet: controlPacket(s, true) });
}

function tick(s: BfdSessionState, actions: BfdAction[], now: number, jitter: number): void {
  if (s.timers.detect !== undefined && s.timers.detect <= now) {
    s.timers.detect = undefined;
    // 6.8.4: "If ... a Detection Time passes without the receipt of a valid, authenticated BFD
    // packet from the remote system, and bfd.SessionState is Init or Up, the session has gone
    // down -- the local system MUST set bfd.SessionState to Down and bfd.LocalDiag to 1".
    if (s.state === 'Init' || s.state === 'Up') {
      goTo(s, actions, 'Down', BfdDiag.CONTROL_DETECTION_TIME_EXPIRED, `no packet from the peer for ${Math.round(ms(detectionTimeUs(s)))} ms`);
    }
    // 6.8.1: bfd.RemoteDiscr "MUST be set to zero" after a Detection Time without packets; the
    // peer's intervals are forgotten with it (bfd.RemoteMinRxInterval back to its initial 1).
    s.remoteDiscr = 0;
    s.remoteState = 'Down';
    s.remoteMinRxUs = 1;
    if (s.state !== 'AdminDown' && !s.config.passive && s.timers.tx === undefined) s.timers.tx = now;
    if (s.config.passive && s.state === 'Down') s.timers.tx = undefined;
  }
  if (s.timers.tx !== undefined && s.timers.tx <= now) {
    s.timers.tx = undefined;
    if (s.state === 'AdminDown' && (s.timers.adminDownUntil === undefined || now >= s.timers.adminDownUntil)) return;
    // 6.8.7: a passive system sends nothing until bfd.RemoteDiscr is known.
    if (s.config.passive && s.remoteDiscr === 0) return;
    const interval = txIntervalUs(s);
    if (interval === 0) return;
    actions.push({ type: 'Send', packet: controlPacket(s) });
    // "The periodic transmission of BFD Control packets MUST be jittered on a per-packet basis by
    // up to 25%"; with bfd.DetectMult 1, "no more than 90% ... and no less than 75%".
    const j = Math.min(Math.max(jitter, 0), 1);
    const factor = s.config.detectMult === 1 ? 0.75 + 0.15 * j : 0.75 + 0.25 * j;
    s.timers.tx = now + ms(interval) * factor;
  }
}
