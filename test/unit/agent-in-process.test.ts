// The agent layer in-process (manual scheduler, in-memory transport): behaviours a golden
// transcript does not show well.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { parseAgentConfig } from '../../src/agent/config/agent-config.js';
import { Peer } from '../../src/agent/peers/peer.js';
import { localCapabilities } from '../../src/session/index.js';
import { ManualScheduler, MemoryTransport } from '../helpers/manual-io.js';
import { ScriptedPeer } from '../helpers/scripted-peer.js';

const silent = pino({ level: 'silent' });

describe('agent layer in-process', () => {
  it('listens only once every configured peer exists, so none is refused as unknown at start', async () => {
    const scheduler = new ManualScheduler();
    const transport = new MemoryTransport(scheduler, '10.0.0.1');
    let peersWhenListening = -1;
    const listen = transport.listen.bind(transport);
    const cfg = parseAgentConfig(
      {
        node: { name: 'a', asn: 64512, address: '10.0.0.1/24' },
        mesh: { nodes: [{ name: 'b', address: '10.0.0.2' }, { name: 'c', address: '10.0.0.3' }] },
        pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }],
        dataplane: { enabled: false },
        metrics: { listen: false },
      },
      'test',
    );
    const agent = new Agent(cfg, silent, { controlSocket: false, scheduler, transport });
    transport.listen = (host, port, onConnection) => {
      peersWhenListening = agent.entries.size;
      return listen(host, port, onConnection);
    };
    await agent.start();
    expect(peersWhenListening).toBe(2);
    await agent.shutdown();
  });

  it('a bug while handling one session input ends that session with a Cease; the process and the other sessions go on', async () => {
    const scheduler = new ManualScheduler();
    const transport = new MemoryTransport(scheduler, '10.0.0.1');
    const mk = (address: string) =>
      new Peer(
        { name: address, address, port: 179, session: { localAs: 64512, bgpId: '10.0.0.1', peerAs: 64512, holdTime: 30, passive: true, capabilities: localCapabilities({ localAs: 64512 }) } },
        silent,
        { scheduler, transport },
      );
    const faulty = mk('10.0.0.2');
    const healthy = mk('10.0.0.3');
    faulty.events.subscribe((ev) => {
      if (ev.type === 'update') throw new TypeError('a bug in the routing code');
    });
    const updates: string[] = [];
    healthy.events.subscribe((ev) => {
      if (ev.type === 'update') updates.push('healthy');
    });
    await transport.listen('0.0.0.0', 179, (s) => (s.remoteAddress === '10.0.0.2' ? faulty : healthy).accept(s));
    faulty.start();
    healthy.start();
    const peers = ['10.0.0.2', '10.0.0.3'].map((a) => new ScriptedPeer(transport.connectFrom(a)!, { asn: 64512, id: a, holdTime: 30 }));
    await scheduler.runDue();
    for (const p of peers) p.send({ open: {}, keepalive: true });
    await scheduler.runDue();
    expect([faulty.state.name, healthy.state.name]).toEqual(['Established', 'Established']);
    for (const p of peers) p.send({ update: { announce: ['10.244.1.0/26'] } });
    await scheduler.runDue();
    const got = peers[0].take();
    expect(got.some((m) => m.type === 'notification' && m.code === 6)).toBe(true);
    expect(peers[0].closed).toBe(true);
    expect(faulty.state.name).toBe('Idle');
    expect(faulty.state.lastError?.message).toMatch(/Administrative Reset|administrative-reset/);
    expect(healthy.state.name).toBe('Established');
    expect(updates).toEqual(['healthy']);
    faulty.close();
    healthy.close();
  });

  it('a dial that completed during an event-loop stall is taken, not abandoned by the ConnectRetry timer that fires first', async () => {
    const scheduler = new ManualScheduler();
    const transport = new MemoryTransport(scheduler, '10.0.0.1');
    const peer = new Peer(
      { name: 'p', address: '10.0.0.2', port: 179, session: { localAs: 64512, bgpId: '10.0.0.1', peerAs: 64512, holdTime: 30, connectRetryTime: 1, capabilities: localCapabilities({ localAs: 64512 }) } },
      silent,
      { scheduler, transport },
    );
    peer.start();
    await scheduler.runDue();
    const dial = transport.pendingDial('10.0.0.2')!;
    expect(peer.state.name).toBe('Connect');
    // The loop stalled past ConnectRetry: the timer phase fires first, the completed connect waits in the poll queue.
    scheduler.jumpFiringTimersOnly(1500);
    const remote = transport.accept(dial);
    await scheduler.runDue();
    expect(peer.state.name).toBe('OpenSent');
    expect(transport.dials.length).toBe(1);
    const got = new ScriptedPeer(remote, { asn: 64512, id: '10.0.0.2' });
    await scheduler.runDue();
    expect(got.take().map((m) => m.type)).toEqual(['open']); // weft's OPEN, on the dial that completed
    peer.close();
  });
});
