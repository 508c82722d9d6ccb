/**
 * The kernel state the data plane expects between full reads, indexed by prefix so that a pass
 * with only per-prefix route changes plans just those prefixes: O(changes) per pass instead of
 * O(routes) (at 1M routes arriving in thousands of small batches, re-planning the whole table each
 * time was quadratic). Full plans (start, device or local block changes, VXLAN routes, whose FDB
 * and neighbour entries are shared between routes) still go through planner.ts plan(); their
 * expected state is indexed here afterwards. Resyncs stream the kernel's routes past the index
 * (verifier()) instead of reading them into memory.
 *
 * Compact: a weft route is one PrefixMap entry, prefix -> an interned "route key" (type, gateway,
 * dev, onlink, multipath) shared by every route of the same shape: no object per route.
 */
import { PrefixMap } from '../lib/prefix-map.js';
import { formatPrefix, parsePrefix, type Prefix } from '../lib/prefix.js';
import { isWeftRoute, type KernelRoute, type KernelState } from './kernel-state.js';
import type { DesiredState, RemoteRoute } from './model.js';
import { asKernelRoute, directSpec, routeDelLine, routeLine, routeMatches, type PlanLine, type RouteSpec } from './planner.js';

type Template = Omit<KernelRoute, 'dst'>;

/** A desired route's kernel form without its prefix, worked out once per RemoteRoute object. */
export interface Fast {
  /** The route key the kernel route will have. */
  key: string;
  /** The `route replace` line after the prefix, as bytes. */
  tail: Uint8Array;
  /** A plain gateway on a device (no onlink): the route may use a nexthop object instead. */
  via?: { gateway: string; dev: string };
}

/** Where planRoutes puts its lines (the data plane: straight into the `ip` streams' buffers). */
export interface RouteLineSink {
  /** `route replace <p><f.tail>`: the common case, written without building a string. */
  replace(p: Prefix, f: Fast): void;
  /** Any other line for prefix p. */
  line(p: Prefix, stage: 'route' | 'delete', line: string): void;
}

/** Collects the lines as PlanLines, replaces first, then deletes (as plan() orders them). */
class Collector implements RouteLineSink {
  readonly routes: PlanLine[] = [];
  readonly deletes: PlanLine[] = [];
  replace(p: Prefix, f: Fast): void {
    this.routes.push({ tool: 'ip', stage: 'route', line: `route replace ${formatPrefix(p)}${Buffer.from(f.tail).toString('latin1')}` });
  }
  line(_p: Prefix, stage: 'route' | 'delete', line: string): void {
    (stage === 'route' ? this.routes : this.deletes).push({ tool: 'ip', stage, line });
  }
}

function prefixOf(dst: string): Prefix | undefined {
  try {
    return parsePrefix(dst);
  } catch {
    return undefined;
  }
}

/** The route key of a weft route: its kernel form without prefix (and protocol: always weft). */
function keyOf(r: KernelRoute): string {
  const hops = r.hops ? r.hops.map((h) => `${h.gateway ?? ''}@${h.dev ?? ''}`).join(',') : '';
  return `${r.type}|${r.gateway ?? ''}|${r.dev ?? ''}|${r.onlink ? 1 : 0}|${r.multipath ? 1 : 0}|${hops}`;
}

/** planRoutes' answer: the lines, and whether some prefixes were left for a full plan. */
export interface RoutePlan {
  /** The lines, when no sink was given. */
  lines: PlanLine[];
  /** A VXLAN route (old or new) was among the prefixes: not planned here, a full plan must follow. */
  needFull: boolean;
}

export class RouteIndex {
  /** weft's routes at metric 0: prefix -> route key. */
  private readonly weft = new PrefixMap<string>();
  /** Other owners' routes at metric 0 (the slot weft leaves alone): prefix -> protocol. */
  private readonly foreign = new PrefixMap<string>();
  /** Routes per route key (for counts by shape without a walk). */
  private readonly perKey = new Map<string, number>();
  /** Fast forms of the desired routes seen, valid for one DesiredState (its devices). */
  private fast = new WeakMap<RemoteRoute, Fast | null>();
  private fastFor: DesiredState | undefined;
  /** Every route not in `weft`, as read or expected. */
  private readonly others: KernelRoute[] = [];
  private readonly keys = new Map<string, { key: string; t: Template }>();

  private constructor(private readonly rest: Omit<KernelState, 'routes'>) {}

  /** Indexes an expected state (planner.ts plan()'s `expected`). */
  static from(expected: KernelState): RouteIndex {
    const ix = new RouteIndex({ fdb: expected.fdb, neigh: expected.neigh, links: expected.links, ...(expected.connected ? { connected: expected.connected } : {}) });
    for (const r of expected.routes) {
      const p = r.metric === 0 ? prefixOf(r.dst) : undefined;
      if (p !== undefined && isWeftRoute(r) && !ix.weft.has(p)) {
        ix.put(p, ix.intern(r));
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

  /** A weft route `dst` is gone from the kernel: no longer expected. Its prefix, if it was. */
  forget(dst: string): Prefix | undefined {
    const p = prefixOf(dst);
    if (p === undefined || !this.weft.has(p)) return undefined;
    this.drop(p);
    return p;
  }

  /** weft's expected routes at metric 0 by kind: blackhole, or the device of the route. */
  countByDevice(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, n] of this.perKey) {
      if (n === 0) continue;
      const t = this.keys.get(k)!.t;
      const what = t.type === 'blackhole' ? 'blackhole' : (t.dev ?? '');
      out.set(what, (out.get(what) ?? 0) + n);
    }
    return out;
  }

  private put(p: Prefix, key: string): void {
    const old = this.weft.get(p);
    if (old === key) return;
    if (old !== undefined) this.perKey.set(old, this.perKey.get(old)! - 1);
    this.weft.set(p, key);
    this.perKey.set(key, (this.perKey.get(key) ?? 0) + 1);
  }

  private drop(p: Prefix): void {
    const old = this.weft.get(p);
    if (old === undefined) return;
    this.perKey.set(old, this.perKey.get(old)! - 1);
    this.weft.delete(p);
  }

  /** The fast form of a desired direct or IP-in-IP route whose device is known (else null). */
  private fastOf(r: RemoteRoute, desired: DesiredState): Fast | null {
    if (this.fastFor !== desired) {
      this.fast = new WeakMap();
      this.fastFor = desired;
    }
    let f = this.fast.get(r);
    if (f !== undefined) return f;
    const spec = specOf(r, '', desired, this.rest.connected);
    f = null;
    if (typeof spec !== 'string' && spec.dev !== undefined && !spec.hops) {
      const line = routeLine(spec);
      f = { key: this.intern(asKernelRoute(spec, undefined)), tail: Buffer.from(line.slice('route replace '.length), 'latin1') };
      if (spec.type === 'unicast' && !spec.onlink && spec.gateway !== undefined) f.via = { gateway: spec.gateway, dev: spec.dev };
    }
    this.fast.set(r, f);
    return f;
  }

  /** The whole expected state again (one object per route: for a full plan only). */
  toKernelState(): KernelState {
    const routes = [...this.others];
    for (const [p, key] of this.weft) routes.push({ ...this.keys.get(key)!.t, dst: formatPrefix(p) });
    const k: KernelState = { routes, fdb: this.rest.fdb, neigh: this.rest.neigh, links: this.rest.links };
    if (this.rest.connected) k.connected = this.rest.connected;
    return k;
  }

  /**
   * Lines for the changed prefixes (`want`: the desired route now, undefined = none), as plan()
   * would write them: replaces first, then deletes. The index becomes the state expected after
   * them; `problems` (by prefix text) is updated for these prefixes. No VXLAN route may be among
   * them (old or new): those need plan().
   */
  planRoutes(
    changed: Iterable<Prefix>,
    want: (p: Prefix) => RemoteRoute | undefined,
    desired: DesiredState,
    local: ReadonlySet<Prefix>,
    problems: Map<string, string>,
    sink?: RouteLineSink,
  ): RoutePlan {
    const collector = sink ? undefined : new Collector();
    const out = sink ?? collector!;
    const vxlanDevs = [desired.vxlan?.device, desired.vxlan6?.device, ...(desired.vxlanOther ?? []).map((d) => d.device)].filter((d): d is string => d !== undefined);
    let needFull = false;
    for (const p of changed) {
      const r = want(p);
      const key = this.weft.get(p);
      if (r?.shape === 'vxlan' || (key !== undefined && vxlanDevs.includes(this.keys.get(key)!.t.dev ?? ''))) {
        // Its FDB and neighbour entries are shared with other routes: a full plan.
        needFull = true;
        continue;
      }
      // The common case first: a direct or IP-in-IP route whose line and key are known, where
      // weft already has a route (replaced unless it is the same) or no other owner has one.
      const f = r && !local.has(p) ? this.fastOf(r, desired) : null;
      if (f && (key !== undefined || !this.foreign.has(p))) {
        if (problems.size > 0) problems.delete(formatPrefix(p));
        if (key === f.key) continue;
        out.replace(p, f);
        this.put(p, f.key);
        continue;
      }
      const dst = formatPrefix(p);
      problems.delete(dst);
      if (local.has(p)) {
        // The blackhole is the full plan's business; a route for one of our blocks is not written.
        if (r) problems.set(dst, `${dst}: is a local block; route via ${r.node.name} not written`);
        continue;
      }
      const have = key === undefined ? undefined : { ...this.keys.get(key)!.t, dst };
      const spec = r ? specOf(r, dst, desired, this.rest.connected) : undefined;
      if (typeof spec === 'string') problems.set(dst, spec);
      if (spec === undefined || typeof spec === 'string') {
        if (have) {
          out.line(p, 'delete', routeDelLine(have));
          this.drop(p);
        }
        continue;
      }
      const other = this.foreign.get(p);
      if (!have && other !== undefined) {
        problems.set(dst, `${dst}: a proto ${other} route is already there; weft leaves it alone`);
        continue;
      }
      if (have && routeMatches(have, spec)) continue;
      out.line(p, 'route', routeLine(spec));
      this.put(p, this.intern(asKernelRoute(spec, have?.dev)));
    }
    return { lines: collector ? collector.routes.concat(collector.deletes) : [], needFull };
  }

  /**
   * Checks a kernel read against the expected state without holding it: check() each route as it
   * streams in, then end(). A weft route that differs from the expectation (or is one weft does
   * not expect) becomes the expectation for its prefix and is listed in `changed`, so that an
   * incremental plan of those prefixes repairs them; a new foreign route in a slot likewise.
   * What such a plan cannot repair makes end() answer `complete: false` (a full plan is needed):
   * an expected route missing, a foreign route gone, a weft route at another metric, a changed
   * blackhole of a local block.
   */
  verifier(local: ReadonlySet<Prefix>): { check(r: KernelRoute): void; end(): { complete: boolean; changed: Prefix[]; why?: string } } {
    const expected = this.weft.size;
    const foreignExpected = this.foreign.size;
    let seen = 0;
    let foreignSeen = 0;
    let why: string | undefined;
    const changed: Prefix[] = [];
    return {
      check: (r) => {
        if (why !== undefined) return;
        const weft = isWeftRoute(r);
        if (r.metric !== 0) {
          if (weft) why = `weft route ${r.dst} at metric ${r.metric}`;
          return;
        }
        const p = prefixOf(r.dst);
        if (p === undefined) return;
        if (!weft) {
          if (this.foreign.get(p) === r.protocol) foreignSeen++;
          else if (!this.weft.has(p)) {
            this.foreign.set(p, r.protocol);
            changed.push(p);
          }
          return;
        }
        const have = this.weft.get(p);
        if (have !== undefined) seen++;
        if (have === keyOf(r)) return;
        if (local.has(p)) why = `local block ${r.dst} changed`;
        this.put(p, this.intern(r));
        changed.push(p);
      },
      end: () => {
        if (why === undefined && seen < expected) why = `${expected - seen} expected routes missing`;
        if (why === undefined && foreignSeen < foreignExpected) why = `${foreignExpected - foreignSeen} foreign routes gone`;
        return why === undefined ? { complete: true, changed } : { complete: false, changed, why };
      },
    };
  }

  private intern(r: KernelRoute): string {
    const k = keyOf(r);
    const have = this.keys.get(k);
    if (have) return have.key;
    const t: Template = { type: r.type, onlink: r.onlink, protocol: r.protocol, metric: 0, multipath: r.multipath };
    if (r.hops) t.hops = r.hops.map((h) => ({ ...h }));
    if (r.gateway !== undefined) t.gateway = r.gateway;
    if (r.dev !== undefined) t.dev = r.dev;
    this.keys.set(k, { key: k, t });
    return k;
  }
}

/** The kernel route for a direct or IP-in-IP route (as plan() builds it), or why there is none. */
function specOf(r: RemoteRoute, dst: string, desired: DesiredState, connected: KernelState['connected']): RouteSpec | string {
  switch (r.shape) {
    case 'direct':
      return directSpec(dst, r.nexthops ?? [r.node], connected, desired.underlayDevice);
    case 'ipip':
      if (!desired.ipip) return `${dst}: shape ipip via ${r.node.name} but no IP-in-IP device is configured`;
      return { dst, type: 'unicast', gateway: r.node.underlayAddress, dev: desired.ipip.device, onlink: true };
    case 'vxlan':
      return `${dst}: a VXLAN route needs a full plan`;
  }
}
