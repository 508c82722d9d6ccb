// BFD in the agent, in-process: manual scheduler, in-memory TCP and UDP. A mesh peer with
// `mesh.bfd` gets a BFD session next to its BGP session; the remote end is a second BfdService on
// the peer's address. Freezing the peer takes the BGP session down within the BFD detection time
// (not the hold time) with Cease/10 BFD Down (RFC 9384) and withdraws its routes; BFD comes back
// by itself; bad packets are dropped and counted, never thrown.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { BfdService } from '../../src/agent/bfd/bfd-service.js';
import { parseAgentConfig } from '../../src/agent/config/agent-config.js';
import { controlPacket } from '../../src/session/bfd-fsm.js';
import { encodeBfdControl, type BfdControlPacket } from '../../src/wire/bfd.js';
import { ManualScheduler, MemoryTransport } from '../helpers/manual-io.js';
import { MemoryNetwork } from '../helpers/manual-dgram.js';
import { ScriptedPeer } from '../helpers/scripted-peer.js';

const silent = pino({ level: 'silent' });
const A = '10.0.0.1';
const B = '10.0.0.2';
const PORT = 3784;

function setup(bfd: unknown = { interval: 300, multiplier: 3 }, reloadBfd?: { value: unknown }) {
  const scheduler = new ManualScheduler();
  const transport = new MemoryTransport(scheduler, A);
  const net = new MemoryNetwork();
  const config = (bfdValue: unknown) =>
    parseAgentConfig(
      {
        node: { name: 'a', asn: 64512, address: `${A}/24` },
        mesh: { nodes: [{ name: 'b', address: B }], bfd: bfdValue },
        timers: { holdTime: 30, keepalive: 10, connectRetry: 1 },
        pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }],
        dataplane: { enabled: false },
        metrics: { listen: false },
      },
      'test',
    );
  const cfg = config(bfd);
  const loadConfig = () => config(reloadBfd ? reloadBfd.value : bfd);
  const agent = new Agent(cfg, silent, { controlSocket: false, scheduler, transport, datagrams: net.host(A), loadConfig });
  const remote = new BfdService(silent, { scheduler, datagrams: net.host(B) });
  return { scheduler, transport, net, agent, remote };
}

const bfdOf = (agent: Agent) => agent.status().peers.find((p) => p.id === 'b')?.bfd;

async function established(s: ReturnType<typeof setup>): Promise<ScriptedPeer> {
  await s.agent.start();
  // 10.0.0.2 sorts higher than 10.0.0.1: b dials (Calico's mesh rule), a listens.
  const peer = new ScriptedPeer(s.transport.connectFrom(B)!, { asn: 64512, id: B, holdTime: 30 });
  await s.scheduler.runDue();
  peer.send({ open: {}, keepalive: true });
  await s.scheduler.runDue();
  peer.send({ update: { announce: ['10.244.7.0/26'], nextHop: B } });
  await s.scheduler.runDue();
  expect(s.agent.entries.get(B)?.peer.state.name).toBe('Established');
  return peer;
}

describe('BFD in the agent (in-process)', () => {
  it('comes Up next to the BGP session and shows in status', async () => {
    const s = setup();
    await established(s);
    expect(bfdOf(s.agent)?.state).toBe('Down'); // BGP did not wait for BFD (RFC 5882 3.1)
    s.remote.add(A, { desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMult: 3 });
    await s.scheduler.advance(3000);
    const b = bfdOf(s.agent)!;
    expect(b.state).toBe('Up');
    expect(b.remoteState).toBe('Up');
    expect(b.txIntervalMs).toBe(300); // the Poll Sequence after Up moved both sides to 300 ms
    expect(b.detectTimeMs).toBe(900);
    expect(b.upTransitions).toBe(1);
    // RFC 5881 4/5: to port 3784, from a source port in 49152-65535, TTL 255.
    const ours = s.net.sent.filter((d) => d.from.address === A);
    expect(ours.length).toBeGreaterThan(5);
    for (const d of ours) {
      expect(d.to).toEqual({ address: B, port: PORT });
      expect(d.from.port).toBeGreaterThanOrEqual(49152);
      expect(d.ttl).toBe(255);
    }
    expect(new Set(ours.map((d) => d.from.port)).size).toBe(1);
    await s.agent.shutdown();
    s.remote.closeAll();
  });

  it('a frozen peer: BGP goes down with Cease/10 BFD Down within the detection time, routes withdrawn; BFD comes back after the thaw', async () => {
    const s = setup();
    const peer = await established(s);
    s.remote.add(A, { desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMult: 3 });
    await s.scheduler.advance(3000);
    expect(bfdOf(s.agent)?.state).toBe('Up');
    expect((await s.agent.request({ op: 'routes' })).ok && s.agent.rib.size()).toBeGreaterThan(0);
    const routesBefore = s.agent.rib.size();
    peer.take();
    s.net.freeze(B);
    const frozeAt = s.scheduler.now();
    let downAt: number | undefined;
    for (let t = 0; t < 5000 && downAt === undefined; t += 10) {
      await s.scheduler.advance(10);
      if (s.agent.entries.get(B)?.peer.state.name !== 'Established') downAt = s.scheduler.now();
    }
    expect(downAt).toBeDefined();
    const took = downAt! - frozeAt;
    // Detection time 900 ms; the last packet came at most one (jittered) interval before the freeze.
    expect(took).toBeLessThanOrEqual(900);
    expect(took).toBeGreaterThanOrEqual(900 - 300);
    const notes = peer.take().filter((m) => m.type === 'notification');
    expect(notes).toEqual([expect.objectContaining({ code: 6, subcode: 10 })]);
    expect(s.agent.rib.size()).toBeLessThan(routesBefore);
    const st = s.agent.status().peers.find((p) => p.id === 'b')!;
    expect(st.bfd?.state).toBe('Down');
    expect(st.bfd?.detectionTimeouts).toBe(1);
    expect(st.lastError).toMatch(/BFD down/);
    s.net.thaw(B);
    await s.scheduler.advance(4000);
    expect(bfdOf(s.agent)?.state).toBe('Up');
    expect(bfdOf(s.agent)?.upTransitions).toBe(2);
    await s.agent.shutdown();
    s.remote.closeAll();
  });

  it('after an event-loop stall, packets that arrived in time are read before the detection timer decides', async () => {
    const s = setup();
    await established(s);
    const far = s.remote.add(A, { desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMult: 3 });
    await s.scheduler.advance(3000);
    expect(bfdOf(s.agent)?.state).toBe('Up');
    // Our loop stalls 2 s: libuv's timer phase runs first (the detection timer is long past due)...
    s.scheduler.jumpFiringTimersOnly(2000);
    // ... while the peer's packet sat in the socket's receive queue (and ours in the peer's: the
    // test's remote runs on the same stalled clock).
    s.net.inject({ address: B, port: 49999 }, A, PORT, encodeBfdControl(controlPacket(far.state)));
    s.net.inject({ address: A, port: 49998 }, B, PORT, encodeBfdControl(controlPacket(s.agent.entries.get(B)!.bfd!.state)));
    await s.scheduler.runDue();
    expect(bfdOf(s.agent)?.state).toBe('Up');
    expect(bfdOf(s.agent)?.detectionTimeouts).toBe(0);
    expect(s.agent.entries.get(B)?.peer.state.name).toBe('Established');
    await s.agent.shutdown();
    s.remote.closeAll();
  });

  it('the peer going AdminDown does not take BGP down (RFC 5882 3.2)', async () => {
    const s = setup();
    await established(s);
    s.remote.add(A, { desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMult: 3 });
    await s.scheduler.advance(3000);
    expect(bfdOf(s.agent)?.state).toBe('Up');
    s.remote.remove(A); // sends AdminDown
    await s.scheduler.advance(2000);
    expect(bfdOf(s.agent)?.state).toBe('Down');
    expect(bfdOf(s.agent)?.remoteState).not.toBe('Up');
    expect(s.agent.entries.get(B)?.peer.state.name).toBe('Established');
    await s.agent.shutdown();
  });

  it('drops and counts malformed packets, strangers and unknown discriminators; never throws', async () => {
    const s = setup();
    await established(s);
    const good: BfdControlPacket = {
      diag: 0, state: 'Down', poll: false, final: false, cpi: false, demand: false, multipoint: false, detectMult: 3,
      myDiscriminator: 77, yourDiscriminator: 0, desiredMinTxUs: 1_000_000, requiredMinRxUs: 300_000, requiredMinEchoRxUs: 0,
    };
    const bytes = encodeBfdControl(good);
    const send = (from: string, b: Uint8Array) => s.net.inject({ address: from, port: 50000 }, A, PORT, b);
    await s.scheduler.runDue();
    send('10.0.0.99', bytes); // no session with this address
    send(B, bytes.slice(0, 10)); // short
    send(B, Uint8Array.from([0x40, ...bytes.slice(1)])); // version 2
    send(B, Uint8Array.from([...bytes.slice(0, 3), 200, ...bytes.slice(4)])); // Length past the datagram
    send(B, encodeBfdControl({ ...good, yourDiscriminator: 12345, state: 'Up' })); // unknown discriminator
    send(B, encodeBfdControl({ ...good, state: 'Up' })); // Your Discriminator 0 with State Up: the session discards it
    send('10.0.0.99', new Uint8Array(3000).fill(0xff)); // version 7: decoding comes first (6.8.6)
    await s.scheduler.runDue();
    const st = s.agent.status();
    expect(st.bfdDropped).toEqual({ 'unknown-peer': 1, short: 1, version: 2, length: 1, 'your-discriminator-unknown': 1 });
    expect(st.peers[0]?.bfd?.discarded).toEqual({ 'your-discriminator-zero': 1 });
    expect(st.peers[0]?.state).toBe('Established');
    await s.agent.shutdown();
  });

  it('a reload that changes the BFD interval replaces the session; it comes Up again on the same UDP port', async () => {
    const next = { value: { interval: 300, multiplier: 3 } as unknown };
    const s = setup({ interval: 300, multiplier: 3 }, next);
    await established(s);
    s.remote.add(A, { desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMult: 3 });
    await s.scheduler.advance(3000);
    expect(bfdOf(s.agent)?.state).toBe('Up');
    next.value = { interval: 300, multiplier: 5 };
    const r = await s.agent.request({ op: 'reload' });
    expect(r.ok).toBe(true);
    // A changed peer setting opens the BGP session again too (as any other setting of the peer).
    const peer = new ScriptedPeer(s.transport.connectFrom(B)!, { asn: 64512, id: B, holdTime: 30 });
    await s.scheduler.runDue();
    peer.send({ open: {}, keepalive: true });
    await s.scheduler.advance(5000);
    const b = bfdOf(s.agent)!;
    expect(b.configured).toEqual({ intervalMs: 300, multiplier: 5 });
    expect(b.state).toBe('Up');
    expect(b.error).toBeUndefined();
    expect(s.agent.status().bfdDropped).toEqual({});
    await s.agent.shutdown();
    s.remote.closeAll();
  });

  it('IPv6 peers: two services come Up over an IPv6 path (RFC 5881 4: same port, hop limit 255)', async () => {
    const scheduler = new ManualScheduler();
    const net = new MemoryNetwork();
    const cfg = { desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMult: 3 };
    const x = new BfdService(silent, { scheduler, datagrams: net.host('fd00::1') });
    const y = new BfdService(silent, { scheduler, datagrams: net.host('fd00::2') });
    const sx = x.add('fd00::2', cfg);
    y.add('fd00::1', cfg);
    await scheduler.advance(4000);
    expect(sx.status()).toMatchObject({ state: 'Up', remoteState: 'Up', detectTimeMs: 900 });
    expect(net.sent.every((d) => d.ttl === 255 && d.to.port === PORT)).toBe(true);
    // A packet from the v4-mapped form of nobody we know is dropped, counted.
    x.onPacket(new Uint8Array(30), { address: '::ffff:10.9.9.9', port: 50000 });
    expect(x.dropped).toEqual({ version: 1 });
    x.closeAll();
    y.closeAll();
  });

  it('bfd: false (or none) starts no BFD session', async () => {
    const s = setup(false);
    await established(s);
    expect(bfdOf(s.agent)).toBeUndefined();
    await s.scheduler.advance(2000);
    expect(s.net.sent.length).toBe(0);
    await s.agent.shutdown();
  });
});

describe('BFD socket errors', () => {
  it('an uplink down (every send fails with ENETUNREACH) is logged once a minute, not once a packet', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const scheduler = new ManualScheduler();
    const net = new MemoryNetwork();
    const svc = new BfdService(log, { scheduler, datagrams: net.host(A) });
    net.cutOff(A);
    svc.add(B, { desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3 });
    await scheduler.advance(10_000);
    const errors = () => lines.filter((l) => l.event === 'bfd.socket-error');
    expect(errors()).toEqual([expect.objectContaining({ peer: B, error: `send ENETUNREACH ${B}:${PORT}` })]);
    await scheduler.advance(60_000);
    expect(errors()).toHaveLength(2);
    expect(errors()[1].repeatedBefore).toBeGreaterThan(50);
    svc.closeAll();
  });
});
