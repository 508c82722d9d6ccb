// The node's underlay in the agent configuration (issue 12): node.address4 / node.address6 next to
// node.address, underlayAddresses, maxPaths, the dual-stack listen default and the checks of the
// whole (listen family, pools against the underlay subnets, mesh entries that copy this node,
// pool families without an underlay address to carry them).
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../src/agent/config/agent-config.js';
import { underlayAddresses } from '../../src/agent/config/config-helpers.js';
import { desiredPeers } from '../../src/agent/peers/mesh.js';
import { formatPrefix } from '../../src/lib/prefix.js';
import { agentConfigProblems as problems } from '../helpers/config-problems.js';

const V4 = {
  node: { name: 'host-a', asn: 64512, address: '10.0.1.11/24' },
  mesh: { nodes: [{ name: 'host-b', address: '10.0.1.12' }] },
  pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }],
};
const V6 = {
  node: { name: 'host-a', asn: 64512, routerId: '10.0.1.11', address: 'fd00:1::11/64' },
  mesh: { nodes: [{ name: 'host-b', address: 'fd00:1::12' }] },
  pools: [{ cidr: 'fd00:244::/48', blockSize: 122 }],
};
type Patch = Record<string, unknown>;
const v4 = (patch: Patch = {}, node: Patch = {}) => ({ ...structuredClone(V4), ...patch, node: { ...V4.node, ...node } });
const v6 = (patch: Patch = {}, node: Patch = {}) => ({ ...structuredClone(V6), ...patch, node: { ...V6.node, ...node } });
const warningsOf = (value: unknown) => parseAgentConfig(value, 'x').warnings;

const INVALID: [string, unknown, RegExp][] = [
  ['address6 that is IPv4', v4({}, { address6: '10.0.2.11/24' }), /^node\.address6: must be an IPv6 address with its subnet length, like fd00:1::11\/64/],
  ['address6 without length', v4({}, { address6: 'fd00:1::11' }), /^node\.address6: must be an IPv6 address with its subnet length/],
  ['address4 that is IPv6', v6({}, { address4: 'fd00:2::11/64' }), /^node\.address4: must be an IPv4 address with its subnet length/],
  ['address6 next to an IPv6 node.address', v6({}, { address6: 'fd00:2::11/64' }), /^node\.address6: node\.address fd00:1::11\/64 is IPv6 already: node\.address6 is only for .*remove it/],
  ['address4 next to an IPv4 node.address', v4({}, { address4: '10.0.2.11/24' }), /^node\.address4: node\.address 10\.0\.1\.11\/24 is IPv4 already: .*remove it/],
  ['no IPv4 address and no routerId', v6({}, { routerId: undefined }), /^node\.routerId: is required when the node has no IPv4 address \(node\.address or node\.address4\)/],
  ['maxPaths 0', v4({ maxPaths: 0 }), /^maxPaths: /],
  ['maxPaths 65', v4({ maxPaths: 65 }), /^maxPaths: /],
  ['maxPaths not whole', v4({ maxPaths: 1.5 }), /^maxPaths: /],
  ['listen 0.0.0.0 with an IPv6 node address', v6({ listen: { address: '0.0.0.0' } }), /^listen\.address: 0\.0\.0\.0 accepts only IPv4 connections, but the mesh and peers reach this node at node\.address fd00:1::11 \(IPv6\): listen on "::"/],
  ['listen on an IPv6 address with an IPv4 node address', v4({ listen: { address: 'fd00:1::11' } }), /^listen\.address: fd00:1::11 accepts only IPv6 connections, but .* node\.address 10\.0\.1\.11 \(IPv4\): listen on "::"/],
  ['a passive IPv6 peer the IPv4 listener cannot accept', v4({ listen: { address: '0.0.0.0' }, peers: [{ address: 'fd00:9::1', asn: 65001, passive: true }] }), /^peers\[0\]\.passive: fd00:9::1 cannot connect to listen\.address 0\.0\.0\.0 .*never comes up/],
  ['pool over the node subnet', v4({ pools: [{ cidr: '10.0.0.0/16', blockSize: 26 }] }), /^pools\[0\]\.cidr: 10\.0\.0\.0\/16 overlaps the underlay subnet 10\.0\.1\.0\/24 of node\.address 10\.0\.1\.11\/24: .*choose a pool outside the hosts' subnets/],
  ['pool inside the node subnet', v4({ pools: [{ cidr: '10.0.1.128/25', blockSize: 26 }] }), /^pools\[0\]\.cidr: 10\.0\.1\.128\/25 overlaps the underlay subnet 10\.0\.1\.0\/24 of node\.address/],
  ['pool holding a /32 node address', v4({ pools: [{ cidr: '10.0.0.0/8', blockSize: 26 }] }, { address: '10.0.1.11/32' }), /^pools\[0\]\.cidr: 10\.0\.0\.0\/8 overlaps the underlay subnet 10\.0\.1\.11\/32 of node\.address/],
  ['IPv6 pool over the address6 subnet', v4({ pools: [{ cidr: 'fd00:1::/48', blockSize: 122 }] }, { address6: 'fd00:1::11/64' }), /^pools\[0\]\.cidr: fd00:1::\/48 overlaps the underlay subnet fd00:1::\/64 of node\.address6 fd00:1::11\/64/],
  ['IPv4 pool over the address4 subnet', v6({ pools: [{ cidr: '10.0.1.0/24', blockSize: 26 }] }, { address4: '10.0.1.11/24' }), /^pools\[0\]\.cidr: 10\.0\.1\.0\/24 overlaps the underlay subnet 10\.0\.1\.0\/24 of node\.address4/],
  [
    'a mesh entry with this node\'s name and another address',
    v4({ mesh: { nodes: [{ name: 'host-a', address: '10.0.1.99' }, { name: 'host-b', address: '10.0.1.12' }] } }),
    /^mesh\.nodes\[0\]\.address: 10\.0\.1\.99 is not this node's address \(10\.0\.1\.11\), but the name host-a is this node's name \(node\.name\): a copy-pasted entry\?/,
  ],
  [
    'a mesh entry with this node\'s address and another name',
    v4({ mesh: { nodes: [{ name: 'host-b', address: '10.0.1.12' }, { name: 'host-z', address: '10.0.1.11' }] } }),
    /^mesh\.nodes\[1\]\.name: host-z is not this node's name \(host-a\), but the address 10\.0\.1\.11 is this node's own: a copy-pasted entry\?/,
  ],
  [
    'a mesh entry with this node\'s address6 and another name',
    v4({ mesh: { nodes: [{ name: 'host-z', address: 'fd00:1::11' }] } }, { address6: 'fd00:1::11/64' }),
    /^mesh\.nodes\[0\]\.name: host-z is not this node's name \(host-a\), but the address fd00:1::11 is this node's own/,
  ],
  ['a peer at this node\'s address6', v4({ peers: [{ address: 'fd00:1::11', asn: 65001 }] }, { address6: 'fd00:1::11/64' }), /^peers\[0\]\.address: fd00:1::11 is this node's own address/],
  [
    'an IPv6 pool routed natively (never) on a node without an IPv6 address',
    v4({ pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }, { cidr: 'fd00:244::/48', blockSize: 122, encapsulation: 'never' }] }),
    /^pools\[1\]\.encapsulation: never: the IPv6 pool fd00:244::\/48 would be routed natively, but this node has no IPv6 underlay address: add node\.address6, or use crossSubnet or always/,
  ],
  [
    'an IPv4 pool routed natively (never) on an IPv6-only node',
    v6({ pools: [{ cidr: '10.244.0.0/16', blockSize: 26, encapsulation: 'never' }] }),
    /^pools\[0\]\.encapsulation: never: the IPv4 pool 10\.244\.0\.0\/16 would be routed natively, but this node has no IPv4 underlay address: add node\.address4/,
  ],
];

describe('agent config: the underlay (node.address4 / address6, listen, pools, mesh self)', () => {
  it.each(INVALID)('%s', (_name, value, expected) => {
    const p = problems(value);
    expect(p.some((x) => expected.test(x)), `problems: ${JSON.stringify(p)}`).toBe(true);
  });

  it('a dual-stack node: IPv4 session address with address6; underlayAddresses gives both as plain shapes', () => {
    const { config, warnings } = parseAgentConfig(v4({ pools: [...V4.pools, { cidr: 'fd00:244::/48', blockSize: 122, encapsulation: 'never' }] }, { address6: 'fd00:1::11/64' }), 'x');
    expect(warnings).toEqual([]);
    const u = underlayAddresses(config);
    expect(Object.keys(u)).toEqual(['v4', 'v6']);
    expect({ ...u.v4, subnet: formatPrefix(u.v4!.subnet) }).toEqual({ address: '10.0.1.11', subnet: '10.0.1.0/24', length: 24 });
    expect({ ...u.v6, subnet: formatPrefix(u.v6!.subnet) }).toEqual({ address: 'fd00:1::11', subnet: 'fd00:1::/64', length: 64 });
  });

  it('an IPv6 session address with address4: routerId defaults to address4; underlayAddresses has both', () => {
    const { config } = parseAgentConfig(v6({}, { routerId: undefined, address4: '10.0.1.11/24' }), 'x');
    const u = underlayAddresses(config);
    expect([u.v4?.address, u.v6?.address]).toEqual(['10.0.1.11', 'fd00:1::11']);
    expect(underlayAddresses(parseAgentConfig(v6(), 'x').config)).toEqual({ v6: expect.objectContaining({ address: 'fd00:1::11', length: 64 }) });
    expect(underlayAddresses(parseAgentConfig(v4(), 'x').config)).toEqual({ v4: expect.objectContaining({ address: '10.0.1.11', length: 24 }) });
  });

  it('defaults: listen on :: port 179 (both families), maxPaths 8', () => {
    const { config } = parseAgentConfig(v4(), 'x');
    expect(config.listen).toEqual({ address: '::', port: 179 });
    expect(config.maxPaths).toBe(8);
    expect(problems(v6())).toEqual([]);
    expect(problems(v4({ listen: { address: '0.0.0.0' } }))).toEqual([]);
    expect(problems(v6({ listen: { address: 'fd00:1::11' } }))).toEqual([]);
    expect(problems(v4({ maxPaths: 1 }))).toEqual([]);
  });

  it('an IPv6 peer the IPv4 listener cannot accept, not passive: a warning (our dials still work)', () => {
    const w = warningsOf(v4({ listen: { address: '0.0.0.0' }, peers: [{ address: 'fd00:9::1', asn: 65001 }] }));
    expect(w).toEqual([expect.stringMatching(/^peers\[0\]\.address: fd00:9::1 cannot connect to listen\.address 0\.0\.0\.0 \(the other family\): only weft's own dials can bring the session up; listen on "::"/)]);
  });

  it('a pool family without an underlay address, crossSubnet: a warning (it always tunnels); always: nothing', () => {
    const six = { cidr: 'fd00:244::/48', blockSize: 122, encapsulation: 'crossSubnet' };
    expect(warningsOf(v4({ pools: [...V4.pools, six] }))).toEqual([
      expect.stringMatching(/^pools\[1\]\.encapsulation: crossSubnet: this node has no IPv6 underlay address, so the IPv6 pool fd00:244::\/48 always tunnels \(over the IPv4 underlay\).*add node\.address6/),
    ]);
    expect(warningsOf(v4({ pools: [...V4.pools, { ...six, encapsulation: 'always' }] }))).toEqual([]);
    expect(warningsOf(v4({ pools: [...V4.pools, six] }, { address6: 'fd00:1::11/64' }))).toEqual([]);
    expect(warningsOf(v6({ pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }] }))).toEqual([
      expect.stringMatching(/^pools\[0\]\.encapsulation: crossSubnet: this node has no IPv4 underlay address, so the IPv4 pool 10\.244\.0\.0\/16 always tunnels \(over the IPv6 underlay\)/),
    ]);
    expect(problems(v6({ pools: [{ cidr: '10.244.0.0/16', blockSize: 26, encapsulation: 'never' }] }, { address4: '10.0.1.11/24' }))).toEqual([]);
  });

  it('a mesh node listed by an address of the other family: our address of that family is its local address and decides the dial direction', () => {
    const { config } = parseAgentConfig(v4({ mesh: { nodes: [{ name: 'host-b', address: 'fd00:1::12' }, { name: 'host-c', address: 'fd00:1::10' }] } }, { address6: 'fd00:1::11/64' }), 'x');
    expect(desiredPeers(config, []).map((s) => [s.id, s.localAddress, s.passive])).toEqual([
      ['host-b', 'fd00:1::11', true], // "fd00:1::12" sorts higher: it dials
      ['host-c', 'fd00:1::11', false],
    ]);
  });
});
