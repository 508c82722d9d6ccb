/**
 * The data plane: holds the desired state and keeps the kernel equal to it (DESIGN.md "Reconcile,
 * don't replay").
 *
 * - start(): reads the kernel, adopts what already matches, writes what is missing, removes only
 *   stale weft entries (no flush: a restart changes nothing that is already right).
 * - setDesired(): changes within `batchWindowMs` become one batch. Between full reads the planner
 *   works from the state expected after the last batch (a cache, as felix does); a batch with an
 *   error drops the cache so the next pass reads the kernel again.
 * - Drift: `ip monitor` / `bridge monitor` report deletions; one of a desired route, neighbour,
 *   FDB entry or device triggers a full resync. A periodic full resync (`resyncIntervalMs`)
 *   catches everything else (a route replaced by hand, say).
 * - stop({withdraw}): by default leaves the kernel as it is (traffic keeps flowing while the agent
 *   restarts); withdraw removes every weft route, entry and the VXLAN device.
 */
import { EventEmitter } from 'node:events';
import { BatchProcess, type BatchError } from './iproute2-batch.js';
import { KernelMonitor, readKernel, type MonitorEvent } from './iproute2.js';
import { isWeftRoute, type KernelState } from './kernel-state.js';
import { IPIP_DEVICE, VXLAN_DEVICE, type DesiredState } from './model.js';
import { plan, type Plan, type PlanLine } from './planner.js';

export interface DataplaneOptions {
  /** Network namespace to work in (`ip -n NS`). */
  netns?: string;
  /** Changes arriving within this window become one batch. Default 10 ms. */
  batchWindowMs?: number;
  /** Full resync period; 0 = none. Default 10 s. */
  resyncIntervalMs?: number;
  /** Watch for deletions with ip/bridge monitor. Default true. */
  monitor?: boolean;
}

export interface DataplaneStats {
  batches: number;
  linesApplied: number;
  lineErrors: number;
  fullReads: number;
  lastError?: string;
  /** Desired entries not written, from the last plan (foreign route in the way, ...). */
  problems: string[];
}

/** One applied batch, for logs and tests. */
export interface BatchRecord {
  full: boolean;
  lines: PlanLine[];
  errors: BatchError[];
  ms: number;
}

export interface DataplaneEvents {
  error: [Error];
  batch: [BatchRecord];
}

const RELINK = /^link (add|del) /;
const EMPTY: DesiredState = { localBlocks: [], routes: [] };

export class Dataplane extends EventEmitter<DataplaneEvents> {
  readonly stats: DataplaneStats = { batches: 0, linesApplied: 0, lineErrors: 0, fullReads: 0, problems: [] };
  private desired: DesiredState = EMPTY;
  private cache: KernelState | undefined;
  private readonly ip: BatchProcess;
  private readonly bridge: BatchProcess;
  private monitor: KernelMonitor | undefined;
  private timer: NodeJS.Timeout | undefined;
  private interval: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  private needFull = false;
  private started = false;
  private waiters: (() => void)[] = [];
  private watched = { dsts: new Set<string>(), neigh: new Set<string>(), macs: new Set<string>(), links: new Set<string>() };
  private readonly window: number;
  /** "device:ifindex ..." of the managed devices at the last full read. */
  private indexes: string | undefined;

  constructor(private readonly opts: DataplaneOptions = {}) {
    super();
    this.ip = new BatchProcess('ip', opts.netns);
    this.bridge = new BatchProcess('bridge', opts.netns);
    this.window = opts.batchWindowMs ?? 10;
  }

  /** The state to converge to; applied after the batch window (or at start()). */
  setDesired(state: DesiredState): void {
    this.desired = state;
    if (this.started) this.kick(false);
  }

  /** Adopts the kernel's state and applies the desired one; resolves after the first batch. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.opts.monitor ?? true) {
      this.monitor = new KernelMonitor(this.opts, (e) => this.onMonitor(e), (why) => this.fail(new Error(why)));
      this.monitor.start();
    }
    const every = this.opts.resyncIntervalMs ?? 10_000;
    if (every > 0) {
      this.interval = setInterval(() => this.kick(true), every);
      this.interval.unref();
    }
    this.kick(true, 0);
    await this.flush();
  }

  /** Resolves once everything set so far has been applied. */
  flush(): Promise<void> {
    if (!this.dirty && !this.running && !this.timer) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /** Reads the kernel and repairs whatever differs; resolves when done. */
  resync(): Promise<void> {
    this.kick(true, 0);
    return this.flush();
  }

  async stop(opts: { withdraw?: boolean } = {}): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.monitor?.stop();
    clearInterval(this.interval);
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    if (opts.withdraw) {
      this.desired = EMPTY;
      try {
        await this.pass(true);
      } catch (err) {
        this.fail(err as Error);
      }
    }
    this.dirty = false;
    this.release();
    await Promise.all([this.ip.close(), this.bridge.close()]);
  }

  private kick(full: boolean, delay = this.window): void {
    if (full) this.needFull = true;
    this.dirty = true;
    if (this.running) return; // the loop picks it up
    if (this.timer && delay > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.loop(), delay);
  }

  private async loop(): Promise<void> {
    this.timer = undefined;
    if (this.running) return;
    this.running = (async () => {
      while (this.dirty && this.started) {
        this.dirty = false;
        const full = this.needFull || this.cache === undefined;
        this.needFull = false;
        try {
          await this.pass(full);
        } catch (err) {
          this.cache = undefined;
          this.fail(err as Error);
        }
      }
    })();
    await this.running;
    this.running = undefined;
    if (this.dirty && this.started) this.kick(false);
    else this.release();
  }

  private restartBatchers(): void {
    this.ip.restart();
    this.bridge.restart();
  }

  private release(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** One reconcile pass: (read), plan, apply the lines in runs of the same tool, in order. */
  private async pass(full: boolean): Promise<void> {
    const devices = [this.desired.vxlan?.device ?? VXLAN_DEVICE, this.desired.ipip?.device ?? IPIP_DEVICE];
    let kernel = this.cache;
    if (full || !kernel) {
      kernel = await readKernel(this.opts, devices[0], devices);
      this.stats.fullReads++;
      // A managed device that is gone or has a new index: iproute2's name cache is stale.
      const indexes = devices.map((d) => `${d}:${kernel?.links[d]?.ifindex ?? '-'}`).join(' ');
      if (this.indexes !== undefined && indexes !== this.indexes) this.restartBatchers();
      this.indexes = indexes;
    }
    const p = plan(kernel, this.desired);
    this.stats.problems = p.problems;
    this.watch(p);
    if (p.lines.length === 0) {
      this.cache = p.expected;
      return;
    }
    const started = performance.now();
    const errors: BatchError[] = [];
    // Runs of lines for the same tool, in order; a run ends after a `link add`/`link del`, and
    // the processes are restarted there so later lines resolve device names afresh.
    for (let i = 0; i < p.lines.length; ) {
      const tool = p.lines[i].tool;
      let j = i;
      let relink = false;
      while (j < p.lines.length && p.lines[j].tool === tool && !relink) relink = RELINK.test(p.lines[j++].line);
      const r = await (tool === 'ip' ? this.ip : this.bridge).run(p.lines.slice(i, j).map((l) => l.line));
      errors.push(...r.errors);
      if (relink) {
        this.restartBatchers();
        this.indexes = undefined;
      }
      i = j;
    }
    this.stats.batches++;
    this.stats.linesApplied += p.lines.length - errors.length;
    this.stats.lineErrors += errors.length;
    const record: BatchRecord = { full, lines: p.lines, errors, ms: performance.now() - started };
    this.emit('batch', record);
    if (errors.length) {
      // The kernel is not what we expected: read it again on the next pass.
      this.cache = undefined;
      const e = errors[0];
      this.fail(new Error(`${errors.length} of ${p.lines.length} lines failed; first: "${e.line}": ${e.message}`));
    } else {
      this.cache = p.expected;
    }
  }

  /** What a monitored deletion must concern to need a resync. */
  private watch(p: Plan): void {
    const w = { dsts: new Set<string>(), neigh: new Set<string>(), macs: new Set<string>(), links: new Set<string>() };
    for (const r of p.expected.routes) if (isWeftRoute(r)) w.dsts.add(r.dst);
    for (const n of p.expected.neigh) w.neigh.add(n.address);
    for (const f of p.expected.fdb) w.macs.add(f.mac);
    if (this.desired.vxlan) w.links.add(this.desired.vxlan.device);
    if (this.desired.ipip) w.links.add(this.desired.ipip.device);
    this.watched = w;
  }

  private onMonitor(e: MonitorEvent): void {
    const w = this.watched;
    const hit =
      (e.type === 'route-deleted' && w.dsts.has(e.dst)) ||
      (e.type === 'neigh-deleted' && w.neigh.has(e.address)) ||
      (e.type === 'fdb-deleted' && w.macs.has(e.mac)) ||
      (e.type === 'link-deleted' && w.links.has(e.name));
    if (hit && this.started) this.kick(true);
  }

  private fail(err: Error): void {
    this.stats.lastError = err.message;
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}
