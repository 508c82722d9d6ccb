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
interface NodeShape {
  node: { name: string; address: { address: string } };
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

/** Whether a mesh node entry is this node itself (one shared node list works on every host). */
export function isSelf(cfg: NodeShape, n: { name: string; address: string }): boolean {
  return n.name === cfg.node.name || n.address === cfg.node.address.address;
}
