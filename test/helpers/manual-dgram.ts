/**
 * An in-memory UDP network for the BFD datagram seam (src/agent/bfd/datagram.ts): each host gets
 * a DatagramTransport; a datagram sent to (address, port) reaches the socket bound there (or to
 * the wildcard address) as a microtask. A host can be cut off (`freeze`) to play a SIGSTOPped peer,
 * and the test can inject raw datagrams from any address.
 */
import type { BindOptions, DatagramFrom, DatagramSocket, DatagramTransport } from '../../src/agent/bfd/datagram.js';

interface Bound {
  host: string;
  address: string | undefined;
  port: number;
  onMessage?: (bytes: Uint8Array, from: DatagramFrom) => void;
  closed: boolean;
}

export class MemoryNetwork {
  private bound: Bound[] = [];
  private frozen = new Set<string>();
  /** Hosts whose sends fail (an uplink down: ENETUNREACH), reported through the socket's onError. */
  private unreachable = new Set<string>();
  /** Every datagram sent, for assertions. */
  readonly sent: { from: DatagramFrom; to: DatagramFrom; bytes: Uint8Array; ttl: number | undefined }[] = [];

  host(host: string): DatagramTransport {
    return {
      bind: async (o: BindOptions): Promise<DatagramSocket> => {
        const address = o.address;
        if (this.bound.some((b) => !b.closed && b.host === host && b.port === o.port)) throw new Error(`bind EADDRINUSE ${address ?? '*'}:${o.port}`);
        const b: Bound = { host, address, port: o.port, onMessage: o.onMessage, closed: false };
        this.bound.push(b);
        return {
          port: o.port,
          send: (bytes, to, port) => {
            if (b.closed || this.frozen.has(host)) return;
            if (this.unreachable.has(host)) {
              o.onError?.(new Error(`send ENETUNREACH ${to}:${port}`));
              return;
            }
            const from = { address: address ?? host, port: o.port };
            this.sent.push({ from, to: { address: to, port }, bytes, ttl: o.ttl });
            this.deliver(from, to, port, bytes);
          },
          close: () => {
            b.closed = true;
          },
        };
      },
    };
  }

  /** A host whose sends fail with ENETUNREACH (its uplink is down) until `reachable`. */
  cutOff(host: string): void {
    this.unreachable.add(host);
  }

  reachable(host: string): void {
    this.unreachable.delete(host);
  }

  /** A host that neither sends nor receives (SIGSTOP) until thawed. */
  freeze(host: string): void {
    this.frozen.add(host);
  }

  thaw(host: string): void {
    this.frozen.delete(host);
  }

  /** A datagram from anywhere (a stranger, a malformed packet). */
  inject(from: DatagramFrom, to: string, port: number, bytes: Uint8Array): void {
    this.deliver(from, to, port, bytes);
  }

  private deliver(from: DatagramFrom, to: string, port: number, bytes: Uint8Array): void {
    const copy = new Uint8Array(bytes);
    queueMicrotask(() => {
      if (this.frozen.has(to)) return;
      const b = this.bound.find((x) => !x.closed && x.host === to && x.port === port);
      b?.onMessage?.(copy, from);
    });
  }
}
