// The route-reflector topology of the mesh benchmarks (labs/bench/lib/topology.ts) and the BIRD
// configuration calico-node's confd renders for it (test/helpers/calico-bird.ts `peers`).
import { describe, expect, it } from 'vitest';
import { changeBlock, expectedPeers, hostBlock, movers, parseTopologies, peersOf, roleOf, RR_CLUSTER_ID } from '../../labs/bench/lib/topology.js';
import { calicoBirdConfig } from '../helpers/calico-bird.js';

const rr = { kind: 'rr' as const, n: 6, reflectors: 2 };

describe('route-reflector topology', () => {
  it('hosts 1..R reflect; a reflector peers with every other host, a client with the reflectors only', () => {
    expect([1, 2, 3, 6].map((i) => roleOf(rr, i))).toEqual(['reflector', 'reflector', 'client', 'client']);
    expect(peersOf(rr, 1)).toEqual([
      { i: 2, address: '10.0.0.2', client: false },
      { i: 3, address: '10.0.0.3', client: true },
      { i: 4, address: '10.0.0.4', client: true },
      { i: 5, address: '10.0.0.5', client: true },
      { i: 6, address: '10.0.0.6', client: true },
    ]);
    expect(peersOf(rr, 4)).toEqual([
      { i: 1, address: '10.0.0.1', client: false },
      { i: 2, address: '10.0.0.2', client: false },
    ]);
    expect([1, 4].map((i) => expectedPeers(rr, i))).toEqual([5, 2]);
    expect(movers(rr, [1, 2, 3, 4, 5, 6].map((i) => ({ i }))).map((h) => h.i)).toEqual([3, 4, 5, 6]);
  });

  it('a mesh keeps N-1 peers per host and every host moves', () => {
    const [t] = parseTopologies({ n: '4', topology: 'mesh', reflectors: '2', clients: '200' });
    expect(t).toEqual({ kind: 'mesh', n: 4, reflectors: 0 });
    expect(expectedPeers(t!, 2)).toBe(3);
    expect(peersOf(t!, 2)).toEqual([]);
    expect(parseTopologies({ n: '4', topology: 'rr', reflectors: '2', clients: '8,200' })).toEqual([
      { kind: 'rr', n: 10, reflectors: 2 },
      { kind: 'rr', n: 202, reflectors: 2 },
    ]);
    expect(() => parseTopologies({ n: '4', topology: 'rr', reflectors: '2', clients: '249' })).toThrow(/at most 250/);
  });
});

describe('calicoBirdConfig with route reflectors', () => {
  const base = { asn: 64512, blocks: ['10.244.1.0/26'], pools: ['10.244.0.0/16'], mesh: [] };

  it('a reflector: no mesh, rr client towards clients only, plain iBGP towards the other reflector', () => {
    const conf = calicoBirdConfig({ ...base, address: '10.0.0.1', rrClusterId: RR_CLUSTER_ID, peers: peersOf(rr, 1).map((p) => ({ address: p.address, rrClient: p.client })) });
    expect(conf).toContain(`# This node is configured as a route reflector with cluster ID ${RR_CLUSTER_ID};`);
    expect(conf).not.toContain('Mesh_');
    expect(conf).toContain('protocol bgp Node_10_0_0_2 from bgp_template {\n  neighbor 10.0.0.2 as 64512;\n  source address 10.0.0.1;\n}');
    expect(conf).toContain(`protocol bgp Node_10_0_0_3 from bgp_template {\n  neighbor 10.0.0.3 as 64512;\n  source address 10.0.0.1;\n  rr client;\n  rr cluster id ${RR_CLUSTER_ID};\n}`);
    expect(conf.match(/rr client;/g)).toHaveLength(4);
  });

  it('a client: mesh disabled, the reflectors as plain iBGP peers', () => {
    const conf = calicoBirdConfig({ ...base, address: '10.0.0.4', peers: peersOf(rr, 4).map((p) => ({ address: p.address, rrClient: p.client })) });
    expect(conf).toContain('# Node-to-node mesh disabled');
    expect(conf.match(/^protocol bgp Node_/gm)).toHaveLength(2);
    expect(conf).not.toContain('rr client');
  });

  it('without peers the mesh section is as before', () => {
    const conf = calicoBirdConfig({ ...base, address: '10.0.0.1', mesh: ['10.0.0.1', '10.0.0.2'] });
    expect(conf.endsWith('# ------------- Node-to-node mesh -------------\nprotocol bgp Mesh_10_0_0_2 from bgp_template {\n  neighbor 10.0.0.2 as 64512;\n  source address 10.0.0.1;\n  passive on; # the peer (higher address text) dials us\n  graceful restart time 120;\n}\n')).toBe(true);
    expect(conf).not.toContain('Node_');
  });

  it('a change block is never a host block, at any N up to 250 (the 2+200 run once advertised h128s block)', () => {
    const blocks = new Set(Array.from({ length: 250 }, (_, k) => hostBlock(k + 1)));
    for (let i = 1; i <= 250; i++) {
      for (let r = 0; r < 6; r++) {
        const b = changeBlock(i, r);
        expect(blocks.has(b)).toBe(false);
        expect(b.startsWith(`10.244.${i}.`)).toBe(true);
      }
    }
    expect([0, 1, 2, 3].map((r) => changeBlock(7, r))).toEqual(['10.244.7.64/26', '10.244.7.128/26', '10.244.7.192/26', '10.244.7.64/26']);
  });
});
