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
 *     routers: [ r1 ]                                   # IPv4 and IPv6 forwarding on
 *     tors:    { tor1: { frr: "router bgp 65001 ..." } }
 *     expect:  { sameHost: pass, sameSubnet: pass, crossSubnet: pass }
 *     variants: { never: { encapsulation: never, expect: { crossSubnet: fail } } }
 *
 * Dual stack and several uplinks:
 *   - a host's underlay is `address` (IPv4 with its length) and/or `address6` (IPv6 with its
 *     length, e.g. fd00:77:1::11/64) on `interface` (default eth1); or, for a host with several
 *     uplinks, `interfaces: [{ name: eth1, address: 10.78.1.11/31 }, { name: eth2, address:
 *     10.78.2.11/31, address6: ... }]` instead of address/address6/interface. The node's address
 *     of each family (node.address / node.address6 of its agent) is the first uplink's address of
 *     that family; IPv4 is node.address when the host has one.
 *   - blocks and pools may be IPv4 or IPv6 (`cidr: fd00:244::/56, blockSize: 122`);
 *   - a pod has `address` (IPv4) and/or `address6` (IPv6), each inside one of its host's blocks of
 *     that family;
 *   - the ping matrix pings each pod pair once per family both pods have an address of;
 *   - `expect` (and a variant's expect) sets the outcome per relation for both families, and
 *     `expect.ipv4` / `expect.ipv6` override it for one family:
 *       expect: { crossSubnet: pass, ipv6: { crossSubnet: fail } }
 */
import { z } from 'zod';
import { canonicalAddress, isIpv4, isIpv6 } from '../lib/address.js';
import { formatPrefix, isV4, parsePrefix, prefixContains, type Prefix, hostPrefix } from '../lib/prefix.js';
import { ConfigError, formatPath, issuesToProblems } from '../agent/config/config-errors.js';
import { normaliseClab } from './clab-schema.js';
import { CLAB_KINDS, imageFlavour } from './clab-nodes.js';

/** Node names become part of namespace names, file names and (for bridges) interface names. */
const nodeName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/, 'must be 1-40 characters of letters, digits, _ and -, starting with a letter or digit');
const ifName = z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, 'must be an interface name: 1-15 characters of letters, digits, _ . -');
const ipv4Address = z.string().refine(isIpv4, { message: 'must be an IPv4 address' });
const ipv6Address = z.string().refine(isIpv6, { message: 'must be an IPv6 address, like fd00:244:0:1::2' });
const ipAddress = z.string().refine((s) => isIpv4(s) || isIpv6(s), { message: 'must be an IPv4 or IPv6 address' });
/** A block: an IPv4 or IPv6 prefix without host bits. */
const blockPrefix = z.string().transform((s, ctx) => {
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
/** "fd00:77:1::11/64": an IPv6 underlay address with the length of its subnet. */
const address6WithLength = z.string().refine((s) => /^[0-9A-Fa-f:.]+\/\d{1,3}$/.test(s) && isIpv6(s.split('/')[0]) && Number(s.split('/')[1]) <= 128, {
  message: 'must be an IPv6 address with its subnet length, like fd00:77:1::11/64',
});
const encapsulation = z.enum(['never', 'always', 'crossSubnet']);
const outcome = z.enum(['pass', 'fail']);
/** Agent settings passed through as they are (checked later, as part of the generated agent config). */
const rawMap = z.record(z.string(), z.unknown());

export const KINDS = CLAB_KINDS;

/** A node after containerlab's inheritance (clab-schema.ts folds defaults/kinds/groups in first). */
const clabNode = z.strictObject({
  kind: z.enum(KINDS, { message: `must be one of ${KINDS.join(', ')} (weft lab realises nodes as network namespaces)` }),
  image: z.string().optional(),
  /** Shell lines run in the node (sh -c) after its links, addresses, pods and daemons are set up. */
  exec: z.array(z.string().min(1)).default([]),
  /** Environment of the exec lines and of cmd (containerlab: also CLAB_LABEL_<label>). */
  env: z.record(z.string(), z.string()).default({}),
  labels: z.record(z.string(), z.string()).default({}),
  /** Host paths (absolute) bound to the FRR / BIRD config paths weft honours (clab-nodes.ts). */
  binds: z.array(z.string()).default([]),
  /** A config file (absolute path) or the config itself (several lines), for FRR / BIRD images. */
  'startup-config': z.string().optional(),
  /** The node's main process (sh -c), run detached and tracked by PID like a container's. */
  cmd: z.string().optional(),
  /** sysctl settings of the node's namespace. */
  sysctls: z.record(z.string(), z.string()).default({}),
  /** kind frr: the daemons extras.frr.daemons names (absent: all of them). */
  daemons: z.array(z.string()).optional(),
});

const endpoint = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}:[A-Za-z0-9_.-]{1,15}$/, 'must be "node:interface", like "h1:eth1" (interface names up to 15 characters)');

/** A link in the brief syntax (clab-links.ts brings the long one to it), with its extras. */
const perEnd = z.array(z.string().nullable()).length(2);
const clabLink = z.strictObject({
  endpoints: z.tuple([endpoint, endpoint]),
  mtu: z.number().int().min(68).max(65535).optional(),
  mac: perEnd.optional(),
  ipv4: perEnd.optional(),
  ipv6: perEnd.optional(),
  /** Data for config templates in containerlab; kept, weft uses none. */
  vars: z.unknown().optional(),
  labels: z.unknown().optional(),
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

const peer = z.looseObject({ address: ipAddress, asn: z.union([z.number().int(), z.string()]) });

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

/** One uplink of a host with several (x-weft.hosts.<h>.interfaces[]). */
const uplink = z.strictObject({
  name: ifName,
  address: addressWithLength.optional(),
  address6: address6WithLength.optional(),
});

const host = z.strictObject({
  /** Underlay address WITH prefix length; the lab puts it on `interface`. */
  address: addressWithLength.optional(),
  /** IPv6 underlay address WITH prefix length, on `interface` too. */
  address6: address6WithLength.optional(),
  /** The interface of address/address6 (default eth1). */
  interface: ifName.optional(),
  /** Several uplinks, each with its own addresses (instead of address/address6/interface). */
  interfaces: z.array(uplink).min(1, 'list at least one interface (or use address and interface)').optional(),
  blocks: z.array(blockPrefix).min(1, 'a host needs at least one block for its pods'),
  asn: z.number().int().min(1).max(4294967295).optional(),
  routerId: ipv4Address.optional(),
  mesh: z.boolean().optional(),
  peers: z.array(peer).default([]),
  agent: rawMap.default({}),
});

const pod = z.strictObject({
  host: nodeName,
  /** The pod's IPv4 address (a /32 on its eth0), inside one of the host's IPv4 blocks. */
  address: ipv4Address.optional(),
  /** The pod's IPv6 address (a /128 on its eth0), inside one of the host's IPv6 blocks. */
  address6: ipv6Address.optional(),
  /** Name of the host's end of the pod's veth; default w-<pod>, cut to 15 characters. */
  hostInterface: ifName.optional(),
  mtu: z.number().int().min(576).max(9000).optional(),
});

const tor = z.strictObject({
  /** FRR configuration for bgpd (remember `no bgp ebgp-requires-policy`). */
  frr: z.string().min(1),
  zebra: z.string().default(''),
  /**
   * bfdd.conf: BFD profiles (`bfd` / ` profile NAME` / `  transmit-interval 100` ...) that bgpd's
   * `neighbor X bfd profile NAME` uses. bfdd runs on the ToR when this is given or when `frr` has
   * a `neighbor X bfd` line (see torNeedsBfdd).
   */
  bfdd: z.string().optional(),
});

const relationOutcomes = {
  sameHost: outcome.optional(),
  sameSubnet: outcome.optional(),
  crossSubnet: outcome.optional(),
};

/** Outcomes per relation for both families; `ipv4` / `ipv6` override them for one family. */
const expectation = z.strictObject({
  ...relationOutcomes,
  ipv4: z.strictObject(relationOutcomes).optional(),
  ipv6: z.strictObject(relationOutcomes).optional(),
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

export type TorSpec = Topology['x-weft']['tors'][string];

/** Whether a ToR needs FRR's bfdd: it has a bfdd config or bgpd's config turns BFD on for a neighbor. */
export function torNeedsBfdd(spec: TorSpec): boolean {
  return spec.bfdd !== undefined || /^\s*neighbor\s+\S+\s+bfd\b/m.test(spec.frr);
}

export type Role = 'host' | 'pod' | 'router' | 'tor' | 'bridge' | 'plain' | 'frr' | 'bird' | 'lab-host';

/** What each node is, from kind and x-weft. */
export function roleOf(t: Topology, node: string): Role {
  const x = t['x-weft'];
  const n = t.topology.nodes[node];
  if (n?.kind === 'bridge') return 'bridge';
  if (n?.kind === 'host') return 'lab-host';
  if (node in x.hosts) return 'host';
  if (node in x.pods) return 'pod';
  if (node in x.tors) return 'tor';
  if (x.routers.includes(node)) return 'router';
  const f = n?.kind === 'frr' ? 'frr' : imageFlavour(n?.image);
  return f === 'plain' ? 'plain' : f;
}

export function splitEndpoint(ep: string): { node: string; iface: string } {
  const i = ep.indexOf(':');
  return { node: ep.slice(0, i), iface: ep.slice(i + 1) };
}

/** The host-side name of a pod's veth. */
export function podHostInterface(name: string, p: PodSpec): string {
  return p.hostInterface ?? `w-${name}`.slice(0, 15);
}

/** One underlay interface of a host and its addresses (with their lengths). */
export interface Uplink {
  name: string;
  address?: string;
  address6?: string;
}

/** A host's uplinks: `interfaces`, or the one interface of address/address6 (default eth1). */
export function hostUplinks(h: HostSpec): Uplink[] {
  return h.interfaces ?? [{ name: h.interface ?? 'eth1', address: h.address, address6: h.address6 }];
}

/** The node's underlay address of each family, with its length: the first uplink's of that family. */
export function nodeAddresses(h: HostSpec): { v4?: string; v6?: string } {
  const ups = hostUplinks(h);
  return { v4: ups.find((u) => u.address)?.address, v6: ups.find((u) => u.address6)?.address6 };
}

export type Family = 4 | 6;

/** An address as a host prefix (/32 or /128), whose text is the canonical address (RFC 5952). */
export { hostPrefix };

export const familyOf = (a: string): Family => (a.includes(':') ? 6 : 4);
const bare = (a: string) => a.split('/')[0];

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
    [a, b].forEach((e, j) => {
      if (nodes[e.node]?.kind !== 'bridge') return;
      for (const k of ['ipv4', 'ipv6', 'mac'] as const) {
        if (l[k]?.[j]) at(['topology', 'links', i, k, j], `${e.node} is a bridge: its port ${e.iface} takes no ${k === 'mac' ? 'MAC' : 'address'} (give it to the other end, or to a node on the bridge)`);
      }
    });
  });

  for (const [name, n] of Object.entries(nodes)) {
    if (n.kind === 'bridge' && name.length > 15) at(['topology', 'nodes', name], 'a bridge is named after its node: at most 15 characters');
  }

  const roles = new Map<string, string>();
  const claim = (node: string, role: string, path: (string | number)[]) => {
    if (!(node in nodes)) at(path, `node ${node} is not in topology.nodes`);
    else if (nodes[node].kind === 'bridge') at(path, `${node} is a bridge; a ${role} must be kind: linux`);
    else if (role !== 'router' && (nodes[node]['startup-config'] !== undefined || nodes[node].binds.length > 0 || nodes[node].kind === 'frr')) {
      // Its processes come from x-weft (agent, pod, the ToR's FRR): a config of its own would go unused.
      at(['topology', 'nodes', node], `${node} is a ${role} of x-weft, which decides what runs in it; remove its startup-config, binds and kind frr (or take it out of ${formatPath(path.slice(0, 2))})`);
    }
    const prev = roles.get(node);
    if (prev !== undefined) at(path, `${node} is already a ${prev}`);
    else roles.set(node, role);
  };
  for (const h of Object.keys(x.hosts)) claim(h, 'host', ['x-weft', 'hosts', h]);
  for (const p of Object.keys(x.pods)) claim(p, 'pod', ['x-weft', 'pods', p]);
  for (const r of Object.keys(x.tors)) claim(r, 'tor', ['x-weft', 'tors', r]);
  x.routers.forEach((r, i) => claim(r, 'router', ['x-weft', 'routers', i]));

  // Hosts: an underlay address; their uplinks are link ends of theirs, each address once in the
  // lab; blocks not shared (inside a pool: the generated agent config checks that).
  const owner = new Map<Prefix, string>();
  const addresses = new Map<string, string>();
  for (const [h, spec] of Object.entries(x.hosts)) {
    const path = ['x-weft', 'hosts', h];
    const listed = spec.interfaces !== undefined;
    if (listed) {
      for (const k of ['address', 'address6', 'interface'] as const) {
        if (spec[k] !== undefined) at([...path, k], `a host with interfaces has its addresses in interfaces[] (drop ${k} here)`);
      }
    } else if (spec.address === undefined && spec.address6 === undefined) {
      at([...path, 'address'], 'a host needs an underlay address: address (IPv4) and/or address6 (IPv6), or interfaces');
    }
    const names = new Set<string>();
    hostUplinks(spec).forEach((u, i) => {
      const up = listed ? [...path, 'interfaces', i] : path;
      const namePath = listed ? [...up, 'name'] : [...path, 'interface'];
      if (!used.has(`${h}:${u.name}`)) at(namePath, `${u.name} is not a link end of ${h} in topology.links`);
      if (names.has(u.name)) at(namePath, `${u.name} is already an interface of ${h}`);
      names.add(u.name);
      if (listed && u.address === undefined && u.address6 === undefined) at(up, 'an interface needs address (IPv4) and/or address6 (IPv6)');
      for (const k of ['address', 'address6'] as const) {
        const a = u[k];
        if (a === undefined) continue;
        const key = canonicalAddress(bare(a));
        const prev = addresses.get(key);
        if (prev !== undefined) at([...up, k], `${bare(a)} is already ${prev}'s address`);
        else addresses.set(key, h);
      }
    });
    spec.blocks.forEach((b, i) => {
      const o = owner.get(b);
      if (o !== undefined) at([...path, 'blocks', i], `${formatPrefix(b)} is already a block of ${o}`);
      owner.set(b, h);
    });
  }

  // Pods: on a host, an address of at least one family, each inside one of the host's blocks of
  // its family and not the block's network address (weft puts an IPv4 block's on its VXLAN device;
  // an IPv6 block's is the Subnet-Router anycast address, RFC 4291 2.6.1), each address once,
  // host-side interface names unique per host.
  const podAddrs = new Map<string, string>();
  const hostIfs = new Map<string, string>();
  for (const [p, spec] of Object.entries(x.pods)) {
    const path = ['x-weft', 'pods', p];
    const h = x.hosts[spec.host];
    if (h === undefined) {
      at([...path, 'host'], `${spec.host} is not in x-weft.hosts`);
      continue;
    }
    if (spec.address === undefined && spec.address6 === undefined) at([...path, 'address'], 'a pod needs address (IPv4) and/or address6 (IPv6)');
    for (const k of ['address', 'address6'] as const) {
      const a = spec[k];
      if (a === undefined) continue;
      const fam = familyOf(a);
      const mine = h.blocks.filter((b) => isV4(b) === (fam === 4));
      const block = mine.find((b) => prefixContains(b, hostPrefix(a)));
      if (mine.length === 0) at([...path, k], `${a} is IPv${fam}, and ${spec.host} has no IPv${fam} block`);
      else if (block === undefined) at([...path, k], `${a} is outside ${spec.host}'s IPv${fam} blocks (${mine.map(formatPrefix).join(', ')})`);
      else if (formatPrefix(block).split('/')[0] === canonicalAddress(a)) {
        const why = fam === 4 ? 'which weft puts on its VXLAN device' : 'the Subnet-Router anycast address (RFC 4291 2.6.1)';
        at([...path, k], `${a} is the network address of block ${formatPrefix(block)}, ${why}; use another`);
      }
      const prev = podAddrs.get(canonicalAddress(a));
      if (prev !== undefined) at([...path, k], `${a} is already ${prev}'s address`);
      podAddrs.set(canonicalAddress(a), p);
    }
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
  const clab = normaliseClab(value ?? {}, source);
  const r = topologySchema.safeParse(clab.value);
  // A field refused by the containerlab layer is not reported a second time by the schema.
  const refused = new Set(clab.problems.map((p) => p.slice(0, p.indexOf(': '))));
  if (!r.success) throw new ConfigError(source, [...clab.problems, ...issuesToProblems(r.error.issues).filter((p) => !refused.has(p.slice(0, p.indexOf(': '))))]);
  if (clab.problems.length > 0) throw new ConfigError(source, clab.problems);
  const notes = clab.notes;
  const problems = semanticChecks(r.data);
  if (problems.length > 0) throw new ConfigError(source, problems);
  NOTES.set(r.data, notes);
  return r.data;
}

const NOTES = new WeakMap<Topology, string[]>();

/** Fields of the file accepted with no effect (container settings), each with its path. */
export function topologyNotes(t: Topology): string[] {
  return NOTES.get(t) ?? [];
}
