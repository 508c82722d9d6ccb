/**
 * Helpers over a validated agent configuration that the running agent needs, apart from the
 * schema (agent-config.ts loads zod; the agent process does not: see config-load.ts).
 */
import { formatPrefix, prefixContains, prefixLength, type Prefix } from '../../lib/prefix.js';
import type { PolicyRule } from '../../rib/policy.js';

/**
 * The parts of the configuration these helpers read, as plain shapes: the schema module
 * (agent-config.ts) uses the helpers, so they must not import it back.
 */
interface PoolShape {
  cidr: Prefix;
  blockSize: number;
}
/** An underlay address with its subnet: node.address, node.address4, node.address6. */
export interface UnderlayAddress {
  address: string;
  /** The subnet the address is in ("same subnet" is decided by it). */
  subnet: Prefix;
  length: number;
}

/** This node's underlay address of each family it has one of. */
export interface UnderlayAddresses {
  v4?: UnderlayAddress;
  v6?: UnderlayAddress;
}

interface NodeShape {
  node: { name: string; address: UnderlayAddress; address4?: UnderlayAddress; address6?: UnderlayAddress };
}

export const DEFAULT_CONTROL_SOCKET = '/run/weft/weft.sock';

/** The rib's PolicyRule form of configured rules (prefixes already parsed). */
export function toPolicyRules(rules: readonly PolicyRule[]): PolicyRule[] {
  return rules.map((r) => ({
    name: r.name,
    prefixList: r.prefixList,
    community: r.community,
    action: r.action,
    setLocalPref: r.setLocalPref,
    addCommunities: r.addCommunities,
  }));
}

/** Why a block cannot be one of ours ('' when it can): inside a pool, a whole number of blocks. */
export function blockProblem(block: Prefix, pools: readonly PoolShape[]): string {
  const text = formatPrefix(block);
  const pool = pools.find((p) => prefixContains(p.cidr, block));
  if (pool === undefined) {
    const list = pools.map((p) => formatPrefix(p.cidr)).join(', ');
    return `${text} is outside every pool (${list || 'no pools configured'})`;
  }
  if (prefixLength(block) > pool.blockSize) {
    return `${text} is smaller than one /${pool.blockSize} block of pool ${formatPrefix(pool.cidr)} (blocks are whole multiples of blockSize)`;
  }
  return '';
}

/**
 * This node's underlay addresses by family: node.address (the session / mesh address) in its
 * family's slot, node.address4 or node.address6 (the other family, when given) in the other.
 * The data plane routes each family's blocks with that family's address; a family without one
 * tunnels over the other (IPv6 pods over the IPv4 VXLAN device).
 */
export function underlayAddresses(cfg: NodeShape): UnderlayAddresses {
  const n = cfg.node;
  const plain = (a: UnderlayAddress): UnderlayAddress => ({ address: a.address, subnet: a.subnet, length: a.length });
  const main = plain(n.address);
  if (typeof main.subnet === 'number') return n.address6 ? { v4: main, v6: plain(n.address6) } : { v4: main };
  return n.address4 ? { v4: plain(n.address4), v6: main } : { v6: main };
}

/** This node's own addresses as configured (node.address, then address4 / address6). */
export function ownAddresses(cfg: NodeShape): string[] {
  const u = underlayAddresses(cfg);
  return [cfg.node.address.address, ...[u.v4, u.v6].flatMap((a) => (a && a.address !== cfg.node.address.address ? [a.address] : []))];
}

/**
 * Whether a mesh node entry is this node itself (one shared node list works on every host): its
 * name, or one of its addresses. `weft config check` reports an entry that matches only one of
 * the two (meshSelfProblem); the nodes file is read at run time and is not checked that way.
 */
export function isSelf(cfg: NodeShape, n: { name: string; address: string }): boolean {
  return n.name === cfg.node.name || ownAddresses(cfg).includes(n.address);
}

/**
 * Why a mesh entry that looks like this node is a mistake (undefined when it is not): this node's
 * name with another address, or one of its addresses under another name (a copy-pasted entry).
 */
export function meshSelfProblem(cfg: NodeShape, n: { name: string; address: string }): { field: 'name' | 'address'; message: string } | undefined {
  const own = ownAddresses(cfg);
  const nameMatch = n.name === cfg.node.name;
  const addressMatch = own.includes(n.address);
  if (nameMatch === addressMatch) return undefined;
  const mine = own.join(', ');
  if (nameMatch) {
    return {
      field: 'address',
      message: `${n.address} is not this node's address (${mine}), but the name ${n.name} is this node's name (node.name): a copy-pasted entry? give this node's own address, or the other node its own name`,
    };
  }
  return {
    field: 'name',
    message: `${n.name} is not this node's name (${cfg.node.name}), but the address ${n.address} is this node's own: a copy-pasted entry? give the entry this node's name, or the other node its own address`,
  };
}
