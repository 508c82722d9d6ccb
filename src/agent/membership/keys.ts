/**
 * The registry's key layout in etcd, under membership.etcd.prefix (default /weft):
 *
 *   <prefix>/nodes/<name>                 JSON node record (records.ts), written under the agent's
 *                                         lease: it vanishes when the agent stops renewing it
 *   <prefix>/blocks/<pool>/<block>        the owner's node name; NOT under a lease, so a restart
 *                                         keeps its blocks; created only by a compare-and-set
 *                                         transaction (create revision 0), removed by
 *                                         `weft node delete NAME` or `weft withdraw BLOCK`
 *
 * A prefix is written with its "/" as "-" in a key (10.244.0.0/16 -> 10.244.0.0-16), so that a
 * key has a fixed number of path segments.
 */
import { formatPrefix, parsePrefix, type Prefix } from '../../lib/prefix.js';

export const nodesPrefix = (root: string) => `${root}/nodes/`;
export const nodeKey = (root: string, name: string) => `${root}/nodes/${name}`;
export const blocksPrefix = (root: string) => `${root}/blocks/`;

const keyPart = (p: Prefix) => formatPrefix(p).replace('/', '-');

export const blockKey = (root: string, pool: Prefix, block: Prefix) => `${root}/blocks/${keyPart(pool)}/${keyPart(block)}`;

/** The node name of a node key, or undefined when the key is not one. */
export function nameOfNodeKey(root: string, key: string): string | undefined {
  const p = nodesPrefix(root);
  if (!key.startsWith(p)) return undefined;
  const name = key.slice(p.length);
  return name.length > 0 && !name.includes('/') ? name : undefined;
}

/** The pool and block of a block key; a string saying what is wrong when it is not one. */
export function parseBlockKey(root: string, key: string): { pool: Prefix; block: Prefix } | string {
  const p = blocksPrefix(root);
  const parts = key.startsWith(p) ? key.slice(p.length).split('/') : [];
  if (parts.length !== 2) return `not a block key (${blocksPrefix(root)}<pool>/<block>)`;
  const back = (s: string) => {
    const i = s.lastIndexOf('-');
    return i < 0 ? s : `${s.slice(0, i)}/${s.slice(i + 1)}`;
  };
  try {
    return { pool: parsePrefix(back(parts[0])), block: parsePrefix(back(parts[1])) };
  } catch (e) {
    return (e as Error).message;
  }
}
