/**
 * The two `ip -batch` streams route lines are spread over, by prefix (raw `ip -batch`, 2 cores:
 * two streams install 1M routes ~1.5x faster than one; most of a route's cost is the kernel's).
 * Every line for one prefix goes to the same stream, which applies lines in order, so a later
 * change of a prefix never overtakes an earlier one, even with passes pipelined.
 *
 * Incremental passes are planned straight into one byte buffer per stream (line-buffer.ts), with
 * direct routes on nexthop objects (nexthops.ts); full plans hand over their route lines as text.
 */
import { parsePrefix, type Prefix } from '../lib/prefix.js';
import type { BatchError, BatchStream } from './ip-driver.js';
import { LineBuffer } from './line-buffer.js';
import type { NexthopTable } from './nexthops.js';
import type { PlanLine } from './planner.js';
import type { RouteLineSink } from './route-index.js';

/** An incremental pass's lines, already in the byte buffers of the stream each goes to. */
export interface RouteBatch {
  streams: [LineBuffer, LineBuffer];
  count: number;
  deletes: number;
  /** Nexthop objects to create before any of the routes is written. */
  nexthops: { line: string; settle: (ok: boolean) => void }[];
  /** Objects still being created (by an earlier pass) that routes of this one name. */
  waits: Set<Promise<boolean>>;
}

const REPLACE = Buffer.from('route replace ', 'latin1');
const RELINK = /^link (add|del) /;
/** Route lines of one plan touch distinct routes: any order between them. */
const splittable = (l: PlanLine) => l.tool === 'ip' && (l.stage === 'route' || l.stage === 'delete') && l.line.startsWith('route ');

/** The stream (0 or 1) of a prefix. */
export function streamOfPrefix(p: Prefix): 0 | 1 {
  let h: number;
  if (typeof p === 'number') {
    const len = p % 64;
    h = Math.imul(((p - len) / 64) | 0, 0x9e3779b1) ^ len;
  } else {
    h = 0;
    for (let k = 0; k < p.length; k++) h = (Math.imul(h, 31) + p.charCodeAt(k)) | 0;
  }
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return ((h ^ (h >>> 15)) >>> 0) & 1 ? 1 : 0;
}

/** The stream of a route line ("route replace 10.1.2.0/24 via ...", "route del blackhole P ..."). */
export function streamOf(line: string): 0 | 1 {
  const slash = line.indexOf('/');
  const start = line.lastIndexOf(' ', slash) + 1;
  let end = line.indexOf(' ', slash);
  if (end < 0) end = line.length;
  try {
    return streamOfPrefix(parsePrefix(line.slice(start, end)));
  } catch {
    return 0;
  }
}

export class RouteStreams {
  constructor(
    private readonly ip: BatchStream,
    private readonly ip2: BatchStream,
    private readonly nexthops: NexthopTable,
    private readonly two: boolean,
  ) {}

  /** A new batch and the sink planRoutes writes it through. */
  batch(): { batch: RouteBatch; sink: RouteLineSink; done: () => void } {
    const batch: RouteBatch = { streams: [new LineBuffer(), new LineBuffer()], count: 0, deletes: 0, nexthops: [], waits: new Set() };
    const { nexthops: nh, two } = this;
    const sink: RouteLineSink = {
      replace(p, f) {
        let tail = f.tail;
        const e = f.via && nh.get(f.via.gateway, f.via.dev);
        if (e) {
          tail = e.tail;
          if (e.ok !== true) batch.waits.add(e.ready);
        }
        batch.streams[two ? streamOfPrefix(p) : 0].route(REPLACE, p, tail);
        batch.count++;
      },
      line(p, stage, line) {
        batch.streams[two ? streamOfPrefix(p) : 0].text(line);
        batch.count++;
        if (stage === 'delete') batch.deletes++;
      },
    };
    return { batch, sink, done: () => (batch.nexthops = nh.take()) };
  }

  /** Writes a batch: its new nexthop objects first (acknowledged), then both streams at once. */
  async write(b: RouteBatch): Promise<BatchError[]> {
    const errors: BatchError[] = [];
    if (b.nexthops.length > 0) {
      const r = await this.ip.run(b.nexthops.map((n) => n.line));
      const failed = new Set(r.errors.map((e) => e.line));
      for (const n of b.nexthops) n.settle(!failed.has(n.line));
      // No nexthop objects in this kernel at all (not a bad gateway): plain routes from now on.
      if (r.errors.some((e) => /Unknown|not supported|Invalid argument/i.test(e.message) && !/gateway/i.test(e.message))) this.nexthops.enabled = false;
      errors.push(...r.errors);
    }
    if (b.waits.size > 0) await Promise.all(b.waits);
    const runs = [this.ip, this.ip2].map((p, k) => (b.streams[k].count > 0 ? p.run(b.streams[k]) : undefined));
    for (const r of await Promise.all(runs)) if (r) errors.push(...r.errors);
    return errors;
  }

  /** A batch's lines as PlanLines, replaces first (for batch records: tests and debugging). */
  static lines(b: RouteBatch): PlanLine[] {
    const all = [...b.streams[0].lines(), ...b.streams[1].lines()];
    const line = (stage: PlanLine['stage']) => (l: string): PlanLine => ({ tool: 'ip', stage, line: l });
    return [...all.filter((l) => !l.startsWith('route del ')).map(line('route')), ...all.filter((l) => l.startsWith('route del ')).map(line('delete'))];
  }

  /** A full plan's run of route lines, to the streams by prefix; queued at once. */
  async writeLines(lines: string[]): Promise<BatchError[]> {
    if (!this.two) return (await this.ip.run(lines)).errors;
    const parts: [string[], string[]] = [[], []];
    for (const l of lines) parts[streamOf(l)].push(l);
    const runs = [this.ip, this.ip2].map((p, k) => (parts[k].length > 0 ? p.run(parts[k]) : undefined));
    return (await Promise.all(runs)).flatMap((r) => r?.errors ?? []);
  }

  /**
   * Writes a full plan's lines, returning the failed ones: runs of lines for the same tool, in
   * order; a run ends after a `link add`/`link del`, and `relinked` is called there (the streams
   * must resolve device names afresh). A run of route lines (replace and delete, each for a
   * distinct prefix) goes to the `ip` streams by prefix; other `ip` lines to the first stream.
   */
  async writePlan(lines: readonly PlanLine[], bridge: BatchStream, relinked: () => void): Promise<BatchError[]> {
    const errors: BatchError[] = [];
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
      if (split) errors.push(...(await this.writeLines(run)));
      else errors.push(...(await (tool === 'ip' ? this.ip : bridge).run(run)).errors);
      if (relink) relinked();
      i = j;
    }
    return errors;
  }
}
