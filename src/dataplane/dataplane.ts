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
import { BatchProcess, type BatchError } from './iproute2-batch.js';
import { KernelMonitor, readKernel, readRest, streamRoutes, type MonitorEvent } from './iproute2.js';
import { restSignature } from './kernel-state.js';
import { PrefixQueue } from '../lib/prefix-map.js';
import { parsePrefix, type Prefix } from '../lib/prefix.js';
import type { DesiredState, RemoteRoute } from './model.js';
import { plan, type Plan, type PlanLine } from './planner.js';
import { NexthopTable } from './nexthops.js';
import { DesiredRoutes, type RouteSource } from './desired-routes.js';
import { RouteIndex } from './route-index.js';

export type { RouteSource } from './desired-routes.js';
import { RouteStreams, type RouteBatch } from './route-streams.js';

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
   * `ip -batch` processes route lines are spread over, by prefix (1 or 2). Default 2: most of a
   * route's cost is the kernel's, and two streams install 1M routes ~1.5x faster than one here
   * (raw `ip -batch`, 2 cores: 9.3 s vs 14.5 s).
   */
  streams?: 1 | 2;
  /** Direct routes written by incremental passes use nexthop objects (nexthops.ts). Default true. */
  nexthopObjects?: boolean;
}

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
}

const RELINK = /^link (add|del) /;
/** Prefixes planned per incremental pass (the rest in the next pass, right after). */
const PASS_PREFIXES = 2_000;
/** Route lines of one plan touch distinct routes: any order between them. */
const splittable = (l: PlanLine) => l.tool === 'ip' && (l.stage === 'route' || l.stage === 'delete') && l.line.startsWith('route ');

const EMPTY: DesiredState = { localBlocks: [], routes: [] };

export class Dataplane extends EventEmitter<DataplaneEvents> {
  readonly stats: DataplaneStats = { batches: 0, linesApplied: 0, lineErrors: 0, fullReads: 0, verifies: 0, problems: [] };
  private readonly desired = new DesiredRoutes();
  /** Prefixes changed (updateRoutes, changed) and not yet planned; one may be there twice. */
  private readonly queue = new PrefixQueue();
  /** The nexthop objects incremental passes write direct routes with (nexthops.ts). */
  private readonly nexthops: NexthopTable;
  private readonly streams: RouteStreams;
  private lastCounts = new Map<string, number>();
  /** Something other than per-prefix direct/ipip routes changed: the next pass plans everything. */
  private replan = true;
  /** The state expected after the last batch (the cache), indexed; undefined = read the kernel. */
  private index: RouteIndex | undefined;
  /** When the last full pass (read + plan) ended and how long it took, for the periodic resync. */
  private lastFull = { at: 0, ms: 0 };
  /** The devices, FDB and neighbours as read after the last full plan (see verify()). */
  private restSig: string | undefined;
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
    this.nexthops = new NexthopTable(opts.nexthopObjects ?? true);
    this.streams = new RouteStreams(this.ip, this.ip2, this.nexthops, (opts.streams ?? 2) === 2);
  }

  /** The state to converge to; applied after the batch window (or at start()). */
  setDesired(state: DesiredState): void {
    this.desired.set(state);
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
    if (this.desired.update(changes, (p) => this.queue.push(p))) this.replan = true;
    if (this.started) this.kick(false);
  }

  /**
   * Routes come from `source` from now on (instead of setDesired's routes and updateRoutes):
   * changed() names the prefixes whose route may have changed, setDesired() gives the rest.
   */
  useSource(source: RouteSource): void {
    this.desired.use(source);
    this.replan = true;
  }

  /** (With a source) these prefixes' desired routes may have changed: planned after the window. */
  changed(prefixes: Iterable<Prefix>): void {
    for (const p of prefixes) this.queue.push(p);
    if (this.started) this.kick(false);
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
      // Nothing, whatever the source would still say.
      this.desired.use(undefined);
      this.setDesired(EMPTY);
      try {
        await this.pass(true);
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
    if (!full && this.index && !this.replan) return this.passIncremental();
    if (full && this.index && !this.replan && this.restSig !== undefined && (await this.verifyRoutes())) return;
    const devices = this.desired.devices;
    const t0 = performance.now();
    let kernel = this.index?.toKernelState();
    if (full || !kernel) {
      kernel = await readKernel(this.opts, devices[0], devices);
      this.nexthops.adopt(kernel.nexthops ?? []);
      this.stats.fullReads++;
      // A managed device that is gone or has a new index: iproute2's name cache is stale.
      const indexes = devices.map((d) => `${d}:${kernel?.links[d]?.ifindex ?? '-'}`).join(' ');
      if (this.indexes !== undefined && indexes !== this.indexes) this.restartBatchers();
      this.indexes = indexes;
    }
    // Changes arriving from here on are planned by the next pass.
    this.queue.clear();
    this.replan = false;
    const fp = plan(kernel, this.desired.whole());
    this.stats.problems = fp.problems;
    this.problems = new Map(fp.problems.map((m) => [m.slice(0, m.indexOf(': ')), m]));
    // The expected state becomes the cache now (dropped again if a line fails); our own
    // deletions are then no longer watched, so they never trigger a resync.
    this.index = RouteIndex.from(fp.expected);
    this.watch(this.index);
    this.lastFull = { at: performance.now(), ms: performance.now() - t0 };
    this.restSig = undefined;
    await this.write(fp.lines, true);
    // What the devices, FDB and neighbours look like now: later resyncs compare with it.
    if (this.index) this.restSig = restSignature(await readRest(this.opts, devices[0], devices));
  }

  /**
   * A resync without a full plan: the devices, FDB and neighbours are read and compared with
   * what they were after the last full plan; the routes are streamed past the cache
   * (RouteIndex.verifier), and those that differ are repaired by an incremental pass. Memory
   * stays O(differences) at 1M routes (a full plan holds the listing, the desired routes and the
   * expected state at once: hundreds of MB). False: a full plan is needed after all.
   */
  private async verifyRoutes(): Promise<boolean> {
    const ix = this.index!;
    const devices = this.desired.devices;
    const t0 = performance.now();
    const rest = await readRest(this.opts, devices[0], devices);
    if (restSignature(rest) !== this.restSig || this.nexthops.missingFrom(rest.nexthops ?? [])) return false;
    const v = ix.verifier(this.desired.local);
    await Promise.all([streamRoutes(this.opts, 4, v.check), streamRoutes(this.opts, 6, v.check)]);
    this.stats.verifies++;
    const r = v.end();
    this.lastFull = { at: performance.now(), ms: performance.now() - t0 };
    if (this.index !== ix || !r.complete) return false;
    for (const p of r.changed) this.queue.push(p);
    await this.passIncremental();
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
    while (this.queue.length > 0 && this.index && !this.replan && this.started) {
      const batch = this.planSome(this.index);
      if (batch.count > 0) writes.push(this.writeBatch(batch));
      // One slice being written and one queued behind it: no more lines than that in memory.
      if (writes.length >= 2) await writes.shift();
    }
    await Promise.all(writes);
  }

  /** Writes a full plan's lines. */
  private async write(lines: PlanLine[], full: boolean): Promise<void> {
    if (lines.length === 0) return;
    const started = performance.now();
    const errors: BatchError[] = [];
    this.pauseMonitorFor(lines.length);
    await this.apply(lines, errors);
    const deletes = lines.filter((l) => l.stage === 'delete').length;
    const sample = lines.slice(0, 20).map((l) => `${l.tool} ${l.line}`);
    this.written({ full, lines, count: lines.length, deletes, sample, errors, ms: performance.now() - started });
  }

  /** Writes an incremental pass's buffers, one per `ip` stream, at once. */
  private async writeBatch(b: RouteBatch): Promise<void> {
    const started = performance.now();
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
      ms: performance.now() - started,
    });
  }

  /** Batches of at least monitorPauseLines are written with the monitors stopped. */
  private pauseMonitorFor(lines: number): void {
    if (this.monitor === undefined || lines < (this.opts.monitorPauseLines ?? 1000)) return;
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

  /**
   * Writes lines, collecting the failed ones into `errors`: runs of lines for the same tool, in
   * order; a run ends after a `link add`/`link del`, and the processes are restarted there so
   * later lines resolve device names afresh. A run of route lines (replace and delete, each for a
   * distinct prefix) goes to the `ip` streams by prefix.
   */
  private async apply(lines: readonly PlanLine[], errors: BatchError[]): Promise<void> {
    for (let i = 0; i < lines.length; ) {
      const tool = lines[i].tool;
      const split = splittable(lines[i]);
      let j = i;
      let relink = false;
      // Only device and delete lines can be `link add`/`link del`.
      while (j < lines.length && lines[j].tool === tool && !relink) {
        const l = lines[j];
        if (splittable(l) !== split) break;
        j++;
        relink = (l.stage === 'device' || l.stage === 'delete') && RELINK.test(l.line);
      }
      const run = lines.slice(i, j).map((l) => l.line);
      if (split) errors.push(...(await this.streams.writeLines(run)));
      else errors.push(...(await (tool === 'ip' ? this.ip : this.bridge).run(run)).errors);
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
    const base = this.desired.base;
    if (base.vxlan) w.links.add(base.vxlan.device);
    if (base.ipip) w.links.add(base.ipip.device);
    this.watched = w;
  }

  private onMonitor(e: MonitorEvent): void {
    const w = this.watched;
    if (e.type === 'route-deleted' && w.routes !== undefined && w.routes === this.index && this.started) {
      // One of our routes deleted by someone: written again by an incremental pass (a local
      // block's blackhole: by a full one).
      if (!w.routes.hasWeft(e.dst)) return;
      const p = parsePrefix(e.dst);
      if (this.desired.local.has(p)) return this.kick(true);
      w.routes.forget(e.dst);
      this.queue.push(p);
      this.kick(false);
      return;
    }
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
