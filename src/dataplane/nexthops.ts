/**
 * Nexthop objects (`ip nexthop`, Linux >= 5.3) for direct routes: one object per gateway and
 * device, and each route written as `route replace P nhid N proto 249`. The kernel then skips
 * resolving and validating the gateway for every route: 1M routes through two raw `ip -batch`
 * streams took 7.1 s instead of 8.9 s here (labs/bench). Reading back, such a route still shows
 * its gateway and device (and "nhid"), so the planner and the route index compare it like any
 * other direct route; full plans keep writing the plain `via G dev D` form.
 *
 * Safety: deleting a nexthop object deletes every route using it, without a notification per
 * route. weft therefore never replaces or deletes an object that is not its own (protocol weft),
 * never reuses an id another owner holds, and deletes its own only on withdraw. Ids start high
 * (BASE) to stay clear of zebra's and hand-made ones. An object deleted by someone else is seen
 * by the resync (the objects are part of what it compares) and everything is rewritten.
 */
import type { KernelNexthop } from './kernel-state.js';
import { WEFT_PROTO } from './model.js';

const BASE = 0x77660000;

interface Entry {
  id: number;
  /** ` nhid N proto 249`, the end of a route line. */
  tail: Uint8Array;
  /** Resolves true once the object exists (false: its creation failed; use `via`). */
  ready: Promise<boolean>;
  ok: boolean | undefined;
}

export class NexthopTable {
  private readonly byVia = new Map<string, Entry>();
  private readonly used = new Set<number>();
  private next = BASE;
  /** Lines to create objects first used since the last take(). */
  private pending: { line: string; entry: Entry; settle: (ok: boolean) => void }[] = [];
  /** False once the kernel refused nexthop objects as such (no support): `via` from then on. */
  enabled: boolean;

  constructor(enabled = true) {
    this.enabled = enabled;
  }

  /** Takes over what a kernel read found: weft's objects by gateway and device, every id in use. */
  adopt(found: readonly KernelNexthop[]): void {
    this.byVia.clear();
    this.used.clear();
    this.pending = [];
    for (const n of found) {
      this.used.add(n.id);
      if (n.protocol !== 'weft' && n.protocol !== String(WEFT_PROTO)) continue;
      if (n.gateway === undefined || n.dev === undefined || n.group) continue;
      const key = `${n.gateway}|${n.dev}`;
      if (!this.byVia.has(key)) this.byVia.set(key, { id: n.id, tail: tailOf(n.id), ready: Promise.resolve(true), ok: true });
    }
  }

  /**
   * The object for a gateway on a device, created on first use (its line comes from take(), to
   * be written and acknowledged before any route using it). undefined: write `via` instead.
   */
  get(gateway: string, dev: string): Entry | undefined {
    if (!this.enabled) return undefined;
    const key = `${gateway}|${dev}`;
    let e = this.byVia.get(key);
    if (e === undefined) {
      while (this.used.has(this.next)) this.next++;
      const id = this.next++;
      this.used.add(id);
      let settle!: (ok: boolean) => void;
      const ready = new Promise<boolean>((r) => (settle = r));
      e = { id, tail: tailOf(id), ready, ok: undefined };
      const entry = e;
      this.pending.push({ line: `nexthop replace id ${id} via ${gateway} dev ${dev} proto ${WEFT_PROTO}`, entry, settle: (ok) => ((entry.ok = ok), settle(ok)) });
      this.byVia.set(key, e);
    }
    return e.ok === false ? undefined : e;
  }

  /** The creation lines queued by get(), with what to call once each is applied (or failed). */
  take(): { line: string; settle: (ok: boolean) => void }[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** Whether an object of ours that exists (as far as we know) is not among `found`. */
  missingFrom(found: readonly KernelNexthop[]): boolean {
    const ids = new Set(found.map((n) => n.id));
    for (const e of this.byVia.values()) if (e.ok === true && !ids.has(e.id)) return true;
    return false;
  }

  /** `nexthop del` lines for every object of ours (withdraw, after the routes). */
  deleteLines(): string[] {
    return [...this.byVia.values()].filter((e) => e.ok !== false).map((e) => `nexthop del id ${e.id}`);
  }
}

function tailOf(id: number): Uint8Array {
  return Buffer.from(` nhid ${id} proto ${WEFT_PROTO}`, 'latin1');
}
