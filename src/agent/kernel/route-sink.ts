/**
 * The data-plane hand-off: the agent turns every best-path change of the Loc-RIB into a desired
 * route change and gives it to a RouteSink. The kernel data plane (src/dataplane, reconcile with
 * iproute2) is one sink; this file has the two the agent and the tests use until then.
 *
 * A change for a prefix replaces what was desired for it before: `add` means "the prefix should
 * now go via nextHop" (whatever it went via until now), `remove` means "no route any more".
 * Locally originated blocks have source 'local' (the data plane installs a blackhole for them).
 */
import type { Logger } from 'pino';
import { formatPrefix } from '../../lib/prefix.js';
import type { Change } from '../../rib/loc-rib.js';
import { logEvent } from '../observability/log-events.js';

export interface DesiredRouteChange {
  action: 'add' | 'remove';
  /** Canonical prefix text ("10.244.3.0/26"). */
  prefix: string;
  /** The best path's NEXT_HOP ('' for own blocks); for a removal, the last one. */
  nextHop: string;
  /** The peer the best path came from (its configured name), '<local>' for own blocks. */
  peer: string;
  /** The peer's address ('' for own blocks). */
  peerAddress: string;
  source: 'local' | 'peer';
}

/**
 * Sinks get the Loc-RIB's own Change objects (a new best path, or the same best path with a new
 * multipath set: rib.multipath(prefix) has the ECMP set): at 1M routes a table arriving
 * must not cost an object and a prefix string per route before the data plane sees it. A sink
 * that wants the text form calls describeChange().
 */
export interface RouteSink {
  apply(changes: readonly Change[]): void;
  close?(): void;
}

/** A best-path change as a desired route change (text prefix, next hop, peer). */
export function describeChange(c: Change): DesiredRouteChange {
  const p = c.best ?? c.previous!;
  return {
    action: c.best ? 'add' : 'remove',
    prefix: formatPrefix(c.prefix),
    nextHop: p.source === 'local' ? '' : p.attrs.nextHop,
    peer: p.peer.id,
    peerAddress: p.source === 'local' ? '' : p.peer.address,
    source: p.source,
  };
}

/** Logs each change (debug for own blocks, info for learned routes). */
export class LoggingSink implements RouteSink {
  constructor(private readonly log: Logger) {}

  apply(changes: readonly Change[]): void {
    if (!this.log.isLevelEnabled('debug')) return;
    for (const c of changes) logEvent(this.log, 'route.desired', { ...describeChange(c) });
  }
}

/** Keeps every change and the resulting desired table: for tests and `weft routes`. */
export class RecordingSink implements RouteSink {
  readonly history: DesiredRouteChange[] = [];
  readonly table = new Map<string, DesiredRouteChange>();

  apply(changes: readonly Change[]): void {
    for (const change of changes) {
      const c = describeChange(change);
      this.history.push(c);
      if (c.action === 'add') this.table.set(c.prefix, c);
      else this.table.delete(c.prefix);
    }
  }
}

/** Gives every change to each sink in turn. */
export class TeeSink implements RouteSink {
  constructor(private readonly sinks: readonly RouteSink[]) {}

  apply(changes: readonly Change[]): void {
    for (const s of this.sinks) s.apply(changes);
  }

  close(): void {
    for (const s of this.sinks) s.close?.();
  }
}
