/**
 * The underlay addresses that may send this host VXLAN besides the mesh members (host protection,
 * host-protection.ts): the next hops of the pod blocks the RIB holds from peers. A node is a known
 * VTEP because an authenticated BGP session told us its block lives behind it, as Felix accepts
 * VXLAN from the VTEPs in its datastore. This covers what the mesh list alone misses: a dual-stack
 * node's other-family address (IPv6 blocks next hop its node.address6, carried over weft.vxlan6)
 * and nodes heard through route reflectors.
 *
 * Only prefixes inside a pool are tracked (VXLAN routes are pod blocks; a full Internet table from
 * a ToR is not), keyed by prefix, so the count per next hop cannot drift with the order changes
 * come in.
 */
import type { Prefix } from '../../lib/prefix.js';
import { underlayOfNextHop } from './dataplane-desired.js';
import { prefixContains } from '../../lib/prefix.js';
import type { Change } from '../../rib/loc-rib.js';



export class VtepSources {
  private readonly byPrefix = new Map<Prefix, string>();
  private readonly counts = new Map<string, number>();

  /** Applies RIB changes; true when the set of addresses changed. */
  apply(changes: readonly Change[], pools: readonly Prefix[]): boolean {
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
