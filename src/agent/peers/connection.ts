/**
 * One TCP connection carrying BGP: frames the byte stream, decodes messages with the session's
 * negotiated options, and writes with backpressure. UPDATE bursts go through a queue that only
 * feeds the socket while its buffer is below a high-water mark, so a KEEPALIVE or NOTIFICATION
 * (written at once, ahead of the queue) never waits behind megabytes of UPDATEs.
 */
import { unmapIpv4 } from '../../lib/address.js';
import { Signal } from '../../lib/signal.js';
import { Framer } from '../../wire/framer.js';
import { decodeMessage } from '../../wire/message.js';
import { isWireError, type WireError } from '../../wire/errors.js';
import { DEFAULT_WIRE_OPTIONS, type BgpMessage, type WireOptions } from '../../wire/types.js';
import { systemScheduler, type Scheduler } from '../io/scheduler.js';
import type { BgpSocket } from '../io/transport.js';

export type ConnectionEvent =
  | { type: 'message'; message: BgpMessage; bytes: number }
  | { type: 'error'; error: WireError }
  /** Not the peer's fault: a bug while handling its input. The session ends, nothing else does. */
  | { type: 'internal-error'; error: unknown }
  | { type: 'closed'; reason: string };

/** Bytes in the socket's user-space buffer above which queued UPDATEs wait for 'drain'. */
const HIGH_WATER = 256 * 1024;
/**
 * Reading pauses once this much time went into processing input in one turn of the event loop,
 * until the next turn. libuv reads up to 32 times per readiness event: with a peer sending a full
 * table, one event was ~2 MB of UPDATEs (~500k prefixes, seconds of work) during which no timer,
 * kernel batch or other session got a turn.
 */
const READ_SLICE_MS = 5;

export class Connection {
  readonly events = new Signal<ConnectionEvent>();
  readonly framer = new Framer();
  options: WireOptions = DEFAULT_WIRE_OPTIONS;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  bytesIn = 0;
  bytesOut = 0;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private closed = false;
  private failed = false;
  /** Time spent on input in this turn of the event loop, and whether reading is paused for it. */
  private turnBusy = 0;
  private turnEnd = false;
  private paused = false;

  constructor(
    readonly socket: BgpSocket,
    readonly direction: 'inbound' | 'outbound',
    private readonly scheduler: Scheduler = systemScheduler,
  ) {
    this.remoteAddress = normaliseAddress(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = normaliseAddress(socket.localAddress ?? '');
    this.localPort = socket.localPort ?? 0;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.pump());
    socket.on('error', (e) => this.close(`socket error: ${e.message}`));
    socket.on('close', () => this.close('connection closed by peer'));
  }

  /** Set once the OPENs are exchanged: 4-octet AS, ADD-PATH, extended messages. */
  setOptions(options: WireOptions): void {
    this.options = options;
    if (options.extendedMessage) this.framer.enableExtendedMessages();
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.failed) return;
    const t0 = this.scheduler.now();
    this.process(chunk);
    this.turnBusy += this.scheduler.now() - t0;
    if (!this.turnEnd) {
      this.turnEnd = true;
      this.scheduler.soon(() => this.endTurn());
    }
    if (this.turnBusy >= READ_SLICE_MS && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private endTurn(): void {
    this.turnEnd = false;
    this.turnBusy = 0;
    if (!this.paused) return;
    this.paused = false;
    if (!this.closed) this.socket.resume();
  }

  private process(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    const { messages, error } = this.framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    for (const bytes of messages) {
      if (this.failed) return;
      try {
        this.events.next({ type: 'message', message: decodeMessage(bytes, this.options), bytes: bytes.length });
      } catch (e) {
        if (isWireError(e)) this.fail(e);
        else this.internalError(e);
        return;
      }
    }
    if (error) this.fail(error);
  }

  /**
   * Nothing a peer sends may end the process: an exception that is no WireError (a bug in
   * decoding, the FSM or the routing behind it) stops reading this connection and is reported so
   * the session can end with a Cease.
   */
  private internalError(error: unknown): void {
    this.failed = true;
    this.events.next({ type: 'internal-error', error });
  }

  private fail(error: WireError): void {
    this.failed = true;
    this.events.next({ type: 'error', error });
  }

  /** Writes now, ahead of queued UPDATEs (KEEPALIVE, NOTIFICATION, OPEN, ROUTE-REFRESH). */
  writeNow(bytes: Uint8Array): void {
    if (this.closed) return;
    this.bytesOut += bytes.length;
    this.socket.write(bytes);
  }

  /** Queues UPDATEs; they reach the socket as fast as it drains. */
  enqueue(messages: Uint8Array[]): void {
    if (this.closed) return;
    for (const m of messages) {
      this.queue.push(m);
      this.queued += m.length;
    }
    this.pump();
  }

  /** Bytes waiting in weft's queue (not yet handed to the socket). */
  get backlog(): number {
    return this.queued;
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.closed && this.socket.writableLength < HIGH_WATER) {
      // Coalesce small messages into one write: fewer syscalls on bulk sends.
      const parts: Uint8Array[] = [];
      let size = 0;
      while (this.queue.length > 0 && size < 64 * 1024) {
        const m = this.queue.shift()!;
        parts.push(m);
        size += m.length;
      }
      this.queued -= size;
      this.bytesOut += size;
      this.socket.write(parts.length === 1 ? parts[0] : Buffer.concat(parts));
    }
  }

  /** Sends `last` (a NOTIFICATION) if given, then closes once it is flushed. */
  close(reason: string, last?: Uint8Array): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queued = 0;
    if (last && !this.socket.destroyed) {
      this.bytesOut += last.length;
      this.socket.end(last);
      // A peer that never reads must not keep the socket alive.
      this.scheduler.after(2000, () => this.socket.destroy(), true);
    } else {
      this.socket.destroy();
    }
    this.events.next({ type: 'closed', reason });
    this.events.complete();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/**
 * "::ffff:10.0.0.1" (IPv4-mapped, how a dual-stack listener sees an IPv4 peer) -> "10.0.0.1", so
 * an IPv4 peer is found under its configured address; any other address as it is.
 */
export function normaliseAddress(a: string): string {
  return unmapIpv4(a) ?? a;
}
