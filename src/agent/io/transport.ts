/**
 * The transport seam: how sessions get TCP connections. `weft agent` uses node:net
 * (netTransport); tests use an in-memory transport whose sockets are stream pairs the test holds
 * the other end of (test/helpers/manual-io.ts), so Agent, Peer and the listener run in-process
 * with no namespace and no root.
 */
import { connect, createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';

/** What a session needs of a TCP connection: a duplex byte stream with its addresses. */
export type BgpSocket = Duplex & {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  setNoDelay(noDelay?: boolean): unknown;
};

export interface DialOptions {
  host: string;
  port: number;
  localAddress?: string;
}

export interface BoundServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

export interface Transport {
  /** Starts a connection; the socket emits 'connect' once up, or 'error'. */
  dial(o: DialOptions): BgpSocket;
  /** Listens; every accepted connection goes to `onConnection`. Rejects when the address is taken. */
  listen(host: string, port: number, onConnection: (socket: BgpSocket) => void): Promise<BoundServer>;
}

export const netTransport: Transport = {
  dial: (o) => connect({ host: o.host, port: o.port, localAddress: o.localAddress }),
  async listen(host, port, onConnection) {
    const server: Server = createServer({ noDelay: true }, onConnection);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address();
    return {
      port: typeof bound === 'object' && bound ? bound.port : port,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  },
};
