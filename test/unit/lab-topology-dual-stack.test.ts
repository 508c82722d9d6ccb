// weft lab topologies, dual stack and several uplinks: labs/dual-stack and labs/dual-tor generate
// the agent configs they should (node.address6, listen, peers on two uplinks), pod pairs per family
// with their relation and expectation, and bad IPv6 / uplink settings get path-qualified problems.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectionTimeMs, hostLinks } from '../../src/lab/failover.js';
import { agentConfigFor, agentConfigs, loadTopology, podPairs, relation, selectVariant } from '../../src/lab/plan.js';
import { hostUplinks, nodeAddresses, parseTopology, torNeedsBfdd } from '../../src/lab/topology.js';
import { problemsOf } from '../helpers/config-problems.js';
import { dualStackTopology } from '../helpers/lab-topologies.js';

const lab = (name: string) => join(import.meta.dirname, '..', '..', 'labs', `${name}.clab.yml`);
const problems = (value: unknown): string[] => problemsOf(() => parseTopology(value, 'x.clab.yml'));
/** The topology has (at least) these problems. */
const expectProblems = (value: unknown, want: string[]) => expect(problems(value)).toEqual(expect.arrayContaining(want));

const dual = dualStackTopology;

describe('labs/dual-stack.clab.yml', () => {
  const t = loadTopology(lab('dual-stack'));
  const sel = selectVariant(t, {});

  it('gives each agent its IPv6 underlay address as node.address6, both pools and both blocks', () => {
    const cfgs = agentConfigs(t, sel, (h) => `/s/${h}`);
    const h1 = cfgs.get('h1') as Record<string, any>;
    expect(h1.node).toEqual({ name: 'h1', asn: 64512, address: '10.77.1.11/24', address6: 'fd00:77:1::11/64' });
    expect(h1.listen).toEqual({ address: '10.77.1.11', port: 179 });
    expect(h1.mesh.nodes.map((n: { address: string }) => n.address)).toEqual(['10.77.1.11', '10.77.1.12', '10.77.2.13']);
    expect(h1.blocks).toEqual(['10.244.1.0/26', 'fd00:244:0:1::/122']);
    expect(h1.pools.map((p: { cidr: string; encapsulation: string }) => `${p.cidr} ${p.encapsulation}`)).toEqual(['10.244.0.0/16 crossSubnet', 'fd00:244::/56 crossSubnet']);
    expect(h1.dataplane).toEqual({ underlayDevice: 'eth1' });
  });

  it('pings every pair over both families: 12 IPv4 and 12 IPv6 pairs, all expected to pass', () => {
    const pairs = podPairs(t, sel);
    expect(pairs.filter((p) => p.family === 4)).toHaveLength(12);
    expect(pairs.filter((p) => p.family === 6)).toHaveLength(12);
    expect(pairs.every((p) => p.expected === 'pass')).toBe(true);
    const v6 = pairs.find((p) => p.family === 6 && p.from === 'pod1a' && p.to === 'pod3');
    expect(v6).toMatchObject({ address: 'fd00:244:0:3::2', relation: 'crossSubnet', fromHost: 'h1', toHost: 'h3' });
    expect(relation(t, 'pod1a', 'pod2', 6)).toBe('sameSubnet');
    expect(relation(t, 'pod1a', 'pod1b', 6)).toBe('sameHost');
  });

  it('the never variant expects the cross-subnet pairs of both families to fail', () => {
    const never = selectVariant(t, { variant: 'never' });
    expect(never.expect.ipv4.crossSubnet).toBe('fail');
    expect(never.expect.ipv6.crossSubnet).toBe('fail');
    expect(podPairs(t, never).filter((p) => p.expected === 'fail')).toHaveLength(12);
  });
});

describe('labs/dual-tor.clab.yml', () => {
  const t = loadTopology(lab('dual-tor'));
  const sel = selectVariant(t, {});

  it('hosts have two uplinks, peer with both ToRs, listen on every address; the node address is the first uplink', () => {
    const h2 = agentConfigFor(t, 'h2', sel, '/s/h2') as Record<string, any>;
    expect(h2.node).toEqual({ name: 'h2', asn: 65102, address: '10.78.1.13/31' });
    expect(h2.listen).toEqual({ address: '0.0.0.0', port: 179 });
    expect(h2.mesh).toEqual({ enabled: false });
    expect(h2.peers).toEqual([
      { address: '10.78.1.12', asn: 65001, holdTime: 9, bfd: { interval: 100, multiplier: 3 } },
      { address: '10.78.2.12', asn: 65001, holdTime: 9, bfd: { interval: 100, multiplier: 3 } },
    ]);
    expect(h2.dataplane).toEqual({ underlayDevice: 'eth1' });
    expect(hostUplinks(t['x-weft'].hosts.h2)).toEqual([
      { name: 'eth1', address: '10.78.1.13/31' },
      { name: 'eth2', address: '10.78.2.13/31' },
    ]);
    expect(() => agentConfigs(t, sel, (h) => h)).not.toThrow();
  });

  it('both ToRs share AS 65001 (equal AS paths) and each reaches every host on its own link', () => {
    for (const tor of ['tor1', 'tor2']) {
      expect(t['x-weft'].tors[tor].frr).toContain('router bgp 65001');
      expect(t['x-weft'].tors[tor].frr).toContain('no bgp ebgp-requires-policy');
      expect(t['x-weft'].tors[tor].frr).toContain('timers bgp 3 9');
    }
    expect(hostLinks(t, 'tor1')).toEqual([
      { iface: 'eth1', host: 'h1', hostIface: 'eth1' },
      { iface: 'eth2', host: 'h2', hostIface: 'eth1' },
      { iface: 'eth3', host: 'h3', hostIface: 'eth1' },
    ]);
    expect(hostLinks(t, 'tor2').map((l) => `${l.host}:${l.hostIface}`)).toEqual(['h1:eth2', 'h2:eth2', 'h3:eth2']);
    expect(relation(t, 'pod1a', 'pod2a')).toBe('crossSubnet');
    expect(podPairs(t, sel)).toHaveLength(30);
  });

  it('BFD 100 ms x 3 on every host-ToR session: the hosts\' peers, bfdd with a profile of the same timers on the ToRs', () => {
    expect(detectionTimeMs(t)).toBe(300);
    for (const [tor, net] of [['tor1', 1], ['tor2', 2]] as const) {
      const spec = t['x-weft'].tors[tor];
      expect(torNeedsBfdd(spec)).toBe(true);
      for (const h of [11, 13, 15]) expect(spec.frr).toContain(`neighbor 10.78.${net}.${h} bfd profile rack`);
      expect(spec.bfdd?.replace(/\s+/g, ' ')).toContain('bfd profile rack transmit-interval 100 receive-interval 100 detect-multiplier 3');
    }
  });
});

describe('detection time and bfdd', () => {
  const withPeers = (peers: Record<string, unknown>[]) => {
    const v = dual();
    v['x-weft'].hosts.h1.peers = peers;
    return parseTopology(v, 'x');
  };

  it('per peer: BFD interval x multiplier when on, else its hold time (else the lab timers); the largest', () => {
    expect(detectionTimeMs(withPeers([]))).toBe(9000); // the lab default hold time
    expect(detectionTimeMs(withPeers([{ address: '10.0.0.1', asn: 1, holdTime: 30 }]))).toBe(30_000);
    expect(detectionTimeMs(withPeers([{ address: '10.0.0.1', asn: 1, bfd: { interval: 100, multiplier: 3 } }]))).toBe(300);
    expect(detectionTimeMs(withPeers([{ address: '10.0.0.1', asn: 1, bfd: true }]))).toBe(900);
    expect(detectionTimeMs(withPeers([{ address: '10.0.0.1', asn: 1, bfd: { interval: 100, multiplier: 3, enabled: false } }]))).toBe(9000);
    expect(detectionTimeMs(withPeers([{ address: '10.0.0.1', asn: 1, bfd: { interval: 200 } }, { address: '10.0.0.2', asn: 1, bfd: false, holdTime: 3 }]))).toBe(3000);
  });

  it('a ToR gets bfdd when it has a bfdd config or a `neighbor X bfd` line', () => {
    const needs = (frr: string, bfdd?: string) => torNeedsBfdd({ frr, zebra: '', ...(bfdd === undefined ? {} : { bfdd }) });
    expect(needs('router bgp 1\n neighbor 10.0.0.1 remote-as 2\n')).toBe(false);
    expect(needs('router bgp 1\n neighbor 10.0.0.1 remote-as 2\n neighbor 10.0.0.1 bfd\n')).toBe(true);
    expect(needs('router bgp 1\n neighbor fd00::1 bfd profile fast\n')).toBe(true);
    expect(needs('router bgp 1\n', 'bfd\n')).toBe(true);
  });
});

describe('dual-stack topology validation', () => {
  it('the dual-stack minimal topology is valid; IPv6 pairs relate by the IPv6 underlay', () => {
    const v = dual();
    const t = parseTopology(v, 'x');
    expect(relation(t, 'p1', 'p2', 4)).toBe('sameSubnet');
    expect(relation(t, 'p1', 'p2', 6)).toBe('sameSubnet');
    // Same IPv4 subnet, different IPv6 subnets: the family decides.
    v['x-weft'].hosts.h2.address6 = 'fd00:78::2/64';
    const t2 = parseTopology(v, 'x');
    expect(relation(t2, 'p1', 'p2', 4)).toBe('sameSubnet');
    expect(relation(t2, 'p1', 'p2', 6)).toBe('crossSubnet');
    expect(nodeAddresses(t2['x-weft'].hosts.h2)).toEqual({ v4: '10.77.0.2/24', v6: 'fd00:78::2/64' });
  });

  it('bad IPv6 addresses, with the path of each', () => {
    const v = dual();
    v['x-weft'].hosts.h1.address6 = 'fd00:77::1';
    v['x-weft'].hosts.h2.address6 = 'fd00:77::g/64';
    v['x-weft'].pods.p1.address6 = '10.244.1.9';
    v['x-weft'].hosts.h1.peers = [{ address: 'fd00::zz', asn: 65001 }];
    expectProblems(v, [
      'x-weft.hosts.h1.address6: must be an IPv6 address with its subnet length, like fd00:77:1::11/64',
      'x-weft.hosts.h2.address6: must be an IPv6 address with its subnet length, like fd00:77:1::11/64',
      'x-weft.pods.p1.address6: must be an IPv6 address, like fd00:244:0:1::2',
      'x-weft.hosts.h1.peers[0].address: must be an IPv4 or IPv6 address',
    ]);
  });

  it('a pod IPv6 address outside its host IPv6 blocks, on a host without any, or a block network address', () => {
    const v = dual();
    v['x-weft'].pods.p1.address6 = 'fd00:244:0:9::2';
    v['x-weft'].hosts.h2.blocks = ['10.244.2.0/26'];
    expectProblems(v, [
      "x-weft.pods.p1.address6: fd00:244:0:9::2 is outside h1's IPv6 blocks (fd00:244:0:1::/122)",
      'x-weft.pods.p2.address6: fd00:244:0:2::2 is IPv6, and h2 has no IPv6 block',
    ]);
    const w = dual();
    w['x-weft'].pods.p1.address6 = 'fd00:244:0:1:0::0';
    expect(problems(w)).toContain(
      'x-weft.pods.p1.address6: fd00:244:0:1:0::0 is the network address of block fd00:244:0:1::/122, the Subnet-Router anycast address (RFC 4291 2.6.1); use another',
    );
  });

  it('addresses are compared in canonical form across hosts and pods', () => {
    const v = dual();
    v['x-weft'].hosts.h2.address6 = 'FD00:77:0::1/64';
    v['x-weft'].pods.p2 = { host: 'h1', address6: 'fd00:244:0:1:0:0:0:2' };
    expectProblems(v, [
      "x-weft.hosts.h2.address6: FD00:77:0::1 is already h1's address",
      "x-weft.pods.p2.address6: fd00:244:0:1:0:0:0:2 is already p1's address",
    ]);
  });

  it('a host or pod needs an address of some family; an IPv6 block with host bits is refused', () => {
    const v = dual();
    delete v['x-weft'].hosts.h1.address;
    delete v['x-weft'].hosts.h1.address6;
    v['x-weft'].pods.p2 = { host: 'h2' };
    expectProblems(v, [
      'x-weft.hosts.h1.address: a host needs an underlay address: address (IPv4) and/or address6 (IPv6), or interfaces',
      'x-weft.pods.p2.address: a pod needs address (IPv4) and/or address6 (IPv6)',
    ]);
    // (a schema problem: reported before, and instead of, the checks of the whole)
    const w = dual();
    w['x-weft'].hosts.h2.blocks = ['10.244.2.0/26', 'fd00:244:0:2::1/122'];
    expect(problems(w)).toEqual(['x-weft.hosts.h2.blocks[1]: prefix "fd00:244:0:2::1/122" has host bits set (did you mean fd00:244:0:2::/122?)']);
  });

  it('interfaces: link ends of the host, each with an address, not mixed with address/interface', () => {
    const v = dual();
    v.topology.links.push({ endpoints: ['h1:eth2', 'sw:h1b'] });
    v['x-weft'].hosts.h1 = {
      address: '10.77.0.1/24',
      interface: 'eth1',
      interfaces: [{ name: 'eth1', address: '10.77.0.1/24' }, { name: 'eth2' }, { name: 'eth9', address6: 'fd00:99::1/64' }, { name: 'eth1', address: '10.77.0.9/24' }],
      blocks: ['10.244.1.0/26', 'fd00:244:0:1::/122'],
    };
    expectProblems(v, [
      'x-weft.hosts.h1.address: a host with interfaces has its addresses in interfaces[] (drop address here)',
      'x-weft.hosts.h1.interface: a host with interfaces has its addresses in interfaces[] (drop interface here)',
      'x-weft.hosts.h1.interfaces[1]: an interface needs address (IPv4) and/or address6 (IPv6)',
      'x-weft.hosts.h1.interfaces[2].name: eth9 is not a link end of h1 in topology.links',
      'x-weft.hosts.h1.interfaces[3].name: eth1 is already an interface of h1',
    ]);
    expect(problems({ ...v, 'x-weft': { ...v['x-weft'], hosts: { ...v['x-weft'].hosts, h1: { interfaces: [], blocks: ['10.244.1.0/26'] } } } })).toContain(
      'x-weft.hosts.h1.interfaces: list at least one interface (or use address and interface)',
    );
  });

  it('expect per family: ipv4/ipv6 sections override the plain relations; later expectations win', () => {
    const v = dual();
    v['x-weft'].expect = { crossSubnet: 'pass', ipv6: { crossSubnet: 'fail', sameSubnet: 'fail' } };
    v['x-weft'].variants = { v6up: { expect: { ipv6: { sameSubnet: 'pass' } } } };
    const t = parseTopology(v, 'x');
    const plain = selectVariant(t, {});
    expect(plain.expect.ipv4).toEqual({ sameHost: 'pass', sameSubnet: 'pass', crossSubnet: 'pass' });
    expect(plain.expect.ipv6).toEqual({ sameHost: 'pass', sameSubnet: 'fail', crossSubnet: 'fail' });
    expect(selectVariant(t, { variant: 'v6up' }).expect.ipv6).toEqual({ sameHost: 'pass', sameSubnet: 'pass', crossSubnet: 'fail' });
    expect(podPairs(t, plain).map((p) => `${p.from}>${p.to}/${p.family} ${p.relation} ${p.expected}`)).toEqual([
      'p1>p2/4 sameSubnet pass',
      'p2>p1/4 sameSubnet pass',
      'p1>p2/6 sameSubnet fail',
      'p2>p1/6 sameSubnet fail',
    ]);
    v['x-weft'].expect = { ipv6: { crossSubnet: 'maybe' }, ipv5: {} };
    const p = problems(v);
    expect(p.some((s) => s.startsWith('x-weft.expect.ipv6.crossSubnet: '))).toBe(true);
    expect(p.some((s) => s.startsWith('x-weft.expect: ') && s.includes('ipv5'))).toBe(true);
  });

  it('an IPv6-only host: node.address is IPv6; the agent wants a router id, said with the host path', () => {
    const v = dual();
    delete v['x-weft'].hosts.h1.address;
    delete v['x-weft'].pods.p1.address;
    const t = parseTopology(v, 'x');
    const h1 = agentConfigFor(t, 'h1', selectVariant(t, {}), '/s') as Record<string, any>;
    expect(h1.node.address).toBe('fd00:77::1/64');
    expect(h1.node.address6).toBeUndefined();
    expect(h1.listen.address).toBe('fd00:77::1');
    // p1 has no IPv4 address: only the IPv6 pairs include it.
    expect(podPairs(t, selectVariant(t, {})).map((p) => `${p.from}>${p.to}/${p.family}`)).toEqual(['p1>p2/6', 'p2>p1/6']);
    const p = problemsOf(() => agentConfigs(t, selectVariant(t, {}), (h) => h, 'x'));
    expect(p.some((l) => /^x-weft\.hosts\.h1 \(its generated agent config\): node\.routerId: /.test(l))).toBe(true);
  });
});
