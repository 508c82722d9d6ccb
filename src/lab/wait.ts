// Waiting on a condition with a deadline, never a fixed sleep (`weft lab` and the live tests).

/** Thrown from a polled function to stop waiting at once (e.g. the daemon being polled has died). */
export class NotRecoverable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotRecoverable';
  }
}

export interface WaitOptions {
  /** What is awaited, in words, for the timeout message. */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
  /** Extra text for the timeout message (a daemon's log tail, say); may itself fail harmlessly. */
  diagnose?: () => string | Promise<string>;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function show(v: unknown): string {
  if (v instanceof Error) return v.message;
  try {
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 2000 ? `${s.slice(0, 2000)}...` : s;
  } catch {
    return String(v);
  }
}

/**
 * Polls `fn` until it returns (or resolves to) a truthy value, and returns that value. Errors thrown
 * by `fn` count as "not yet", except NotRecoverable, which is rethrown at once. On timeout throws
 * with `what`, the last value or error, and the diagnosis.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitOptions): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 50;
  const start = Date.now();
  let last: unknown = undefined;
  let lastWasError = false;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
      lastWasError = false;
    } catch (err) {
      if (err instanceof NotRecoverable) throw err;
      last = err;
      lastWasError = true;
    }
    const elapsed = Date.now() - start;
    if (elapsed >= timeoutMs) {
      let diag = '';
      if (opts.diagnose) {
        try {
          diag = await opts.diagnose();
        } catch (err) {
          diag = `(diagnosis failed: ${show(err)})`;
        }
      }
      const lastText = `${lastWasError ? 'last error' : 'last value'}: ${show(last)}`;
      throw new Error(`timed out after ${elapsed} ms waiting for ${opts.what}; ${lastText}${diag ? `\n${diag}` : ''}`);
    }
    await pause(Math.min(intervalMs, timeoutMs - elapsed));
  }
}
