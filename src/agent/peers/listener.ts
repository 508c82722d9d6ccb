/**
 * The BGP listener: accepts TCP connections and hands each to the configured peer with that
 * remote address. A connection from any other address is closed at once (never answered with an
 * OPEN) and counted. Refusals are logged one by one up to REFUSAL_BURST per REFUSAL_WINDOW_MS;
 * past that, one summary line per window says how many more there were and from how many
 * addresses, so a scan of port 179 cannot fill the disk (about 200 bytes per line before).
 */
import type { Logger } from 'pino';
import { canonicalAddress } from '../../lib/address.js';
import { systemScheduler, type Scheduler, type Timer } from '../io/scheduler.js';
import { netTransport, type BgpSocket, type BoundServer, type Transport } from '../io/transport.js';
import { logEvent } from '../observability/log-events.js';
import { normaliseAddress } from './connection.js';

export const REFUSAL_BURST = 10;
export const REFUSAL_WINDOW_MS = 60_000;

/** Errors of binding `::` on a host without IPv6 (no IPv6 stack, or IPv6 disabled). */
const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT']);

export class Listener {
  private server: BoundServer | undefined;
  /** The address actually listened on (`::` falls back to 0.0.0.0 on a host without IPv6). */
  address: string | undefined;
  refused = 0;
  /** Refusals logged in the current window, and the ones only counted. */
  private logged = 0;
  private quiet = 0;
  private quietFrom = new Set<string>();
  private window: Timer | undefined;

  constructor(
    private readonly lookup: (remoteAddress: string) => { accept(socket: BgpSocket): void } | undefined,
    private readonly log: Logger,
    /** passwords: the TCP MD5 keys by peer address (given: the listening socket carries them, see updatePasswords). */
    private readonly io: { transport?: Transport; scheduler?: Scheduler; passwords?: () => ReadonlyMap<string, string> } = {},
  ) {}

  /**
   * Starts listening; resolves with the bound port (useful with port 0). `::` is both families on
   * one socket; where the host has no IPv6 it becomes 0.0.0.0, with a warning.
   */
  async listen(address: string, port: number): Promise<number> {
    const transport = this.io.transport ?? netTransport;
    const passwords = this.io.passwords?.();
    const open = (host: string) => transport.listen(host, port, (socket) => this.onConnection(socket), passwords ? { passwords } : undefined);
    let host = address;
    try {
      this.server = await open(host);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (canonicalAddress(host) !== '::' || code === undefined || !NO_IPV6.has(code)) throw e;
      logEvent(this.log, 'listener.ipv4-only', { address, error: (e as Error).message, fallback: '0.0.0.0' });
      host = '0.0.0.0';
      this.server = await open(host);
    }
    this.address = host;
    logEvent(this.log, 'listener.started', { address: host, port: this.server.port });
    return this.server.port;
  }

  /**
   * The peers changed (reload, nodes file): the listening socket's TCP MD5 keys follow, so a peer
   * with a password is only ever accepted signed with it. Throws when keys are asked for and the
   * socket cannot carry them.
   */
  updatePasswords(): void {
    const passwords = this.io.passwords?.();
    const server = this.server;
    if (!passwords || !server) return;
    if (server.setPasswords) server.setPasswords(passwords);
    else if (passwords.size > 0) throw new Error('TCP MD5 keys cannot be set on this listening socket (the MD5 addon was not available when it was opened)');
  }

  private onConnection(socket: BgpSocket): void {
    const remote = normaliseAddress(socket.remoteAddress ?? '');
    const peer = this.lookup(remote);
    if (peer) {
      peer.accept(socket);
      return;
    }
    this.refused++;
    socket.destroy();
    this.noteRefusal(remote, socket.remotePort);
  }

  private noteRefusal(remote: string, remotePort: number | undefined): void {
    if (this.window === undefined) {
      this.window = (this.io.scheduler ?? systemScheduler).after(REFUSAL_WINDOW_MS, () => this.endWindow(), true);
    }
    if (this.logged < REFUSAL_BURST) {
      this.logged++;
      logEvent(this.log, 'listener.refused', { remoteAddress: remote, remotePort, ...(this.logged === REFUSAL_BURST ? { note: `further refusals in the next ${REFUSAL_WINDOW_MS / 1000} s are only counted` } : {}) });
      return;
    }
    this.quiet++;
    if (this.quietFrom.size < 1000) this.quietFrom.add(remote);
  }

  private endWindow(): void {
    this.window = undefined;
    if (this.quiet > 0) {
      logEvent(this.log, 'listener.refused-summary', { refused: this.quiet, addresses: this.quietFrom.size, examples: [...this.quietFrom].slice(0, 5), total: this.refused, windowSeconds: REFUSAL_WINDOW_MS / 1000 });
    }
    this.logged = 0;
    this.quiet = 0;
    this.quietFrom.clear();
  }

  async close(): Promise<void> {
    this.window?.cancel();
    this.window = undefined;
    if (this.quiet > 0) this.endWindow();
    const s = this.server;
    this.server = undefined;
    await s?.close();
  }
}
