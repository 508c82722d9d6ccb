// One `ip -ts monitor route` per namespace, started before anything changes: iproute2 stamps each
// netlink notification with the wall clock (µs) when it read it, so the time a route reached a
// host's kernel does not depend on how busy this harness's event loop is. Lines are kept per
// prefix; waiters resolve on the first add (or delete) of a prefix at or after a given time.
import { lineReader } from '../../../src/lib/lines.js';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Lab } from '../../../test/helpers/netns.js';

export interface RouteEvent {
  /** Wall-clock ms (fractional) printed by `ip -ts`. */
  t: number;
  deleted: boolean;
  prefix: string;
  line: string;
}

/** "[2026-11-22T07:41:41.103310] Deleted blackhole 10.9.0.0/24 proto weft" -> event. */
export function parseMonitorLine(line: string): RouteEvent | undefined {
  const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?\]\s+(.*)$/.exec(line);
  if (!m) return undefined;
  const frac = m[2] ?? '0';
  // Local time without a zone, as `ip -ts` prints it; Date.parse reads it as local time too.
  const t = Date.parse(m[1]!) + Number(`0.${frac}`) * 1000;
  let rest = m[3]!.trim().split(/\s+/);
  const deleted = rest[0] === 'Deleted';
  if (deleted) rest = rest.slice(1);
  if (/^(blackhole|unreachable|prohibit|local|broadcast|multicast|anycast|throw|nat|unicast)$/.test(rest[0] ?? '')) rest = rest.slice(1);
  const prefix = rest[0] ?? '';
  return { t, deleted, prefix, line: m[3]! };
}

interface Waiter {
  prefix: string;
  deleted: boolean;
  after: number;
  resolve: (e: RouteEvent) => void;
}

export class RouteMonitor {
  private readonly events = new Map<string, RouteEvent[]>();
  private waiters: Waiter[] = [];
  private exitedWith: string | undefined;

  private constructor(
    readonly ns: string,
    readonly child: ChildProcess,
  ) {}

  /** Starts `ip -ts -n NS monitor route`; its PID is adopted by the lab, so cleanup kills it. */
  static start(lab: Lab, ns: string): RouteMonitor {
    const child = spawn('ip', ['-ts', '-n', ns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid) lab.adopt(child.pid, `${ns}:ip-monitor`);
    const mon = new RouteMonitor(ns, child);
    child.stdout!.setEncoding('utf8').on('data', lineReader((line) => mon.onLine(line)));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (mon.exitedWith = `stderr: ${d.trim()}`));
    child.on('exit', (code, sig) => (mon.exitedWith ??= `exited ${code ?? sig}`));
    child.on('error', (e) => (mon.exitedWith = e.message));
    return mon;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Why the monitor stopped, if it did. */
  get problem(): string | undefined {
    return this.exitedWith;
  }

  private onLine(line: string): void {
    const e = parseMonitorLine(line);
    if (!e || (!e.prefix.includes('/') && !/^\d+\.\d+\.\d+\.\d+$/.test(e.prefix))) return;
    const key = e.prefix.includes('/') ? e.prefix : `${e.prefix}/32`;
    e.prefix = key;
    let list = this.events.get(key);
    if (!list) this.events.set(key, (list = []));
    list.push(e);
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.prefix === key && w.deleted === e.deleted && e.t >= w.after) w.resolve(e);
      else still.push(w);
    }
    this.waiters = still;
  }

  /** The first add (deleted=false) or delete of `prefix` stamped at or after `after`, if seen yet. */
  seen(prefix: string, deleted: boolean, after: number): RouteEvent | undefined {
    return this.events.get(prefix)?.find((e) => e.deleted === deleted && e.t >= after);
  }

  /** Resolves with that event when it comes; rejects after `timeoutMs`. */
  next(prefix: string, deleted: boolean, after: number, timeoutMs: number): Promise<RouteEvent> {
    const got = this.seen(prefix, deleted, after);
    if (got) return Promise.resolve(got);
    return new Promise<RouteEvent>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`${this.ns}: no ${deleted ? 'delete' : 'add'} of ${prefix} within ${timeoutMs} ms${this.exitedWith ? ` (monitor ${this.exitedWith})` : ''}`));
      }, timeoutMs);
      const waiter: Waiter = {
        prefix,
        deleted,
        after,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      this.waiters.push(waiter);
    });
  }
}

/** The p-th percentile (0..100) by nearest rank. */
export function percentile(xs: readonly number[], p: number): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
