/**
 * What an operator does to the registry (`weft node list`, `weft node delete NAME`): read every
 * node and claim, and delete a host for good. "Deleted" means: its node record is gone and its
 * block claims are released, so the blocks go back to the pools. Only a host that is no longer
 * registered (its lease expired: the agent is stopped or the machine gone) is deleted unless
 * forced; a host that merely restarts is never deleted by anything, and keeps its blocks.
 */
import { formatPrefix } from '../../lib/prefix.js';
import type { EtcdSettings } from '../config/membership-config.js';
import { connectEtcd, type Etcd3 } from './etcd-client.js';
import { blocksPrefix, nameOfNodeKey, nodeKey, nodesPrefix } from './keys.js';
import { checkNodeRecord, type NodeRecord } from './records.js';
import { readClaims } from './registry-blocks.js';

export interface NodeListing {
  name: string;
  /** Registered now (its record exists under a live lease). */
  registered: boolean;
  address?: string;
  /** Why its record was refused, when it was. */
  problem?: string;
  /** Blocks claimed for it in the registry. */
  blocks: string[];
}

async function withClient<T>(s: EtcdSettings, fn: (c: Etcd3) => Promise<T>): Promise<T> {
  const c = await connectEtcd(s);
  try {
    return await fn(c);
  } catch (e) {
    throw new Error(`etcd ${s.endpoints.join(', ')}: ${(e as Error).message}`);
  } finally {
    c.close();
  }
}

/** Every node with a record or a claim. */
export function listNodes(s: EtcdSettings, asn: number): Promise<NodeListing[]> {
  return withClient(s, async (c) => {
    const out = new Map<string, NodeListing>();
    const entry = (name: string) => {
      let e = out.get(name);
      if (!e) out.set(name, (e = { name, registered: false, blocks: [] }));
      return e;
    };
    const res = await c.getAll().prefix(nodesPrefix(s.prefix)).exec();
    for (const kv of res.kvs) {
      const name = nameOfNodeKey(s.prefix, kv.key.toString());
      if (name === undefined) continue;
      const e = entry(name);
      e.registered = true;
      const r = checkNodeRecord(name, kv.value.toString(), asn);
      if (r.type === 'ok') e.address = (r.record as NodeRecord).address;
      else e.problem = r.reason;
    }
    for (const [b, owner] of await readClaims(c, s.prefix)) entry(owner).blocks.push(formatPrefix(b));
    return [...out.values()].sort((a, b) => a.name.localeCompare(b.name));
  });
}

/**
 * Deletes host `name`: its claims released (each only while it still names the host), its record
 * removed. Refuses a registered host unless `force` (its agent would keep advertising the blocks).
 */
export function deleteNode(s: EtcdSettings, name: string, force: boolean): Promise<{ released: string[]; recordDeleted: boolean }> {
  return withClient(s, async (c) => {
    const key = nodeKey(s.prefix, name);
    const live = await c.get(key).string();
    if (live !== null && !force) {
      throw new Error(`${name} is still registered (${key} exists: its agent runs, or stopped less than membership.etcd.leaseTtl ago); stop it first, or use --force`);
    }
    const released: string[] = [];
    const res = await c.getAll().prefix(blocksPrefix(s.prefix)).exec();
    for (const kv of res.kvs) {
      if (kv.value.toString() !== name) continue;
      const k = kv.key.toString();
      const r = await c.if(k, 'Value', '==', name).then(c.delete().key(k)).commit();
      if (r.succeeded) released.push(k.slice(blocksPrefix(s.prefix).length));
    }
    const del = await c.delete().key(key).exec();
    return { released, recordDeleted: Number(del.deleted) > 0 };
  });
}
