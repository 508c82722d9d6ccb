/**
 * The BGP listener: accepts TCP connections and hands each to the configured peer with that
 * remote address. A connection from any other address is closed at once and logged (never
 * answered with an OPEN).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { normaliseAddress } from './connection.js';
import { logEvent } from '../observability/log-events.js';

export class Listener {
  private server: Server | undefined;
  refused = 0;

  constructor(
    private readonly lookup: (remoteAddress: string) => { accept(socket: Socket): void } | undefined,
    private readonly log: Logger,
  ) {}

  /** Starts listening; resolves with the bound port (useful with port 0). */
  async listen(address: string, port: number): Promise<number> {
    const server = createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address();
    const boundPort = typeof bound === 'object' && bound ? bound.port : port;
    logEvent(this.log, 'listener.started', { address, port: boundPort });
    return boundPort;
  }

  private onConnection(socket: Socket): void {
    const remote = normaliseAddress(socket.remoteAddress ?? '');
    const peer = this.lookup(remote);
    if (!peer) {
      this.refused++;
      logEvent(this.log, 'listener.refused', { remoteAddress: remote, remotePort: socket.remotePort });
      socket.destroy();
      return;
    }
    peer.accept(socket);
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
