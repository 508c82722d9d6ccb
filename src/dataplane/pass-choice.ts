/**
 * The data-plane loop's choices (dataplane.ts), as pure functions of a small state record: what
 * the next pass is (incremental, a streamed resync, a full plan with or without reading the
 * kernel, or nothing), when the monitors come back after large batches, whether a timer's resync
 * runs now, and whether a batch is written with the monitors paused. The Dataplane builds the
 * record, asks, and does what it is told; unit-tested table-style in dataplane-pass-choice.test.ts.
 */

/** Why a resync is due; a periodic one gives way to any other (mergeResync). */
export type ResyncReason = 'start' | 'asked' | 'deleted' | 'periodic' | 'after-pause' | 'verify-failed';

export interface LoopState {
  /** start() ran and stop() has not. */
  started: boolean;
  /** Something was asked for since the loop last chose (changes, a resync, a monitored deletion). */
  dirty: boolean;
  /** Prefixes queued for an incremental pass. */
  queued: number;
  /** Something other than per-prefix direct / IP-in-IP routes changed: everything is planned. */
  replan: boolean;
  /** A resync is due, and why. */
  resync: ResyncReason | undefined;
  /** The cache of the expected state (the route index) exists; it is dropped when a line fails. */
  cached: boolean;
  /** The devices, FDB and neighbours were read after the last full plan (a resync can then stream). */
  restKnown: boolean;
  /** The monitors: running, stopped for large batches, or not used. */
  monitor: 'on' | 'paused' | 'off';
  /** When the last full pass (a read and plan, or a streamed resync) ended, and how long it took. */
  lastFull: { at: number; ms: number };
}

export type PassChoice =
  /** Nothing to write. */
  | { kind: 'idle' }
  /** Nothing to write and the monitors are paused: start them again (a resync follows later). */
  | { kind: 'resume-monitor' }
  /** A periodic resync too soon after the last full pass (20x its duration): dropped. */
  | { kind: 'skip-resync'; why: string }
  /** The queued prefixes, planned against the cache. */
  | { kind: 'incremental' }
  /** A resync streaming the kernel's routes past the cache, repairing differences per prefix. */
  | { kind: 'verify' }
  /** Everything planned: against a fresh read of the kernel, or against the cache. */
  | { kind: 'full'; read: boolean; why: string };

/** A periodic resync waits at least this many times the last full pass's duration (at 1M routes a read costs seconds). */
export const PERIODIC_GAP_FACTOR = 20;

export function nextPass(s: LoopState, now: number): PassChoice {
  const nothing: PassChoice = s.monitor === 'paused' ? { kind: 'resume-monitor' } : { kind: 'idle' };
  if (!s.started) return { kind: 'idle' };
  if (!s.dirty) return nothing;
  // Without the cache there is nothing to plan against: any work starts with a read.
  if (!s.cached) return { kind: 'full', read: true, why: 'no cache of the expected state' };
  if (s.resync !== undefined) {
    if (s.resync === 'periodic' && now - s.lastFull.at < PERIODIC_GAP_FACTOR * s.lastFull.ms) {
      return { kind: 'skip-resync', why: `the last full pass (${Math.round(s.lastFull.ms)} ms) ended ${Math.round(now - s.lastFull.at)} ms ago` };
    }
    if (s.resync === 'verify-failed') return { kind: 'full', read: true, why: 'the streamed resync found what only a full plan repairs' };
    // A neighbour, FDB entry, device or block blackhole deleted under us: the devices' signature
    // read after the last full plan may already lack it (deleted between the write and that
    // read), so a comparison with it could miss the deletion. Read and plan everything.
    if (s.resync === 'deleted') return { kind: 'full', read: true, why: 'an entry of ours was deleted' };
    if (s.replan) return { kind: 'full', read: true, why: `resync (${s.resync}) with more than routes changed` };
    if (!s.restKnown) return { kind: 'full', read: true, why: `resync (${s.resync}) with no read of the devices since the last full plan` };
    return { kind: 'verify' };
  }
  if (s.replan) return { kind: 'full', read: false, why: 'more than per-prefix routes changed' };
  if (s.queued > 0) return { kind: 'incremental' };
  return nothing;
}

/** The reason a resync is due once `next` is asked for while `pending` is. */
export function mergeResync(pending: ResyncReason | undefined, next: ResyncReason): ResyncReason {
  if (pending === undefined || pending === 'periodic') return next;
  if (next === 'verify-failed') return next;
  return pending;
}

/**
 * A resync timer fired (the periodic one, or the one after batches written with the monitors
 * paused): 'resync' now, or 'wait' while anything is being written or waits to be (a table
 * arriving is many batches in a row, and a read between two of them cost seconds at 1M routes).
 * The periodic timer drops a tick that must wait; the other one tries again later.
 */
export function resyncTimer(s: LoopState, running: boolean): 'resync' | 'wait' {
  if (!s.started || running || s.dirty) return 'wait';
  return 'resync';
}

/**
 * Whether a batch of `lines` lines is written with the monitors stopped: echoing our own 100k
 * changes cost the monitors ~0.3 s of CPU per 100k routes on 2 cores, and their netlink socket
 * overflows anyway (ENOBUFS: events lost). They come back when the loop is idle (resume-monitor).
 */
export function pauseMonitor(s: LoopState, lines: number, threshold: number): boolean {
  return s.monitor === 'on' && lines >= threshold;
}
