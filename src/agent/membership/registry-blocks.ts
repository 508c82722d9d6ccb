/**
 * Block claims in etcd (keys.ts: <prefix>/blocks/<pool>/<block> -> owner name). The choice of a
 * block is pure (ipam.ts); a claim is one transaction that creates the key only if it does not
 * exist (create revision 0), like Calico's block affinities, so two hosts can never both win the
 * same block: the loser learns that block is taken and tries the next one. Claims are not under
 * a lease: a restarting host finds its blocks again by owner name.
 */
import type { Logger } from 'pino';
import { formatPrefix, type Prefix } from '../../lib/prefix.js';
import { logEvent } from '../observability/log-events.js';
import type { Etcd3 } from './etcd-client.js';
import { describePool, nextFreeBlock, poolOf, searchStart, type PoolShape } from './ipam.js';
import { blockKey, blocksPrefix, parseBlockKey } from './keys.js';

export interface BlockOwner {
  name: string;
  pools: readonly PoolShape[];
  log: Logger;
  stats: { claims: number; claimConflicts: number };
  refused(key: string, reason: string, value: string): void;
}

/** A node name as a claim's value: what a registry key may hold. */
const OWNER = /^[A-Za-z0-9_.:@-]{1,253}$/;

/** Reads every claim of the registry: block -> owner. Bad entries are refused (but their block counts as taken). */
export async function readClaims(client: Etcd3, root: string, refused?: BlockOwner['refused']): Promise<Map<Prefix, string>> {
  const res = await client.getAll().prefix(blocksPrefix(root)).exec();
  const out = new Map<Prefix, string>();
  for (const kv of res.kvs) {
    const key = kv.key.toString();
    const value = kv.value.toString();
    const k = parseBlockKey(root, key);
    if (typeof k === 'string') {
      refused?.(key, k, value);
      continue;
    }
    if (!OWNER.test(value)) refused?.(key, `owner ${JSON.stringify(value)} is not a node name`, value);
    // Taken either way: a block with any claim on it is never handed out again.
    out.set(k.block, value);
  }
  return out;
}

export class RegistryBlocks {
  private readonly mine = new Set<Prefix>();

  constructor(
    private readonly client: Etcd3,
    private readonly root: string,
    private readonly o: BlockOwner,
  ) {}

  owned(): Prefix[] {
    return [...this.mine].sort((a, b) => formatPrefix(a).localeCompare(formatPrefix(b)));
  }

  ownedText(): string[] {
    return this.owned().map(formatPrefix);
  }

  owns(b: Prefix): boolean {
    return this.mine.has(b);
  }

  /** At start: the blocks this node already holds (a restart keeps them), then claims up to `want`. True when it claimed any. */
  async initial(want: number): Promise<boolean> {
    const claims = await readClaims(this.client, this.root, this.o.refused);
    for (const [b, owner] of claims) if (owner === this.o.name && poolOf(this.o.pools, b)) this.mine.add(b);
    let changed = false;
    while (this.mine.size < want) {
      try {
        await this.claimOne(claims);
      } catch (e) {
        logEvent(this.o.log, 'membership.claim-failed', { error: (e as Error).message, have: this.mine.size, want });
        if ((e as Error).message.startsWith('every pool is full')) break;
        throw e;
      }
      changed = true;
    }
    return changed;
  }

  /**
   * One more block for this node: the next free one of the first pool that has any, taken with a
   * create-if-absent transaction. A lost race marks that block taken and tries the next.
   */
  async claimOne(known?: Map<Prefix, string>): Promise<Prefix> {
    const claims = known ?? (await readClaims(this.client, this.root, this.o.refused));
    const taken = new Set<Prefix>(claims.keys());
    for (const pool of this.o.pools) {
      const start = searchStart(this.o.name, pool);
      for (let lost = 0; ; lost++) {
        const b = nextFreeBlock(pool, taken, start);
        if (b === undefined) break;
        const key = blockKey(this.root, pool.cidr, b);
        const r = await this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(this.o.name)).commit();
        if (r.succeeded) {
          this.mine.add(b);
          claims.set(b, this.o.name);
          this.o.stats.claims++;
          logEvent(this.o.log, 'membership.block-claimed', { block: formatPrefix(b), pool: formatPrefix(pool.cidr), key, lostRaces: lost });
          return b;
        }
        this.o.stats.claimConflicts++;
        taken.add(b);
        // Many hosts racing: learn the whole picture again now and then instead of block by block.
        if (lost % 8 === 7) for (const k of (await readClaims(this.client, this.root)).keys()) taken.add(k);
      }
    }
    throw new Error(`every pool is full: no free block in ${this.o.pools.map(describePool).join(', ') || 'no pools'}`);
  }

  /** Gives a claimed block back (only while the key still names this node). */
  async release(b: Prefix): Promise<void> {
    const pool = poolOf(this.o.pools, b);
    if (!pool) return;
    const key = blockKey(this.root, pool.cidr, b);
    await this.client.if(key, 'Value', '==', this.o.name).then(this.client.delete().key(key)).commit();
    this.mine.delete(b);
    logEvent(this.o.log, 'membership.block-released', { block: formatPrefix(b), key });
  }

  /**
   * After etcd was away: each held block still claimed for this node? A claim that vanished (a
   * store restored from an old backup) is written again; one that now names another node is
   * logged as a conflict and the block stays here (never a lost route). True when it wrote any.
   */
  async recheck(): Promise<boolean> {
    const claims = await readClaims(this.client, this.root, this.o.refused);
    let wrote = false;
    for (const b of this.mine) {
      const owner = claims.get(b);
      if (owner === this.o.name) continue;
      const pool = poolOf(this.o.pools, b)!;
      const key = blockKey(this.root, pool.cidr, b);
      if (owner === undefined) {
        const r = await this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(this.o.name)).commit();
        if (r.succeeded) {
          wrote = true;
          logEvent(this.o.log, 'membership.block-claimed', { block: formatPrefix(b), pool: formatPrefix(pool.cidr), key, why: 'the claim was missing from the registry' });
          continue;
        }
      }
      logEvent(this.o.log, 'membership.block-conflict', { block: formatPrefix(b), key, owner: owner ?? '(raced)' });
    }
    return wrote;
  }
}
