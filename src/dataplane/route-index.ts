/**
 * The kernel state the data plane expects between full reads, indexed by prefix so that a pass
 * with only per-prefix route changes plans just those prefixes: O(changes) per pass instead of
 * O(routes) (at 1M routes arriving in thousands of small batches, re-planning the whole table each
 * time was quadratic). Full plans (start, resync, device or local block changes, VXLAN routes,
 * whose FDB and neighbour entries are shared between routes) still go through planner.ts plan();
 * their expected state is indexed here afterwards.
 *
 * Compact: a weft route is one Map entry, Prefix -> an interned "route key" (type, gateway, dev,
 * onlink, multipath) shared by every route of the same shape: no object per route.
 */
import { formatPrefix, parsePrefix, type Prefix } from '../lib/prefix.js';
import { isWeftRoute, type KernelRoute, type KernelState } from './kernel-state.js';
import type { DesiredState, RemoteRoute } from './model.js';
import { asKernelRoute, routeDelLine, routeLine, routeMatches, type PlanLine, type RouteSpec } from './planner.js';

type Template = Omit<KernelRoute, 'dst'>;

function prefixOf(dst: string): Prefix | undefined {
  try {
    return parsePrefix(dst);
  } catch {
    return undefined;
  }
}

export class RouteIndex {
  /** weft's routes at metric 0: prefix -> route key. */
  private readonly weft = new Map<Prefix, string>();
  /** Other owners' routes at metric 0 (the slot weft leaves alone): prefix -> protocol. */
  private readonly foreign = new Map<Prefix, string>();
  /** Every route not in `weft`, as read or expected. */
  private readonly others: KernelRoute[] = [];
  private readonly keys = new Map<string, { key: string; t: Template }>();

  private constructor(private readonly rest: Omit<KernelState, 'routes'>) {}

  /** Indexes an expected state (planner.ts plan()'s `expected`). */
  static from(expected: KernelState): RouteIndex {
    const ix = new RouteIndex({ fdb: expected.fdb, neigh: expected.neigh, links: expected.links });
    for (const r of expected.routes) {
      const p = r.metric === 0 ? prefixOf(r.dst) : undefined;
      if (p !== undefined && isWeftRoute(r) && !ix.weft.has(p)) {
        ix.weft.set(p, ix.intern(r));
        continue;
      }
      if (p !== undefined && !isWeftRoute(r)) ix.foreign.set(p, r.protocol);
      ix.others.push(r);
    }
    return ix;
  }

  get fdb(): KernelState['fdb'] {
    return this.rest.fdb;
  }

  get neigh(): KernelState['neigh'] {
    return this.rest.neigh;
  }

  /** Whether a deleted route `dst` ("10.0.9.0/24") is one of weft's expected routes. */
  hasWeft(dst: string): boolean {
    const p = prefixOf(dst);
    return p !== undefined && this.weft.has(p);
  }

  get size(): number {
    return this.weft.size;
  }

  /** The whole expected state again (one object per route: for a full plan only). */
  toKernelState(): KernelState {
    const routes = [...this.others];
    for (const [p, key] of this.weft) routes.push({ ...this.keys.get(key)!.t, dst: formatPrefix(p) });
    return { routes, fdb: this.rest.fdb, neigh: this.rest.neigh, links: this.rest.links };
  }

  /**
   * Lines for the changed prefixes (`want`: the desired route now, undefined = none), as plan()
   * would write them: replaces first, then deletes. The index becomes the state expected after
   * them; `problems` (by prefix text) is updated for these prefixes. No VXLAN route may be among
   * them (old or new): those need plan().
   */
  planRoutes(changed: Iterable<Prefix>, want: (p: Prefix) => RemoteRoute | undefined, desired: DesiredState, local: ReadonlySet<Prefix>, problems: Map<string, string>): PlanLine[] {
    const routes: PlanLine[] = [];
    const deletes: PlanLine[] = [];
    for (const p of changed) {
      const dst = formatPrefix(p);
      const r = want(p);
      problems.delete(dst);
      if (local.has(p)) {
        // The blackhole is the full plan's business; a route for one of our blocks is not written.
        if (r) problems.set(dst, `${dst}: is a local block; route via ${r.node.name} not written`);
        continue;
      }
      const key = this.weft.get(p);
      const have = key === undefined ? undefined : { ...this.keys.get(key)!.t, dst };
      const spec = r ? specOf(r, dst, desired) : undefined;
      if (typeof spec === 'string') problems.set(dst, spec);
      if (spec === undefined || typeof spec === 'string') {
        if (have) {
          deletes.push({ tool: 'ip', stage: 'delete', line: routeDelLine(have) });
          this.weft.delete(p);
        }
        continue;
      }
      const other = this.foreign.get(p);
      if (!have && other !== undefined) {
        problems.set(dst, `${dst}: a proto ${other} route is already there; weft leaves it alone`);
        continue;
      }
      if (have && routeMatches(have, spec)) continue;
      routes.push({ tool: 'ip', stage: 'route', line: routeLine(spec) });
      this.weft.set(p, this.intern(asKernelRoute(spec, have?.dev)));
    }
    return routes.concat(deletes);
  }

  private intern(r: KernelRoute): string {
    const k = `${r.type}|${r.gateway ?? ''}|${r.dev ?? ''}|${r.onlink ? 1 : 0}|${r.multipath ? 1 : 0}|${r.protocol}`;
    const have = this.keys.get(k);
    if (have) return have.key;
    const t: Template = { type: r.type, onlink: r.onlink, protocol: r.protocol, metric: 0, multipath: r.multipath };
    if (r.gateway !== undefined) t.gateway = r.gateway;
    if (r.dev !== undefined) t.dev = r.dev;
    this.keys.set(k, { key: k, t });
    return k;
  }
}

/** The kernel route for a direct or IP-in-IP route (as plan() builds it), or why there is none. */
function specOf(r: RemoteRoute, dst: string, desired: DesiredState): RouteSpec | string {
  switch (r.shape) {
    case 'direct':
      return { dst, type: 'unicast', gateway: r.node.underlayAddress, dev: desired.underlayDevice, onlink: false };
    case 'ipip':
      if (!desired.ipip) return `${dst}: shape ipip via ${r.node.name} but no IP-in-IP device is configured`;
      return { dst, type: 'unicast', gateway: r.node.underlayAddress, dev: desired.ipip.device, onlink: true };
    case 'vxlan':
      throw new Error(`${dst}: a VXLAN route needs a full plan`);
  }
}
