/**
 * TCP connections carrying MD5 signatures (RFC 2385), for io/transport.ts.
 *
 * Outgoing: Node cannot set an option between socket() and connect(), so the addon creates the
 * socket, sets the key for the peer's address (and binds the local address), and Node takes the
 * unconnected fd over: `new net.Socket({ fd })` opens it as a TCP handle, and `connect()` on that
 * socket reuses the handle (it creates one only when there is none), so libuv connects our fd
 * and everything after (the 'connect' event, errors, timeouts, reads) is Node's own. Measured:
 * with the right key 'connect' comes in ~5 ms on loopback; with a wrong or missing key the SYN is
 * dropped by the peer's kernel and the socket stays connecting (the session's ConnectRetry timer
 * gives up on it). The read that the constructor starts on the unconnected fd is harmless: the
 * connect() is issued in the same turn, before libuv polls the fd.
 *
 * Listening: the addon creates the socket (SO_REUSEADDR, as Node's listen does), binds it, sets
 * the keys per peer address and only then listens, so no SYN of a peer with a key can be
 * accepted unsigned; net.Server takes the fd over (`listen({ fd })`). Keys change on the live
 * socket (peers added or removed by a reload or the nodes file); connections already accepted
 * keep the key they were accepted with (the kernel copies it).
 */
import { createServer, isIPv4, Socket, type Server } from 'node:net';
import { md5Support, type Md5Addon } from './md5.js';

const familyOf = (address: string): 4 | 6 => (isIPv4(address) ? 4 : 6);

/** A socket already failed with `error` (emitted after the caller has attached its handlers). */
function failed(error: Error): Socket {
  const s = new Socket();
  process.nextTick(() => s.destroy(error));
  return s;
}

export function md5Error(reason: string): Error {
  return Object.assign(new Error(`TCP MD5 is configured but ${reason}`), { code: 'EWEFTMD5' });
}

/** Dials `host:port` with the key set before the SYN. Errors come as the socket's 'error'. */
export function md5Dial(o: { host: string; port: number; localAddress?: string; password: string }): Socket {
  const support = md5Support();
  if (!support.ok) return failed(md5Error(support.reason));
  const md5 = support.addon;
  let fd: number;
  try {
    fd = md5.socket(familyOf(o.host), false);
  } catch (e) {
    return failed(e as Error);
  }
  let socket: Socket;
  try {
    md5.setKey(fd, o.host, o.password);
    if (o.localAddress !== undefined) md5.bind(fd, o.localAddress, 0);
    socket = new Socket({ fd, readable: true, writable: true });
  } catch (e) {
    md5.close(fd);
    return failed(e as Error);
  }
  return socket.connect({ host: o.host, port: o.port });
}

export interface Md5Server {
  readonly port: number;
  setPasswords(passwords: ReadonlyMap<string, string>): void;
  close(): Promise<void>;
}

/** Applies `next` (address -> key) over `current` on a listening fd: changed keys set, removed ones deleted. */
function applyKeys(md5: Md5Addon, fd: number, family: 4 | 6, current: Map<string, string>, next: ReadonlyMap<string, string>): void {
  for (const [address, key] of next) {
    if (family === 4 && !isIPv4(address)) continue; // an IPv6 peer can never reach an IPv4 socket
    if (current.get(address) === key) continue;
    md5.setKey(fd, address, key);
    current.set(address, key);
  }
  for (const address of [...current.keys()]) {
    if (next.has(address)) continue;
    md5.setKey(fd, address, '');
    current.delete(address);
  }
}

/** Listens on host:port with the given keys set before listen(); rejects like net.Server (code EADDRINUSE...). */
export async function md5Listen(host: string, port: number, onConnection: (s: Socket) => void, passwords: ReadonlyMap<string, string>): Promise<Md5Server> {
  const support = md5Support();
  if (!support.ok) throw md5Error(support.reason);
  const md5 = support.addon;
  const family = familyOf(host);
  const fd = md5.socket(family, true);
  const keys = new Map<string, string>();
  try {
    md5.bind(fd, host, port);
    applyKeys(md5, fd, family, keys, passwords);
    md5.listen(fd, 511);
  } catch (e) {
    md5.close(fd);
    const err = e as Error & { code?: string; syscall?: string };
    // The message Node gives for the same failure ("listen EADDRINUSE: address already in use 0.0.0.0:179").
    throw Object.assign(new Error(`listen ${err.code ?? 'error'}: ${err.message.replace(/^\S+ \S+: /, '').toLowerCase()} ${host}:${port}`), { code: err.code, syscall: 'listen' });
  }
  const server: Server = createServer({ noDelay: true }, onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  return {
    port: typeof bound === 'object' && bound ? bound.port : port,
    setPasswords: (next) => applyKeys(md5, fd, family, keys, next),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
