/**
 * What a deletion seen by the monitors means for the data plane: nothing (not ours, or our own
 * deletion echoed back), one of our routes to write again (an incremental pass), or a resync (a
 * local block's blackhole, or a neighbour, FDB entry or device of ours: their entries are shared,
 * so a full comparison). What counts as ours is set after each full plan (watch()); the routes are
 * the route index itself, which incremental plans keep up to date, so our own deletions are never
 * mistaken for someone else's.
 */
import { parsePrefix, type Prefix } from '../lib/prefix.js';
import type { MonitorEvent } from './ip-driver.js';
import type { DesiredState } from './model.js';
import type { RouteIndex } from './route-index.js';

export type DeletionAction = { kind: 'ignore' } | { kind: 'rewrite'; prefix: Prefix } | { kind: 'resync' };

export class DeletionWatch {
  private routes: RouteIndex | undefined;
  private neigh = new Set<string>();
  private macs = new Set<string>();
  private links = new Set<string>();

  /** After a full plan: its expected state (indexed) and the devices it manages. */
  watch(ix: RouteIndex, base: DesiredState): void {
    this.routes = ix;
    this.neigh = new Set(ix.neigh.map((n) => n.address));
    this.macs = new Set(ix.fdb.map((f) => f.mac));
    this.links = new Set([base.vxlan?.device, base.vxlan6?.device, ...(base.vxlanOther ?? []).map((d) => d.device), base.ipip?.device].filter((d): d is string => d !== undefined));
  }

  /**
   * The action for `e`, given the route index now (`current`: undefined while there is no cache)
   * and the local blocks. A route to rewrite is forgotten by the index here (it is gone).
   */
  classify(e: MonitorEvent, current: RouteIndex | undefined, local: ReadonlySet<Prefix>): DeletionAction {
    const w = this.routes;
    if (e.type === 'route-deleted' && w !== undefined && w === current) {
      if (!w.hasWeft(e.dst)) return { kind: 'ignore' };
      const prefix = parsePrefix(e.dst);
      // A local block's blackhole is the full plan's business.
      if (local.has(prefix)) return { kind: 'resync' };
      w.forget(e.dst);
      return { kind: 'rewrite', prefix };
    }
    const hit =
      (e.type === 'route-deleted' && w?.hasWeft(e.dst) === true) ||
      (e.type === 'neigh-deleted' && this.neigh.has(e.address)) ||
      (e.type === 'fdb-deleted' && this.macs.has(e.mac)) ||
      (e.type === 'link-deleted' && this.links.has(e.name));
    return hit ? { kind: 'resync' } : { kind: 'ignore' };
  }
}
