/**
 * The data plane: keeps the kernel equal to the desired state (DESIGN.md "Reconcile, don't
 * replay"; where the code and the notes differ, see the closing note of the benchmark issue).
 *
 * - Where the desired routes come from: setDesired() (devices, local blocks, and routes, for
 *   callers that hand over everything) or updateRoutes() (per-prefix changes), or, as the agent
 *   does, a RouteSource (useSource) asked per prefix (changed() names the prefixes) and for the
 *   whole state on a full plan: then no per-prefix table is kept here, only the route index.
 * - start(): reads the kernel, adopts what already matches, writes what is missing, removes only
 *   stale weft entries (no flush: a restart changes nothing that is already right).
 * - Incremental passes: changed prefixes, PASS_PREFIXES at a time, planned against the cache of
 *   the state expected after the last batch (route-index.ts, as felix does): O(changes). The
 *   lines go straight into byte buffers, one per `ip -batch` stream, and the next pass is queued
 *   while the current one is written (route-streams.ts); direct routes use nexthop objects
 *   (nexthops.ts). A batch with an error drops the cache: the next pass is a full one.
 * - Full plans (planner.ts): at start, on setDesired, for VXLAN routes (their FDB/neighbour
 *   entries are shared), and when a resync finds something it cannot repair per prefix.
 * - Which pass comes next (incremental, streamed resync, full plan with or without a read, the
 *   monitors back on) is chosen by nextPass() (pass-choice.ts), a pure function of the loop's state.
 * - The kernel is reached only through an IpDriver (ip-driver.ts): iproute2 by default, or one
 *   given to the constructor (MemoryKernel runs the whole Dataplane in-process in tests).
 * - Resyncs (periodic `resyncIntervalMs`, after paused batches, after a monitored deletion of a
 *   neighbour, FDB entry or device): the devices, FDB, neighbours and nexthop objects are
 *   compared with the last full plan's read; the routes are streamed past the cache
 *   (verifyRoutes) and differences repaired incrementally: memory O(differences) at 1M routes.
 *   A periodic one waits while batches are written and for at least 20x the last one's duration.
 * - A deleted route of ours (ip monitor) is written again by an incremental pass.
 * - Large batches (>= `monitorPauseLines` lines) are written with the monitors stopped: echoing
 *   our own 100k changes cost the monitors ~0.3 s of CPU per 100k routes on 2 cores, and their
 *   netlink socket overflows anyway (ENOBUFS: events lost). The monitors restart once the loop
 *   has nothing more to write, and a resync follows `resyncAfterPauseMs` later.
 * - stop({withdraw}): by default leaves the kernel as it is (traffic keeps flowing while the agent
 *   restarts); withdraw removes every weft route, entry, nexthop object and the VXLAN device.
 */
import { EventEmitter } from 'node:events';
import type { BatchError, BatchStream, IpDriver, MonitorEvent, MonitorHandle } from './ip-driver.js';
import { Iproute2Driver } from './iproute2.js';
import { readKernelRest, readKernelState, streamKernelRoutes } from './kernel-read.js';
import { restSignature } from './kernel-state.js';
import { mergeResync, nextPass, pauseMonitor, resyncTimer, type LoopState, type ResyncReason } from './pass-choice.js';
import { MarkedQueue, type QueueMarks } from './queue-marks.js';
import type { Prefix } from '../lib/prefix.js';
import type { DesiredState, RemoteRoute } from './model.js';
import { plan, type PlanLine } from './planner.js';
import { NexthopTable } from './nexthops.js';
import { DeletionWatch } from './deletion-watch.js';
import { DesiredRoutes, type RouteSource } from './desired-routes.js';
import { RouteIndex } from './route-index.js';

export type { RouteSource } from './desired-routes.js';
import { RouteStreams, type RouteBatch } from './route-streams.js';

export interface DataplaneOptions {
  /** Network namespace to work in (`ip -n NS`), for the default (iproute2) driver. */
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
   * `ip -batch` processes route lines are spread over, by prefix (1 or 2). Default 2: most of a
   * route's cost is the kernel's, and two streams install 1M routes ~1.5x faster than one here
   * (raw `ip -batch`, 2 cores: 9.3 s vs 14.5 s).
   */
  streams?: 1 | 2;
  /** Direct routes written by incremental passes use nexthop objects (nexthops.ts). Default true. */
  nexthopObjects?: boolean;
}

/** What the Dataplane works through; each defaults to the real thing. */
export interface DataplaneDeps {
  /** The kernel (default: iproute2 in opts.netns). */
  driver?: IpDriver;
  /** Time (default: real timers); the agent's scheduler in in-process tests. */
  clock?: DataplaneClock;
}

/** What the data-plane loop needs of time: the agent's Scheduler fits (src/agent/io/scheduler.ts). */
export interface DataplaneClock {
  now(): number;
  after(ms: number, fn: () => void, background?: boolean): { cancel(): void };
}

const realClock: DataplaneClock = {
  now: () => performance.now(),
  after(ms, fn, background) {
    const t = setTimeout(fn, ms);
    if (background) t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

export interface DataplaneStats {
  batches: number;
  linesApplied: number;
  lineErrors: number;
  fullReads: number;
  /** Resyncs that streamed the routes past the cache instead of a full read and plan. */
  verifies: number;
  lastError?: string;
  /** Desired entries not written, from the last plan (foreign route in the way, ...). */
  problems: string[];
}

/** One applied batch, for logs and tests. */
export interface BatchRecord {
  full: boolean;
  /** The lines (for an incremental batch made from its buffers when read: tests and debugging). */
  readonly lines: PlanLine[];
  /** How many lines, and how many of them deletions. */
  count: number;
  deletes: number;
  /** The first lines, for logs. */
  sample: string[];
  errors: BatchError[];
  ms: number;
}

export interface DataplaneEvents {
  error: [Error];
  batch: [BatchRecord];
  /** Everything queued up to these marks (queue-marks.ts) has been written without an error. */
  applied: [QueueMarks];
}

/** Prefixes planned per incremental pass (the rest in the next pass, right after). */
const PASS_PREFIXES = 2_000;
const EMPTY: DesiredState = { localBlocks: [], routes: [] };

export class Dataplane extends EventEmitter<DataplaneEvents> {
  readonly stats: DataplaneStats = { batches: 0, linesApplied: 0, lineErrors: 0, fullReads: 0, verifies: 0, problems: [] };
  private readonly desired = new DesiredRoutes();
  /** Prefixes changed (updateRoutes, changed) and not yet planned; one may be there twice. */
  private readonly queue = new MarkedQueue();
  /** The nexthop objects incremental passes write direct routes with (nexthops.ts). */
  private readonly nexthops: NexthopTable;
  private readonly streams: RouteStreams;
  private lastCounts = new Map<string, number>();
  /** Something other than per-prefix direct/ipip routes changed: the next pass plans everything. */
  private replan = true;
  /** A resync is due, and why (pass-choice.ts). */
  private resyncDue: ResyncReason | undefined;
  /** The state expected after the last batch (the cache), indexed; undefined = read the kernel. */
  private index: RouteIndex | undefined;
  /** When the last full pass (read + plan) ended and how long it took, for the periodic resync. */
  private lastFull = { at: 0, ms: 0 };
  /** The devices, FDB and neighbours as read after the last full plan (see verify()). */
  private restSig: string | undefined;
  /** The last plan's problems by prefix text, kept up to date by incremental plans. */
  private problems = new Map<string, string>();
  private readonly driver: IpDriver;
  private readonly ip: BatchStream;
  /** The second `ip -batch` stream, for long runs of route lines. */
  private readonly ip2: BatchStream;
  private readonly bridge: BatchStream;
  private monitor: MonitorHandle | undefined;
  private timer: { cancel(): void } | undefined;
  private interval: { cancel(): void } | undefined;
  /** The monitors were stopped for large batches; they restart when the loop is idle. */
  private monitorPaused = false;
  /** The full resync due after a batch written with the monitors paused. */
  private verify: { cancel(): void } | undefined;
  private readonly clock: DataplaneClock;
  private running: Promise<void> | undefined;
  private dirty = false;
  private started = false;
  private waiters: (() => void)[] = [];
  /** What counts as ours when the monitors report a deletion. */
  private readonly watched = new DeletionWatch();
  private readonly window: number;
  /** "device:ifindex ..." of the managed devices at the last full read. */
  private indexes: string | undefined;

  constructor(
    private readonly opts: DataplaneOptions = {},
    deps: DataplaneDeps = {},
  ) {
    super();
    this.driver = deps.driver ?? new Iproute2Driver({ netns: opts.netns });
    this.clock = deps.clock ?? realClock;
    this.ip = this.driver.batch('ip');
    this.ip2 = this.driver.batch('ip');
    this.bridge = this.driver.batch('bridge');
    this.window = opts.batchWindowMs ?? 10;
    this.nexthops = new NexthopTable(opts.nexthopObjects ?? true);
    this.streams = new RouteStreams(this.ip, this.ip2, this.nexthops, (opts.streams ?? 2) === 2);
  }

  /** The state to converge to; applied after the batch window (or at start()). */
  setDesired(state: DesiredState): void {
    this.desired.set(state);
    this.replan = true;
    if (this.started) this.kick();
  }

  /**
   * Per-prefix changes of the desired remote routes (undefined = none for the prefix), applied
   * after the batch window like setDesired. Only these prefixes are planned, unless a VXLAN route
   * is among them (old or new) or a full plan is due anyway. The route's own `prefix` is not read
   * (one RemoteRoute may serve many prefixes: no object per route).
   */
  updateRoutes(changes: Iterable<readonly [Prefix, RemoteRoute | undefined]>): void {
    if (this.desired.update(changes, (p) => this.queue.push(p))) this.replan = true;
    if (this.started) this.kick();
  }

  /**
   * Routes come from `source` from now on (instead of setDesired's routes and updateRoutes):
   * changed() names the prefixes whose route may have changed, setDesired() gives the rest.
   */
  useSource(source: RouteSource): void {
    this.desired.use(source);
    this.replan = true;
    if (this.started) this.kick();
  }

  /** (With a source) these prefixes' desired routes may have changed: planned after the window. */
  changed(prefixes: Iterable<Prefix>): void {
    for (const p of prefixes) this.queue.push(p);
    if (this.started) this.kick();
  }

  /** What has been queued so far: the 'applied' event reaches these marks once it is written. */
  queuedMarks(): QueueMarks {
    return this.queue.pushedMarks();
  }

  /** Started, nothing queued, waiting or being written: the kernel has what was asked for. */
  get settled(): boolean {
    return this.started && !this.dirty && !this.running && !this.timer && this.queue.length === 0;
  }

  /** weft's routes planned for the kernel by kind ('blackhole' or the route's device). */
  routeCounts(): Map<string, number> {
    if (this.index) this.lastCounts = this.index.countByDevice();
    return this.lastCounts;
  }

  /** The desired remote routes by prefix, without a source (the first of a prefix given twice). */
  desiredRoutes(): ReadonlyMap<Prefix, RemoteRoute> {
    return this.desired.table;
  }

  /** Adopts the kernel's state and applies the desired one; resolves after the first batch. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.opts.monitor ?? true) this.startMonitor();
    const every = this.opts.resyncIntervalMs ?? 10_000;
    if (every > 0) {
      // A tick while anything is written is dropped; one too soon after the last full pass too (nextPass).
      const tick = () => {
        this.interval = this.clock.after(every, tick, true);
        if (resyncTimer(this.loopState(), this.running !== undefined) === 'resync') this.kick('periodic');
      };
      this.interval = this.clock.after(every, tick, true);
    }
    this.kick('start', 0);
    await this.flush();
  }

  /** Resolves once everything set so far has been applied. */
  flush(): Promise<void> {
    if (!this.dirty && !this.running && !this.timer) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /** Reads the kernel and repairs whatever differs; resolves when done. */
  resync(): Promise<void> {
    this.kick('asked', 0);
    return this.flush();
  }

  async stop(opts: { withdraw?: boolean } = {}): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.monitor?.stop();
    this.monitor = undefined;
    this.interval?.cancel();
    this.timer?.cancel();
    this.verify?.cancel();
    this.interval = undefined;
    this.timer = undefined;
    await this.running;
    if (opts.withdraw) {
      // Nothing, whatever the source would still say.
      this.desired.use(undefined);
      this.setDesired(EMPTY);
      try {
        await this.passFull(true);
        // The routes are gone: now their nexthop objects can go.
        const del = this.nexthops.deleteLines();
        if (del.length > 0) await this.ip.run(del);
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
    this.verify?.cancel();
    const fired = () => (resyncTimer(this.loopState(), this.running !== undefined) === 'resync' ? this.kick('after-pause', 0) : this.armVerify());
    this.verify = this.clock.after(this.opts.resyncAfterPauseMs ?? 1000, fired, true);
  }

  /** The monitors again after batches written with them paused, and the resync that follows. */
  private resumeMonitor(): void {
    if (!this.monitorPaused || !this.started) return;
    this.monitorPaused = false;
    this.startMonitor();
    this.armVerify();
  }

  private startMonitor(): void {
    this.monitor = this.driver.monitor(
      (e) => this.onMonitor(e),
      (why) => this.fail(new Error(why)),
    );
  }

  /** The loop's state, for the choices of pass-choice.ts. */
  private loopState(): LoopState {
    return {
      started: this.started,
      dirty: this.dirty,
      queued: this.queue.length,
      replan: this.replan,
      resync: this.resyncDue,
      cached: this.index !== undefined,
      restKnown: this.restSig !== undefined,
      monitor: this.monitorPaused ? 'paused' : this.monitor ? 'on' : 'off',
      lastFull: this.lastFull,
    };
  }

  /** Something to do (a resync, when `resync` says why): the loop runs after `delay`. */
  private kick(resync?: ResyncReason, delay = this.window): void {
    if (resync !== undefined) this.resyncDue = mergeResync(this.resyncDue, resync);
    this.dirty = true;
    if (this.running) return; // the loop picks it up
    if (this.timer && delay > 0) return;
    this.timer?.cancel();
    this.timer = this.clock.after(delay, () => void this.loop());
  }

  private async loop(): Promise<void> {
    this.timer = undefined;
    if (this.running) return;
    this.running = this.passes();
    await this.running;
    this.running = undefined;
    if (this.dirty && this.started) this.kick();
    else this.release();
  }

  /** Passes, as nextPass() chooses them, until it says there is nothing to do. */
  private async passes(): Promise<void> {
    for (;;) {
      const choice = nextPass(this.loopState(), this.clock.now());
      switch (choice.kind) {
        case 'idle':
          this.dirty = false;
          return;
        case 'resume-monitor':
          this.resumeMonitor();
          continue;
        case 'skip-resync':
          this.resyncDue = undefined;
          continue;
      }
      // Whatever is asked for from here on is chosen for by the next round.
      this.dirty = false;
      if (choice.kind === 'verify' || (choice.kind === 'full' && choice.read)) this.resyncDue = undefined;
      try {
        if (choice.kind === 'incremental') await this.passIncremental();
        else if (choice.kind === 'full') await this.passFull(choice.read);
        else if (!(await this.verifyRoutes())) this.kick('verify-failed');
      } catch (err) {
        this.index = undefined;
        this.fail(err as Error);
      }
    }
  }

  private restartBatchers(): void {
    this.ip.restart();
    this.ip2.restart();
    this.bridge.restart();
  }

  private release(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** A full pass: (read), plan everything, apply the lines in runs of the same tool, in order. */
  private async passFull(read: boolean): Promise<void> {
    const devices = this.desired.devices;
    const t0 = this.clock.now();
    let kernel = read ? undefined : this.index?.toKernelState();
    if (!kernel) {
      kernel = await readKernelState(this.driver, this.desired.vxlanDevices, devices);
      this.nexthops.adopt(kernel.nexthops ?? []);
      this.stats.fullReads++;
      // A managed device that is gone or has a new index: iproute2's name cache is stale.
      const indexes = devices.map((d) => `${d}:${kernel?.links[d]?.ifindex ?? '-'}`).join(' ');
      if (this.indexes !== undefined && indexes !== this.indexes) this.restartBatchers();
      this.indexes = indexes;
    }
    // Changes arriving from here on are planned by the next pass.
    this.queue.clear();
    const through = this.queue.takenMarks();
    this.replan = false;
    const fp = plan(kernel, this.desired.whole());
    this.stats.problems = fp.problems;
    this.problems = new Map(fp.problems.map((m) => [m.slice(0, m.indexOf(': ')), m]));
    // The expected state becomes the cache now (dropped again if a line fails); our own
    // deletions are then no longer watched, so they never trigger a resync.
    this.index = RouteIndex.from(fp.expected);
    this.watched.watch(this.index, this.desired.base);
    this.lastFull = { at: this.clock.now(), ms: this.clock.now() - t0 };
    this.restSig = undefined;
    await this.write(fp.lines, true);
    if (this.index) this.emit('applied', through);
    // What the devices, FDB and neighbours look like now: later resyncs compare with it.
    if (this.index) this.restSig = restSignature(await readKernelRest(this.driver, this.desired.vxlanDevices, devices));
  }

  /**
   * A resync without a full plan: the devices, FDB and neighbours are read and compared with
   * what they were after the last full plan; the routes are streamed past the cache
   * (RouteIndex.verifier), and those that differ are queued for an incremental pass. Memory
   * stays O(differences) at 1M routes (a full plan holds the listing, the desired routes and the
   * expected state at once: hundreds of MB). False: a full plan is needed after all.
   */
  private async verifyRoutes(): Promise<boolean> {
    const ix = this.index!;
    const devices = this.desired.devices;
    const t0 = this.clock.now();
    const rest = await readKernelRest(this.driver, this.desired.vxlanDevices, devices);
    if (restSignature(rest) !== this.restSig || this.nexthops.missingFrom(rest.nexthops ?? [])) return false;
    const v = ix.verifier(this.desired.local);
    await Promise.all([streamKernelRoutes(this.driver, 4, v.check), streamKernelRoutes(this.driver, 6, v.check)]);
    this.stats.verifies++;
    const r = v.end();
    this.lastFull = { at: this.clock.now(), ms: this.clock.now() - t0 };
    if (this.index !== ix || !r.complete) return false;
    for (const p of r.changed) this.queue.push(p);
    // The repairs, and changes queued before the resync: an incremental pass next.
    if (this.queue.length > 0) this.dirty = true;
    return true;
  }

  /**
   * Per-prefix changes, planned against the cache PASS_PREFIXES at a time and pipelined: the next
   * slice is planned and queued for the `ip` streams while they write this one, so they never
   * wait for node between slices. Safe because a prefix's lines always go to the same stream
   * (streamOf), which applies them in order.
   */
  private async passIncremental(): Promise<void> {
    const writes: Promise<void>[] = [];
    // Slices finish in order (a prefix's lines always go to the same stream); an empty slice
    // counts as written once the slices before it are.
    let last: Promise<void> = Promise.resolve();
    while (this.queue.length > 0 && this.index && !this.replan && this.started) {
      const batch = this.planSome(this.index);
      const through = this.queue.takenMarks();
      const w = batch.count > 0 ? this.writeBatch(batch) : undefined;
      last = Promise.all([last, w]).then(() => {
        if (this.index) this.emit('applied', through);
      });
      // Awaited below; the handler only keeps a later slice's rejection from going unhandled
      // once an earlier one has thrown out of this loop.
      last.catch(() => undefined);
      writes.push(last);
      // One slice being written and one queued behind it: no more lines than that in memory.
      if (writes.length >= 2) await writes.shift();
    }
    await Promise.all(writes);
  }

  /** Writes a full plan's lines. */
  private async write(lines: PlanLine[], full: boolean): Promise<void> {
    if (lines.length === 0) return;
    const started = this.clock.now();
    const errors: BatchError[] = [];
    this.pauseMonitorFor(lines.length);
    errors.push(
      ...(await this.streams.writePlan(lines, this.bridge, () => {
        this.restartBatchers();
        this.indexes = undefined;
      })),
    );
    const deletes = lines.filter((l) => l.stage === 'delete').length;
    const sample = lines.slice(0, 20).map((l) => `${l.tool} ${l.line}`);
    this.written({ full, lines, count: lines.length, deletes, sample, errors, ms: this.clock.now() - started });
  }

  /** Writes an incremental pass's buffers, one per `ip` stream, at once. */
  private async writeBatch(b: RouteBatch): Promise<void> {
    const started = this.clock.now();
    this.pauseMonitorFor(b.count);
    const errors = await this.streams.write(b);
    const sample = [...b.streams[0].lines(0, 10), ...b.streams[1].lines(0, 10)].map((l) => `ip ${l}`);
    this.written({
      full: false,
      get lines(): PlanLine[] {
        return RouteStreams.lines(b);
      },
      count: b.count,
      deletes: b.deletes,
      sample,
      errors,
      ms: this.clock.now() - started,
    });
  }

  /** Batches of at least monitorPauseLines are written with the monitors stopped. */
  private pauseMonitorFor(lines: number): void {
    if (this.monitor === undefined || !pauseMonitor(this.loopState(), lines, this.opts.monitorPauseLines ?? 1000)) return;
    // Back on when the loop has nothing more to write (resumeMonitor): a table arriving is many
    // large batches in a row.
    this.monitor.stop();
    this.monitor = undefined;
    this.monitorPaused = true;
  }

  /** Stats and the batch record; the cache is dropped when a line failed. */
  private written(record: BatchRecord): void {
    const errors = record.errors;
    this.stats.batches++;
    this.stats.linesApplied += record.count - errors.length;
    this.stats.lineErrors += errors.length;
    this.emit('batch', record);
    if (errors.length) {
      // The kernel is not what we expected: read it again on the next pass.
      this.index = undefined;
      const e = errors[0];
      this.fail(new Error(`${errors.length} of ${record.count} lines failed; first: "${e.line}": ${e.message}`));
    }
  }

  /**
   * Lines for the next changed prefixes, at most PASS_PREFIXES (the rest: next pass, right
   * after), planned against the cache: writing starts early, and node never plans for seconds
   * while the `ip` processes wait. A prefix queued twice is planned twice: the second time finds
   * the index already as wanted and writes nothing.
   */
  private planSome(index: RouteIndex): RouteBatch {
    const changed = this.queue.take(PASS_PREFIXES);
    if (this.queue.length > 0) this.dirty = true;
    const desired = this.desired;
    const { batch, sink, done } = this.streams.batch();
    const r = index.planRoutes(changed, (x) => desired.want(x), desired.base, desired.local, this.problems, sink);
    done();
    if (r.needFull) {
      // A VXLAN route among them: the next pass plans everything.
      this.replan = true;
      this.dirty = true;
    }
    this.stats.problems = [...this.problems.values()];
    return batch;
  }

  /** A deletion seen by the monitors: ignored, written again (incremental), or a resync. */
  private onMonitor(e: MonitorEvent): void {
    if (!this.started) return;
    const a = this.watched.classify(e, this.index, this.desired.local);
    if (a.kind === 'rewrite') {
      this.queue.push(a.prefix);
      this.kick();
    } else if (a.kind === 'resync') this.kick('deleted');
  }

  private fail(err: Error): void {
    this.stats.lastError = err.message;
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}
