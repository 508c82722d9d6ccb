// A VNI per pool (issue 13): pools with their own `vni` are separate overlays, each VNI with its
// own VXLAN device (weft-<vni> / weft6-<vni>), its own FDB and neighbour entries, its routes.
import { describe, expect, it } from 'vitest';
import { assembleDesired, blockAttributes, decideRoute, otherVnis, type DesiredContext, type RibRoute } from '../../src/agent/kernel/dataplane-desired.js';
import { emptyKernelState, type KernelState } from '../../src/dataplane/kernel-state.js';
import { isVniDevice, vniDeviceName } from '../../src/dataplane/model.js';
import { plan } from '../../src/dataplane/planner.js';
import { parsePrefix } from '../../src/lib/prefix.js';

const P = (t: string) => parsePrefix(t);

const ctx = (): DesiredContext => ({
  nodeAddress: '10.0.1.11/24',
  pools: [
    { cidr: P('10.244.0.0/16'), encapsulation: 'always', tunnel: 'vxlan' },
    { cidr: P('10.250.0.0/16'), encapsulation: 'always', tunnel: 'vxlan', vni: 5000 },
    { cidr: P('10.251.0.0/16'), encapsulation: 'always', tunnel: 'vxlan', vni: 5000 },
  ],
  localBlocks: [P('10.244.1.0/26')],
  underlayDevice: 'eth0',
  underlayMtu: 1500,
  vni: 4096,
  port: 4789,
});

const rib = (prefix: string, nextHop: string): RibRoute => ({ prefix: P(prefix), nextHop, source: 'peer', peerId: 'b', peerAddress: nextHop, peerType: 'ibgp', extCommunities: [] });

describe('a VNI per pool', () => {
  it('device names fit the 15-character limit and are recognised as ours', () => {
    expect(vniDeviceName(4, 5000)).toBe('weft-5000');
    expect(vniDeviceName(6, 16777215)).toBe('weft6-16777215');
    expect(vniDeviceName(6, 16777215).length).toBeLessThanOrEqual(15);
    expect(isVniDevice('weft-5000')).toBe(true);
    expect(isVniDevice('weft.vxlan')).toBe(false);
    expect(isVniDevice('weft-x')).toBe(false);
  });

  it('one device per VNI other than vxlan.vni; pools sharing a VNI share its overlay', () => {
    expect(otherVnis(ctx())).toEqual([5000]);
    // A VNI another node signalled that no local pool names gets its devices too.
    expect(otherVnis({ ...ctx(), signalledVnis: [7000, 4096, 5000] })).toEqual([5000, 7000]);
    const s = assembleDesired([], ctx());
    expect(s.vxlan).toMatchObject({ device: 'weft.vxlan', vni: 4096 });
    expect(s.vxlanOther).toEqual([expect.objectContaining({ device: 'weft-5000', vni: 5000, family: 4, mtu: 1450, localAddress: '10.0.1.11' })]);
  });

  it("a route of a pool with its own VNI goes through that VNI's device, with its own FDB and neighbour entries", () => {
    const c = ctx();
    const d1 = decideRoute(rib('10.244.2.0/26', '10.0.2.11'), c);
    const d2 = decideRoute(rib('10.250.2.0/26', '10.0.2.11'), c);
    expect(d1.route?.vni).toBeUndefined();
    expect(d2.route?.vni).toBe(5000);
    expect(d2.reason).toBe('encapsulation always -> vxlan (VNI 5000, the pool\'s own overlay)');
    const lines = plan(emptyKernelState(), assembleDesired([d1, d2], c)).lines.map((l) => `${l.tool} ${l.line}`);
    expect(lines).toContain('ip link add name weft-5000 address 02:00:0a:00:01:0b mtu 1450 type vxlan id 5000 dstport 4789 local 10.0.1.11 dev eth0 nolearning');
    expect(lines).toContain('bridge fdb replace 02:00:0a:00:02:0b dev weft-5000 dst 10.0.2.11 self permanent');
    expect(lines).toContain('ip neigh replace 10.0.2.11 lladdr 02:00:0a:00:02:0b dev weft-5000 nud permanent');
    expect(lines).toContain('ip route replace 10.250.2.0/26 via 10.0.2.11 dev weft-5000 onlink proto 249');
    expect(lines).toContain('ip route replace 10.244.2.0/26 via 10.0.2.11 dev weft.vxlan onlink proto 249');
  });

  it('converged: planning again writes nothing; a VNI no pool uses any more loses its device', () => {
    const c = ctx();
    const state = assembleDesired([decideRoute(rib('10.250.2.0/26', '10.0.2.11'), c)], c);
    const k: KernelState = plan(emptyKernelState(), state).expected;
    expect(plan(k, state).lines).toEqual([]);
    const without = assembleDesired([], { ...c, pools: c.pools.slice(0, 1) });
    const lines = plan(k, without).lines.map((l) => l.line);
    expect(lines).toContain('link del dev weft-5000');
    expect(lines).toContain('route del 10.250.2.0/26 proto 249');
  });

  it('each block signals its overlay: RFC 9012 Tunnel Encapsulation, VXLAN with the VNI, the VTEP MAC and the egress', () => {
    const c = ctx();
    const tunnel = (block: string) => blockAttributes(P(block), c.pools, ['10.0.1.11'], undefined, c.vni).find((a) => a.type === 'tunnel-encap');
    expect(tunnel('10.250.1.0/26')).toMatchObject({
      type: 'tunnel-encap',
      tunnels: [{ tunnelType: 8, subTlvs: [{ type: 'egress-endpoint', address: '10.0.1.11' }, { type: 'encapsulation', vni: 5000, mac: '02:00:0a:00:01:0b' }] }],
    });
    expect(tunnel('10.244.1.0/26')).toMatchObject({ tunnels: [{ subTlvs: [expect.anything(), { type: 'encapsulation', vni: 4096 }] }] });
    const never = blockAttributes(P('10.244.1.0/26'), [{ cidr: P('10.244.0.0/16'), encapsulation: 'never', tunnel: 'vxlan' }], ['10.0.1.11'], undefined, 4096);
    expect(never.find((a) => a.type === 'tunnel-encap')).toBeUndefined();
  });

  it('a signalled VNI wins over our own pool config (the receiver never guesses)', () => {
    const c = ctx();
    const d = decideRoute({ ...rib('10.244.2.0/26', '10.0.2.11'), tunnel: { vni: 5000, mac: '0a:00:00:00:00:01' } }, c);
    expect(d.route).toMatchObject({ vni: 5000, node: { mac: '0a:00:00:00:00:01' } });
    expect(d.reason).toBe('encapsulation always -> vxlan (VNI 5000, signalled by the node)');
    expect(decideRoute({ ...rib('10.250.2.0/26', '10.0.2.11'), tunnel: { vni: 4096 } }, c).route?.vni).toBeUndefined();
  });
});
