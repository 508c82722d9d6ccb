/**
 * This node's blocks: the configured ones plus those advertised at run time (control API), minus
 * those withdrawn, each a local route in the Loc-RIB with ORIGIN IGP and the RFC 9012
 * encapsulation and Router's MAC extended communities (kernel/dataplane-desired.ts).
 */
import type { Logger } from 'pino';
import { formatPrefix, parsePrefix, type Prefix } from '../lib/prefix.js';
import type { Change, Rib } from '../rib/loc-rib.js';
import type { AgentConfig } from './config/agent-config.js';
import { blockProblem } from './config/config-helpers.js';
import type { BlockChange } from './control/protocol.js';
import { blockAttributes } from './kernel/dataplane-desired.js';
import { ownAddresses } from './config/config-helpers.js';
import { logEvent } from './observability/log-events.js';

export class LocalBlocks {
  /** Advertised at run time on top of / withdrawn from the configured ones. */
  private readonly added = new Set<Prefix>();
  private readonly withdrawn = new Set<Prefix>();
  private readonly blocks = new Set<Prefix>();
  /** Claimed for this node in the etcd registry (blocks: auto, `weft advertise` without a prefix). */
  private claimed: Prefix[] = [];

  constructor(
    private readonly config: () => AgentConfig,
    private readonly rib: Rib,
    private readonly log: Logger,
    /** Where the Loc-RIB changes go (the agent's onChanges). */
    private readonly changed: (changes: readonly Change[]) => void,
  ) {}

  get size(): number {
    return this.blocks.size;
  }

  list(): Prefix[] {
    return [...this.blocks];
  }

  /**
   * Into line with the configuration. After a reload, run-time blocks no pool takes any more are
   * dropped; `reannounce` (the pools changed) sets every block's attributes (tunnel type, MAC) again.
   */
  apply(reannounce = false): void {
    const c = this.config();
    for (const p of [...this.added]) if (blockProblem(p, c.pools)) this.added.delete(p);
    const want = new Set<Prefix>([...c.blocks, ...this.added, ...this.claimed.filter((p) => !blockProblem(p, c.pools))]);
    for (const p of this.withdrawn) want.delete(p);
    const changes: Change[] = [];
    for (const p of [...this.blocks]) {
      if (want.has(p)) continue;
      this.blocks.delete(p);
      changes.push(...this.rib.localRemove(p));
      logEvent(this.log, 'agent.block-removed', { block: formatPrefix(p) });
    }
    for (const p of want) {
      if (this.blocks.has(p)) {
        if (reannounce) changes.push(...this.rib.localAdd(p, this.attributes(p)));
        continue;
      }
      this.blocks.add(p);
      changes.push(...this.rib.localAdd(p, this.attributes(p)));
      logEvent(this.log, 'agent.block-added', { block: formatPrefix(p) });
    }
    this.changed(changes);
  }

  /** The registry's claims for this node changed. */
  setClaimed(blocks: readonly Prefix[]): void {
    this.claimed = [...blocks];
    for (const p of blocks) this.withdrawn.delete(p);
    this.apply();
  }

  /** A block of this node at run time: inside a pool, a whole number of blocks. */
  advertise(text: string): BlockChange {
    const p = parsePrefix(text);
    const why = blockProblem(p, this.config().pools);
    if (why) throw new Error(`cannot advertise: ${why}`);
    const had = this.blocks.has(p);
    this.withdrawn.delete(p);
    this.added.add(p);
    this.apply();
    return { prefix: formatPrefix(p), changed: !had };
  }

  withdraw(text: string): BlockChange {
    const p = parsePrefix(text);
    const had = this.blocks.has(p);
    this.added.delete(p);
    if (this.config().blocks.includes(p) || this.claimed.includes(p)) this.withdrawn.add(p);
    this.apply();
    return { prefix: formatPrefix(p), changed: had };
  }

  private attributes(p: Prefix) {
    const c = this.config();
    return blockAttributes(p, c.pools, ownAddresses(c), undefined, c.vxlan.vni);
  }
}
