/**
 * The planner for issue 12: routes out of the device that reaches their next hop, ECMP multipath
 * routes, IPv6 shapes (blackhole, direct, VXLAN over IPv4 with a link-local gateway, VXLAN over
 * IPv6 on weft.vxlan6) and IPv4 over an IPv6 gateway (RFC 8950).
 */
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../src/lib/prefix.js';
import { emptyKernelState, parseLinks, parseRoutes, type KernelConnected, type KernelState } from '../../src/dataplane/kernel-state.js';
import { linkLocalOf, vxlanDevice, type DesiredState, type NodeRef, type RemoteRoute, type RouteShape } from '../../src/dataplane/model.js';
import { deviceFor, plan } from '../../src/dataplane/planner.js';
import { RouteIndex } from '../../src/dataplane/route-index.js';

const connected: KernelConnected[] = [
  { prefix: '10.0.1.0/24', address: '10.0.1.11/24', dev: 'eth0' },
  { prefix: '10.88.1.0/30', address: '10.88.1.1/30', dev: 'eth1' },
  { prefix: '10.88.2.0/30', address: '10.88.2.1/30', dev: 'eth2' },
  { prefix: '10.88.0.0/16', address: '10.88.0.9/16', dev: 'eth3' },
  { prefix: 'fd00:77:1::/64', address: 'fd00:77:1::11/64', dev: 'eth0' },
];
const k = (o: Partial<KernelState> = {}): KernelState => ({ ...emptyKernelState(), connected, ...o });
const node = (underlayAddress: string, name = underlayAddress): NodeRef => ({ name, underlayAddress });
const route = (prefix: string, n: NodeRef, shape: RouteShape, nexthops?: NodeRef[]): RemoteRoute => ({ prefix: parsePrefix(prefix), node: n, shape, reason: 'test', ...(nexthops ? { nexthops } : {}) });
const desired = (d: Partial<DesiredState>): DesiredState => ({ localBlocks: [], routes: [], underlayDevice: 'eth0', ...d });
const lines = (kernel: KernelState, d: DesiredState) => plan(kernel, d).lines.map((l) => `${l.tool} ${l.line}`);

describe('routes go out of the device that reaches their next hop', () => {
  it('the longest connected prefix holding the gateway names the device', () => {
    expect(deviceFor('10.88.1.2', connected)).toBe('eth1');
    expect(deviceFor('10.88.7.7', connected)).toBe('eth3');
    expect(deviceFor('fd00:77:1::12', connected)).toBe('eth0');
    expect(deviceFor('192.0.2.1', connected)).toBeUndefined();
  });

  it('an external peer on a second interface: via it on that interface, not on underlayDevice', () => {
    expect(lines(k(), desired({ routes: [route('10.244.7.0/26', node('10.88.1.2', 'tor1'), 'direct')] }))).toEqual(['ip route replace 10.244.7.0/26 via 10.88.1.2 dev eth1 proto 249']);
  });

  it('a next hop on no connected subnet is reported, not written (no retry loop on "invalid gateway")', () => {
    const p = plan(k(), desired({ routes: [route('10.244.7.0/26', node('192.0.2.1', 'far'), 'direct')] }));
    expect(p.lines).toEqual([]);
    expect(p.problems).toEqual(['10.244.7.0/26: next hop 192.0.2.1 of far is on no connected subnet of this host: not written']);
  });
});

describe('ECMP: equal best paths become one multipath route', () => {
  const tor1 = node('10.88.1.2', 'tor1');
  const tor2 = node('10.88.2.2', 'tor2');
  const mp = route('10.244.7.0/26', tor2, 'direct', [tor2, tor1]);

  it('one line with a nexthop per path, each on its own device, in a stable order', () => {
    expect(lines(k(), desired({ routes: [mp] }))).toEqual(['ip route replace 10.244.7.0/26 proto 249 nexthop via 10.88.1.2 dev eth1 nexthop via 10.88.2.2 dev eth2']);
  });

  it('converged: the kernel listing of that route (as `ip -json route` prints it) needs no line', () => {
    const listed = parseRoutes([
      {
        dst: '10.244.7.0/26',
        protocol: 'weft',
        flags: [],
        nexthops: [
          { gateway: '10.88.2.2', dev: 'eth2', weight: 1, flags: [] },
          { gateway: '10.88.1.2', dev: 'eth1', weight: 1, flags: [] },
        ],
      },
    ]);
    expect(lines(k({ routes: listed }), desired({ routes: [mp] }))).toEqual([]);
  });

  it('one ToR gone: the route shrinks to the other next hop in one replace (no delete, no gap)', () => {
    const before = plan(k(), desired({ routes: [mp] })).expected;
    expect(lines(before, desired({ routes: [route('10.244.7.0/26', tor1, 'direct')] }))).toEqual(['ip route replace 10.244.7.0/26 via 10.88.1.2 dev eth1 proto 249']);
  });

  it('a next hop on no connected subnet drops out of the set; the others still carry the prefix', () => {
    const r = route('10.244.7.0/26', tor1, 'direct', [tor1, node('192.0.2.1')]);
    expect(lines(k(), desired({ routes: [r] }))).toEqual(['ip route replace 10.244.7.0/26 via 10.88.1.2 dev eth1 proto 249']);
  });

  it('the route index plans a multipath change without a full plan, and verifies the listing', () => {
    const d = desired({ routes: [mp] });
    const ix = RouteIndex.from(plan(k(), desired({})).expected);
    const res = ix.planRoutes([mp.prefix], () => mp, d, new Set(), new Map());
    expect(res.needFull).toBe(false);
    expect(res.lines.map((l) => l.line)).toEqual(['route replace 10.244.7.0/26 proto 249 nexthop via 10.88.1.2 dev eth1 nexthop via 10.88.2.2 dev eth2']);
    const v = ix.verifier(new Set());
    v.check(parseRoutes([{ dst: '10.244.7.0/26', protocol: 'weft', nexthops: [{ gateway: '10.88.1.2', dev: 'eth1' }, { gateway: '10.88.2.2', dev: 'eth2' }] }])[0]);
    expect(v.end()).toEqual({ complete: true, changed: [] });
  });
});

describe('IPv6 and mixed families', () => {
  const vx4 = vxlanDevice({ underlayDevice: 'eth0', localAddress: '10.0.1.11', underlayMtu: 1500 });
  const vx6 = vxlanDevice({ underlayDevice: 'eth0', localAddress: 'fd00:77:1::11', underlayMtu: 1500 });

  it('IPv6 blackhole and direct route', () => {
    const d = desired({ localBlocks: [parsePrefix('fd00:244:1::/122')], routes: [route('fd00:244:2::/122', node('fd00:77:1::12'), 'direct')] });
    expect(lines(k(), d)).toEqual(['ip route replace blackhole fd00:244:1::/122 proto 249', 'ip route replace fd00:244:2::/122 via fd00:77:1::12 dev eth0 proto 249']);
  });

  it('an IPv4 route over an IPv6 next hop (RFC 8950) is written `via inet6`', () => {
    expect(lines(k(), desired({ routes: [route('10.244.2.0/26', node('fd00:77:1::12'), 'direct')] }))).toEqual(['ip route replace 10.244.2.0/26 via inet6 fd00:77:1::12 dev eth0 proto 249']);
  });

  it('IPv6 pods over the IPv4 VXLAN device: link-local gateway, a permanent IPv6 neighbour, the node FDB entry shared with its IPv4 routes', () => {
    const c = node('10.0.2.11', 'host-c');
    const ll = linkLocalOf('02:00:0a:00:02:0b');
    const d = desired({ vxlan: vx4, routes: [route('10.244.2.0/26', c, 'vxlan'), route('fd00:244:2::/122', c, 'vxlan')] });
    const out = lines(k(), d).filter((l) => !l.startsWith('ip link') && !l.startsWith('ip addr'));
    expect(out).toEqual([
      'bridge fdb replace 02:00:0a:00:02:0b dev weft.vxlan dst 10.0.2.11 self permanent',
      'ip neigh replace 10.0.2.11 lladdr 02:00:0a:00:02:0b dev weft.vxlan nud permanent',
      `ip neigh replace ${ll} lladdr 02:00:0a:00:02:0b dev weft.vxlan nud permanent`,
      'ip route replace 10.244.2.0/26 via 10.0.2.11 dev weft.vxlan onlink proto 249',
      `ip route replace fd00:244:2::/122 via ${ll} dev weft.vxlan proto 249`,
    ]);
  });

  it('over an IPv6 underlay: weft.vxlan6 (MTU - 70) carries both families, FDB dst the IPv6 underlay address', () => {
    const c = node('fd00:77:2::11', 'host-c');
    const ll = linkLocalOf('06:28:2b:5b:5d:02');
    const d = desired({ vxlan6: vx6, routes: [route('fd00:244:2::/122', c, 'vxlan'), route('10.244.2.0/26', c, 'vxlan')] });
    expect(lines(k(), d)).toEqual([
      'ip link add name weft.vxlan6 address 06:cd:d7:5d:96:d3 mtu 1430 type vxlan id 4096 dstport 4789 local fd00:77:1::11 dev eth0 nolearning',
      'ip link set dev weft.vxlan6 up',
      'bridge fdb replace 06:28:2b:5b:5d:02 dev weft.vxlan6 dst fd00:77:2::11 self permanent',
      `ip neigh replace ${ll} lladdr 06:28:2b:5b:5d:02 dev weft.vxlan6 nud permanent`,
      `ip route replace fd00:244:2::/122 via ${ll} dev weft.vxlan6 proto 249`,
      `ip route replace 10.244.2.0/26 via inet6 ${ll} dev weft.vxlan6 proto 249`,
    ]);
    // Converged: nothing more to write.
    expect(lines(plan(k(), d).expected, d)).toEqual([]);
  });

  it('weft.vxlan6 as `ip -d -json addr` lists it (local6) is adopted, not re-created', () => {
    const listed = parseLinks([
      {
        ifname: 'weft.vxlan6',
        mtu: 1430,
        flags: ['UP'],
        address: vx6.mac,
        addr_info: [],
        linkinfo: { info_kind: 'vxlan', info_data: { id: 4096, local6: 'fd00:77:1::11', link: 'eth0', port: 4789, learning: false } },
      },
    ]);
    const d = desired({ vxlan6: vx6 });
    expect(lines(k({ links: { 'weft.vxlan6': listed[0] } }), d)).toEqual([]);
  });

  it('a VXLAN route to an IPv6 node without weft.vxlan6 is reported, not written', () => {
    const p = plan(k(), desired({ vxlan: vx4, routes: [route('fd00:244:2::/122', node('fd00:77:2::11', 'host-c'), 'vxlan')] }));
    expect(p.problems).toEqual(['fd00:244:2::/122: shape vxlan via host-c (IPv6 underlay) but no VXLAN device over IPv6 is configured']);
  });

  it("neighbour entries the kernel made itself (not permanent) on a VXLAN device are left to expire, ours are removed", () => {
    const d = desired({ vxlan: vx4 });
    const base = plan(k(), d).expected;
    const kernel = { ...base, neigh: [{ address: 'fe80::1', permanent: false }, { address: '10.0.9.9', lladdr: '02:00:0a:00:09:09', permanent: true }] };
    expect(lines(kernel, d)).toEqual(['ip neigh del 10.0.9.9 dev weft.vxlan']);
  });
});
