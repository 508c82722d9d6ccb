// Host protection inside the agent (issue 13), in-process with a fake nft: the table is in place
// before weft listens, follows the peers on reload, stays on shutdown, and without nft the agent
// refuses to start (nothing listens).
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { parseAgentConfig, type LoadedConfig } from '../../src/agent/config/agent-config.js';
import type { AgentStatus } from '../../src/agent/control/protocol.js';
import { formatHostProtection } from '../../src/cli/status.js';
import { FakeNft } from '../helpers/fake-nft.js';
import { ManualScheduler, MemoryTransport } from '../helpers/manual-io.js';
import { ScriptedPeer } from '../helpers/scripted-peer.js';
import { VtepSources, vxlanPools } from '../../src/agent/kernel/vtep-sources.js';
import { parsePrefix } from '../../src/lib/prefix.js';
import type { Change } from '../../src/rib/loc-rib.js';
import type { Path } from '../../src/rib/peer.js';

const silent = pino({ level: 'silent' });

const config = (nodes: string[]): LoadedConfig =>
  parseAgentConfig(
    {
      node: { name: 'a', asn: 64512, address: '10.0.0.1/24' },
      mesh: { nodes: [{ name: 'a', address: '10.0.0.1' }, ...nodes.map((address, i) => ({ name: `n${i}`, address }))] },
      peers: [{ name: 'tor', address: '10.0.0.254', asn: 65001, bfd: true }],
      pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }],
      dataplane: { enabled: false },
      hostProtection: { enabled: true },
    },
    'test',
  );

function setup(nodes: string[], nft = new FakeNft()) {
  const scheduler = new ManualScheduler();
  const transport = new MemoryTransport(scheduler, '10.0.0.1');
  let next = config(nodes);
  const agent = new Agent(config(nodes), silent, { controlSocket: false, scheduler, transport, nft, loadConfig: () => next });
  const listening: number[] = [];
  const listen = transport.listen.bind(transport);
  transport.listen = (host, port, onConnection) => {
    listening.push(nft.written.length);
    return listen(host, port, onConnection);
  };
  return { agent, nft, scheduler, transport, listening, setNext: (n: string[]) => (next = config(n)) };
}

describe('agent host protection', () => {
  it('writes the table before it listens: peers and members may reach BGP, members VXLAN, BFD peers BFD', async () => {
    const t = setup(['10.0.0.2', '10.0.0.3']);
    await t.agent.start();
    expect(t.listening).toEqual([1]);
    expect(t.nft.set('bgp4')).toEqual(['10.0.0.2', '10.0.0.254', '10.0.0.3']);
    expect(t.nft.set('vxlan4')).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(t.nft.set('bfd4')).toEqual(['10.0.0.254']);
    expect(t.agent.status().hostProtection).toMatchObject({ enabled: true, table: 'inet weft', writes: 1, sets: { bgp4: 3, vxlan4: 2, bfd4: 1, vnis: 1 } });
    await t.agent.shutdown();
  });

  it('a reload that adds a mesh node writes the new set; shutdown leaves the table in place', async () => {
    const t = setup(['10.0.0.2']);
    await t.agent.start();
    t.setNext(['10.0.0.2', '10.0.0.9']);
    t.agent.reload();
    await t.scheduler.runDue();
    expect(t.nft.set('vxlan4')).toEqual(['10.0.0.2', '10.0.0.9']);
    const writes = t.nft.written.length;
    await t.agent.shutdown();
    expect(t.nft.written).toHaveLength(writes);
    expect(t.nft.table).toBeDefined();
  });

  it('adopts a matching table at start without writing', async () => {
    const first = setup(['10.0.0.2']);
    await first.agent.start();
    await first.agent.shutdown();
    const again = setup(['10.0.0.2'], first.nft);
    await again.agent.start();
    expect(first.nft.written).toHaveLength(1);
    expect(again.agent.status().hostProtection).toMatchObject({ writes: 0 });
    await again.agent.shutdown();
  });

  it('the next hop of a pod block learned from a peer may send VXLAN (a node heard through a reflector, a dual-stack node\'s other address)', async () => {
    const t = setup(['10.0.0.2']);
    await t.agent.start();
    const peer = new ScriptedPeer(t.transport.connectFrom('10.0.0.2')!, { asn: 64512, id: '10.0.0.2', holdTime: 30 });
    await t.scheduler.runDue();
    peer.send({ open: {}, keepalive: true });
    await t.scheduler.runDue();
    peer.send({ update: { announce: ['10.244.5.0/26', '10.244.6.0/26'], nextHop: '10.0.0.77' } });
    peer.send({ update: { announce: ['192.0.2.0/24'], nextHop: '10.0.0.88' } }); // outside every pool: not a VTEP
    await t.scheduler.runDue();
    expect(t.nft.set('vxlan4')).toEqual(['10.0.0.2', '10.0.0.77']);
    expect(t.nft.set('bgp4')).toEqual(['10.0.0.2', '10.0.0.254']); // BGP only from configured sessions
    peer.send({ update: { withdraw: ['10.244.5.0/26', '10.244.6.0/26'] } });
    await t.scheduler.runDue();
    expect(t.nft.set('vxlan4')).toEqual(['10.0.0.2']);
    await t.agent.shutdown();
  });

  it('without nft the agent refuses to start and never listens', async () => {
    const nft = new FakeNft();
    nft.missing = true;
    const t = setup(['10.0.0.2'], nft);
    await expect(t.agent.start()).rejects.toThrow('hostProtection.enabled is true but nft not found: install the nftables package');
    expect(t.listening).toEqual([]);
    expect(nft.written).toEqual([]);
  });
});

describe('weft status: host protection line', () => {
  const st = (h: AgentStatus['hostProtection']) => ({ hostProtection: h }) as AgentStatus;

  it('off, on with set sizes and drops, and the last error', () => {
    expect(formatHostProtection(st(undefined))).toBe('');
    expect(formatHostProtection(st({ enabled: false, table: 'inet weft', sets: {}, dropped: {}, writes: 0, repairs: 0 }))).toBe('host protection: off (hostProtection.enabled: false)\n');
    const on = formatHostProtection(
      st({ enabled: true, table: 'inet weft', sets: { bgp4: 3, bgp6: 0, vxlan4: 2, vxlan6: 0, vnis: 1 }, dropped: { 'bgp-v4': 4, 'vxlan-v4': 0, 'vxlan-vni': 2 }, writes: 2, repairs: 1, lastReconcile: new Date().toISOString(), lastError: 'nft -f -: Operation not permitted' }),
    );
    expect(on).toBe('host protection: table inet weft; sets: bgp4 3, bgp6 0, vxlan4 2, vxlan6 0, vnis 1; dropped: 4 bgp-v4, 2 vxlan-vni; writes 2, repairs 1; checked 0s ago; last error: nft -f -: Operation not permitted\n');
  });
});

describe('VTEP sources: next hops of pod blocks learned from peers', () => {
  const path = (nextHop: string, source: 'peer' | 'local' = 'peer') => ({ source, attrs: { nextHop } }) as unknown as Path;
  const ch = (prefix: string, best: Path | undefined): Change => ({ prefix: parsePrefix(prefix), best, previous: undefined, reason: '' });
  const pools = [parsePrefix('10.244.0.0/16'), parsePrefix('fd00:244::/48')];

  it('counts each address once per prefix, whatever order the changes come in; only pool prefixes from peers', () => {
    const v = new VtepSources();
    expect(v.apply([ch('10.244.1.0/26', path('10.0.0.2')), ch('10.244.2.0/26', path('10.0.0.2')), ch('10.244.9.0/26', path('10.0.0.9', 'local')), ch('192.0.2.0/24', path('10.0.0.8'))], pools)).toBe(true);
    expect(v.addresses()).toEqual(['10.0.0.2']);
    expect(v.apply([ch('10.244.1.0/26', path('10.0.0.2'))], pools)).toBe(false); // the same again: nothing changes
    expect(v.apply([ch('10.244.1.0/26', undefined)], pools)).toBe(false); // 10.244.2.0/26 still behind 10.0.0.2
    expect(v.apply([ch('10.244.2.0/26', path('10.0.0.3'))], pools)).toBe(true); // moved
    expect(v.addresses()).toEqual(['10.0.0.3']);
  });

  it('only pools that may use VXLAN bring VTEPs: blocks of a never or IP-in-IP pool are not tracked', () => {
    const cfg = [
      { cidr: parsePrefix('10.244.0.0/16'), encapsulation: 'crossSubnet', tunnel: 'vxlan' },
      { cidr: parsePrefix('10.245.0.0/16'), encapsulation: 'never', tunnel: 'vxlan' },
      { cidr: parsePrefix('10.246.0.0/16'), encapsulation: 'always', tunnel: 'ipip' },
    ];
    expect(vxlanPools(cfg)).toEqual([parsePrefix('10.244.0.0/16')]);
    expect(vxlanPools(cfg)).toBe(vxlanPools(cfg)); // once per pools array
    const v = new VtepSources();
    expect(v.apply([ch('10.245.1.0/26', path('10.0.0.5')), ch('10.246.1.0/26', path('10.0.0.6'))], vxlanPools(cfg))).toBe(false);
    expect(v.addresses()).toEqual([]);
    expect(v.apply([ch('10.244.1.0/26', path('10.0.0.4'))], vxlanPools(cfg))).toBe(true);
    expect(v.addresses()).toEqual(['10.0.0.4']);
    // No VXLAN pool left (a reload): what was counted goes as its prefixes change.
    expect(v.apply([ch('10.244.1.0/26', undefined)], [])).toBe(true);
    expect(v.addresses()).toEqual([]);
  });

  it('an IPv4-mapped next hop is its IPv4 address; IPv6 next hops count too', () => {
    const v = new VtepSources();
    v.apply([ch('fd00:244:0:1::/64', path('::ffff:10.0.0.4')), ch('fd00:244:0:2::/64', path('fd00:1::5'))], pools);
    expect(v.addresses().sort()).toEqual(['10.0.0.4', 'fd00:1::5']);
  });
});
