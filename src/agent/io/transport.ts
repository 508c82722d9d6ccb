/**
 * The transport seam: how sessions get TCP connections. `weft agent` uses node:net
 * (netTransport); tests use an in-memory transport whose sockets are stream pairs the test holds
 * the other end of (test/helpers/manual-io.ts), so Agent, Peer and the listener run in-process
 * with no namespace and no root.
 */
import { connect, createServer, isIPv6, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { md5Dial, md5Listen } from './md5/md5-net.js';

/** What a session needs of a TCP connection: a duplex byte stream with its addresses. */
export type BgpSocket = Duplex & {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
  setNoDelay(noDelay?: boolean): unknown;
};

export interface DialOptions {
  host: string;
  port: number;
  localAddress?: string;
  /** TCP MD5 key (RFC 2385): set on the socket before its SYN (md5/md5-net.ts). */
  password?: string;
}

export interface ListenOptions {
  /**
   * TCP MD5 keys by peer address, set on the listening socket before it listens. Given (even
   * empty), the socket is one whose keys can change later (BoundServer.setPasswords).
   */
  passwords?: ReadonlyMap<string, string>;
}

export interface BoundServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Replaces the TCP MD5 keys by peer address; absent when the socket cannot carry keys. Throws on failure. */
  setPasswords?(passwords: ReadonlyMap<string, string>): void;
  close(): Promise<void>;
}

export interface Transport {
  /** Starts a connection; the socket emits 'connect' once up, or 'error'. */
  dial(o: DialOptions): BgpSocket;
  /** Listens; every accepted connection goes to `onConnection`. Rejects when the address is taken. */
  listen(host: string, port: number, onConnection: (socket: BgpSocket) => void, options?: ListenOptions): Promise<BoundServer>;
}

export const netTransport: Transport = {
  dial: (o) => (o.password !== undefined ? md5Dial({ ...o, password: o.password }) : connect({ host: o.host, port: o.port, localAddress: o.localAddress })),
  async listen(host, port, onConnection, options) {
    // With the addon, a socket whose keys can be set (md5/md5-net.ts); without it, keys asked for are an error.
    if (options?.passwords !== undefined) {
      try {
        return await md5Listen(host, port, onConnection, options.passwords);
      } catch (e) {
        if ((e as { code?: string }).code !== 'EWEFTMD5') throw e;
        if (options.passwords.size > 0) throw e;
      }
    }
    const server: Server = createServer({ noDelay: true }, onConnection);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // An IPv6 host takes IPv4 too (IPV6_V6ONLY off): "::" is one socket for both families, its
      // IPv4 peers seen as ::ffff:a.b.c.d (connection.ts normaliseAddress maps them back).
      server.listen({ host, port, exclusive: true, ...(isIPv6(host) ? { ipv6Only: false } : {}) }, () => {
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
