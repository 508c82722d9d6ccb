/**
 * What a Dataplane converges to: the devices, underlay and local blocks (`base`), and the remote
 * routes, asked for per prefix (incremental passes) or all at once (full plans). The routes come
 * from a RouteSource: the agent's (its bridge answers from the Loc-RIB, so no table of routes is
 * kept here), or by default the table kept here from setDesired's routes and updateRoutes'
 * per-prefix changes.
 */
import type { Prefix } from '../lib/prefix.js';
import { VXLAN6_DEVICE, VXLAN_DEVICE, IPIP_DEVICE, type DesiredState, type RemoteRoute } from './model.js';

/** Where the desired remote routes come from (see Dataplane.useSource). */
export interface RouteSource {
  /** The desired remote route for a prefix now (undefined: none). Its `prefix` is not read. */
  want(p: Prefix): RemoteRoute | undefined;
  /** The whole desired state, every route with its own prefix (for a full plan). */
  state(): DesiredState;
}

export class DesiredRoutes {
  /** Everything but the routes (`routes` is always []). A new object on every set(). */
  base: DesiredState = { localBlocks: [], routes: [] };
  local = new Set<Prefix>();
  /** The routes by prefix, when no external source is used. */
  readonly table = new Map<Prefix, RemoteRoute>();
  private external: RouteSource | undefined;

  /** A new state; its routes replace the table's (the first route of a prefix given twice wins). */
  set(state: DesiredState): void {
    this.base = { ...state, routes: [] };
    this.local = new Set(state.localBlocks);
    if (this.external) return;
    this.table.clear();
    for (const r of state.routes) if (!this.table.has(r.prefix)) this.table.set(r.prefix, r);
  }

  /** Per-prefix changes of the table (undefined: no route); whether a VXLAN route was among them. */
  update(changes: Iterable<readonly [Prefix, RemoteRoute | undefined]>, changed: (p: Prefix) => void): boolean {
    let vxlan = false;
    for (const [p, r] of changes) {
      if (this.table.get(p)?.shape === 'vxlan' || r?.shape === 'vxlan') vxlan = true;
      if (r) this.table.set(p, r);
      else this.table.delete(p);
      changed(p);
    }
    return vxlan;
  }

  /** Routes from `source` from now on (undefined: the table again, emptied). */
  use(source: RouteSource | undefined): void {
    this.external = source;
    this.table.clear();
  }

  want(p: Prefix): RemoteRoute | undefined {
    return this.external ? this.external.want(p) : this.table.get(p);
  }

  /** The desired state with every route (for a full plan). */
  whole(): DesiredState {
    if (this.external) return this.external.state();
    const routes: RemoteRoute[] = [];
    for (const [p, r] of this.table) routes.push(r.prefix === p ? r : { ...r, prefix: p });
    return { ...this.base, routes };
  }

  /** The tunnel devices weft manages (their names as configured, else the defaults). */
  get devices(): string[] {
    return [...this.vxlanDevices, this.base.ipip?.device ?? IPIP_DEVICE];
  }

  /** The VXLAN devices (over IPv4, over IPv6): their FDB and neighbours are read too. */
  get vxlanDevices(): string[] {
    return [this.base.vxlan?.device ?? VXLAN_DEVICE, this.base.vxlan6?.device ?? VXLAN6_DEVICE, ...(this.base.vxlanOther ?? []).map((d) => d.device)];
  }
}
