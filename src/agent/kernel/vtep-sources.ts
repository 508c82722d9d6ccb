/**
 * The underlay addresses that may send this host VXLAN besides the mesh members (host protection,
 * host-protection.ts): the next hops of the pod blocks the RIB holds from peers. A node is a known
 * VTEP because an authenticated BGP session told us its block lives behind it, as Felix accepts
 * VXLAN from the VTEPs in its datastore. This covers what the mesh list alone misses: a dual-stack
 * node's other-family address (IPv6 blocks next hop its node.address6, carried over weft.vxlan6)
 * and nodes heard through route reflectors.
 *
 * Only prefixes inside a pool that may use VXLAN are tracked (vxlanPools: tunnel vxlan,
 * encapsulation other than never): VXLAN routes are pod blocks of such pools; a full Internet
 * table from a ToR, or the blocks of a natively routed pool, bring no VTEP, and tracking them cost
 * ~1.3 us and a map entry per prefix (1.3 s of CPU and tens of MiB at 1M routes in a never pool,
 * bench 2026-12-06). They are keyed by prefix, so the count per next hop cannot drift with the
 * order changes come in.
 */
import type { Prefix } from '../../lib/prefix.js';
import { underlayOfNextHop } from './dataplane-desired.js';
import { prefixContains } from '../../lib/prefix.js';
import type { Change } from '../../rib/loc-rib.js';

interface PoolLike {
  cidr: Prefix;
  encapsulation: string;
  tunnel: string;
}

const vxlanCache = new WeakMap<readonly PoolLike[], Prefix[]>();

/** The pools whose blocks may be reached over VXLAN (as decideRoute decides), once per pools array. */
export function vxlanPools(pools: readonly PoolLike[]): Prefix[] {
  let v = vxlanCache.get(pools);
  if (!v) vxlanCache.set(pools, (v = pools.filter((p) => p.encapsulation !== 'never' && p.tunnel === 'vxlan').map((p) => p.cidr)));
  return v;
}

export class VtepSources {
  private readonly byPrefix = new Map<Prefix, string>();
  private readonly counts = new Map<string, number>();

  /** Applies RIB changes; true when the set of addresses changed. */
  apply(changes: readonly Change[], pools: readonly Prefix[]): boolean {
    // Nothing tracked and nothing to track: a table learned with no VXLAN pool configured.
    if (pools.length === 0 && this.byPrefix.size === 0) return false;
    let changed = false;
    for (const c of changes) {
      const b = c.best;
      const next = b && b.source === 'peer' && pools.some((p) => prefixContains(p, c.prefix)) ? underlayOfNextHop(b.attrs.nextHop) : undefined;
      const prev = this.byPrefix.get(c.prefix);
      if (prev === next) continue;
      if (prev !== undefined) {
        const n = (this.counts.get(prev) ?? 1) - 1;
        if (n <= 0) {
          this.counts.delete(prev);
          changed = true;
        } else this.counts.set(prev, n);
        this.byPrefix.delete(c.prefix);
      }
      if (next !== undefined && next !== '') {
        const n = this.counts.get(next) ?? 0;
        if (n === 0) changed = true;
        this.counts.set(next, n + 1);
        this.byPrefix.set(c.prefix, next);
      }
    }
    return changed;
  }

  addresses(): string[] {
    return [...this.counts.keys()];
  }
}
