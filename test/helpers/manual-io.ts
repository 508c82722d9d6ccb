/**
 * The in-process seams for the agent layer (src/agent/io): a scheduler whose clock moves only when
 * told to, and a transport whose connections are in-memory stream pairs. A test holds the far end
 * of every connection (a ScriptedPeer), decides what happens to every dial, and advances time, so
 * Agent, Peer and the listener run without namespaces, root or real timers.
 */
import { Duplex } from 'node:stream';
import type { Scheduler, Timer } from '../../src/agent/io/scheduler.js';
import type { BgpSocket, BoundServer, DialOptions, Transport } from '../../src/agent/io/transport.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Lets promise continuations and stream callbacks (nextTick, microtasks) run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

export class ManualScheduler implements Scheduler {
  private t = 0;
  private seq = 0;
  private timers: Pending[] = [];
  private immediates: (() => void)[] = [];

  constructor(private readonly epoch = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.t;
  }

  wallClock(): number {
    return this.epoch + this.t;
  }

  after(ms: number, fn: () => void): Timer {
    const p: Pending = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(p);
    return { cancel: () => void (p.cancelled = true) };
  }

  soon(fn: () => void): void {
    this.immediates.push(fn);
  }

  /** Runs what is due now (immediates, then timers due), with real I/O callbacks in between. */
  async runDue(): Promise<void> {
    for (let guard = 0; guard < 10_000; guard++) {
      await settle();
      if (this.immediates.length > 0) {
        const batch = this.immediates;
        this.immediates = [];
        for (const fn of batch) fn();
        continue;
      }
      const due = this.nextTimer();
      if (!due || due.at > this.t) return;
      due.cancelled = true;
      due.fn();
    }
    throw new Error('ManualScheduler: more than 10000 steps at one instant (a timer loop?)');
  }

  /**
   * Moves the clock to `ms` later and fires the timers due, but runs nothing they defer (`soon`)
   * and no I/O callback: what libuv's timer phase does before it polls. `runDue` finishes the turn.
   */
  jumpFiringTimersOnly(ms: number): void {
    this.t += ms;
    for (;;) {
      const due = this.nextTimer();
      if (!due || due.at > this.t) return;
      due.cancelled = true;
      due.fn();
    }
  }

  /** Moves the clock forward by `ms`, firing every timer on the way in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await this.runDue();
    for (;;) {
      const next = this.nextTimer();
      if (!next || next.at > end) break;
      this.t = next.at;
      await this.runDue();
    }
    this.t = end;
    await this.runDue();
  }

  private nextTimer(): Pending | undefined {
    this.timers = this.timers.filter((p) => !p.cancelled);
    let best: Pending | undefined;
    for (const p of this.timers) if (!best || p.at < best.at || (p.at === best.at && p.seq < best.seq)) best = p;
    return best;
  }
}

/** One end of an in-memory TCP connection. */
export class PipeEnd extends Duplex {
  other!: PipeEnd;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;

  constructor(local: string, remote: string, remotePort: number) {
    super({ allowHalfOpen: false });
    this.localAddress = local;
    this.remoteAddress = remote;
    this.remotePort = remotePort;
  }

  setNoDelay(): this {
    return this;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (!this.other.destroyed) this.other.push(chunk);
    cb();
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (!this.other.destroyed) this.other.push(null);
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (!this.other.destroyed) {
      this.other.push(null);
      this.other.destroy();
    }
    cb(err);
  }
}

export function pipePair(a: string, b: string, aPort: number, bPort: number): [PipeEnd, PipeEnd] {
  const x = new PipeEnd(a, b, bPort);
  const y = new PipeEnd(b, a, aPort);
  x.other = y;
  y.other = x;
  return [x, y];
}

export interface Dial {
  options: DialOptions;
  /** The clock when weft dialled. */
  at: number;
  socket: PipeEnd;
  state: 'pending' | 'connected' | 'refused' | 'abandoned';
}

/** The in-memory transport: every dial waits for the test; inbound connections come from the test. */
export class MemoryTransport implements Transport {
  readonly dials: Dial[] = [];
  private listener: ((s: BgpSocket) => void) | undefined;
  private nextPort = 40000;

  constructor(
    private readonly scheduler: ManualScheduler,
    readonly localAddress: string,
  ) {}

  dial(o: DialOptions): BgpSocket {
    const [ours, theirs] = pipePair(o.localAddress ?? this.localAddress, o.host, this.nextPort++, o.port);
    const d: Dial = { options: o, at: this.scheduler.now(), socket: ours, state: 'pending' };
    ours.once('close', () => {
      if (d.state === 'pending') d.state = 'abandoned';
    });
    void theirs;
    this.dials.push(d);
    return ours;
  }

  /** The newest dial to `host` still waiting for the test's answer. */
  pendingDial(host: string): Dial | undefined {
    return [...this.dials].reverse().find((d) => d.options.host === host && d.state === 'pending' && !d.socket.destroyed);
  }

  /** Completes a pending dial: the peer accepted. Returns the peer's end. */
  accept(d: Dial): PipeEnd {
    d.state = 'connected';
    d.socket.emit('connect');
    return d.socket.other;
  }

  /** Fails a pending dial the way an RST does. */
  refuse(d: Dial): void {
    d.state = 'refused';
    const e = Object.assign(new Error(`connect ECONNREFUSED ${d.options.host}:${d.options.port}`), { code: 'ECONNREFUSED' });
    d.socket.destroy(e);
  }

  async listen(_host: string, port: number, onConnection: (s: BgpSocket) => void): Promise<BoundServer> {
    this.listener = onConnection;
    return { port: port || 179, close: async () => void (this.listener = undefined) };
  }

  get listening(): boolean {
    return this.listener !== undefined;
  }

  /** A connection from `remote` to weft's listener; returns the remote end, or undefined when nothing listens. */
  connectFrom(remote: string): PipeEnd | undefined {
    if (!this.listener) return undefined;
    const [ours, theirs] = pipePair(this.localAddress, remote, 179, this.nextPort++);
    this.listener(ours);
    return theirs;
  }
}
