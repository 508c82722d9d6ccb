/**
 * The etcd registry (membership.etcd): this node's record under a lease it keeps alive, a watch
 * on every node record that becomes the mesh membership (the same path as the nodes file:
 * AgentPeers takes MeshNode lists from either source and diffs the sessions), and this node's
 * blocks claimed from the pools (registry-blocks.ts).
 *
 * etcd down never withdraws anything: a failed call or a broken watch leaves the last members
 * and blocks as they are; only a delete event (a lease that expired on a working etcd, or an
 * operator's `weft node delete`) removes a member. When etcd answers again the records are read
 * in full and diffed against the last list, so nothing that did not change is touched, and this
 * node registers again under a new lease if its old one is gone. Stopping the agent does not
 * revoke the lease: a restart within the TTL keeps the node in every mesh (graceful restart
 * keeps its routes), a host that stays down leaves within the TTL.
 */
import type { Logger } from 'pino';
import { formatPrefix, type Prefix } from '../../lib/prefix.js';
import type { MeshNode } from '../config/agent-config.js';
import type { EtcdSettings } from '../config/membership-config.js';
import { logEvent } from '../observability/log-events.js';
import { connectEtcd, type Etcd3 } from './etcd-client.js';
import { nameOfNodeKey, nodeKey, nodesPrefix } from './keys.js';
import { checkNodeRecord, meshNodeOf, membersFor, type NodeRecord } from './records.js';
import { RegistryBlocks, type BlockOwner } from './registry-blocks.js';
import { readRegistryCache, writeRegistryCache } from './registry-cache.js';
import type { PoolShape } from './ipam.js';

type Lease = ReturnType<Etcd3['lease']>;
type Watcher = Awaited<ReturnType<ReturnType<Etcd3['watch']>['create']>>;

/** Counters and gauges of the registry (membership-metrics.ts exposes them). */
export interface RegistryStats {
  /** etcd answered the last call. */
  up: boolean;
  /** Members from the registry (this node excluded). */
  nodes: number;
  /** Registry entries refused (node records and block keys), monotonic. */
  refused: number;
  /** Failed etcd calls, monotonic. */
  storeErrors: number;
  /** Registrations under a new lease after the first, monotonic. */
  reregistrations: number;
  claims: number;
  claimConflicts: number;
}

export interface RegistrySelf {
  name: string;
  asn: number;
  address: string;
  port?: number;
  otherAddress?: string;
  vni?: number;
  pools: readonly PoolShape[];
  /** Blocks to claim (blocks: auto / a count); 0: claim none at start. */
  autoBlocks: number;
  /** The configured (static) blocks, for the record. */
  staticBlocks: () => string[];
  role: 'mesh' | 'reflector' | 'client';
  /** The cache file (registry-cache.ts); none when absent. */
  cachePath?: string;
}

export interface RegistryHooks {
  /** The members from the registry (this node excluded), each time the list changes. */
  nodes(nodes: MeshNode[]): void;
  /** This node's claimed blocks, each time they change. */
  blocks(blocks: Prefix[]): void;
}

const RETRY_MS = 1000;

export class EtcdRegistry {
  readonly stats: RegistryStats = { up: false, nodes: 0, refused: 0, storeErrors: 0, reregistrations: 0, claims: 0, claimConflicts: 0 };
  private client: Etcd3 | undefined;
  private lease: Lease | undefined;
  private watcher: Watcher | undefined;
  private readonly records = new Map<string, NodeRecord>();
  /** Refused keys and the value refused, so a resync does not log the same refusal again. */
  private readonly refusedValues = new Map<string, string>();
  private lastNodes = '';
  private stopped = false;
  private registering = false;
  private registered = 0;
  private blocks: RegistryBlocks | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** What etcd itself has told us since start (the cache is written only once both are known). */
  private readonly heard = { members: false, blocks: false };
  private cacheWriteFailed = false;
  /** What the cache file holds now (members and blocks as JSON): unchanged data is not written again. */
  private cacheText = '';

  constructor(
    private readonly settings: EtcdSettings,
    private readonly self: RegistrySelf,
    private readonly hooks: RegistryHooks,
    private readonly log: Logger,
  ) {}

  get root(): string {
    return this.settings.prefix;
  }

  /**
   * Makes the client (throws on an unreadable certificate file) and connects in the background:
   * the agent starts, and keeps running, whether etcd answers or not.
   */
  async start(): Promise<void> {
    this.client = await connectEtcd(this.settings);
    this.loadCache();
    // Its loops end only when the registry stops (they retry every failure), then quietly.
    this.run().catch(() => undefined);
  }

  private async run(): Promise<void> {
    const client = this.client!;
    const owner: BlockOwner = { name: this.self.name, pools: this.self.pools, log: this.log, stats: this.stats, refused: (key, why, value) => this.refuse(key, why, value) };
    this.blocks = new RegistryBlocks(client, this.root, owner);
    await this.retry('register', () => this.register());
    const rev = await this.retry('read members', () => this.readMembers());
    await this.retry('claim blocks', () => this.initialBlocks());
    await this.retry('watch members', () => this.watch(rev));
  }

  /** Runs `fn` until it succeeds (or the registry stops), logging the first failure of a streak. */
  private async retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (;;) {
      if (this.stopped) throw new Error('registry stopped');
      try {
        const v = await fn();
        this.storeUp();
        return v;
      } catch (e) {
        if (this.stopped) throw new Error('registry stopped');
        this.storeDown(what, e);
        await this.sleep(RETRY_MS);
      }
    }
  }

  private storeUp(): void {
    if (this.stats.up) return;
    this.stats.up = true;
    logEvent(this.log, 'membership.store-available', { endpoints: this.settings.endpoints });
  }

  private storeDown(what: string, e: unknown): void {
    this.stats.storeErrors++;
    if (!this.stats.up && this.stats.storeErrors > 1) return;
    this.stats.up = false;
    logEvent(this.log, 'membership.store-unavailable', { during: what, error: (e as Error).message, endpoints: this.settings.endpoints });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  // ------------------------------------------------------------------ this node's record

  private record(): NodeRecord {
    const s = this.self;
    const blocks = [...new Set([...s.staticBlocks(), ...(this.blocks?.ownedText() ?? [])])].sort();
    return {
      version: 1,
      name: s.name,
      address: s.address,
      asn: s.asn,
      blocks,
      ...(s.port !== undefined && s.port !== 179 ? { port: s.port } : {}),
      ...(s.otherAddress !== undefined ? { otherAddress: s.otherAddress } : {}),
      ...(s.vni !== undefined ? { vni: s.vni } : {}),
      ...(s.role !== 'mesh' ? { role: s.role } : {}),
    };
  }

  /** A new lease, the record put under it; a lost lease starts this again. */
  private async register(): Promise<void> {
    const client = this.client!;
    const lease = client.lease(this.settings.leaseTtl, { autoKeepAlive: true });
    lease.on('lost', () => undefined); // until granted, failures come back from grant() below
    try {
      await lease.grant();
      await lease.put(nodeKey(this.root, this.self.name)).value(JSON.stringify(this.record())).exec();
    } catch (e) {
      lease.release();
      throw e;
    }
    const old = this.lease;
    this.lease = lease;
    old?.release();
    lease.removeAllListeners('lost');
    lease.on('lost', (err) => this.leaseLost(lease, err));
    if (this.registered++ > 0) this.stats.reregistrations++;
    logEvent(this.log, 'membership.registered', { key: nodeKey(this.root, this.self.name), ttl: this.settings.leaseTtl, lease: await lease.grant() });
  }

  private leaseLost(lease: Lease, err: Error): void {
    if (this.stopped || lease !== this.lease || this.registering) return;
    logEvent(this.log, 'membership.lease-lost', { error: err.message });
    this.registering = true;
    void this.retry('register', () => this.register())
      .then(() => this.resync())
      .catch(() => undefined)
      .finally(() => (this.registering = false));
  }

  /** The record again (this node's blocks changed); a failure waits for the next registration. */
  private async putRecord(): Promise<void> {
    const lease = this.lease;
    if (!lease || this.stopped) return;
    try {
      await lease.put(nodeKey(this.root, this.self.name)).value(JSON.stringify(this.record())).exec();
    } catch (e) {
      this.storeDown('update record', e);
    }
  }

  // ------------------------------------------------------------------ members

  private refuse(key: string, reason: string, value: string): void {
    if (this.refusedValues.get(key) === value) return;
    this.refusedValues.set(key, value);
    this.stats.refused++;
    logEvent(this.log, 'membership.record-refused', { key, reason });
  }

  /** One node key's value (undefined: deleted) into the member map; true when it changed. */
  private applyKey(key: string, value: string | undefined): boolean {
    const name = nameOfNodeKey(this.root, key);
    if (name === undefined) {
      if (value !== undefined) this.refuse(key, `not a node key (${nodesPrefix(this.root)}<name>)`, value);
      return false;
    }
    const had = this.records.get(name);
    if (value === undefined) {
      this.refusedValues.delete(key);
      return this.records.delete(name);
    }
    const r = checkNodeRecord(name, value, this.self.asn);
    if (r.type === 'refused') {
      // The last good record of that node (if any) stays: a bad write is never applied.
      this.refuse(key, r.reason, value);
      return false;
    }
    this.refusedValues.delete(key);
    this.records.set(name, r.record);
    return had === undefined || JSON.stringify([meshNodeOf(had), had.role]) !== JSON.stringify([meshNodeOf(r.record), r.record.role]);
  }

  /** Every node record, diffed against the last; returns the revision read at. */
  private async readMembers(): Promise<string> {
    const res = await this.client!.getAll().prefix(nodesPrefix(this.root)).exec();
    const seen = new Set<string>();
    for (const kv of res.kvs) {
      const key = kv.key.toString();
      const name = nameOfNodeKey(this.root, key);
      if (name !== undefined) seen.add(name);
      this.applyKey(key, kv.value.toString());
    }
    for (const name of [...this.records.keys()]) if (!seen.has(name)) this.records.delete(name);
    this.emitNodes('read');
    return String(res.header.revision);
  }

  private emitNodes(why: string): void {
    // Stopping (the agent is shutting down): nothing reaches the sessions any more.
    if (this.stopped) return;
    if (why !== 'cache') this.heard.members = true;
    this.saveCache();
    const others = [...this.records.values()].filter((r) => r.name !== this.self.name).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const nodes = membersFor(this.self.role, others);
    const text = JSON.stringify(nodes);
    if (text === this.lastNodes) return;
    this.lastNodes = text;
    this.stats.nodes = nodes.length;
    logEvent(this.log, 'membership.nodes', { nodes: nodes.length, names: nodes.map((n) => n.name), why });
    this.hooks.nodes(nodes);
  }

  /** The watch from just after `rev`; etcd3 re-opens it itself (from the last revision seen) after a break. */
  private async watch(rev: string): Promise<void> {
    const w = await this.client!.watch().prefix(nodesPrefix(this.root)).startRevision(String(BigInt(rev) + 1n)).create();
    this.watcher = w;
    let broken = false;
    w.on('put', (kv) => {
      if (this.applyKey(kv.key.toString(), kv.value.toString())) this.emitNodes('put');
    });
    w.on('delete', (kv) => {
      if (this.applyKey(kv.key.toString(), undefined)) this.emitNodes('delete');
    });
    w.on('disconnected', (err) => {
      broken = true;
      this.storeDown('watch', err);
    });
    w.on('error', (err) => this.storeDown('watch', err));
    w.on('connected', () => {
      if (!broken) return;
      broken = false;
      this.storeUp();
      void this.resync();
    });
  }

  /** After etcd was away: the lease (still ours?), the members and the blocks, read and diffed. */
  private async resync(): Promise<void> {
    try {
      await this.retry('read members', () => this.readMembers());
      const kept = await this.retry('check blocks', () => this.blocks!.recheck());
      this.saveCache();
      if (kept) await this.putRecord();
    } catch {
      // stopped
    }
  }

  // ------------------------------------------------------------------ blocks

  private async initialBlocks(): Promise<void> {
    const changed = await this.blocks!.initial(this.self.autoBlocks);
    this.heard.blocks = true;
    this.emitBlocks();
    if (changed) await this.putRecord();
  }

  /** `weft advertise` without a prefix: the next free block of the pools, claimed for this node. */
  async claimNext(): Promise<Prefix> {
    if (!this.blocks || !this.stats.up) throw new Error('the etcd registry is not reachable: cannot claim a block now (try again, or give the block)');
    const b = await this.blocks.claimOne();
    this.emitBlocks();
    await this.putRecord();
    return b;
  }

  /** A block this node claimed is given back (`weft withdraw`); false when it was not a claimed one. */
  async release(block: Prefix): Promise<boolean> {
    if (!this.blocks?.owns(block)) return false;
    await this.blocks.release(block);
    this.emitBlocks();
    await this.putRecord();
    return true;
  }

  private emitBlocks(): void {
    this.hooks.blocks(this.blocks!.owned());
    this.saveCache();
  }

  // ------------------------------------------------------------------ the cache file

  /** The last members and blocks from the cache, before etcd has said anything (registry-cache.ts). */
  private loadCache(): void {
    const path = this.self.cachePath;
    if (path === undefined) return;
    const refuse = (what: string, reason: string) => {
      this.stats.refused++;
      logEvent(this.log, 'membership.cache-refused', { what, reason });
    };
    const c = readRegistryCache(path, this.self, refuse);
    if (!c) return;
    for (const r of c.members) if (r.name !== this.self.name) this.records.set(r.name, r);
    logEvent(this.log, 'membership.cache-loaded', { path, savedAt: c.savedAt, members: this.records.size, blocks: c.blocks.map(formatPrefix) });
    this.emitNodes('cache');
    if (c.blocks.length > 0) this.hooks.blocks(c.blocks);
  }

  /** The cache again, once etcd has given both members and blocks since start. */
  private saveCache(): void {
    const path = this.self.cachePath;
    if (path === undefined || !this.heard.members || !this.heard.blocks || this.stopped) return;
    const members = [...this.records.values()].filter((r) => r.name !== this.self.name).sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    const blocks = this.blocks?.owned() ?? [];
    // Every watch event and resync passes here: only a change of what the file holds is written.
    const text = JSON.stringify([members, blocks]);
    if (text === this.cacheText) return;
    try {
      writeRegistryCache(path, this.self.name, members, blocks);
      this.cacheText = text;
      this.cacheWriteFailed = false;
    } catch (e) {
      if (this.cacheWriteFailed) return;
      this.cacheWriteFailed = true;
      logEvent(this.log, 'membership.cache-write-failed', { path, error: (e as Error).message });
    }
  }

  claimed(): Prefix[] {
    return this.blocks?.owned() ?? [];
  }

  /** Stops renewing and watching; the lease is left to expire (see the header), nothing is deleted. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.lease?.release();
    // A cancel waits for etcd's answer: never let an etcd that is away hold up the shutdown.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.watcher?.cancel().catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
    this.client?.close();
  }
}
