// weft lab topologies: the three labs in labs/ parse and generate valid agent configs; bad files
// get every problem with its path in the file; variants choose encapsulation and expectations.
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { agentConfigs, deepMerge, loadTopology, podPairs, relation, selectVariant } from '../../src/lab/plan.js';
import { parseTopology, roleOf } from '../../src/lab/topology.js';
import { problemsOf } from '../helpers/config-problems.js';
import { minimalTopology } from '../helpers/lab-topologies.js';

const LABS = join(import.meta.dirname, '..', '..', 'labs');
const lab = (name: string) => join(LABS, `${name}.clab.yml`);

const minimal = minimalTopology;

const problems = (value: unknown): string[] => problemsOf(() => parseTopology(value, 'x.clab.yml'));

describe('the labs in labs/', () => {
  it('rack-l2: 3 meshed hosts, encapsulation never, a pair matrix of 6 pods', () => {
    const t = loadTopology(lab('rack-l2'));
    const sel = selectVariant(t, {});
    expect(sel.key).toBe('rack-l2');
    const cfgs = agentConfigs(t, sel, (h) => `/run/lab/${h}.sock`);
    expect([...cfgs.keys()]).toEqual(['h1', 'h2', 'h3']);
    const h2 = cfgs.get('h2') as Record<string, any>;
    expect(h2.node).toEqual({ name: 'h2', asn: 64512, address: '10.77.0.12/24' });
    expect(h2.listen).toEqual({ address: '10.77.0.12', port: 179 });
    expect(h2.mesh.nodes.map((n: { name: string }) => n.name)).toEqual(['h1', 'h2', 'h3']);
    expect(h2.pools).toEqual([{ cidr: '10.244.0.0/16', blockSize: 26, encapsulation: 'never' }]);
    expect(h2.blocks).toEqual(['10.244.2.0/26']);
    expect(h2.control).toEqual({ socket: '/run/lab/h2.sock' });
    expect(h2.dataplane).toEqual({ underlayDevice: 'eth1' });
    expect(podPairs(t, sel)).toHaveLength(30);
    expect(roleOf(t, 'lan')).toBe('bridge');
    expect(roleOf(t, 'pod3b')).toBe('pod');
  });

  it('racks-tor: no mesh, one eBGP peer (the rack ToR) per host, AS per rack, FRR ToRs', () => {
    const t = loadTopology(lab('racks-tor'));
    const cfgs = agentConfigs(t, selectVariant(t, {}), (h) => `/s/${h}`);
    const h1 = cfgs.get('h1') as Record<string, any>;
    const h4 = cfgs.get('h4') as Record<string, any>;
    expect(h1.mesh).toEqual({ enabled: false });
    expect(h1.node.asn).toBe(65101);
    expect(h4.node.asn).toBe(65201);
    expect(h1.peers).toEqual([{ address: '10.77.1.1', asn: 65001, holdTime: 9 }]);
    expect(Object.keys(t['x-weft'].tors)).toEqual(['tor1', 'tor2']);
    expect(t['x-weft'].tors.tor1.frr).toContain('no bgp ebgp-requires-policy');
    expect(roleOf(t, 'tor2')).toBe('tor');
    expect(relation(t, 'pod1', 'pod2')).toBe('sameSubnet');
    expect(relation(t, 'pod1', 'pod3')).toBe('crossSubnet');
  });

  it('cross-subnet: crossSubnet VXLAN by default; the never variant expects cross-subnet pairs to fail', () => {
    const t = loadTopology(lab('cross-subnet'));
    const plain = selectVariant(t, {});
    expect(plain.expect.ipv4).toEqual({ sameHost: 'pass', sameSubnet: 'pass', crossSubnet: 'pass' });
    expect(plain.expect.ipv6).toEqual(plain.expect.ipv4);
    expect((agentConfigs(t, plain, (h) => h).get('h1') as Record<string, any>).pools[0]).toMatchObject({ encapsulation: 'crossSubnet', tunnel: 'vxlan' });
    expect(roleOf(t, 'r1')).toBe('router');

    for (const sel of [selectVariant(t, { variant: 'never' }), selectVariant(t, { encapsulation: 'never' })]) {
      expect(sel.variant).toBe('never');
      expect(sel.key).toBe('cross-subnet-never');
      expect(sel.expect.ipv4.crossSubnet).toBe('fail');
      expect((agentConfigs(t, sel, (h) => h).get('h3') as Record<string, any>).pools[0].encapsulation).toBe('never');
      const pairs = podPairs(t, sel);
      expect(pairs.filter((p) => p.expected === 'fail').map((p) => `${p.from}>${p.to}`)).toEqual([
        'pod1>pod3', 'pod1>pod4', 'pod2>pod3', 'pod2>pod4', 'pod3>pod1', 'pod3>pod2', 'pod4>pod1', 'pod4>pod2',
      ]);
    }
    // --encapsulation with no variant declaring it: forced, default expectations, own key.
    const always = selectVariant(t, { encapsulation: 'always' });
    expect(always).toMatchObject({ variant: undefined, encapsulation: 'always', key: 'cross-subnet-always' });
    expect(always.expect.ipv4.crossSubnet).toBe('pass');
  });
});

describe('topology validation', () => {
  it('the minimal topology is valid and its pods relate sameSubnet', () => {
    const t = parseTopology(minimal(), 'x');
    expect(relation(t, 'p1', 'p2')).toBe('sameSubnet');
    expect(t['x-weft'].defaults.asn).toBe(64512);
  });

  it('names the path of schema problems', () => {
    const v = minimal();
    v.topology.nodes.h1.kind = 'ceos';
    v.topology.links.push({ endpoints: ['h1-eth2', 'sw:x'] });
    v['x-weft'].hosts.h2.address = '10.77.0.2';
    const p = problems(v);
    expect(p.some((s) => s.startsWith('topology.nodes.h1.kind: must be one of linux, bridge'))).toBe(true);
    expect(p.some((s) => s.startsWith('topology.links[2].endpoints[0]: must be "node:interface"'))).toBe(true);
    expect(p.some((s) => s.startsWith('x-weft.hosts.h2.address: must be an IPv4 address with its subnet length'))).toBe(true);
  });

  it('checks the whole: links, roles, pods, interfaces', () => {
    const v = minimal();
    v.topology.links.push({ endpoints: ['h1:eth1', 'ghost:eth0'] });
    v['x-weft'].pods.p1.address = '10.244.2.9';
    v['x-weft'].pods.p2.address = '10.244.2.0';
    v['x-weft'].hosts.h2.interface = 'eth7';
    v['x-weft'].routers = ['p1', 'nowhere'];
    const p = problems(v);
    expect(p).toContain('topology.links[2].endpoints[0]: h1:eth1 is already used by topology.links[0]');
    expect(p).toContain('topology.links[2].endpoints[1]: node ghost is not in topology.nodes');
    expect(p).toContain("x-weft.pods.p1.address: 10.244.2.9 is outside h1's IPv4 blocks (10.244.1.0/26)");
    expect(p.some((s) => s.startsWith('x-weft.pods.p2.address: 10.244.2.0 is the network address of block 10.244.2.0/26'))).toBe(true);
    expect(p).toContain('x-weft.hosts.h2.interface: eth7 is not a link end of h2 in topology.links');
    expect(p).toContain('x-weft.routers[0]: p1 is already a pod');
    expect(p).toContain('x-weft.routers[1]: node nowhere is not in topology.nodes');
  });

  it('rejects a pod on an unknown host, a bridge host, and a shared block', () => {
    const v = minimal();
    v['x-weft'].pods.p2.host = 'h9';
    v['x-weft'].hosts.sw = { address: '10.77.0.3/24', interface: 'h1', blocks: ['10.244.1.0/26'] };
    const p = problems(v);
    expect(p).toContain('x-weft.pods.p2.host: h9 is not in x-weft.hosts');
    expect(p).toContain('x-weft.hosts.sw: sw is a bridge; a host must be kind: linux');
    expect(p).toContain('x-weft.hosts.sw.blocks[0]: 10.244.1.0/26 is already a block of h1');
  });

  it('reports generated agent configs that the agent would refuse, with the host path', () => {
    const v = minimal();
    v['x-weft'].defaults = { pools: [{ cidr: '10.245.0.0/16', blockSize: 26 }] };
    const t = parseTopology(v, 'x');
    expect(problemsOf(() => agentConfigs(t, selectVariant(t, {}), (h) => h, 'x'))[0]).toMatch(/^x-weft\.hosts\.h1 \(its generated agent config\): blocks\[0\]: 10\.244\.1\.0\/26 is outside every pool/);
  });

  it('an unknown variant lists the known ones', () => {
    const t = loadTopology(lab('cross-subnet'));
    expect(() => selectVariant(t, { variant: 'vxlan' })).toThrow(/--variant vxlan: no such variant in x-weft.variants \(never\)/);
  });

  it('raw agent settings merge into the generated config, host over defaults', () => {
    const v = minimal();
    v['x-weft'].defaults = { agent: { timers: { holdTime: 30 }, logLevel: 'debug' } };
    v['x-weft'].hosts.h1.agent = { timers: { keepalive: 5 } };
    const t = parseTopology(v, 'x');
    const c = agentConfigs(t, selectVariant(t, {}), (h) => h).get('h1') as Record<string, any>;
    expect(c.timers).toEqual({ holdTime: 30, keepalive: 5, connectRetry: 1 });
    expect(c.logLevel).toBe('debug');
    expect(deepMerge({ a: [1, 2], b: { c: 1 } }, { a: [3], b: { d: 2 } })).toEqual({ a: [3], b: { c: 1, d: 2 } });
  });

  it('an empty or non-object file says what is missing', () => {
    expect(problems(parseYaml('name: x'))).toContain('topology: Invalid input: expected object, received undefined');
    expect(problems(parseYaml(readFileSync(lab('rack-l2'), 'utf8')))).toEqual([]);
  });
});
