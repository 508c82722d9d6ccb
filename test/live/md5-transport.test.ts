// The TCP MD5 transport (src/agent/io/md5) on this host's loopback, with real sockets and the
// kernel's own checks: a listening socket with a key per peer address takes only connections
// signed with that key; keys follow setPasswords; an IPv4 peer on a dual-stack listener is keyed
// as ::ffff:a.b.c.d. A refused connection is proven by the kernel's drop counter moving (the
// segment was seen and dropped), not by waiting some time.
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { md5Support, readMd5Counters, type Md5Counters } from '../../src/agent/io/md5/md5.js';
import { netTransport, type BgpSocket, type BoundServer } from '../../src/agent/io/transport.js';
import { waitFor } from '../helpers/wait.js';

const support = md5Support();
const skipReason = support.ok ? (readMd5Counters() ? undefined : 'no TcpExt MD5 counters in /proc/net/netstat') : support.reason;
if (skipReason) console.warn(`md5-transport skipped: ${skipReason}`);

const servers: BoundServer[] = [];
const sockets: BgpSocket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await s.close();
});

/** Listens on `host` port 0 with keys; every accepted connection is answered with "hello" and kept. */
async function server(host: string, keys: Record<string, string>): Promise<{ bound: BoundServer; accepted: BgpSocket[] }> {
  const accepted: BgpSocket[] = [];
  const bound = await netTransport.listen(host, 0, (s) => {
    accepted.push(s);
    sockets.push(s);
    s.write('hello');
  }, { passwords: new Map(Object.entries(keys)) });
  servers.push(bound);
  return { bound, accepted };
}

function dial(host: string, port: number, password?: string, localAddress?: string): { socket: BgpSocket; connected: () => boolean; error: () => Error | undefined; data: () => string } {
  const socket = netTransport.dial({ host, port, ...(password !== undefined ? { password } : {}), ...(localAddress ? { localAddress } : {}) });
  sockets.push(socket);
  let connected = false;
  let error: Error | undefined;
  let data = '';
  socket.on('connect', () => (connected = true));
  socket.on('error', (e: Error) => (error = e));
  socket.on('data', (d: Buffer) => (data += d.toString()));
  return { socket, connected: () => connected, error: () => error, data: () => data };
}

const counters = (): Md5Counters => readMd5Counters()!;

/** Waits until the kernel counted one more drop of `kind`; the connection must still be pending. */
async function waitDrop(kind: keyof Md5Counters, before: Md5Counters, d: ReturnType<typeof dial>): Promise<void> {
  await waitFor(() => counters()[kind] > before[kind], { what: `the kernel to count ${kind}`, timeoutMs: 10_000, diagnose: () => JSON.stringify(counters()) });
  expect(d.connected()).toBe(false);
  expect((d.socket as Socket).connecting).toBe(true);
  expect(d.error()).toBeUndefined();
}

describe.skipIf(skipReason !== undefined)('TCP MD5 transport on loopback', () => {
  it('the right key connects (both ends signed), from a bound local address too', async () => {
    const { bound, accepted } = await server('127.0.0.1', { '127.0.0.1': 'k1' });
    const d = dial('127.0.0.1', bound.port, 'k1', '127.0.0.1');
    await waitFor(() => d.data() === 'hello', { what: 'the greeting over an MD5 connection', timeoutMs: 5000 });
    expect(d.connected()).toBe(true);
    expect(accepted).toHaveLength(1);
    expect(d.socket.localAddress).toBe('127.0.0.1');
    expect(d.socket.remotePort).toBe(bound.port);
  });

  it('a wrong key is dropped by the kernel (TCPMD5Failure) and a missing one too (TCPMD5NotFound)', async () => {
    const { bound, accepted } = await server('127.0.0.1', { '127.0.0.1': 'k1' });
    let before = counters();
    const wrong = dial('127.0.0.1', bound.port, 'other');
    await waitDrop('failure', before, wrong);
    before = counters();
    const none = dial('127.0.0.1', bound.port);
    await waitDrop('notFound', before, none);
    expect(accepted).toHaveLength(0);
  });

  it('a key on our side only: the listener without keys drops the signed SYN (TCPMD5Unexpected)', async () => {
    const { bound, accepted } = await server('127.0.0.1', {});
    const before = counters();
    const d = dial('127.0.0.1', bound.port, 'k1');
    await waitDrop('unexpected', before, d);
    expect(accepted).toHaveLength(0);
  });

  it('keys follow setPasswords: changed, then removed (unsigned connections accepted again)', async () => {
    const { bound, accepted } = await server('127.0.0.1', { '127.0.0.1': 'k1' });
    bound.setPasswords!(new Map([['127.0.0.1', 'k2']]));
    const before = counters();
    const old = dial('127.0.0.1', bound.port, 'k1');
    await waitDrop('failure', before, old);
    const now = dial('127.0.0.1', bound.port, 'k2');
    await waitFor(() => now.data() === 'hello', { what: 'a connection with the new key', timeoutMs: 5000 });
    bound.setPasswords!(new Map());
    const plain = dial('127.0.0.1', bound.port);
    await waitFor(() => plain.data() === 'hello', { what: 'an unsigned connection once the key is gone', timeoutMs: 5000 });
    expect(accepted).toHaveLength(2);
  });

  it('a dual-stack listener keys IPv4 peers as ::ffff:a.b.c.d and IPv6 peers as themselves', async () => {
    const { bound, accepted } = await server('::', { '127.0.0.1': 'v4', '::1': 'v6' });
    const v4 = dial('127.0.0.1', bound.port, 'v4');
    const v6 = dial('::1', bound.port, 'v6');
    await waitFor(() => v4.data() === 'hello' && v6.data() === 'hello', { what: 'MD5 connections over IPv4 and IPv6', timeoutMs: 5000 });
    const before = counters();
    const bad = dial('::1', bound.port, 'v4');
    await waitDrop('failure', before, bad);
    expect(accepted).toHaveLength(2);
  });

  it('the port taken: the listen rejects with EADDRINUSE, as node:net does', async () => {
    const { bound } = await server('127.0.0.1', {});
    await expect(netTransport.listen('127.0.0.1', bound.port, () => undefined, { passwords: new Map() })).rejects.toMatchObject({ code: 'EADDRINUSE', message: expect.stringMatching(/^listen EADDRINUSE: address already in use 127\.0\.0\.1:\d+$/) });
  });

  it('a local address that is not ours: the dial fails with an error event, nothing thrown', async () => {
    const d = dial('127.0.0.1', 9, 'k1', '192.0.2.1');
    await waitFor(() => d.error(), { what: 'the dial to fail', timeoutMs: 5000 });
    expect((d.error() as Error & { code?: string }).code).toBe('EADDRNOTAVAIL');
  });
});
