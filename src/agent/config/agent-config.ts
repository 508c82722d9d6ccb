/**
 * The configuration of `weft agent` (DESIGN.md "What a user does"): validated with zod, then
 * checked as a whole (blocks inside pools, no peer configured twice, ...). Every problem names
 * its field path; problems that do not stop the agent (a /32 node address) come back as warnings.
 */
import { z } from 'zod';
import { canonicalAddress, isIpv4, isIpv6 } from '../../lib/address.js';
import { formatPrefix, parsePrefix, prefixContains, prefixLength, type Prefix } from '../../lib/prefix.js';
import { ConfigError, readYamlFile, formatPath, issuesToProblems } from './config-errors.js';
import { asn, community, connectRetrySeconds, holdTime, ipAddress, ipv4, keepaliveSeconds, md5Password, neighbourShape, port, prefix } from './schema-types.js';

import { blockProblem, DEFAULT_CONTROL_SOCKET, isSelf, meshSelfProblem, ownAddresses, underlayAddresses, type UnderlayAddress } from './config-helpers.js';
import { GRACEFUL_RESTART_DEFAULTS, gracefulRestartOverrideSchema, gracefulRestartProblem, gracefulRestartSchema, resolveGracefulRestart } from './graceful-restart-config.js';
import { bfdSchema } from './bfd-config.js';
import { blocksSchema, membershipSchema, membershipProblems, splitBlocks } from './membership-config.js';

export { blockProblem, DEFAULT_CONTROL_SOCKET, isSelf, toPolicyRules, underlayAddresses } from './config-helpers.js';

/**
 * "10.0.1.11/24": an address with the length of its subnet (host bits allowed, that is the point),
 * of either family, or only of `family` (4: like 10.0.1.11/24, 6: like fd00:1::11/64).
 */
const addressWithLength = (family?: 4 | 6) =>
  z.string().transform((s, ctx): UnderlayAddress => {
    const slash = s.indexOf('/');
    const addr = slash < 0 ? s : s.slice(0, slash);
    const ok = family === 4 ? isIpv4(addr) : family === 6 ? isIpv6(addr) : isIpv4(addr) || isIpv6(addr);
    if (slash < 0 || !ok) {
      const like = family === 6 ? 'an IPv6 address with its subnet length, like fd00:1::11/64' : `${family === 4 ? 'an IPv4 address' : 'an address'} with its subnet length, like 10.0.1.11/24`;
      ctx.addIssue({ code: 'custom', message: `must be ${like} (got ${JSON.stringify(s)})` });
      return z.NEVER;
    }
    try {
      return { address: addr, subnet: parsePrefix(s, true), length: prefixLength(parsePrefix(s, true)) };
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });

/** "127.0.0.1:9179", "[::1]:9179" or ":9179" (all addresses); false: no metrics. */
const hostPortOrOff = z.unknown().transform((v, ctx): { host: string; port: number } | false => {
  if (v === false) return false;
  const s = typeof v === 'string' ? v : '';
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s);
  const host = m ? (m[1] ?? m[2] ?? '') : '';
  const p = m ? Number(m[3]) : 0;
  if (!m || p < 1 || p > 65535 || (host !== '' && !isIpv4(host) && !isIpv6(host))) {
    ctx.addIssue({ code: 'custom', message: `must be HOST:PORT, like 127.0.0.1:9179 or [::1]:9179, or false (got ${JSON.stringify(v)})` });
    return z.NEVER;
  }
  return { host: host === '' ? '0.0.0.0' : host, port: p };
});

const prefixListEntry = z.strictObject({
  action: z.enum(['permit', 'deny']),
  prefix,
  ge: z.number().int().min(0).max(128).optional(),
  le: z.number().int().min(0).max(128).optional(),
});

const policyRule = z.strictObject({
  name: z.string().optional(),
  prefixList: z.array(prefixListEntry).optional(),
  community: z.strictObject({ any: z.array(community).optional(), all: z.array(community).optional() }).optional(),
  action: z.enum(['accept', 'reject']),
  setLocalPref: z.number().int().min(0).max(4294967295).optional(),
  addCommunities: z.array(community).optional(),
});

const meshNode = z.strictObject({
  name: z.string().min(1),
  address: ipAddress,
  port: port.optional(),
});

const externalPeer = z.strictObject({
  ...neighbourShape(connectRetrySeconds.optional()),
  routeReflectorClient: z.boolean().default(false),
  /** Overrides the top-level gracefulRestart for this peer (graceful-restart-config.ts). */
  gracefulRestart: gracefulRestartOverrideSchema.optional(),
  /** BFD (RFC 5880/5881) following this session: true, or { interval: ms, multiplier } (bfd-config.ts). */
  bfd: bfdSchema.optional(),
  import: z.array(policyRule).default([]),
  export: z.array(policyRule).default([]),
  maxPrefix: z
    .strictObject({
      limit: z.number().int().min(1).max(4294967295),
      /** Seconds before the session may come back after a max-prefix Cease (RFC 4486). */
      restartAfter: z.number().int().min(1).max(86400).default(60),
    })
    .optional(),
});

const pool = z.strictObject({
  cidr: prefix,
  blockSize: z.number().int().min(0).max(128),
  encapsulation: z.enum(['never', 'always', 'crossSubnet']).default('crossSubnet'),
  tunnel: z.enum(['vxlan', 'ipip']).default('vxlan'),
  /**
   * The VXLAN VNI of this pool's overlay (default: vxlan.vni). Pools with different VNIs are
   * separate overlays: each VNI has its own VXLAN device (weft.vxlan / weft.vxlan6 for vxlan.vni,
   * weft-<vni> / weft6-<vni> for the others).
   */
  vni: z.number().int().min(1).max(16777215).optional(),
  /**
   * Keep this pool's pods from reaching pods of every other pool (and theirs from reaching it):
   * host protection's forward chain drops traffic between them on every host. Needs its own VNI.
   */
  isolated: z.boolean().default(false),
});

export const agentConfigSchema = z.strictObject({
  node: z.strictObject({
    name: z.string().min(1),
    asn,
    /** Default: node.address when IPv4, else node.address4; required when neither is IPv4. */
    routerId: ipv4.optional(),
    /** The session / mesh address, either family, with its subnet length ("same subnet" is decided by it). */
    address: addressWithLength(),
    /** This node's IPv6 underlay address (with length) when node.address is IPv4: next hop of the IPv6 blocks. */
    address6: addressWithLength(6).optional(),
    /** This node's IPv4 underlay address (with length) when node.address is IPv6: next hop of the IPv4 blocks. */
    address4: addressWithLength(4).optional(),
  }),
  /**
   * The BGP listening socket. Default `::`: one socket for both families (IPV6_V6ONLY off; IPv4
   * peers arrive as ::ffff:a.b.c.d and are matched as a.b.c.d); on a host without IPv6 weft falls
   * back to 0.0.0.0 with a warning.
   */
  listen: z.strictObject({ address: ipAddress.default('::'), port: port.default(179) }).default({ address: '::', port: 179 }),
  mesh: z
    .strictObject({
      enabled: z.boolean().default(true),
      nodes: z.array(meshNode).default([]),
      nodesFile: z.string().min(1).optional(),
      /** Seconds between checks of nodesFile when file-change events are missed. */
      pollInterval: z.number().min(0.1).max(3600).default(2),
      /** Overrides the top-level gracefulRestart for the mesh sessions. */
      gracefulRestart: gracefulRestartOverrideSchema.optional(),
      /** BFD on every mesh session (bfd-config.ts). */
      bfd: bfdSchema.optional(),
      /** TCP MD5 key (RFC 2385) of every mesh session (nodes file included). */
      password: md5Password.optional(),
    })
    .default({ enabled: true, nodes: [], pollInterval: 2 }),
  peers: z.array(externalPeer).default([]),
  /** Graceful restart (RFC 4724, RFC 8538 N bit), both roles; on by default (graceful-restart-config.ts). */
  gracefulRestart: gracefulRestartSchema.default(GRACEFUL_RESTART_DEFAULTS),
  routeReflector: z.strictObject({ clusterId: ipv4.optional() }).optional(),
  pools: z.array(pool).default([]),
  /** This host's blocks: a list, or `auto` / a count claimed from the pools through membership.etcd. */
  blocks: blocksSchema(prefix),
  /** Where the mesh membership comes from besides mesh.nodes / nodesFile: an etcd registry (membership-config.ts). */
  membership: membershipSchema.optional(),
  /**
   * ECMP: equal best paths (equal up to the router-id tie-breaker, with distinct next hops; e.g. a
   * remote block heard from two ToRs) become one kernel multipath route of up to this many next
   * hops. Default 8, as Calico's BIRD merges equal paths by default; 1 = a single best path.
   */
  maxPaths: z.number().int().min(1).max(64).default(8),
  control: z.strictObject({ socket: z.string().min(1).default(DEFAULT_CONTROL_SOCKET) }).default({ socket: DEFAULT_CONTROL_SOCKET }),
  metrics: z
    .preprocess((v) => (v === false ? { listen: false } : v), z.strictObject({ listen: hostPortOrOff }))
    .default({ listen: false }),
  /** Mesh sessions (and the default connect retry of external peers). */
  timers: z
    .strictObject({
      holdTime: holdTime.default(30),
      keepalive: keepaliveSeconds.default(10),
      connectRetry: connectRetrySeconds.default(5),
    })
    .default({ holdTime: 30, keepalive: 10, connectRetry: 5 }),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /**
   * The kernel data plane (src/dataplane): routes learned over BGP written as direct / VXLAN /
   * IP-in-IP routes, own blocks as blackholes. Defaults: enabled; underlayDevice = the device
   * that holds node.address (found at start with `ip -json addr`); keepRoutesOnExit: routes stay
   * in the kernel when the agent stops (a restart adopts them, traffic keeps flowing);
   * resyncSeconds: full kernel re-read period (0 = none); restartGraceSeconds: at start, routes
   * already in the kernel are kept until the peer that had them sends End-of-RIB or this many
   * seconds pass (default: the largest configured hold time, at least 10).
   */
  dataplane: z
    .strictObject({
      enabled: z.boolean().default(true),
      underlayDevice: z.string().regex(/^[A-Za-z0-9_.:@-]{1,15}$/, 'must be an interface name (1-15 characters)').optional(),
      keepRoutesOnExit: z.boolean().default(true),
      resyncSeconds: z.number().min(0).max(86400).default(10),
      restartGraceSeconds: z.number().min(0).max(3600).optional(),
    })
    .default({ enabled: true, keepRoutesOnExit: true, resyncSeconds: 10 }),
  /** This node's VXLAN device (weft.vxlan): VNI (Calico's default 4096) and UDP port (IANA 4789, RFC 7348 5). */
  vxlan: z
    .strictObject({
      vni: z.number().int().min(1).max(16777215).default(4096),
      port: port.default(4789),
    })
    .default({ vni: 4096, port: 4789 }),
  /**
   * Host protection (issue 13): weft's nftables table `inet weft` lets only peers and mesh members
   * reach the BGP port, only mesh members (with weft's VNIs) the VXLAN port, only BFD peers the BFD
   * ports; nothing else is touched. checkInterval: seconds between read-backs (repairs a flushed
   * or deleted table). Off by default until proven (agent/kernel/host-protection.ts).
   */
  hostProtection: z
    .strictObject({
      enabled: z.boolean().default(false),
      checkInterval: z.number().min(0.1).max(60).default(1),
    })
    .default({ enabled: false, checkInterval: 1 }),
}).transform(splitBlocks);

export type AgentConfig = z.output<typeof agentConfigSchema>;
export type MeshNode = z.output<typeof meshNode>;
export type ExternalPeerConfig = AgentConfig['peers'][number];
export type PoolConfig = AgentConfig['pools'][number];
export type PolicyRuleConfig = z.output<typeof policyRule>;

export interface LoadedConfig {
  config: AgentConfig;
  warnings: string[];
  source: string;
}

function semanticChecks(c: AgentConfig): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const at = (path: (string | number)[], msg: string) => problems.push(`${formatPath(path)}: ${msg}`);
  const full = (p: Prefix) => (typeof p === 'number' ? 32 : 128);

  const na = c.node.address;
  if (na.length === full(na.subnet)) {
    warnings.push(
      `node.address: ${na.address}/${na.length} has no subnet, so no peer is ever "same subnet" and crossSubnet pools tunnel everything (calico#4254); give the interface's real prefix length, e.g. ${na.address}/24`,
    );
  }
  const under = underlayAddresses(c);
  if (c.node.routerId === undefined && under.v4 === undefined) at(['node', 'routerId'], 'is required when the node has no IPv4 address (node.address or node.address4)');
  underlayChecks(c, at, warnings);

  c.pools.forEach((p, i) => {
    const len = prefixLength(p.cidr);
    if (p.blockSize < len || p.blockSize > full(p.cidr)) at(['pools', i, 'blockSize'], `must be between the pool length /${len} and /${full(p.cidr)}`);
    if (p.vni !== undefined && p.tunnel !== 'vxlan') at(['pools', i, 'vni'], `is a VXLAN setting, but the pool's tunnel is ${p.tunnel}`);
    // An isolated pool is its own overlay: no other pool may share its VNI.
    const vniOf = (x: typeof p) => x.vni ?? c.vxlan.vni;
    if (p.isolated && !c.hostProtection.enabled) at(['pools', i, 'isolated'], "needs hostProtection.enabled: true (the rules that keep pools apart live in weft's nftables table)");
    if (p.isolated && p.tunnel === 'vxlan') {
      c.pools.forEach((q, j) => {
        if (j !== i && q.tunnel === 'vxlan' && vniOf(q) === vniOf(p)) {
          at(['pools', i, 'vni'], `isolated pool ${formatPrefix(p.cidr)} shares VNI ${vniOf(p)} with pools[${j}] ${formatPrefix(q.cidr)}: give it a VNI of its own`);
        }
      });
    }
    c.pools.forEach((q, j) => {
      if (j > i && (prefixContains(p.cidr, q.cidr) || prefixContains(q.cidr, p.cidr))) {
        at(['pools', j, 'cidr'], `${formatPrefix(q.cidr)} overlaps pools[${i}] ${formatPrefix(p.cidr)}`);
      }
    });
  });
  problems.push(...membershipProblems(c));
  const seenBlocks = new Set<Prefix>();
  c.blocks.forEach((b, i) => {
    const why = blockProblem(b, c.pools);
    if (why) at(['blocks', i], why);
    if (seenBlocks.has(b)) at(['blocks', i], `${formatPrefix(b)} is listed twice`);
    seenBlocks.add(b);
  });

  const addresses = new Map<string, string>();
  const names = new Map<string, string>();
  const claim = (map: Map<string, string>, key: string, path: (string | number)[], what: string) => {
    const prev = map.get(key);
    if (prev !== undefined) at(path, `${what} ${key} is already used by ${prev}`);
    else map.set(key, formatPath(path));
  };
  c.peers.forEach((p, i) => {
    claim(addresses, p.address, ['peers', i, 'address'], 'address');
    if (p.name !== undefined) claim(names, p.name, ['peers', i, 'name'], 'name');
    if (ownAddresses(c).includes(p.address)) at(['peers', i, 'address'], `${p.address} is this node's own address`);
    const internal = p.asn === 'internal' || p.asn === c.node.asn;
    if (p.routeReflectorClient && !internal) at(['peers', i, 'routeReflectorClient'], `a route-reflector client must be in our AS ${c.node.asn} (RFC 4456)`);
    if (p.routeReflectorClient && c.routeReflector === undefined) at(['peers', i, 'routeReflectorClient'], 'needs a routeReflector section (this node reflects for its clients)');
    if (p.keepalive !== undefined && p.holdTime !== 0 && p.keepalive * 3 > p.holdTime) {
      at(['peers', i, 'keepalive'], `${p.keepalive} s is more than a third of holdTime ${p.holdTime} s`);
    }
  });
  c.mesh.nodes.forEach((n, i) => {
    const self = meshSelfProblem(c, n);
    if (self) at(['mesh', 'nodes', i, self.field], self.message);
    if (isSelf(c, n)) return;
    claim(addresses, n.address, ['mesh', 'nodes', i, 'address'], 'address');
    claim(names, n.name, ['mesh', 'nodes', i, 'name'], 'name');
  });
  const grAt = (path: (string | number)[], over: Parameters<typeof resolveGracefulRestart>[1]) => {
    const why = gracefulRestartProblem(resolveGracefulRestart(c.gracefulRestart, over));
    if (why) at(path, why);
  };
  grAt(['gracefulRestart', 'staleTime'], undefined);
  if (c.mesh.gracefulRestart) grAt(['mesh', 'gracefulRestart', 'staleTime'], c.mesh.gracefulRestart);
  c.peers.forEach((p, i) => p.gracefulRestart && grAt(['peers', i, 'gracefulRestart', 'staleTime'], p.gracefulRestart));
  const t = c.timers;
  if (t.holdTime !== 0 && t.keepalive * 3 > t.holdTime) at(['timers', 'keepalive'], `${t.keepalive} s is more than a third of holdTime ${t.holdTime} s`);
  return { problems, warnings };
}

const isWildcard6 = (a: string) => isIpv6(a) && canonicalAddress(a) === '::';

/**
 * The underlay as a whole: node.address4 / address6 only next to a node.address of the other
 * family; a listen address that can accept the mesh's connections; pools apart from the underlay
 * subnets; each pool's family carried natively where its encapsulation says it must be.
 */
function underlayChecks(c: AgentConfig, at: (path: (string | number)[], msg: string) => void, warnings: string[]): void {
  const na = c.node.address;
  const show = (a: UnderlayAddress) => `${a.address}/${a.length}`;
  const naV6 = typeof na.subnet !== 'number';
  if (c.node.address6 && naV6) {
    at(['node', 'address6'], `node.address ${show(na)} is IPv6 already: node.address6 is only for the IPv6 address next to an IPv4 node.address; remove it (or give the IPv4 address as node.address4)`);
  }
  if (c.node.address4 && !naV6) {
    at(['node', 'address4'], `node.address ${show(na)} is IPv4 already: node.address4 is only for the IPv4 address next to an IPv6 node.address; remove it (or give the IPv6 address as node.address6)`);
  }

  // Listening: "::" takes both families (dual-stack socket), an IPv4 address only IPv4, any other IPv6 address only IPv6.
  const l = c.listen.address;
  if (isIpv4(l) && naV6) {
    at(['listen', 'address'], `${l} accepts only IPv4 connections, but the mesh and peers reach this node at node.address ${na.address} (IPv6): listen on "::" (both families, the default) or on an IPv6 address`);
  } else if (isIpv6(l) && !isWildcard6(l) && !naV6) {
    at(['listen', 'address'], `${l} accepts only IPv6 connections, but the mesh and peers reach this node at node.address ${na.address} (IPv4): listen on "::" (both families, the default) or on an IPv4 address`);
  }
  const accepts = (a: string) => isWildcard6(l) || isIpv4(l) === isIpv4(a);
  c.peers.forEach((p, i) => {
    if (accepts(p.address)) return;
    const why = `${p.address} cannot connect to listen.address ${l} (the other family)`;
    if (p.passive) at(['peers', i, 'passive'], `${why}, and a passive session only waits for the peer's connection: it never comes up; listen on "::" (both families)`);
    else warnings.push(`${formatPath(['peers', i, 'address'])}: ${why}: only weft's own dials can bring the session up; listen on "::" (both families)`);
  });

  // Pools apart from the underlay subnets: pod routes would shadow the hosts' own addresses.
  const underlay: [string, UnderlayAddress | undefined][] = [['node.address', na], ['node.address4', c.node.address4], ['node.address6', c.node.address6]];
  c.pools.forEach((p, i) => {
    for (const [field, u] of underlay) {
      if (u && (prefixContains(p.cidr, u.subnet) || prefixContains(u.subnet, p.cidr))) {
        at(['pools', i, 'cidr'], `${formatPrefix(p.cidr)} overlaps the underlay subnet ${formatPrefix(u.subnet)} of ${field} ${show(u)}: pod routes would take the hosts' own addresses; choose a pool outside the hosts' subnets`);
      }
    }
  });

  // A pool's family needs an underlay address of that family to be routed natively.
  const under = underlayAddresses(c);
  c.pools.forEach((p, i) => {
    const v4 = typeof p.cidr === 'number';
    if ((v4 ? under.v4 : under.v6) !== undefined) return;
    const fam = v4 ? 'IPv4' : 'IPv6';
    const other = v4 ? 'IPv6' : 'IPv4';
    const add = v4 ? 'node.address4' : 'node.address6';
    if (p.encapsulation === 'never') {
      at(['pools', i, 'encapsulation'], `never: the ${fam} pool ${formatPrefix(p.cidr)} would be routed natively, but this node has no ${fam} underlay address: add ${add}, or use crossSubnet or always (${fam} pods then cross the ${other} underlay in VXLAN)`);
    } else if (p.encapsulation === 'crossSubnet') {
      warnings.push(`${formatPath(['pools', i, 'encapsulation'])}: crossSubnet: this node has no ${fam} underlay address, so the ${fam} pool ${formatPrefix(p.cidr)} always tunnels (over the ${other} underlay), even to nodes in the same subnet; add ${add} for direct routes`);
    }
  });
}

/** Validates a parsed YAML value. Throws ConfigError with every problem found. */
export function parseAgentConfig(value: unknown, source: string): LoadedConfig {
  const r = agentConfigSchema.safeParse(value ?? {});
  if (!r.success) throw new ConfigError(source, issuesToProblems(r.error.issues));
  const { problems, warnings } = semanticChecks(r.data);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return { config: r.data, warnings, source };
}

export function loadAgentConfig(file: string): LoadedConfig {
  return parseAgentConfig(readYamlFile(file), file);
}

const nodesFileSchema = z.union([z.array(meshNode), z.strictObject({ nodes: z.array(meshNode) })]);

/** A nodes file: a YAML list of {name, address}, or {nodes: [...]}. Throws ConfigError. */
export function parseNodesFile(value: unknown, source: string): MeshNode[] {
  const r = nodesFileSchema.safeParse(value ?? []);
  if (!r.success) throw new ConfigError(source, issuesToProblems(r.error.issues));
  return Array.isArray(r.data) ? r.data : r.data.nodes;
}

export function loadNodesFile(file: string): MeshNode[] {
  return parseNodesFile(readYamlFile(file), file);
}
