/**
 * The data plane: holds the desired state and keeps the kernel equal to it (DESIGN.md "Reconcile,
 * don't replay").
 *
 * - start(): reads the kernel, adopts what already matches, writes what is missing, removes only
 *   stale weft entries (no flush: a restart changes nothing that is already right).
 * - setDesired(): changes within `batchWindowMs` become one batch. Between full reads the planner
 *   works from the state expected after the last batch (a cache, as felix does); a batch with an
 *   error drops the cache so the next pass reads the kernel again.
 * - updateRoutes(): per-prefix changes of remote routes; a pass with only those plans just the
 *   changed prefixes against the cache (route-index.ts): O(changes), so a table that arrives in
 *   many small batches costs O(N) in all, not O(N) per batch. Full plans (planner.ts) on start,
 *   resync, setDesired, and for VXLAN routes (their FDB/neighbour entries are shared).
 * - Drift: `ip monitor` / `bridge monitor` report deletions; one of a desired route, neighbour,
 *   FDB entry or device triggers a full resync. A periodic full resync (`resyncIntervalMs`)
 *   catches everything else (a route replaced by hand, say). It waits while batches are being
 *   written, and at least 20x as long as the last full pass took: at 1M routes a full pass
 *   (read, parse, plan) costs seconds of CPU, and one every 10 s slowed the install by half.
 * - Large batches (>= `monitorPauseLines` lines) are written with the monitors stopped: echoing
 *   our own 100k changes cost the monitors ~0.3 s of CPU per 100k routes on 2 cores, and their
 *   netlink socket overflows anyway (ENOBUFS: events lost). The monitors restart once the loop
 *   has nothing more to write (a table arriving is many large batches in a row), and one full
 *   resync follows `resyncAfterPauseMs` later, once nothing is being written, outside flush(),
 *   to catch what someone else deleted meanwhile.
 * - stop({withdraw}): by default leaves the kernel as it is (traffic keeps flowing while the agent
 *   restarts); withdraw removes every weft route, entry and the VXLAN device.
 */
import { EventEmitter } from 'node:events';
import { BatchProcess, type BatchError } from './iproute2-batch.js';
import { KernelMonitor, readKernel, type MonitorEvent } from './iproute2.js';
import type { Prefix } from '../lib/prefix.js';
import { IPIP_DEVICE, VXLAN_DEVICE, type DesiredState, type RemoteRoute } from './model.js';
import { plan, type Plan, type PlanLine } from './planner.js';
import { RouteIndex } from './route-index.js';

export interface DataplaneOptions {
  /** Network namespace to work in (`ip -n NS`). */
  netns?: string;
  /** Changes arriving within this window become one batch. Default 10 ms. */
  batchWindowMs?: number;
  /** Full resync period; 0 = none. Default 10 s. */
  resyncIntervalMs?: number;
  /** Watch for deletions with ip/bridge monitor. Default true. */
  monitor?: boolean;
  /** Batches of at least this many lines are written with the monitors stopped. Default 1000. */
  monitorPauseLines?: number;
  /** After such a batch, a full resync this much later (not awaited by flush()). Default 1000 ms. */
  resyncAfterPauseMs?: number;
  /**
   * `ip -batch` processes a long run of route lines is split across (1 or 2). Default 2: with a
   * free core two streams install 100k routes ~1.5x faster than one here (the lines are for
   * distinct routes, so their order does not matter).
   */
  streams?: 1 | 2;
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
/** Prefixes planned per incremental pass (the rest in the next pass, right after). */
const PASS_PREFIXES = 50_000;
/** A run of route lines at least this long is split across the `ip` streams. */
const SPLIT_LINES = 2000;
/** Route lines of one stage touch distinct routes: any order, any stream. */
const splittable = (l: PlanLine) => l.tool === 'ip' && (l.stage === 'route' || l.stage === 'delete') && l.line.startsWith('route ');
const EMPTY: DesiredState = { localBlocks: [], routes: [] };

export class Dataplane extends EventEmitter<DataplaneEvents> {
  readonly stats: DataplaneStats = { batches: 0, linesApplied: 0, lineErrors: 0, fullReads: 0, problems: [] };
  private desired: DesiredState = EMPTY;
  /** The desired remote routes by prefix once updateRoutes is used (desired.routes is then []). */
  private routeMap: Map<Prefix, RemoteRoute> | undefined;
  private localSet = new Set<Prefix>();
  /** Prefixes changed by updateRoutes since the last plan. */
  private pending = new Set<Prefix>();
  /** Changed prefixes not yet planned when there were more than PASS_PREFIXES; from queueAt on. */
  private queue: Prefix[] = [];
  private queueAt = 0;
  /** The next pass's lines, planned while the last batch was being written. */
  private prepared: PlanLine[] | undefined;
  /** Something other than per-prefix direct/ipip routes changed: the next pass plans everything. */
  private replan = true;
  /** The state expected after the last batch (the cache), indexed; undefined = read the kernel. */
  private index: RouteIndex | undefined;
  /** When the last full pass (read + plan) ended and how long it took, for the periodic resync. */
  private lastFull = { at: 0, ms: 0 };
  /** The last plan's problems by prefix text, kept up to date by incremental plans. */
  private problems = new Map<string, string>();
  private readonly ip: BatchProcess;
  /** The second `ip -batch` stream, for long runs of route lines. */
  private readonly ip2: BatchProcess;
  private readonly bridge: BatchProcess;
  private monitor: KernelMonitor | undefined;
  private timer: NodeJS.Timeout | undefined;
  private interval: NodeJS.Timeout | undefined;
  /** The monitors were stopped for large batches; they restart when the loop is idle. */
  private monitorPaused = false;
  /** The full resync due after a batch written with the monitors paused. */
  private verify: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  private needFull = false;
  private started = false;
  private waiters: (() => void)[] = [];
  private watched: { routes: RouteIndex | undefined; neigh: Set<string>; macs: Set<string>; links: Set<string> } = {
    routes: undefined,
    neigh: new Set(),
    macs: new Set(),
    links: new Set(),
  };
  private readonly window: number;
  /** "device:ifindex ..." of the managed devices at the last full read. */
  private indexes: string | undefined;

  constructor(private readonly opts: DataplaneOptions = {}) {
    super();
    this.ip = new BatchProcess('ip', opts.netns);
    this.ip2 = new BatchProcess('ip', opts.netns);
    this.bridge = new BatchProcess('bridge', opts.netns);
    this.window = opts.batchWindowMs ?? 10;
  }

  /** The state to converge to; applied after the batch window (or at start()). */
  setDesired(state: DesiredState): void {
    this.desired = state;
    this.routeMap = undefined;
    this.localSet = new Set(state.localBlocks);
    this.replan = true;
    if (this.started) this.kick(false);
  }

  /**
   * Per-prefix changes of the desired remote routes (undefined = none for the prefix), applied
   * after the batch window like setDesired. Only these prefixes are planned, unless a VXLAN route
   * is among them (old or new) or a full plan is due anyway. The route's own `prefix` is not read
   * (one RemoteRoute may serve many prefixes: no object per route).
   */
  updateRoutes(changes: Iterable<readonly [Prefix, RemoteRoute | undefined]>): void {
    const map = this.routeTable();
    for (const [p, r] of changes) {
      const old = map.get(p);
      if (old?.shape === 'vxlan' || r?.shape === 'vxlan') this.replan = true;
      if (r) map.set(p, r);
      else map.delete(p);
      this.pending.add(p);
    }
    if (this.started) this.kick(false);
  }

  /** The desired remote routes by prefix (the first one of a prefix given twice to setDesired). */
  desiredRoutes(): ReadonlyMap<Prefix, RemoteRoute> {
    return this.routeTable();
  }

  private routeTable(): Map<Prefix, RemoteRoute> {
    let map = this.routeMap;
    if (!map) {
      map = new Map();
      for (const r of this.desired.routes) if (!map.has(r.prefix)) map.set(r.prefix, r);
      this.routeMap = map;
      this.desired = { ...this.desired, routes: [] };
    }
    return map;
  }

  /** The desired state with every route (for a full plan). */
  private desiredState(): DesiredState {
    const map = this.routeMap;
    if (!map) return this.desired;
    const routes: RemoteRoute[] = [];
    for (const [p, r] of map) routes.push(r.prefix === p ? r : { ...r, prefix: p });
    return { ...this.desired, routes };
  }

  /** Adopts the kernel's state and applies the desired one; resolves after the first batch. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.opts.monitor ?? true) this.startMonitor();
    const every = this.opts.resyncIntervalMs ?? 10_000;
    if (every > 0) {
      this.interval = setInterval(() => {
        if (this.running || this.dirty) return;
        if (performance.now() - this.lastFull.at < 20 * this.lastFull.ms) return;
        this.kick(true);
      }, every);
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
    this.monitor = undefined;
    clearInterval(this.interval);
    clearTimeout(this.timer);
    clearTimeout(this.verify);
    this.timer = undefined;
    await this.running;
    if (opts.withdraw) {
      this.setDesired(EMPTY);
      try {
        await this.pass(true);
      } catch (err) {
        this.fail(err as Error);
      }
    }
    this.dirty = false;
    this.release();
    await Promise.all([this.ip.close(), this.ip2.close(), this.bridge.close()]);
  }

  /**
   * The resync after a paused batch, once nothing is being written: a long table arriving is many
   * batches back to back, and a full read of it between two of them (at 1M routes) cost seconds.
   */
  private armVerify(): void {
    clearTimeout(this.verify);
    this.verify = setTimeout(() => (this.running || this.dirty ? this.armVerify() : this.kick(true, 0)), this.opts.resyncAfterPauseMs ?? 1000);
    this.verify.unref();
  }

  /** The monitors again after batches written with them paused, and the resync that follows. */
  private resumeMonitor(): void {
    if (!this.monitorPaused || !this.started) return;
    this.monitorPaused = false;
    this.startMonitor();
    this.armVerify();
  }

  private startMonitor(): void {
    this.monitor = new KernelMonitor(this.opts, (e) => this.onMonitor(e), (why) => this.fail(new Error(why)));
    this.monitor.start();
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
        const full = this.needFull || this.index === undefined;
        this.needFull = false;
        try {
          await this.pass(full);
        } catch (err) {
          this.index = undefined;
          this.prepared = undefined;
          this.fail(err as Error);
        }
      }
      this.resumeMonitor();
    })();
    await this.running;
    this.running = undefined;
    if (this.dirty && this.started) this.kick(false);
    else this.release();
  }

  private restartBatchers(): void {
    this.ip.restart();
    this.ip2.restart();
    this.bridge.restart();
  }

  private release(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** One reconcile pass: (read), plan, apply the lines in runs of the same tool, in order. */
  private async pass(full: boolean): Promise<void> {
    let p: Pick<Plan, 'lines'>;
    if (!full && this.index && !this.replan) {
      p = { lines: this.prepared ?? this.planSome(this.index) };
      this.prepared = undefined;
      // Changes that came while the prepared lines' batch was written: another pass.
      if (this.pending.size > 0 || this.queue.length > 0) this.dirty = true;
    } else {
      if (this.prepared) {
        // Lines planned ahead and never written are in the cache: it cannot be trusted.
        this.prepared = undefined;
        full = true;
      }
      const devices = [this.desired.vxlan?.device ?? VXLAN_DEVICE, this.desired.ipip?.device ?? IPIP_DEVICE];
      const t0 = performance.now();
      let kernel = this.index?.toKernelState();
      if (full || !kernel) {
        kernel = await readKernel(this.opts, devices[0], devices);
        this.stats.fullReads++;
        // A managed device that is gone or has a new index: iproute2's name cache is stale.
        const indexes = devices.map((d) => `${d}:${kernel?.links[d]?.ifindex ?? '-'}`).join(' ');
        if (this.indexes !== undefined && indexes !== this.indexes) this.restartBatchers();
        this.indexes = indexes;
      }
      // Changes arriving from here on are planned by the next pass.
      this.pending = new Set();
      this.queue = [];
      this.queueAt = 0;
      this.replan = false;
      const fp = plan(kernel, this.desiredState());
      this.stats.problems = fp.problems;
      this.problems = new Map(fp.problems.map((m) => [m.slice(0, m.indexOf(': ')), m]));
      // The expected state becomes the cache now (dropped again if a line fails); our own
      // deletions are then no longer watched, so they never trigger a resync.
      this.index = RouteIndex.from(fp.expected);
      this.watch(this.index);
      this.lastFull = { at: performance.now(), ms: performance.now() - t0 };
      p = fp;
    }
    if (p.lines.length === 0) return;
    const started = performance.now();
    const errors: BatchError[] = [];
    if (this.monitor !== undefined && p.lines.length >= (this.opts.monitorPauseLines ?? 1000)) {
      // Back on when the loop has nothing more to write (resumeMonitor): a table arriving is
      // many large batches in a row.
      this.monitor.stop();
      this.monitor = undefined;
      this.monitorPaused = true;
    }
    const applying = this.apply(p, errors);
    // The next slice is planned while `ip` works on this one (its first chunks are written by
    // now); it is written after this one, in the next pass.
    if (this.queueAt < this.queue.length && this.index && !this.replan) {
      this.prepared = this.planSome(this.index);
      this.dirty = true;
    }
    await applying;
    this.stats.batches++;
    this.stats.linesApplied += p.lines.length - errors.length;
    this.stats.lineErrors += errors.length;
    const record: BatchRecord = { full, lines: p.lines, errors, ms: performance.now() - started };
    this.emit('batch', record);
    if (errors.length) {
      // The kernel is not what we expected: read it again on the next pass.
      this.index = undefined;
      this.prepared = undefined;
      const e = errors[0];
      this.fail(new Error(`${errors.length} of ${p.lines.length} lines failed; first: "${e.line}": ${e.message}`));
    }
  }

  /**
   * Lines for the next changed prefixes, at most PASS_PREFIXES (the rest: next pass, right
   * after), planned against the cache: writing starts early, and node never plans for seconds
   * while the `ip` processes wait. The queue is a list, not the Set: a V8 Set iterated from the
   * front while deleting costs O(deleted) each time.
   */
  private planSome(index: RouteIndex): PlanLine[] {
    let changed: Iterable<Prefix> = this.pending;
    if (this.queue.length === 0 && this.pending.size <= PASS_PREFIXES) this.pending = new Set();
    else {
      for (const x of this.pending) this.queue.push(x);
      this.pending = new Set();
      changed = this.queue.slice(this.queueAt, this.queueAt + PASS_PREFIXES);
      this.queueAt += PASS_PREFIXES;
      if (this.queueAt < this.queue.length) this.dirty = true;
      else {
        this.queue = [];
        this.queueAt = 0;
      }
    }
    const map = this.routeMap;
    const lines = index.planRoutes(changed, (x) => map?.get(x), this.desired, this.localSet, this.problems);
    this.stats.problems = [...this.problems.values()];
    return lines;
  }

  /** Writes the plan's lines, collecting the failed ones into `errors`. */
  private async apply(p: Pick<Plan, 'lines'>, errors: BatchError[]): Promise<void> {
    // Runs of lines for the same tool, in order; a run ends after a `link add`/`link del`, and
    // the processes are restarted there so later lines resolve device names afresh.
    for (let i = 0; i < p.lines.length; ) {
      const tool = p.lines[i].tool;
      let j = i;
      let relink = false;
      const split = splittable(p.lines[i]);
      const stage = p.lines[i].stage;
      // Only device and delete lines can be `link add`/`link del`. A run of route lines of one
      // stage is kept apart from other lines: it may be split across the two `ip` streams.
      while (j < p.lines.length && p.lines[j].tool === tool && !relink) {
        const l = p.lines[j];
        if (splittable(l) !== split || (split && l.stage !== stage)) break;
        j++;
        relink = (l.stage === 'device' || l.stage === 'delete') && RELINK.test(l.line);
      }
      const lines = p.lines.slice(i, j).map((l) => l.line);
      let run: Promise<BatchError[]>;
      if (split && lines.length >= SPLIT_LINES && (this.opts.streams ?? 2) === 2) {
        const half = Math.ceil(lines.length / 2);
        run = Promise.all([this.ip.run(lines.slice(0, half)), this.ip2.run(lines.slice(half))]).then(([a, b]) => [...a.errors, ...b.errors]);
      } else {
        run = (tool === 'ip' ? this.ip : this.bridge).run(lines).then((r) => r.errors);
      }
      errors.push(...(await run));
      if (relink) {
        this.restartBatchers();
        this.indexes = undefined;
      }
      i = j;
    }
  }

  /** What a monitored deletion must concern to need a resync. */
  private watch(ix: RouteIndex): void {
    // The routes are the index itself: incremental plans keep it up to date.
    const w = { routes: ix, neigh: new Set<string>(), macs: new Set<string>(), links: new Set<string>() };
    for (const n of ix.neigh) w.neigh.add(n.address);
    for (const f of ix.fdb) w.macs.add(f.mac);
    if (this.desired.vxlan) w.links.add(this.desired.vxlan.device);
    if (this.desired.ipip) w.links.add(this.desired.ipip.device);
    this.watched = w;
  }

  private onMonitor(e: MonitorEvent): void {
    const w = this.watched;
    const hit =
      (e.type === 'route-deleted' && w.routes?.hasWeft(e.dst) === true) ||
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
