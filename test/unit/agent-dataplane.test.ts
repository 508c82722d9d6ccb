// The agent's desired-state computation (src/agent/dataplane-desired.ts): Loc-RIB best routes +
// pools + this node -> the data plane's DesiredState, as a pure function.
import { describe, expect, it } from 'vitest';
import {
  assembleDesired,
  blockAttributes,
  computeDesired,
  decideRoute,
  podMtu,
  TUNNEL_TYPE,
  type DesiredContext,
  type PoolLike,
  type RibRoute,
} from '../../src/agent/kernel/dataplane-desired.js';
import { emptyKernelState } from '../../src/dataplane/kernel-state.js';
import type { DesiredState, Encapsulation, TunnelType } from '../../src/dataplane/model.js';
import { plan } from '../../src/dataplane/planner.js';
import { parsePrefix } from '../../src/lib/prefix.js';
import { parseAgentConfig } from '../../src/agent/config/agent-config.js';

/** What the data plane would write for a desired state on an empty kernel. */
const planFor = (s: DesiredState) => plan(emptyKernelState(), s);

const P = (t: string) => parsePrefix(t);

function ctx(encapsulation: Encapsulation, tunnel: TunnelType, extra: Partial<DesiredContext> = {}): DesiredContext {
  return {
    nodeAddress: '10.0.1.11/24',
    pools: [{ cidr: P('10.244.0.0/16'), encapsulation, tunnel }],
    localBlocks: [P('10.244.3.0/26')],
    nodeNames: new Map([
      ['10.0.1.12', 'host-b'],
      ['10.0.2.11', 'host-c'],
    ]),
    underlayDevice: 'eth0',
    underlayMtu: 1500,
    vni: 4096,
    port: 4789,
    ...extra,
  };
}

function route(prefix: string, nextHop: string, extra: Partial<RibRoute> = {}): RibRoute {
  return { prefix: P(prefix), nextHop, source: 'peer', peerId: nextHop, peerAddress: nextHop, peerType: 'ibgp', extCommunities: [], ...extra };
}

const sameSubnet = route('10.244.7.0/26', '10.0.1.12');
const otherSubnet = route('10.244.9.0/26', '10.0.2.11');

describe('decideRoute: pool modes x tunnels', () => {
  const cases: [Encapsulation, TunnelType, string, string][] = [
    ['never', 'vxlan', 'direct', 'direct'],
    ['never', 'ipip', 'direct', 'direct'],
    ['always', 'vxlan', 'vxlan', 'vxlan'],
    ['always', 'ipip', 'ipip', 'ipip'],
    ['crossSubnet', 'vxlan', 'direct', 'vxlan'],
    ['crossSubnet', 'ipip', 'direct', 'ipip'],
  ];
  it.each(cases)('%s + %s: same subnet -> %s, other subnet -> %s', (enc, tun, same, other) => {
    const c = ctx(enc, tun);
    const a = decideRoute(sameSubnet, c);
    const b = decideRoute(otherSubnet, c);
    expect(a.shape).toBe(same);
    expect(b.shape).toBe(other);
    expect(a.route).toMatchObject({ prefix: sameSubnet.prefix, shape: same, node: { name: 'host-b', underlayAddress: '10.0.1.12' } });
    expect(b.route).toMatchObject({ prefix: otherSubnet.prefix, shape: other, node: { name: 'host-c', underlayAddress: '10.0.2.11' } });
    expect(a.pool).toBe(P('10.244.0.0/16'));
  });

  it('gives decideShape reasons', () => {
    expect(decideRoute(otherSubnet, ctx('crossSubnet', 'vxlan')).reason).toBe('crossSubnet: 10.0.2.11 is outside 10.0.1.0/24 -> vxlan');
    expect(decideRoute(sameSubnet, ctx('crossSubnet', 'vxlan')).reason).toBe('crossSubnet: 10.0.1.12 is inside 10.0.1.0/24 -> direct');
    expect(decideRoute(sameSubnet, ctx('always', 'ipip')).reason).toBe('encapsulation always -> ipip');
  });

  it('a /32 node address tunnels everything under crossSubnet (calico#4254)', () => {
    const d = decideRoute(sameSubnet, ctx('crossSubnet', 'vxlan', { nodeAddress: '10.0.1.11/32' }));
    expect(d.shape).toBe('vxlan');
    expect(d.reason).toContain('calico#4254');
  });
});

describe('decideRoute: ToR, external and odd routes', () => {
  it('a route from an eBGP ToR is direct via the ToR whatever the pool says', () => {
    for (const enc of ['always', 'crossSubnet', 'never'] as const) {
      const d = decideRoute(route('10.244.9.0/26', '10.0.1.1', { peerType: 'ebgp', peerId: 'tor1' }), ctx(enc, 'vxlan'));
      expect(d.shape).toBe('direct');
      expect(d.route).toMatchObject({ shape: 'direct', node: { underlayAddress: '10.0.1.1' } });
      expect(d.reason).toContain('eBGP peer tor1');
    }
  });

  it('a reflected iBGP route keeps the originating node as next hop and follows the pool', () => {
    const d = decideRoute(route('10.244.9.0/26', '10.0.2.11', { peerId: 'rr1', peerAddress: '10.0.1.100' }), ctx('crossSubnet', 'vxlan'));
    expect(d.shape).toBe('vxlan');
    expect(d.route?.node.underlayAddress).toBe('10.0.2.11');
  });

  it('a route outside every pool is direct via its next hop', () => {
    const d = decideRoute(route('192.168.50.0/24', '10.0.1.1', { peerType: 'ebgp', peerId: 'tor1' }), ctx('always', 'vxlan'));
    expect(d).toMatchObject({ shape: 'direct', route: { shape: 'direct', node: { underlayAddress: '10.0.1.1' } } });
    expect(d.reason).toContain('outside every pool');
    expect(d.pool).toBeUndefined();
  });

  it('writes nothing for a next hop that is this node or of the other family, and tunnels IPv4 only', () => {
    const shapeAndRoute = (d: ReturnType<typeof decideRoute>) => [d.shape, d.route];
    expect(shapeAndRoute(decideRoute(route('10.244.9.0/26', '10.0.1.11'), ctx('always', 'vxlan')))).toEqual(['local', undefined]);
    expect(shapeAndRoute(decideRoute(route('10.244.9.0/26', 'fd00::1'), ctx('always', 'vxlan')))).toEqual(['none', undefined]);
    const v6ctx = ctx('always', 'vxlan', { pools: [{ cidr: P('fd10::/48'), encapsulation: 'always', tunnel: 'vxlan' }] });
    expect(shapeAndRoute(decideRoute(route('fd10:0:0:1::/64', 'fd00::2'), v6ctx))).toEqual(['none', undefined]);
    const v6direct = ctx('never', 'vxlan', { pools: [{ cidr: P('fd10::/48'), encapsulation: 'never', tunnel: 'vxlan' }] });
    expect(decideRoute(route('fd10:0:0:1::/64', 'fd00::2'), v6direct).shape).toBe('direct');
  });
});

describe('VTEP MAC: signalled vs derived', () => {
  it('uses the Router\'s MAC extended community when present', () => {
    const r = route('10.244.9.0/26', '10.0.2.11', { extCommunities: [{ type: 'encapsulation', tunnelType: 8 }, { type: 'router-mac', mac: 'AA:BB:CC:00:11:22' }] });
    const d = decideRoute(r, ctx('always', 'vxlan'));
    expect(d.macSource).toBe('signalled');
    expect(d.route?.node.mac).toBe('aa:bb:cc:00:11:22');
    const s = assembleDesired([d], ctx('always', 'vxlan'));
    expect(s.routes[0].node.mac).toBe('aa:bb:cc:00:11:22');
  });

  it('derives it from the underlay address otherwise', () => {
    const d = decideRoute(otherSubnet, ctx('always', 'vxlan'));
    expect(d.macSource).toBe('derived');
    const s = assembleDesired([d], ctx('always', 'vxlan'));
    expect(s.routes[0].node.mac).toBe('02:00:0a:00:02:0b');
  });

  it('one MAC per node: a signalled MAC on one block applies to the node\'s other blocks', () => {
    const c = ctx('always', 'vxlan');
    const signalled = route('10.244.9.0/26', '10.0.2.11', { extCommunities: [{ type: 'router-mac', mac: 'aa:bb:cc:00:11:22' }] });
    const plain = route('10.244.9.64/26', '10.0.2.11');
    const { state } = computeDesired([signalled, plain], c);
    expect(state.routes.map((r) => r.node.mac)).toEqual(['aa:bb:cc:00:11:22', 'aa:bb:cc:00:11:22']);
    expect(planFor(state).problems).toEqual([]);
  });
});

describe('computeDesired', () => {
  it('local blocks become blackholes and are never remote routes; devices follow the pools', () => {
    const c = ctx('crossSubnet', 'vxlan');
    const { state, decisions } = computeDesired([route('10.244.3.0/26', '', { source: 'local', peerId: '<local>' }), sameSubnet, otherSubnet], c);
    expect(state.localBlocks).toEqual([P('10.244.3.0/26')]);
    expect(decisions.has(P('10.244.3.0/26'))).toBe(false);
    expect(state.routes.map((r) => r.shape)).toEqual(['direct', 'vxlan']);
    expect(state.underlayDevice).toBe('eth0');
    expect(state.vxlan).toMatchObject({ device: 'weft.vxlan', vni: 4096, port: 4789, localAddress: '10.0.1.11', mtu: 1450, vtepAddress: '10.244.3.0', mac: '02:00:0a:00:01:0b' });
    expect(state.ipip).toBeUndefined();
    const lines = planFor(state).lines.map((l) => l.line);
    expect(lines).toContain('route replace blackhole 10.244.3.0/26 proto 249');
    expect(lines).toContain('route replace 10.244.7.0/26 via 10.0.1.12 dev eth0 proto 249');
    expect(lines).toContain('route replace 10.244.9.0/26 via 10.0.2.11 dev weft.vxlan onlink proto 249');
  });

  it('no tunnel device when the pools never tunnel; tunl0 for IP-in-IP pools', () => {
    expect(computeDesired([otherSubnet], ctx('never', 'vxlan')).state.vxlan).toBeUndefined();
    const ip = computeDesired([otherSubnet], ctx('always', 'ipip')).state;
    expect(ip.vxlan).toBeUndefined();
    expect(ip.ipip).toEqual({ device: 'tunl0', mtu: 1480 });
    expect(planFor(ip).lines.map((l) => l.line)).toContain('route replace 10.244.9.0/26 via 10.0.2.11 dev tunl0 onlink proto 249');
  });

  it('uses the configured VNI and port', () => {
    expect(computeDesired([], ctx('always', 'vxlan', { vni: 77, port: 8472 })).state.vxlan).toMatchObject({ vni: 77, port: 8472 });
  });
});

describe('podMtu', () => {
  const pools = (...p: [Encapsulation, TunnelType][]): PoolLike[] => p.map(([encapsulation, tunnel], i) => ({ cidr: P(`10.${i}.0.0/16`), encapsulation, tunnel }));
  it('underlay - 50 for VXLAN, - 20 for IP-in-IP, the underlay MTU when nothing tunnels', () => {
    expect(podMtu(pools(['crossSubnet', 'vxlan']), 1500).mtu).toBe(1450);
    expect(podMtu(pools(['always', 'ipip']), 9000).mtu).toBe(8980);
    expect(podMtu(pools(['always', 'ipip'], ['crossSubnet', 'vxlan']), 1500).mtu).toBe(1450);
    expect(podMtu(pools(['never', 'vxlan']), 1500)).toEqual({ mtu: 1500, reason: 'no pool tunnels: the underlay MTU 1500' });
    expect(podMtu([], 1500).mtu).toBe(1500);
  });
});

describe('blockAttributes: what own blocks carry', () => {
  const pools = (encapsulation: Encapsulation, tunnel: TunnelType): PoolLike[] => [{ cidr: P('10.244.0.0/16'), encapsulation, tunnel }];
  const ext = (attrs: ReturnType<typeof blockAttributes>) => attrs.find((a) => a.type === 'ext-communities');

  it('VXLAN pool: encapsulation type 8 and the Router\'s MAC of this node', () => {
    const a = blockAttributes(P('10.244.3.0/26'), pools('crossSubnet', 'vxlan'), '10.0.1.11');
    expect(a[0]).toEqual({ type: 'origin', flags: 0x40, origin: 0 });
    expect(ext(a)).toEqual({
      type: 'ext-communities',
      flags: 0xc0,
      communities: [
        { type: 'encapsulation', tunnelType: TUNNEL_TYPE.vxlan },
        { type: 'router-mac', mac: '02:00:0a:00:01:0b' },
      ],
    });
  });

  it('IP-in-IP pool: encapsulation type 7, no MAC', () => {
    expect(ext(blockAttributes(P('10.244.3.0/26'), pools('always', 'ipip'), '10.0.1.11'))).toMatchObject({ communities: [{ type: 'encapsulation', tunnelType: 7 }] });
  });

  it('encapsulation never: no encapsulation community', () => {
    const e = ext(blockAttributes(P('10.244.3.0/26'), pools('never', 'vxlan'), '10.0.1.11'));
    expect(e && e.type === 'ext-communities' ? e.communities.some((c) => c.type === 'encapsulation') : false).toBe(false);
    expect(ext(blockAttributes(P('10.244.3.0/26'), pools('never', 'ipip'), '10.0.1.11'))).toBeUndefined();
  });
});

describe('config: dataplane and vxlan sections', () => {
  const base = { node: { name: 'a', asn: 64512, address: '10.0.1.11/24' }, pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }] };

  it('documented defaults', () => {
    const c = parseAgentConfig(base, 'test.yaml').config;
    expect(c.dataplane).toEqual({ enabled: true, keepRoutesOnExit: true, resyncSeconds: 10 });
    expect(c.vxlan).toEqual({ vni: 4096, port: 4789 });
    expect(c.pools[0]).toMatchObject({ encapsulation: 'crossSubnet', tunnel: 'vxlan' });
  });

  it('path-qualified errors', () => {
    const bad = { ...base, dataplane: { underlayDevice: 'a name that is far too long', resyncSeconds: -1 }, vxlan: { vni: 0 } };
    let message = '';
    try {
      parseAgentConfig(bad, 'test.yaml');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/dataplane\.underlayDevice/);
    expect(message).toMatch(/dataplane\.resyncSeconds/);
    expect(message).toMatch(/vxlan\.vni/);
  });
});
