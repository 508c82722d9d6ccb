/**
 * The agent's BFD: one receive socket per address family on UDP 3784 (RFC 5881 4), one
 * BfdSession per peer that has BFD configured, and the demultiplexing of RFC 5880 6.8.6: a packet
 * with a nonzero Your Discriminator goes to the session with that bfd.LocalDiscr, one with zero
 * to the session of its source address. Whatever cannot be decoded or belongs to no session is
 * dropped and counted by reason (status and metrics), never thrown.
 *
 * Single hop only (RFC 5881); multihop (RFC 5883, port 4784) is not implemented. The receive
 * sockets are opened with the first session of their family and closed with the last one.
 */
import type { Logger } from 'pino';
import type { BfdSessionConfig } from '../../session/bfd-fsm.js';
import { BFD_CONTROL_PORT, BFD_SOURCE_PORT_MAX, BFD_SOURCE_PORT_MIN, decodeBfdControl, type BfdDecodeReason } from '../../wire/bfd.js';
import type { Scheduler } from '../io/scheduler.js';
import { unmapIpv4 } from '../../lib/address.js';
import { logEvent } from '../observability/log-events.js';
import { BfdSession } from './bfd-session.js';
import { dgramTransport, type DatagramFrom, type DatagramSocket, type DatagramTransport } from './datagram.js';

/** Packets dropped before any session saw them. */
export type BfdDropReason = BfdDecodeReason | 'unknown-peer' | 'your-discriminator-unknown' | 'wrong-source' | 'internal-error';

export interface BfdServiceOptions {
  scheduler: Scheduler;
  datagrams?: DatagramTransport;
  /** Where Control packets arrive and go (default 3784; tests use others). */
  port?: number;
  /** Local address of the receive sockets (default: all). */
  listenAddress?: { 4?: string; 6?: string };
  random?: () => number;
}

interface Receiver {
  socket: Promise<DatagramSocket | undefined>;
  sessions: number;
}

const familyOf = (address: string): 4 | 6 => (address.includes(':') ? 6 : 4);
/** "::ffff:10.0.0.1" from a dual-stack socket is 10.0.0.1. */
const plain = (address: string): string => unmapIpv4(address) ?? address;

export class BfdService {
  /** Dropped before reaching a session, by reason; monotonic for the life of the agent. */
  readonly dropped: Partial<Record<BfdDropReason, number>> = {};
  private readonly byAddress = new Map<string, BfdSession>();
  private readonly byDiscr = new Map<number, BfdSession>();
  private readonly receivers = new Map<4 | 6, Receiver>();
  private readonly datagrams: DatagramTransport;
  private readonly port: number;
  private readonly random: () => number;
  /** Unknown sources logged one by one up to this many, then only counted. */
  private unknownLogged = 0;
  /** Datagrams read since the last drain check, and the Ticks waiting for the receive queue to empty. */
  private readsSinceCheck = 0;
  private waiting: (() => void)[] = [];
  private checking = false;
  private drainRounds = 0;

  constructor(
    private readonly log: Logger,
    private readonly opts: BfdServiceOptions,
  ) {
    this.datagrams = opts.datagrams ?? dgramTransport;
    this.port = opts.port ?? BFD_CONTROL_PORT;
    this.random = opts.random ?? Math.random;
  }

  get size(): number {
    return this.byAddress.size;
  }

  session(address: string): BfdSession | undefined {
    return this.byAddress.get(address);
  }

  /**
   * A session towards `address` (replacing one already there). It starts once its send socket is
   * bound; `localAddress` is the source address its packets leave from.
   */
  add(address: string, config: BfdSessionConfig, localAddress?: string): BfdSession {
    this.remove(address);
    const session = new BfdSession(address, config, this.newDiscriminator(), this.opts.scheduler, this.random, this.port, (fn) => this.whenDrained(fn));
    this.byAddress.set(address, session);
    this.byDiscr.set(session.localDiscr, session);
    const family = familyOf(address);
    const r = this.receiver(family);
    r.sessions++;
    void this.openSender(session, family, localAddress, r);
    return session;
  }

  /**
   * Closes the session of `address` (only when it is `only`, if given), AdminDown sent once, and
   * with the last session of a family its receive socket.
   */
  remove(address: string, only?: BfdSession): void {
    const s = this.byAddress.get(address);
    if (!s || (only !== undefined && s !== only)) return;
    this.byAddress.delete(address);
    this.byDiscr.delete(s.localDiscr);
    s.close();
    const family = familyOf(address);
    const r = this.receivers.get(family);
    if (r && --r.sessions === 0) {
      // Closed a moment later, unless a session comes back (a reload replaces a peer: remove, then
      // add): binding UDP 3784 again while the old socket closes could fail with EADDRINUSE.
      this.opts.scheduler.after(
        1000,
        () => {
          if (r.sessions !== 0 || this.receivers.get(family) !== r) return;
          this.receivers.delete(family);
          void r.socket.then((sock) => sock?.close());
        },
        true,
      );
    }
  }

  closeAll(): void {
    for (const a of [...this.byAddress.keys()]) this.remove(a);
  }

  private newDiscriminator(): number {
    for (;;) {
      const d = (Math.floor(this.random() * 0xfffffffe) + 1) >>> 0;
      if (d !== 0 && !this.byDiscr.has(d)) return d;
    }
  }

  private receiver(family: 4 | 6): Receiver {
    let r = this.receivers.get(family);
    if (r) return r;
    const socket = this.datagrams
      .bind({
        family,
        address: this.opts.listenAddress?.[family],
        port: this.port,
        onMessage: (bytes, from) => {
          try {
            this.onPacket(bytes, from);
          } catch (e) {
            // A bug in handling one packet must not end the process (DESIGN.md: peer input never does).
            this.drop('internal-error', from, e instanceof Error ? e.message : String(e));
          }
        },
        onError: (e) => logEvent(this.log, 'bfd.socket-error', { error: e.message }),
      })
      .then(
        (sock) => {
          logEvent(this.log, 'bfd.listening', { family, port: sock.port });
          return sock;
        },
        (e: Error) => {
          logEvent(this.log, 'bfd.socket-error', { family, port: this.port, error: `cannot receive BFD on UDP ${this.port}: ${e.message}` });
          for (const s of this.byAddress.values()) if (familyOf(s.peerAddress) === family) s.error = `cannot bind UDP ${this.port}: ${e.message}`;
          return undefined;
        },
      );
    r = { socket, sessions: 0 };
    this.receivers.set(family, r);
    return r;
  }

  /** RFC 5881 4: a source port in 49152-65535, the same for every packet of the session; TTL 255 (5). */
  private async openSender(session: BfdSession, family: 4 | 6, localAddress: string | undefined, r: Receiver): Promise<void> {
    const receiving = await r.socket;
    if (!receiving) {
      session.error ??= `cannot bind UDP ${this.port}`;
    }
    let lastError = '';
    const onSendError = this.errorLogger(session.peerAddress);
    for (let attempt = 0; attempt < 16; attempt++) {
      const port = BFD_SOURCE_PORT_MIN + Math.floor(this.random() * (BFD_SOURCE_PORT_MAX - BFD_SOURCE_PORT_MIN + 1));
      try {
        const sock = await this.datagrams.bind({
          family,
          address: localAddress,
          port,
          ttl: 255,
          onError: onSendError,
        });
        session.attach(sock);
        return;
      } catch (e) {
        lastError = (e as Error).message;
      }
    }
    session.error = `no source port in ${BFD_SOURCE_PORT_MIN}-${BFD_SOURCE_PORT_MAX}: ${lastError}`;
    logEvent(this.log, 'bfd.socket-error', { peer: session.peerAddress, error: session.error });
  }

  /**
   * A session's socket errors, logged once per kind and minute: with an uplink down every packet
   * fails the same way (ENETUNREACH several times a second), and one line says it.
   */
  private errorLogger(peer: string): (e: Error) => void {
    let last = '';
    let at = -Infinity;
    let repeated = 0;
    return (e) => {
      const now = this.opts.scheduler.now();
      if (e.message === last && now - at < 60_000) {
        repeated++;
        return;
      }
      logEvent(this.log, 'bfd.socket-error', { peer, error: e.message, ...(repeated > 0 ? { repeatedBefore: repeated } : {}) });
      last = e.message;
      at = now;
      repeated = 0;
    };
  }

  /**
   * Runs `fn` once the datagrams already queued on the receive sockets have been read. libuv runs
   * due timers before it polls for I/O and reads at most 32 datagrams per socket per loop turn;
   * after a stall of the event loop (a busy host) the detection timers of every session would
   * expire before the packets that arrived in time were read, and sessions would go Down that
   * are fine. So a timer's Tick waits, one loop turn at a time (setImmediate), until a turn read
   * nothing, for at most 64 turns.
   */
  private whenDrained(fn: () => void): void {
    this.waiting.push(fn);
    if (this.checking) return;
    this.checking = true;
    this.readsSinceCheck = 0;
    this.drainRounds = 0;
    this.opts.scheduler.soon(() => this.checkDrained());
  }

  private checkDrained(): void {
    if (this.readsSinceCheck > 0 && ++this.drainRounds < 64) {
      this.readsSinceCheck = 0;
      this.opts.scheduler.soon(() => this.checkDrained());
      return;
    }
    this.checking = false;
    const run = this.waiting;
    this.waiting = [];
    for (const fn of run) fn();
  }

  private drop(reason: BfdDropReason, from: DatagramFrom, message: string): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
    if (this.unknownLogged < 20) {
      this.unknownLogged++;
      logEvent(this.log, 'bfd.dropped', { reason, from: `${from.address}:${from.port}`, message });
    }
  }

  /** RFC 5880 6.8.6: decode, then select the session. Never throws. */
  onPacket(bytes: Uint8Array, rawFrom: DatagramFrom): void {
    this.readsSinceCheck++;
    const from = { address: plain(rawFrom.address), port: rawFrom.port };
    const r = decodeBfdControl(bytes);
    if (!r.ok) return this.drop(r.reason, from, r.message);
    const p = r.packet;
    let session: BfdSession | undefined;
    if (p.yourDiscriminator !== 0) {
      // "If the Your Discriminator field is nonzero, it MUST be used to select the session ...
      // If no session is found, the packet MUST be discarded."
      session = this.byDiscr.get(p.yourDiscriminator);
      if (!session) {
        return this.drop(this.byAddress.has(from.address) ? 'your-discriminator-unknown' : 'unknown-peer', from, `no session with discriminator ${p.yourDiscriminator}`);
      }
      // Single hop: the session is also bound to the peer's address (RFC 5881 3).
      if (session.peerAddress !== from.address) return this.drop('wrong-source', from, `discriminator ${p.yourDiscriminator} belongs to ${session.peerAddress}`);
    } else {
      // "... the session MUST be selected based on some combination of other fields, possibly
      // including source addressing information": the source address (RFC 5881 3).
      session = this.byAddress.get(from.address);
      if (!session) return this.drop('unknown-peer', from, 'no BFD session with this address');
    }
    session.receive(p);
  }
}
