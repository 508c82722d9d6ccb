/**
 * The datagram seam of BFD: UDP sockets that receive on a port, or send from one. `weft agent`
 * uses node:dgram (dgramTransport); tests use an in-memory network (test/helpers/manual-dgram.ts)
 * so BFD runs in-process on the manual scheduler.
 *
 * RFC 5881 5 (GTSM): Control packets are sent with TTL 255, and a received packet whose TTL is not
 * 255 "MUST be discarded". Sending with TTL 255 is `setTTL(255)`. Reading the TTL of a received
 * datagram needs IP_RECVTTL / IPV6_RECVHOPLIMIT ancillary data, which node:dgram does not expose
 * (nor IP_MINTTL, which would make the kernel drop them): weft cannot check it in JavaScript. What
 * it does instead: a packet is only accepted from the address of a configured BFD peer and for
 * that peer's session (by discriminator and source address), and everything else is dropped and
 * counted. A host firewall rule (`ip ttl != 255 udp dport 3784 drop`) closes the rest.
 */
import { createSocket, type Socket } from 'node:dgram';

export interface DatagramFrom {
  address: string;
  port: number;
}

export interface DatagramSocket {
  /** The port bound. */
  readonly port: number;
  send(bytes: Uint8Array, address: string, port: number): void;
  close(): void;
}

export interface BindOptions {
  family: 4 | 6;
  /** Local address; default all addresses of the family. */
  address?: string;
  /** 0: any free port. */
  port: number;
  /** IP TTL / hop limit of what the socket sends. */
  ttl?: number;
  onMessage?: (bytes: Uint8Array, from: DatagramFrom) => void;
  /** Errors after binding (send failures); the socket stays open. */
  onError?: (e: Error) => void;
}

export interface DatagramTransport {
  /** Binds a UDP socket; rejects when the address or port is taken. */
  bind(o: BindOptions): Promise<DatagramSocket>;
}

export const dgramTransport: DatagramTransport = {
  async bind(o) {
    const sock: Socket = createSocket({ type: o.family === 6 ? 'udp6' : 'udp4', ipv6Only: o.family === 6 });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: o.address ?? (o.family === 6 ? '::' : '0.0.0.0'), port: o.port, exclusive: true }, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    if (o.ttl !== undefined) sock.setTTL(o.ttl);
    sock.on('error', (e) => o.onError?.(e));
    if (o.onMessage) {
      const on = o.onMessage;
      sock.on('message', (msg, rinfo) => on(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), { address: rinfo.address, port: rinfo.port }));
    }
    sock.unref();
    let closed = false;
    return {
      port: sock.address().port,
      send(bytes, address, port) {
        if (closed) return;
        sock.send(bytes, port, address, (e) => {
          if (e) o.onError?.(e);
        });
      },
      close() {
        if (closed) return;
        closed = true;
        sock.close();
      },
    };
  },
};
