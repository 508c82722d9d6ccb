// Process bookkeeping by PID only (never by name): the implementation lives in src/lab/processes.ts
// (weft lab records its daemons the same way). Here: the test-side error that carries log tails.
import { tail } from './exec.js';
import { NotRecoverable } from './wait.js';

export { procStat, track, isGone, signalProcess, terminate, killSync, type Tracked } from '../../src/lab/processes.js';

/** `what` followed by the tail of each log file. */
export function withLogs(what: string, logs: readonly string[]): string {
  const tails = logs.map((l) => {
    const t = tail(l);
    return `--- ${l}${t ? `\n${t}` : ' (empty or missing)'}`;
  });
  return [what, ...tails].join('\n');
}

/**
 * A daemon failed for good (did not start, or died): says which, where, and its log tails. It is
 * NotRecoverable, so a waitFor polling that daemon stops at once instead of running to its deadline.
 */
export class DaemonError extends NotRecoverable {
  constructor(what: string, logs: readonly string[]) {
    super(withLogs(what, logs));
    this.name = 'DaemonError';
  }
}
