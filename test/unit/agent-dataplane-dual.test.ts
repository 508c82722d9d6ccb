// Issue 12 in the desired-state computation (src/agent/kernel/dataplane-desired.ts): dual-stack
// decisions (IPv4-mapped next hops, an IPv6 underlay, RFC 8950), ECMP, devices per underlay family.
import { describe, expect, it } from 'vitest';
import { assembleDesired, blockAttributes, decideRoute, podMtu, type DesiredContext, type RibRoute } from '../../src/agent/kernel/dataplane-desired.js';
import { parsePrefix } from '../../src/lib/prefix.js';

const P = (t: string) => parsePrefix(t);

const ctx = (extra: Partial<DesiredContext> = {}): DesiredContext => ({
  nodeAddress: '10.0.1.11/24',
  pools: [
    { cidr: P('10.244.0.0/16'), encapsulation: 'crossSubnet', tunnel: 'vxlan' },
    { cidr: P('fd00:244::/56'), encapsulation: 'crossSubnet', tunnel: 'vxlan' },
  ],
  localBlocks: [P('10.244.1.0/26'), P('fd00:244:0:1::/122')],
  underlayDevice: 'eth0',
  underlayMtu: 1500,
  vni: 4096,
  port: 4789,
  ...extra,
});

const rib = (prefix: string, nextHop: string, o: Partial<RibRoute> = {}): RibRoute => ({
  prefix: P(prefix),
  nextHop,
  source: 'peer',
  peerId: 'host-b',
  peerAddress: '10.0.1.12',
  peerType: 'ibgp',
  extCommunities: [],
  ...o,
});

describe('dual-stack decisions', () => {
  it('an IPv6 block with an IPv4-mapped next hop (a node with no IPv6 underlay) goes through weft.vxlan, even inside the subnet', () => {
    const d = decideRoute(rib('fd00:244:0:2::/122', '::ffff:10.0.1.12'), ctx());
    expect(d.shape).toBe('vxlan');
    expect(d.route?.node.underlayAddress).toBe('10.0.1.12');
    expect(d.reason).toBe('crossSubnet: 10.0.1.12 is inside 10.0.1.0/24 -> direct, but an IPv6 route cannot have the IPv4 gateway 10.0.1.12 -> vxlan');
  });

  it('with encapsulation never, such a block cannot be routed: not written, and why', () => {
    const c = ctx({ pools: [{ cidr: P('fd00:244::/56'), encapsulation: 'never', tunnel: 'vxlan' }] });
    const d = decideRoute(rib('fd00:244:0:2::/122', '::ffff:10.0.1.12'), c);
    expect(d.shape).toBe('none');
    expect(d.reason).toMatch(/cannot have the IPv4 gateway 10\.0\.1\.12: not written/);
  });

  it('an IPv6 underlay (node.address6): same IPv6 subnet -> direct, another -> weft.vxlan6', () => {
    const c = ctx({ otherAddress: 'fd00:77:1::11/64', otherUnderlay: { device: 'eth0', mtu: 1500 } });
    expect(decideRoute(rib('fd00:244:0:2::/122', 'fd00:77:1::12'), c)).toMatchObject({ shape: 'direct', route: { node: { underlayAddress: 'fd00:77:1::12' } } });
    expect(decideRoute(rib('fd00:244:0:3::/122', 'fd00:77:2::11'), c)).toMatchObject({ shape: 'vxlan', reason: 'crossSubnet: fd00:77:2::11 is outside fd00:77:1::/64 -> vxlan' });
    const s = assembleDesired([], c);
    expect(s.vxlan?.device).toBe('weft.vxlan');
    expect(s.vxlan6).toMatchObject({ device: 'weft.vxlan6', localAddress: 'fd00:77:1::11', mtu: 1430, underlayDevice: 'eth0' });
  });

  it('an IPv6 next hop without a local IPv6 underlay cannot be tunnelled: not written', () => {
    const d = decideRoute(rib('fd00:244:0:3::/122', 'fd00:77:2::11'), ctx());
    expect(d.shape).toBe('none');
    expect(d.reason).toMatch(/no IPv6 underlay address/);
  });

  it('an IPv4 block with an IPv6 next hop (RFC 8950) inside the IPv6 subnet: direct via that address', () => {
    const c = ctx({ nodeAddress: 'fd00:77:1::11/64' });
    expect(decideRoute(rib('10.244.2.0/26', 'fd00:77:1::12'), c)).toMatchObject({ shape: 'direct', route: { node: { underlayAddress: 'fd00:77:1::12' } } });
  });

  it('the pod MTU is the smaller of VXLAN over each underlay', () => {
    expect(podMtu(ctx().pools, { v4: 1500, v6: 1500 })).toEqual({ mtu: 1430, reason: 'VXLAN over IPv6: underlay MTU 1500 - 70' });
    expect(podMtu(ctx().pools, { v4: 1500 })).toEqual({ mtu: 1450, reason: 'VXLAN: underlay MTU 1500 - 50' });
  });

  it("each block signals the MAC of the VTEP its next hop's family reaches", () => {
    const mac = (block: string, addrs: string[]) => {
      const ext = blockAttributes(P(block), ctx().pools, addrs).find((a) => a.type === 'ext-communities');
      return ext && ext.type === 'ext-communities' ? ext.communities.find((c) => c.type === 'router-mac') : undefined;
    };
    expect(mac('10.244.1.0/26', ['10.0.1.11', 'fd00:77:1::11'])).toEqual({ type: 'router-mac', mac: '02:00:0a:00:01:0b' });
    expect(mac('fd00:244:0:1::/122', ['10.0.1.11', 'fd00:77:1::11'])).toEqual({ type: 'router-mac', mac: '06:cd:d7:5d:96:d3' });
    expect(mac('fd00:244:0:1::/122', ['10.0.1.11'])).toEqual({ type: 'router-mac', mac: '02:00:0a:00:01:0b' });
  });
});

describe('ECMP decisions', () => {
  it('equal eBGP paths from two ToRs: one direct route with both next hops', () => {
    const d = decideRoute(rib('10.244.7.0/26', '10.88.1.2', { peerType: 'ebgp', peerId: 'tor1', multipathNextHops: ['10.88.1.2', '10.88.2.2'] }), ctx());
    expect(d.shape).toBe('direct');
    expect(d.route?.nexthops?.map((n) => n.underlayAddress)).toEqual(['10.88.1.2', '10.88.2.2']);
    expect(d.reason).toMatch(/ECMP over 10\.88\.1\.2, 10\.88\.2\.2$/);
  });

  it('the same next hop twice (one node through two reflectors) is one path, not a multipath route', () => {
    const d = decideRoute(rib('10.244.7.0/26', '10.0.1.12', { multipathNextHops: ['10.0.1.12', '10.0.1.12'] }), ctx());
    expect(d.route?.nexthops).toBeUndefined();
  });
});
