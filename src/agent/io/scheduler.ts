/**
 * The scheduler seam: everything in the agent layer that needs time asks a Scheduler, never the
 * globals, so the layer runs in-process under a manual clock in tests (test/helpers/manual-io.ts)
 * and on real timers in `weft agent` (systemScheduler).
 */
export interface Timer {
  cancel(): void;
}

export interface Scheduler {
  /** Monotonic milliseconds (session timers, durations). */
  now(): number;
  /** Milliseconds since the epoch (times shown to people). */
  wallClock(): number;
  /** Runs `fn` once after `ms`; `background` timers do not keep the process alive. */
  after(ms: number, fn: () => void, background?: boolean): Timer;
  /** Runs `fn` after the current turn of the event loop, before timers (setImmediate). */
  soon(fn: () => void): void;
}

export const systemScheduler: Scheduler = {
  now: () => performance.now(),
  wallClock: () => Date.now(),
  after(ms, fn, background) {
    const t = setTimeout(fn, ms);
    if (background) t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  soon(fn) {
    setImmediate(fn);
  },
};
