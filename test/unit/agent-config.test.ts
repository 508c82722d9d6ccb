// The agent configuration: a table of invalid configs, each with the path-qualified problem it must
// report, the /32 warning, valid configs, and the mesh / peer-diff helpers built on it.
import { describe, expect, it } from 'vitest';
import { parseAgentConfig, parseNodesFile, type AgentConfig } from '../../src/agent/config/agent-config.js';
import { ConfigError } from '../../src/agent/config/config-errors.js';
import { checkRequest } from '../../src/agent/control/protocol.js';
import { desiredPeers, diffPeers } from '../../src/agent/peers/mesh.js';
import { formatPrefix } from '../../src/lib/prefix.js';
import { agentConfigProblems } from '../helpers/config-problems.js';

const BASE = {
  node: { name: 'host-a', asn: 64512, routerId: '10.0.1.11', address: '10.0.1.11/24' },
  mesh: { nodes: [{ name: 'host-b', address: '10.0.1.12' }] },
  pools: [{ cidr: '10.244.0.0/16', blockSize: 26, encapsulation: 'crossSubnet', tunnel: 'vxlan' }],
  blocks: ['10.244.3.0/26'],
};

type Patch = Record<string, unknown>;
const cfg = (patch: Patch = {}) => ({ ...structuredClone(BASE), ...patch });

const problems = agentConfigProblems;

const INVALID: [string, unknown, RegExp][] = [
  ['asn as a string', cfg({ node: { ...BASE.node, asn: '64512' } }), /^node\.asn: must be an AS number/],
  ['asn 0', cfg({ node: { ...BASE.node, asn: 0 } }), /^node\.asn: AS 0 is reserved/],
  ['unknown top-level key', cfg({ peerz: [] }), /^\(top level\): Unrecognized key: "peerz"/],
  ['unknown key in a peer', cfg({ peers: [{ address: '10.0.1.1', asn: 65001, holdtime: 90 }] }), /^peers\[0\]: Unrecognized key: "holdtime"/],
  ['node address without length', cfg({ node: { ...BASE.node, address: '10.0.1.11' } }), /^node\.address: must be an address with its subnet length/],
  ['router id not IPv4', cfg({ node: { ...BASE.node, routerId: 'fd00::1' } }), /^node\.routerId: must be an IPv4 address/],
  ['block outside pools', cfg({ blocks: ['10.9.0.0/26'] }), /^blocks\[0\]: 10\.9\.0\.0\/26 is outside every pool \(10\.244\.0\.0\/16\)/],
  ['block smaller than blockSize', cfg({ blocks: ['10.244.3.0/27'] }), /^blocks\[0\]: 10\.244\.3\.0\/27 is smaller than one \/26 block/],
  ['block with host bits', cfg({ blocks: ['10.244.3.1/26'] }), /^blocks\[0\]: prefix "10\.244\.3\.1\/26" has host bits set \(did you mean 10\.244\.3\.0\/26\?\)/],
  ['pool with host bits', cfg({ pools: [{ cidr: '10.244.0.1/16', blockSize: 26 }], blocks: [] }), /^pools\[0\]\.cidr: prefix .* has host bits set/],
  ['blockSize shorter than the pool', cfg({ pools: [{ cidr: '10.244.0.0/16', blockSize: 12 }], blocks: [] }), /^pools\[0\]\.blockSize: must be between/],
  ['bad encapsulation', cfg({ pools: [{ cidr: '10.244.0.0/16', blockSize: 26, encapsulation: 'sometimes' }] }), /^pools\[0\]\.encapsulation: /],
  ['overlapping pools', cfg({ pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }, { cidr: '10.244.8.0/24', blockSize: 26 }] }), /^pools\[1\]\.cidr: 10\.244\.8\.0\/24 overlaps pools\[0\]/],
  ['hold time 1', cfg({ peers: [{ address: '10.0.1.1', asn: 65001, holdTime: 1 }] }), /^peers\[0\]\.holdTime: hold time must be 0 or at least 3 seconds/],
  ['mesh hold time 2', cfg({ timers: { holdTime: 2 } }), /^timers\.holdTime: hold time must be 0 or at least 3/],
  ['keepalive over a third of hold', cfg({ timers: { holdTime: 9, keepalive: 5 } }), /^timers\.keepalive: 5 s is more than a third/],
  [
    'duplicate peers',
    cfg({ peers: [{ address: '10.0.1.1', asn: 65001 }, { address: '10.0.1.1', asn: 65002 }] }),
    /^peers\[1\]\.address: address 10\.0\.1\.1 is already used by peers\[0\]\.address/,
  ],
  ['peer that is also a mesh node', cfg({ peers: [{ address: '10.0.1.12', asn: 65001 }] }), /^mesh\.nodes\[0\]\.address: address 10\.0\.1\.12 is already used by peers\[0\]/],
  ['duplicate mesh node names', cfg({ mesh: { nodes: [{ name: 'b', address: '10.0.1.12' }, { name: 'b', address: '10.0.1.13' }] } }), /^mesh\.nodes\[1\]\.name: name b is already used/],
  ['peer with our own address', cfg({ peers: [{ address: '10.0.1.11', asn: 65001 }] }), /^peers\[0\]\.address: 10\.0\.1\.11 is this node's own address/],
  ['eBGP reflector client', cfg({ routeReflector: {}, peers: [{ address: '10.0.1.1', asn: 65001, routeReflectorClient: true }] }), /^peers\[0\]\.routeReflectorClient: a route-reflector client must be in our AS/],
  ['reflector client without routeReflector', cfg({ peers: [{ address: '10.0.1.21', asn: 'internal', routeReflectorClient: true }] }), /^peers\[0\]\.routeReflectorClient: needs a routeReflector section/],
  ['metrics without a port', cfg({ metrics: { listen: '127.0.0.1' } }), /^metrics\.listen: must be HOST:PORT/],
  ['metrics: true', cfg({ metrics: { listen: true } }), /^metrics\.listen: must be HOST:PORT.*or false \(got true\)/],
  ['bad log level', cfg({ logLevel: 'loud' }), /^logLevel: /],
  ['bad prefix-list entry', cfg({ peers: [{ address: '10.0.1.1', asn: 65001, import: [{ action: 'accept', prefixList: [{ action: 'allow', prefix: '0.0.0.0/0' }] }] }] }), /^peers\[0\]\.import\[0\]\.prefixList\[0\]\.action: /],
  ['bad community', cfg({ peers: [{ address: '10.0.1.1', asn: 65001, export: [{ action: 'accept', addCommunities: ['70000:1'] }] }] }), /^peers\[0\]\.export\[0\]\.addCommunities\[0\]: community "70000:1" must be ASN:VALUE/],
  ['maxPrefix without limit', cfg({ peers: [{ address: '10.0.1.1', asn: 65001, maxPrefix: { restartAfter: 5 } }] }), /^peers\[0\]\.maxPrefix\.limit: /],
  ['mesh nodes not a list', cfg({ mesh: { nodes: { name: 'b' } } }), /^mesh\.nodes: /],
];

describe('agent config: invalid configs give path-qualified problems', () => {
  it.each(INVALID)('%s', (_name, value, expected) => {
    const p = problems(value);
    expect(p.some((x) => expected.test(x)), `problems: ${JSON.stringify(p)}`).toBe(true);
  });

  it('reports every problem at once, not only the first', () => {
    const p = problems(cfg({ blocks: ['10.9.0.0/26', '10.244.3.0/27'], peers: [{ address: '10.0.1.1', asn: 65001, holdTime: 1 }] }));
    expect(p.length).toBeGreaterThanOrEqual(1);
    // zod stops before semantic checks when the shape is wrong; with the shape right, all semantic problems come together:
    const q = problems(cfg({ blocks: ['10.9.0.0/26', '10.244.3.0/27'] }));
    expect(q).toHaveLength(2);
  });

  it('the ConfigError message names the file and lists each problem', () => {
    expect(() => parseAgentConfig(cfg({ blocks: ['10.9.0.0/26'] }), '/etc/weft/weft.yaml')).toThrow(/^\/etc\/weft\/weft\.yaml: invalid configuration:\n {2}- blocks\[0\]: /);
  });
});

describe('agent config: valid configs', () => {
  it('the DESIGN.md sketch, with defaults filled in', () => {
    const { config, warnings } = parseAgentConfig(
      {
        ...cfg(),
        listen: { address: '0.0.0.0', port: 179 },
        peers: [{ address: '10.0.1.1', asn: 65001, holdTime: 90 }],
        control: { socket: '/run/weft/weft.sock' },
        metrics: { listen: '127.0.0.1:9179' },
      },
      'x',
    );
    expect(warnings).toEqual([]);
    expect(config.node.address).toEqual({ address: '10.0.1.11', subnet: config.node.address.subnet, length: 24 });
    expect(formatPrefix(config.node.address.subnet)).toBe('10.0.1.0/24');
    expect(config.timers).toEqual({ holdTime: 30, keepalive: 10, connectRetry: 5 });
    expect(config.peers[0]).toMatchObject({ port: 179, holdTime: 90, passive: false, routeReflectorClient: false, import: [], export: [] });
    expect(config.metrics).toEqual({ listen: { host: '127.0.0.1', port: 9179 } });
    expect(config.blocks.map(formatPrefix)).toEqual(['10.244.3.0/26']);
  });

  it('the minimum: a node; control socket and metrics defaults', () => {
    const { config } = parseAgentConfig({ node: { name: 'a', asn: 64512, address: '10.0.0.1/24' } }, 'x');
    expect(config.control.socket).toBe('/run/weft/weft.sock');
    expect(config.metrics).toEqual({ listen: false });
    expect(config.logLevel).toBe('info');
  });

  it('a /25 in a pool of /26 blocks is two whole blocks: fine', () => {
    expect(problems(cfg({ blocks: ['10.244.4.0/25'] }))).toEqual([]);
  });

  it('a /32 node address is a warning (calico#4254), not an error', () => {
    const { warnings } = parseAgentConfig(cfg({ node: { ...BASE.node, address: '10.0.1.11/32' } }), 'x');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^node\.address: 10\.0\.1\.11\/32 has no subnet, so no peer is ever "same subnet".*calico#4254/);
  });

  it('a mesh node listing itself (its name and its address) is not a duplicate and not a peer', () => {
    const shared = [
      { name: 'host-a', address: '10.0.1.11' },
      { name: 'host-b', address: '10.0.1.12' },
      { name: 'host-c', address: '10.0.1.13' },
    ];
    const { config } = parseAgentConfig(cfg({ mesh: { nodes: shared } }), 'x');
    expect(desiredPeers(config, []).map((s) => s.id)).toEqual(['host-b', 'host-c']);
    // Only the name or only the address of this node: a copy-paste error (agent-config-underlay.test.ts);
    // the nodes file (not checked) still never makes either a peer.
    expect(desiredPeers(config, [{ name: 'host-a', address: '10.9.9.9' }, { name: 'other-name', address: '10.0.1.11' }]).map((s) => s.id)).toEqual(['host-b', 'host-c']);
  });
});

describe('mesh and peer diff', () => {
  const base = (): AgentConfig => parseAgentConfig(cfg({ mesh: { nodes: [{ name: 'host-b', address: '10.0.1.12' }, { name: 'host-c', address: '10.0.1.5' }] } }), 'x').config;

  it('mesh peers are iBGP; the address whose text sorts higher dials, as calico-node configures BIRD (shouldDial)', () => {
    const nodes = [
      { name: 'host-b', address: '10.0.1.12' },
      { name: 'host-c', address: '10.0.1.100' },
      { name: 'host-d', address: '10.0.1.9' },
      { name: 'host-e', address: '010.000.001.010' },
    ];
    const specs = desiredPeers(parseAgentConfig(cfg({ mesh: { nodes } }), 'x').config, []);
    expect(specs.map((s) => [s.id, s.asn, s.kind, s.passive])).toEqual([
      ['host-b', 'internal', 'mesh', true], // "10.0.1.12" > "10.0.1.11": it dials
      ['host-c', 'internal', 'mesh', false], // "10.0.1.11" > "10.0.1.100" (numerically lower): we dial
      ['host-d', 'internal', 'mesh', true], // "10.0.1.9" > "10.0.1.11" (numerically lower): it dials
      ['host-e', 'internal', 'mesh', false], // compared as "10.0.1.10", its canonical text: we dial
    ]);
    expect(desiredPeers(base(), [])[0]).toMatchObject({ holdTime: 30, keepalive: 10, connectRetry: 5 });
  });

  it('nodes from the nodes file join the mesh; one node in both counts once', () => {
    const specs = desiredPeers(base(), [{ name: 'host-b', address: '10.0.1.12' }, { name: 'host-d', address: '10.0.1.14' }]);
    expect(specs.map((s) => s.id)).toEqual(['host-b', 'host-c', 'host-d']);
  });

  it('diff: only what changed is added or removed', () => {
    const c = base();
    const before = desiredPeers(c, []);
    const after = desiredPeers(c, [{ name: 'host-d', address: '10.0.1.14' }]).filter((s) => s.id !== 'host-c');
    const d = diffPeers(before, after);
    expect(d.add.map((s) => s.id)).toEqual(['host-d']);
    expect(d.remove.map((s) => s.id)).toEqual(['host-c']);
    expect(d.change).toEqual([]);
    expect(d.unchanged.map((s) => s.id)).toEqual(['host-b']);
  });

  it('diff: a changed setting restarts only that peer', () => {
    const c = parseAgentConfig(cfg({ peers: [{ address: '10.0.1.1', asn: 65001 }, { address: '10.0.1.2', asn: 65002 }] }), 'x').config;
    const c2 = parseAgentConfig(cfg({ peers: [{ address: '10.0.1.1', asn: 65001, holdTime: 30 }, { address: '10.0.1.2', asn: 65002 }] }), 'x').config;
    const d = diffPeers(desiredPeers(c, []), desiredPeers(c2, []));
    expect(d.change.map((x) => x.to.id)).toEqual(['10.0.1.1']);
    expect(d.unchanged.map((s) => s.id)).toEqual(['10.0.1.2', 'host-b']);
  });

  it('nodes file: a list, or {nodes: [...]}; problems have paths', () => {
    expect(parseNodesFile([{ name: 'a', address: '10.0.0.1' }], 'n')).toHaveLength(1);
    expect(parseNodesFile({ nodes: [{ name: 'a', address: '10.0.0.1' }] }, 'n')).toHaveLength(1);
    expect(() => parseNodesFile([{ name: 'a', address: 'nope' }], 'n.yaml')).toThrow(/\[0\]\.address: must be an IPv4 or IPv6 address/);
  });
});

describe('control requests', () => {
  it.each([
    [{ op: 'status' }, { op: 'status' }],
    [{ op: 'advertise', prefix: '10.244.3.0/26', extra: 1 }, { op: 'advertise', prefix: '10.244.3.0/26' }],
    [{ op: 'nope' }, 'unknown op "nope" (one of status, routes, advertise, withdraw, reload, explain, neighbors, paths)'],
    [{ op: 'withdraw' }, '"withdraw" needs a "prefix" string, like "10.244.3.0/26"'],
    [[1, 2], 'a request must be a JSON object with an "op" field'],
    [null, 'a request must be a JSON object with an "op" field'],
    [{}, 'missing "op" (one of status, routes, advertise, withdraw, reload, explain, neighbors, paths)'],
  ])('%j -> %j', (req, want) => {
    expect(checkRequest(req)).toEqual(want);
  });
});
