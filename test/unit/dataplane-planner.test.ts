import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../src/lib/prefix.js';
import { emptyKernelState, type KernelLink, type KernelRoute, type KernelState } from '../../src/dataplane/kernel-state.js';
import { ipipDevice, vxlanDevice, type DesiredState, type NodeRef, type RemoteRoute, type RouteShape } from '../../src/dataplane/model.js';
import { plan } from '../../src/dataplane/planner.js';

const B = parsePrefix('10.244.1.0/26');
const nodeB: NodeRef = { name: 'host-b', underlayAddress: '10.0.1.12' };
const nodeC: NodeRef = { name: 'host-c', underlayAddress: '10.0.2.11' };
const vx = vxlanDevice({ underlayDevice: 'eth0', localAddress: '10.0.1.11', underlayMtu: 1500, localBlocks: [B] });

const route = (prefix: string, node: NodeRef, shape: RouteShape): RemoteRoute => ({ prefix: parsePrefix(prefix), node, shape, reason: 'test' });
const desired = (d: Partial<DesiredState>): DesiredState => ({ localBlocks: [B], routes: [], underlayDevice: 'eth0', ...d });
const kr = (dst: string, o: Partial<KernelRoute> = {}): KernelRoute => ({ dst, type: 'unicast', onlink: false, protocol: 'weft', metric: 0, multipath: false, ...o });
const vxLink = (o: Partial<KernelLink> = {}): KernelLink => ({
  name: 'weft.vxlan',
  mtu: 1450,
  mac: '02:00:0a:00:01:0b',
  up: true,
  kind: 'vxlan',
  vxlan: { id: 4096, local: '10.0.1.11', port: 4789, link: 'eth0', learning: false },
  addrs: ['10.244.1.0/32'],
  ...o,
});
const kernel = (k: Partial<KernelState>): KernelState => ({ ...emptyKernelState(), ...k });
const lines = (k: KernelState, d: DesiredState) => plan(k, d).lines.map((l) => `${l.tool} ${l.line}`);

/** The converged kernel for desired state d: planning again against it must give no lines. */
function converged(d: DesiredState, k: KernelState = emptyKernelState()): KernelState {
  return plan(k, d).expected;
}

describe('planner: route shapes from an empty kernel', () => {
  it('blackhole for a local block, direct route via the neighbour', () => {
    expect(lines(kernel({}), desired({ routes: [route('10.244.7.0/26', nodeB, 'direct')] }))).toEqual([
      'ip route replace blackhole 10.244.1.0/26 proto 249',
      'ip route replace 10.244.7.0/26 via 10.0.1.12 dev eth0 proto 249',
    ]);
  });

  it('VXLAN: device, address, FDB, neighbour, then the onlink route', () => {
    expect(lines(kernel({}), desired({ vxlan: vx, routes: [route('10.244.2.0/26', nodeC, 'vxlan'), route('10.244.2.64/26', nodeC, 'vxlan')] }))).toEqual([
      'ip link add name weft.vxlan address 02:00:0a:00:01:0b mtu 1450 type vxlan id 4096 dstport 4789 local 10.0.1.11 dev eth0 nolearning',
      'ip link set dev weft.vxlan up',
      'ip addr replace 10.244.1.0/32 dev weft.vxlan',
      'bridge fdb replace 02:00:0a:00:02:0b dev weft.vxlan dst 10.0.2.11 self permanent',
      'ip neigh replace 10.0.2.11 lladdr 02:00:0a:00:02:0b dev weft.vxlan nud permanent',
      'ip route replace blackhole 10.244.1.0/26 proto 249',
      'ip route replace 10.244.2.0/26 via 10.0.2.11 dev weft.vxlan onlink proto 249',
      'ip route replace 10.244.2.64/26 via 10.0.2.11 dev weft.vxlan onlink proto 249',
    ]);
  });

  it('IP-in-IP: tunl0 created and sized, onlink route via the underlay address', () => {
    expect(lines(kernel({}), desired({ ipip: ipipDevice(1500), routes: [route('10.244.2.0/26', nodeC, 'ipip')] }))).toEqual([
      'ip link add name tunl0 type ipip',
      'ip link set dev tunl0 mtu 1480 up',
      'ip route replace blackhole 10.244.1.0/26 proto 249',
      'ip route replace 10.244.2.0/26 via 10.0.2.11 dev tunl0 onlink proto 249',
    ]);
    const k = kernel({ links: { tunl0: { name: 'tunl0', mtu: 1480, up: false, kind: 'ipip', addrs: [] } } });
    expect(lines(k, desired({ ipip: ipipDevice(1500), localBlocks: [] }))).toEqual(['ip link set dev tunl0 mtu 1480 up']);
  });

  it('a route of a shape whose device is not configured is reported, not written', () => {
    const p = plan(kernel({}), desired({ localBlocks: [], routes: [route('10.244.2.0/26', nodeC, 'vxlan')] }));
    expect(p.lines).toEqual([]);
    expect(p.problems).toEqual(['10.244.2.0/26: shape vxlan via host-c (IPv4 underlay) but no VXLAN device over IPv4 is configured']);
  });
});

describe('planner: adoption and convergence', () => {
  const d = desired({ vxlan: vx, routes: [route('10.244.2.0/26', nodeC, 'vxlan'), route('10.244.7.0/26', nodeB, 'direct')] });

  it('a kernel that already matches (as read: names, dev filled in) gets no lines at all', () => {
    const k = kernel({
      routes: [
        kr('10.244.1.0/26', { type: 'blackhole', protocol: '249' }),
        kr('10.244.2.0/26', { gateway: '10.0.2.11', dev: 'weft.vxlan', onlink: true }),
        kr('10.244.7.0/26', { gateway: '10.0.1.12', dev: 'eth0' }),
        kr('10.0.1.0/24', { dev: 'eth0', protocol: 'kernel' }),
      ],
      fdb: [{ mac: '02:00:0a:00:02:0b', dst: '10.0.2.11', permanent: true }],
      neigh: [{ address: '10.0.2.11', lladdr: '02:00:0a:00:02:0b', permanent: true }],
      links: { 'weft.vxlan': vxLink() },
    });
    expect(lines(k, d)).toEqual([]);
  });

  it('the expected state converges: planning against it gives nothing', () => {
    expect(lines(converged(d), d)).toEqual([]);
    const withIpip = desired({ ipip: ipipDevice(1500), routes: [route('10.244.2.0/26', nodeC, 'ipip')] });
    expect(lines(converged(withIpip), withIpip)).toEqual([]);
  });

  it('removes stale weft routes and entries last; never touches foreign routes', () => {
    const k = kernel({
      routes: [
        kr('10.244.1.0/26', { type: 'blackhole' }),
        kr('10.244.9.0/26', { gateway: '10.0.1.13', dev: 'eth0' }), // stale weft
        kr('10.244.8.0/26', { gateway: '10.0.1.13', dev: 'eth0', protocol: 'static' }), // foreign, same shape
        kr('10.244.6.0/26', { type: 'blackhole', protocol: 'bird' }),
        kr('10.244.5.0/26', { type: 'blackhole', metric: 100 }), // weft at another metric: stale
      ],
      fdb: [{ mac: '02:00:0a:00:03:0b', dst: '10.0.3.11', permanent: true }],
      neigh: [{ address: '10.0.3.11', lladdr: '02:00:0a:00:03:0b', permanent: true }],
      links: { 'weft.vxlan': vxLink() },
    });
    const out = lines(k, d);
    expect(out).toEqual([
      'bridge fdb replace 02:00:0a:00:02:0b dev weft.vxlan dst 10.0.2.11 self permanent',
      'ip neigh replace 10.0.2.11 lladdr 02:00:0a:00:02:0b dev weft.vxlan nud permanent',
      'ip route replace 10.244.2.0/26 via 10.0.2.11 dev weft.vxlan onlink proto 249',
      'ip route replace 10.244.7.0/26 via 10.0.1.12 dev eth0 proto 249',
      'ip route del blackhole 10.244.5.0/26 proto 249 metric 100',
      'ip route del 10.244.9.0/26 proto 249',
      'ip neigh del 10.0.3.11 dev weft.vxlan',
      'bridge fdb del 02:00:0a:00:03:0b dev weft.vxlan dst 10.0.3.11',
    ]);
    expect(out.some((l) => l.includes('10.244.8.0') || l.includes('10.244.6.0'))).toBe(false);
    expect(out.some((l) => l.includes('flush'))).toBe(false);
  });

  it('a desired prefix held by a foreign route is reported and left alone', () => {
    const k = kernel({ routes: [kr('10.244.7.0/26', { gateway: '10.0.1.99', dev: 'eth0', protocol: 'static' })] });
    const p = plan(k, desired({ localBlocks: [], routes: [route('10.244.7.0/26', nodeB, 'direct')] }));
    expect(p.lines).toEqual([]);
    expect(p.problems).toEqual(['10.244.7.0/26: a proto static route is already there; weft leaves it alone']);
    // A foreign route at another metric does not hold the slot.
    const k2 = kernel({ routes: [kr('10.244.7.0/26', { gateway: '10.0.1.99', protocol: 'static', metric: 100 })] });
    expect(lines(k2, desired({ localBlocks: [], routes: [route('10.244.7.0/26', nodeB, 'direct')] }))).toEqual([
      'ip route replace 10.244.7.0/26 via 10.0.1.12 dev eth0 proto 249',
    ]);
  });
});

describe('planner: changes', () => {
  it('mode change direct -> vxlan is a replace in place, nothing stale left (calico#1325)', () => {
    const before = desired({ routes: [route('10.244.2.0/26', nodeC, 'direct')] });
    const after = desired({ vxlan: vx, routes: [route('10.244.2.0/26', nodeC, 'vxlan')] });
    const k = converged(before);
    const out = lines(k, after);
    expect(out.filter((l) => l.includes(' del '))).toEqual([]);
    expect(out).toContain('ip route replace 10.244.2.0/26 via 10.0.2.11 dev weft.vxlan onlink proto 249');
    const k2 = converged(after, k);
    expect(k2.routes.filter((r) => r.dst === '10.244.2.0/26')).toHaveLength(1);
    expect(lines(k2, after)).toEqual([]);
  });

  it('mode change vxlan -> direct: route replaced first, then the FDB/neighbour and device go', () => {
    const before = desired({ vxlan: vx, routes: [route('10.244.2.0/26', nodeC, 'vxlan')] });
    const after = desired({ routes: [route('10.244.2.0/26', nodeC, 'direct')] });
    expect(lines(converged(before), after)).toEqual(['ip route replace 10.244.2.0/26 via 10.0.2.11 dev eth0 proto 249', 'ip link del dev weft.vxlan']);
    const keepDevice = desired({ vxlan: vx, routes: [route('10.244.2.0/26', nodeC, 'direct')] });
    expect(lines(converged(before), keepDevice)).toEqual([
      'ip route replace 10.244.2.0/26 via 10.0.2.11 dev eth0 proto 249',
      'ip neigh del 10.0.2.11 dev weft.vxlan',
      'bridge fdb del 02:00:0a:00:02:0b dev weft.vxlan dst 10.0.2.11',
    ]);
  });

  it('a node moving to a new underlay address: FDB remote swapped before the route', () => {
    const moved: NodeRef = { name: 'host-c', underlayAddress: '10.0.2.12', mac: '02:00:0a:00:02:0b', vtepAddress: '10.0.2.11' };
    const before = desired({ vxlan: vx, routes: [route('10.244.2.0/26', nodeC, 'vxlan')] });
    const after = desired({ vxlan: vx, routes: [route('10.244.2.0/26', moved, 'vxlan')] });
    expect(lines(converged(before), after)).toEqual([
      'bridge fdb del 02:00:0a:00:02:0b dev weft.vxlan dst 10.0.2.11',
      'bridge fdb replace 02:00:0a:00:02:0b dev weft.vxlan dst 10.0.2.12 self permanent',
    ]);
  });

  it('a VXLAN device with fixed parameters wrong is recreated, and everything on it rewritten', () => {
    const d = desired({ vxlan: vx, routes: [route('10.244.2.0/26', nodeC, 'vxlan')] });
    const k = converged(d);
    k.links['weft.vxlan'] = vxLink({ vxlan: { id: 1, local: '10.0.1.11', port: 4789, link: 'eth0', learning: false } });
    expect(lines(k, d)).toEqual([
      'ip link del dev weft.vxlan',
      'ip link add name weft.vxlan address 02:00:0a:00:01:0b mtu 1450 type vxlan id 4096 dstport 4789 local 10.0.1.11 dev eth0 nolearning',
      'ip link set dev weft.vxlan up',
      'ip addr replace 10.244.1.0/32 dev weft.vxlan',
      'bridge fdb replace 02:00:0a:00:02:0b dev weft.vxlan dst 10.0.2.11 self permanent',
      'ip neigh replace 10.0.2.11 lladdr 02:00:0a:00:02:0b dev weft.vxlan nud permanent',
      'ip route replace 10.244.2.0/26 via 10.0.2.11 dev weft.vxlan onlink proto 249',
    ]);
  });

  it('MTU / MAC / state / address drift on the VXLAN device is fixed in place', () => {
    const d = desired({ vxlan: vx });
    const k = kernel({ links: { 'weft.vxlan': vxLink({ mtu: 1500, mac: '02:00:00:00:00:01', up: false, addrs: ['10.244.9.0/32'] }) } });
    expect(lines(k, d)).toEqual([
      'ip link set dev weft.vxlan address 02:00:0a:00:01:0b mtu 1450 up',
      'ip addr replace 10.244.1.0/32 dev weft.vxlan',
      'ip route replace blackhole 10.244.1.0/26 proto 249',
      'ip addr del 10.244.9.0/32 dev weft.vxlan',
    ]);
  });

  it('withdraw (empty desired) deletes every weft route and the device, nothing else', () => {
    const d = desired({ vxlan: vx, routes: [route('10.244.2.0/26', nodeC, 'vxlan'), route('10.244.7.0/26', nodeB, 'direct')] });
    const k = converged(d);
    k.routes.push(kr('10.0.1.0/24', { dev: 'eth0', protocol: 'kernel' }));
    expect(lines(k, { localBlocks: [], routes: [] })).toEqual([
      'ip route del blackhole 10.244.1.0/26 proto 249',
      'ip route del 10.244.2.0/26 proto 249',
      'ip route del 10.244.7.0/26 proto 249',
      'ip link del dev weft.vxlan',
    ]);
  });

  it('a route that is also a local block, or conflicting VTEP MACs, is reported', () => {
    const other: NodeRef = { name: 'host-x', underlayAddress: '10.0.2.11', mac: '02:00:00:00:00:99' };
    const p = plan(kernel({}), desired({ vxlan: vx, routes: [route('10.244.1.0/26', nodeB, 'direct'), route('10.244.2.0/26', nodeC, 'vxlan'), route('10.244.3.0/26', other, 'vxlan')] }));
    expect(p.problems).toEqual([
      '10.244.1.0/26: is a local block; route via host-b not written',
      '10.244.3.0/26: VTEP 10.0.2.11 of host-x has MAC 02:00:00:00:00:99 but another route says 02:00:0a:00:02:0b; route not written',
    ]);
  });
});
