/**
 * The ip-driver seam (DESIGN.md "Where the agent layer is going"): everything the data plane asks
 * of the kernel, as one narrow interface. The real driver (iproute2.ts Iproute2Driver) runs
 * iproute2; MemoryKernel (memory-kernel.ts) is a kernel in memory for in-process tests. Nothing
 * outside the iproute2 driver files starts a process.
 *
 * Reads answer with iproute2's JSON (`ip -json ...`, parsed, not yet interpreted): the pure parsers
 * of kernel-state.ts turn it into KernelState for both drivers alike.
 */
import type { LineBuffer } from './line-buffer.js';

export interface BatchError {
  /** The batch line that failed. */
  line: string;
  /** What iproute2 printed for it ("Error: Nexthop has invalid gateway."). */
  message: string;
}

export interface BatchResult {
  lines: number;
  errors: BatchError[];
  ms: number;
}

/** One long-lived `ip -force -batch -` or `bridge -force -batch -` stream. */
export interface BatchStream {
  /**
   * Queues the lines as one batch, after every batch queued before; resolves once all have been
   * applied, listing those that failed (the rest still ran: -force). Rejects when the stream died.
   */
  run(lines: readonly string[] | LineBuffer): Promise<BatchResult>;
  /**
   * Device names are resolved afresh from the next batch on (iproute2 caches name -> ifindex for
   * the life of a process: the real stream is replaced once what is queued has run).
   */
  restart(): void;
  /** Ends the stream once what is queued has run. */
  close(): Promise<void>;
}

/** A deletion seen by a monitor, reduced to what the data plane keys on. */
export type MonitorEvent =
  | { type: 'route-deleted'; dst: string }
  | { type: 'neigh-deleted'; address: string; dev: string }
  | { type: 'fdb-deleted'; mac: string; dev: string }
  | { type: 'link-deleted'; name: string };

/** A running `ip monitor route neigh link` + `bridge monitor fdb`. */
export interface MonitorHandle {
  stop(): void;
}

export interface IpDriver {
  /** A new batch stream for the tool (`ip` for routes, nexthops, links, neighbours; `bridge` for FDB). */
  batch(tool: 'ip' | 'bridge'): BatchStream;
  /** `ip -<family> -json route show table main`: every route of table main. Rejects on failure. */
  routes(family: 4 | 6): Promise<unknown>;
  /**
   * The same listing one route object at a time (at 1M routes the whole listing is ~100 MB of
   * text): each element of the JSON array is handed over and dropped. Rejects on failure.
   */
  streamRoutes(family: 4 | 6, onRoute: (route: unknown) => void): Promise<void>;
  /** `ip -d -json addr show [dev D]` (all devices without `dev`); [] for a missing device. */
  links(dev?: string): Promise<unknown>;
  /** `ip -json neigh show dev D` (both families); [] for a missing device. */
  neighbours(dev: string): Promise<unknown>;
  /** `bridge -json fdb show dev D`; [] for a missing device. */
  fdb(dev: string): Promise<unknown>;
  /** `ip -json nexthop show`; [] where the kernel has no nexthop objects. */
  nexthops(): Promise<unknown>;
  /** `ip -json route get ADDRESS`: the route the kernel would use. Rejects on failure. */
  routeGet(address: string): Promise<unknown>;
  /**
   * Starts watching for deletions (`ip monitor route neigh link`, `bridge monitor fdb`). `onFailure`
   * once a monitor fails or ends by itself (not after stop()).
   */
  monitor(onEvent: (e: MonitorEvent) => void, onFailure: (why: string) => void): MonitorHandle;
}
