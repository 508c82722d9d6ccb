/**
 * A lab topology: a containerlab file (name, topology.nodes, topology.links) plus weft's own
 * settings under the top-level key `x-weft` (containerlab ignores keys it does not know at the top
 * level; an `x-` key marks an extension as in docker compose). Validated with zod, then checked as
 * a whole (links name existing nodes, pods sit inside their host's blocks, ...). Every problem
 * names its path in the file, e.g. `x-weft.pods.pod1.address: ...`.
 *
 *   name: rack-l2
 *   topology:
 *     nodes:
 *       sw:   { kind: bridge }                          # a Linux bridge named after the node
 *       h1:   { kind: linux, image: weft, exec: [ "ip route add ..." ] }
 *       pod1: { kind: linux, image: alpine }
 *     links:
 *       - endpoints: ["h1:eth1", "sw:h1"]
 *   x-weft:
 *     defaults: { asn: 64512, pools: [ ... ], timers: { ... }, mesh: true, agent: { ... } }
 *     hosts:   { h1: { address: 10.77.0.11/24, interface: eth1, blocks: [10.244.1.0/26] } }
 *     pods:    { pod1: { host: h1, address: 10.244.1.2 } }
 *     routers: [ r1 ]                                   # ip_forward on
 *     tors:    { tor1: { frr: "router bgp 65001 ..." } }
 *     expect:  { sameHost: pass, sameSubnet: pass, crossSubnet: pass }
 *     variants: { never: { encapsulation: never, expect: { crossSubnet: fail } } }
 */
import { z } from 'zod';
import { isIpv4 } from '../lib/address.js';
import { formatPrefix, parsePrefix, prefixContains, type Prefix } from '../lib/prefix.js';
import { ConfigError, formatPath, issuesToProblems } from '../agent/config/config-errors.js';

/** Node names become part of namespace names, file names and (for bridges) interface names. */
const nodeName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/, 'must be 1-40 characters of letters, digits, _ and -, starting with a letter or digit');
const ifName = z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, 'must be an interface name: 1-15 characters of letters, digits, _ . -');
const ipv4Address = z.string().refine(isIpv4, { message: 'must be an IPv4 address' });
const ipv4Prefix = z.string().transform((s, ctx) => {
  try {
    return parsePrefix(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});
/** "10.77.1.11/24": the underlay address with the length of its subnet. */
const addressWithLength = z.string().refine((s) => /^\d+\.\d+\.\d+\.\d+\/\d{1,2}$/.test(s) && isIpv4(s.split('/')[0]) && Number(s.split('/')[1]) <= 32, {
  message: 'must be an IPv4 address with its subnet length, like 10.77.1.11/24',
});
const encapsulation = z.enum(['never', 'always', 'crossSubnet']);
const outcome = z.enum(['pass', 'fail']);
/** Agent settings passed through as they are (checked later, as part of the generated agent config). */
const rawMap = z.record(z.string(), z.unknown());

export const KINDS = ['linux', 'bridge'] as const;

const clabNode = z.strictObject({
  kind: z.enum(KINDS, { message: `must be one of ${KINDS.join(', ')} (weft lab realises nodes as network namespaces)` }),
  image: z.string().optional(),
  /** Shell lines run in the node (sh -c) after its links, addresses and pods are set up. */
  exec: z.array(z.string().min(1)).default([]),
  /** Environment of the exec lines. */
  env: z.record(z.string(), z.string()).default({}),
  labels: z.record(z.string(), z.string()).default({}),
  /** containerlab fields that mean nothing without containers are accepted and ignored. */
  binds: z.array(z.string()).optional(),
  'startup-config': z.string().optional(),
});

const endpoint = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}:[A-Za-z0-9_.-]{1,15}$/, 'must be "node:interface", like "h1:eth1" (interface names up to 15 characters)');

const clabLink = z.strictObject({
  endpoints: z.tuple([endpoint, endpoint]),
});

const pool = z.strictObject({
  cidr: z.string(),
  blockSize: z.number().int(),
  encapsulation: encapsulation.optional(),
  tunnel: z.enum(['vxlan', 'ipip']).optional(),
});

const timers = z.strictObject({
  holdTime: z.number().int().optional(),
  keepalive: z.number().int().optional(),
  connectRetry: z.number().int().optional(),
});

const peer = z.looseObject({ address: ipv4Address, asn: z.union([z.number().int(), z.string()]) });

const defaults = z.strictObject({
  asn: z.number().int().min(1).max(4294967295).default(64512),
  pools: z.array(pool).default([{ cidr: '10.244.0.0/16', blockSize: 26 }]),
  /** Fast timers by default: a lab should converge in seconds. */
  timers: timers.default({ holdTime: 9, keepalive: 3, connectRetry: 1 }),
  /** true: every host is in the iBGP full mesh of the hosts with the same AS. */
  mesh: z.boolean().default(true),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** Raw agent configuration merged into every generated one (see `weft agent --help`). */
  agent: rawMap.default({}),
});

const host = z.strictObject({
  /** Underlay address WITH prefix length; the lab puts it on `interface`. */
  address: addressWithLength,
  interface: ifName.default('eth1'),
  blocks: z.array(ipv4Prefix).min(1, 'a host needs at least one block for its pods'),
  asn: z.number().int().min(1).max(4294967295).optional(),
  routerId: ipv4Address.optional(),
  mesh: z.boolean().optional(),
  peers: z.array(peer).default([]),
  agent: rawMap.default({}),
});

const pod = z.strictObject({
  host: nodeName,
  /** The pod's address (a /32 on its eth0), inside one of the host's blocks. */
  address: ipv4Address,
  /** Name of the host's end of the pod's veth; default w-<pod>, cut to 15 characters. */
  hostInterface: ifName.optional(),
  mtu: z.number().int().min(576).max(9000).optional(),
});

const tor = z.strictObject({
  /** FRR configuration for bgpd (remember `no bgp ebgp-requires-policy`). */
  frr: z.string().min(1),
  zebra: z.string().default(''),
});

const expectation = z.strictObject({
  sameHost: outcome.optional(),
  sameSubnet: outcome.optional(),
  crossSubnet: outcome.optional(),
});

const variant = z.strictObject({
  encapsulation: encapsulation.optional(),
  expect: expectation.default({}),
});

const xWeft = z.strictObject({
  defaults: defaults.default(defaults.parse({})),
  hosts: z.record(nodeName, host).default({}),
  pods: z.record(nodeName, pod).default({}),
  routers: z.array(nodeName).default([]),
  tors: z.record(nodeName, tor).default({}),
  expect: expectation.default({}),
  variants: z.record(nodeName, variant).default({}),
});

export const topologySchema = z.looseObject({
  name: nodeName,
  /** containerlab's management network and global settings: no meaning here, accepted. */
  mgmt: z.unknown().optional(),
  prefix: z.unknown().optional(),
  topology: z.strictObject({
    nodes: z.record(nodeName, clabNode).refine((n) => Object.keys(n).length > 0, 'a lab needs at least one node'),
    links: z.array(clabLink).default([]),
    defaults: z.unknown().optional(),
    kinds: z.unknown().optional(),
  }),
  'x-weft': xWeft.default(xWeft.parse({})),
});

export type Topology = z.output<typeof topologySchema>;
export type ClabNode = Topology['topology']['nodes'][string];
export type HostSpec = Topology['x-weft']['hosts'][string];
export type PodSpec = Topology['x-weft']['pods'][string];
export type Outcome = z.output<typeof outcome>;
export type Expectation = z.output<typeof expectation>;
export type Encapsulation = z.output<typeof encapsulation>;

export type Role = 'host' | 'pod' | 'router' | 'tor' | 'bridge' | 'plain';

/** What each node is, from kind and x-weft. */
export function roleOf(t: Topology, node: string): Role {
  const x = t['x-weft'];
  if (t.topology.nodes[node]?.kind === 'bridge') return 'bridge';
  if (node in x.hosts) return 'host';
  if (node in x.pods) return 'pod';
  if (node in x.tors) return 'tor';
  if (x.routers.includes(node)) return 'router';
  return 'plain';
}

export function splitEndpoint(ep: string): { node: string; iface: string } {
  const i = ep.indexOf(':');
  return { node: ep.slice(0, i), iface: ep.slice(i + 1) };
}

/** The host-side name of a pod's veth. */
export function podHostInterface(name: string, p: PodSpec): string {
  return p.hostInterface ?? `w-${name}`.slice(0, 15);
}

const addr32 = (a: string): Prefix => parsePrefix(`${a}/32`);

function semanticChecks(t: Topology): string[] {
  const problems: string[] = [];
  const at = (path: (string | number)[], msg: string) => problems.push(`${formatPath(path)}: ${msg}`);
  const nodes = t.topology.nodes;
  const x = t['x-weft'];

  // Links: existing nodes, each interface used once per node, never on both ends the same node.
  const used = new Map<string, string>();
  t.topology.links.forEach((l, i) => {
    const [a, b] = l.endpoints.map(splitEndpoint);
    l.endpoints.forEach((ep, j) => {
      const { node } = splitEndpoint(ep);
      const path = ['topology', 'links', i, 'endpoints', j];
      if (!(node in nodes)) at(path, `node ${node} is not in topology.nodes`);
      const prev = used.get(ep);
      if (prev !== undefined) at(path, `${ep} is already used by ${prev}`);
      else used.set(ep, formatPath(['topology', 'links', i]));
    });
    if (a.node === b.node) at(['topology', 'links', i, 'endpoints'], 'a link joins two different nodes');
    if (nodes[a.node]?.kind === 'bridge' && nodes[b.node]?.kind === 'bridge') at(['topology', 'links', i, 'endpoints'], 'two bridges joined directly: put a node between them');
  });

  for (const [name, n] of Object.entries(nodes)) {
    if (n.kind === 'bridge' && name.length > 15) at(['topology', 'nodes', name], 'a bridge is named after its node: at most 15 characters');
  }

  const roles = new Map<string, string>();
  const claim = (node: string, role: string, path: (string | number)[]) => {
    if (!(node in nodes)) at(path, `node ${node} is not in topology.nodes`);
    else if (nodes[node].kind === 'bridge') at(path, `${node} is a bridge; a ${role} must be kind: linux`);
    const prev = roles.get(node);
    if (prev !== undefined) at(path, `${node} is already a ${prev}`);
    else roles.set(node, role);
  };
  for (const h of Object.keys(x.hosts)) claim(h, 'host', ['x-weft', 'hosts', h]);
  for (const p of Object.keys(x.pods)) claim(p, 'pod', ['x-weft', 'pods', p]);
  for (const r of Object.keys(x.tors)) claim(r, 'tor', ['x-weft', 'tors', r]);
  x.routers.forEach((r, i) => claim(r, 'router', ['x-weft', 'routers', i]));

  // Hosts: their underlay interface is a link end of theirs; blocks inside a pool, not shared.
  const owner = new Map<Prefix, string>();
  const addresses = new Map<string, string>();
  for (const [h, spec] of Object.entries(x.hosts)) {
    const path = ['x-weft', 'hosts', h];
    if (!used.has(`${h}:${spec.interface}`)) at([...path, 'interface'], `${spec.interface} is not a link end of ${h} in topology.links`);
    const a = spec.address.split('/')[0];
    const prev = addresses.get(a);
    if (prev !== undefined) at([...path, 'address'], `${a} is already ${prev}'s address`);
    addresses.set(a, h);
    spec.blocks.forEach((b, i) => {
      const o = owner.get(b);
      if (o !== undefined) at([...path, 'blocks', i], `${formatPrefix(b)} is already a block of ${o}`);
      owner.set(b, h);
    });
  }

  // Pods: on a host, inside one of its blocks, not the block's network address (weft puts that
  // address on its VXLAN device), each address once, host-side interface names unique per host.
  const podAddrs = new Map<string, string>();
  const hostIfs = new Map<string, string>();
  for (const [p, spec] of Object.entries(x.pods)) {
    const path = ['x-weft', 'pods', p];
    const h = x.hosts[spec.host];
    if (h === undefined) {
      at([...path, 'host'], `${spec.host} is not in x-weft.hosts`);
      continue;
    }
    const block = h.blocks.find((b) => prefixContains(b, addr32(spec.address)));
    if (block === undefined) at([...path, 'address'], `${spec.address} is outside ${spec.host}'s blocks (${h.blocks.map(formatPrefix).join(', ')})`);
    else if (formatPrefix(block).split('/')[0] === spec.address) {
      at([...path, 'address'], `${spec.address} is the network address of block ${formatPrefix(block)}, which weft puts on its VXLAN device; use another`);
    }
    const prev = podAddrs.get(spec.address);
    if (prev !== undefined) at([...path, 'address'], `${spec.address} is already ${prev}'s address`);
    podAddrs.set(spec.address, p);
    if (used.has(`${p}:eth0`)) at(path, `${p}:eth0 is in topology.links, but the lab makes a pod's eth0 itself (a veth to its host)`);
    const key = `${spec.host}:${podHostInterface(p, spec)}`;
    const clash = hostIfs.get(key) ?? (used.has(key) ? 'a link' : undefined);
    if (clash !== undefined) at([...path, 'hostInterface'], `${key} is already used by ${clash}; set hostInterface`);
    hostIfs.set(key, `pod ${p}`);
  }

  for (const [name, v] of Object.entries(x.variants)) {
    if (v.encapsulation === undefined && Object.keys(v.expect).length === 0) at(['x-weft', 'variants', name], 'a variant changes encapsulation or expect (or both)');
  }
  return problems;
}

/** Validates a parsed YAML value; throws ConfigError listing every problem with its path. */
export function parseTopology(value: unknown, source: string): Topology {
  const r = topologySchema.safeParse(value ?? {});
  if (!r.success) throw new ConfigError(source, issuesToProblems(r.error.issues));
  const problems = semanticChecks(r.data);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return r.data;
}
