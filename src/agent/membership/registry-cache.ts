/**
 * The registry's cache file (membership.etcd.cache): the last members and this node's claimed
 * blocks, written whenever either changes while etcd answers, read once at start. An agent
 * restarted while etcd is away starts from it, as Calico's BIRD restarts from the last bird.conf
 * confd rendered: its sessions come back, its blocks are advertised again, and nothing waits for
 * etcd (without it, such an agent had no members and no claimed blocks until etcd returned, and
 * its peers dropped its blocks at the end of the graceful-restart time).
 *
 * When etcd answers, the registry reads the records and claims as always and diffs them against
 * what the cache gave: what did not change is not touched. The price, as with confd's file: a
 * block that was released (`weft node delete`) while this node was down is advertised again
 * until etcd is back.
 *
 * Everything read here is checked as registry data is (records.ts): a record that does not
 * validate, a block outside the pools, or a file written for another node name is refused and
 * logged, never applied.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatPrefix, parsePrefix, type Prefix } from '../../lib/prefix.js';
import { poolOf, type PoolShape } from './ipam.js';
import { checkNodeRecord, type NodeRecord } from './records.js';

export interface CachedRegistry {
  members: NodeRecord[];
  blocks: Prefix[];
  savedAt: string;
}

interface CacheSelf {
  name: string;
  asn: number;
  pools: readonly PoolShape[];
}

/** The cache at `path` (undefined: none, or refused as a whole: `refuse` says why). */
export function readRegistryCache(path: string, self: CacheSelf, refuse: (what: string, reason: string) => void): CachedRegistry | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') refuse(path, `cannot be read: ${(e as Error).message}`);
    return undefined;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    refuse(path, 'not JSON');
    return undefined;
  }
  const o = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  if (!o || o.version !== 1 || !Array.isArray(o.members) || !Array.isArray(o.blocks)) {
    refuse(path, 'not a weft registry cache (version 1 with members and blocks)');
    return undefined;
  }
  if (o.node !== self.name) {
    refuse(path, `written for node ${JSON.stringify(o.node)}, this node is ${JSON.stringify(self.name)}`);
    return undefined;
  }
  const members: NodeRecord[] = [];
  o.members.forEach((m, i) => {
    const name = m !== null && typeof m === 'object' ? (m as Record<string, unknown>).name : undefined;
    const r = typeof name === 'string' ? checkNodeRecord(name, JSON.stringify(m), self.asn) : { type: 'refused' as const, reason: 'no name' };
    if (r.type === 'refused') refuse(`${path}: members[${i}]`, r.reason);
    else members.push(r.record);
  });
  const blocks: Prefix[] = [];
  o.blocks.forEach((b, i) => {
    let p: Prefix;
    try {
      p = parsePrefix(String(b));
    } catch (e) {
      refuse(`${path}: blocks[${i}]`, (e as Error).message);
      return;
    }
    if (poolOf(self.pools, p) === undefined) refuse(`${path}: blocks[${i}]`, `${formatPrefix(p)} is no block of the configured pools`);
    else blocks.push(p);
  });
  return { members, blocks, savedAt: typeof o.savedAt === 'string' ? o.savedAt : '' };
}

/** Writes the cache whole (a new file renamed over the old: a crash never leaves half a file). */
export function writeRegistryCache(path: string, node: string, members: Iterable<NodeRecord>, blocks: readonly Prefix[]): void {
  const body = { version: 1, node, savedAt: new Date().toISOString(), members: [...members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)), blocks: blocks.map(formatPrefix) };
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(body, null, 1)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}
