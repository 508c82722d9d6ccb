/**
 * One long-lived `ip -force -batch -` (or `bridge -force -batch -`) process fed over stdin.
 *
 * Knowing when a batch is applied: after the batch's lines we send a marker line, an object name
 * iproute2 does not know. It fails at once, without a netlink round trip, and prints
 * `Command failed -:N` on stderr, N being its line number. iproute2 runs lines in order and writes
 * every error to stderr (unbuffered) before reading the next line, so once the marker's
 * `Command failed -:N` arrives every line before it has been applied, and each earlier
 * `Command failed -:M` on the same stream names a failed line of this batch (M counts lines over
 * the life of the process; we keep the count). A small batch round-trips in ~0.3 ms here. A
 * read such as `link show` as the marker was rejected: its answer comes on stdout, errors on
 * stderr, two pipes whose relative order the reader cannot know.
 *
 * Batches queue up (run() may be called again before the last one is applied) and one pump
 * writes them in order, in chunks of CHUNK_LINES with at most two chunks in flight: node never
 * buffers more than that for the pipe (a 1M-line batch was one ~60 MB string, buffered by node at
 * once), and iproute2 is never idle while a batch waits. iproute2 6.1 keeps ~4 KB per command for
 * the life of a batch process (measured: 812 MB peak RSS after 200k `route replace` lines, the same
 * from a file; 3.9 GB at 1M), so a process is replaced once it has run LINES_PER_PROCESS lines
 * (~80 MB at most; a fresh process costs a few ms). The replacement waits for the old process's
 * last marker, so lines run in the order they were given, across processes too.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { lineReader } from '../lib/lines.js';
import type { BatchError, BatchResult, BatchStream } from './ip-driver.js';
import { spawnHelper } from './iproute2-spawn.js';
import { LineBuffer } from './line-buffer.js';

export type { BatchError, BatchResult } from './ip-driver.js';

const MARKER = 'weft-batch-done';
const MARKER_LINE = Buffer.from(`${MARKER}\n`);
/** Lines per write; the next chunk is written while iproute2 works on the previous one. */
const CHUNK_LINES = 1000;
/** A batch process is replaced (between chunks) after this many lines: see above. */
const LINES_PER_PROCESS = 20_000;

/** One run() call. */
interface Job {
  lines: LineBuffer;
  /** Lines written so far. */
  at: number;
  /** Chunks written and not yet acknowledged. */
  open: number;
  errors: BatchError[];
  started: number;
  failed: boolean;
  resolve: (r: BatchResult) => void;
  reject: (e: Error) => void;
}

/** One chunk written to the current process. */
interface Pending {
  job: Job;
  /** The job's first line in this chunk, and how many. */
  from: number;
  count: number;
  /** Process line number of the chunk's first line, minus one. */
  base: number;
  marker: number;
}

export class BatchProcess implements BatchStream {
  private child: ChildProcessWithoutNullStreams | undefined;
  private sent = 0;
  private readonly jobs: Job[] = [];
  private readonly inflight: Pending[] = [];
  private messages: string[] = [];
  private closed = false;
  /** restart() was asked for while chunks were in flight: done once they are acknowledged. */
  private restartDue = false;

  constructor(
    readonly tool: 'ip' | 'bridge',
    readonly netns?: string,
  ) {}

  /**
   * Queues the lines as one batch, after every batch queued before; resolves once all have been
   * applied (some may have failed).
   */
  run(input: readonly string[] | LineBuffer): Promise<BatchResult> {
    if (this.closed) return Promise.reject(new Error(`${this.tool} batch process is closed`));
    let lines: LineBuffer;
    if (input instanceof LineBuffer) lines = input;
    else {
      lines = new LineBuffer();
      for (const l of input) {
        if (l.includes('\n')) return Promise.reject(new Error(`batch line has a newline: ${JSON.stringify(l)}`));
        lines.text(l);
      }
    }
    return new Promise<BatchResult>((resolve, reject) => {
      this.jobs.push({ lines, at: 0, open: 0, errors: [], started: performance.now(), failed: false, resolve, reject });
      this.pump();
    });
  }

  /** Writes chunks while fewer than two are in flight; replaces a worn process between chunks. */
  private pump(): void {
    while (this.inflight.length < 2 && !this.closed) {
      const job = this.jobs.find((j) => !j.failed && (j.at < j.lines.count || (j.lines.count === 0 && j.open === 0 && j.at === 0)));
      if (!job) return;
      if (this.sent >= LINES_PER_PROCESS || this.restartDue) {
        // Only with nothing in flight: the old process's last markers must be seen first.
        if (this.inflight.length > 0) return;
        this.restartDue = false;
        this.restart();
      }
      const child = this.ensure();
      const from = job.at;
      const count = Math.min(CHUNK_LINES, job.lines.count - from);
      // An empty batch is just a marker (it resolves once everything before it has run).
      job.at += Math.max(1, count);
      job.open++;
      const base = this.sent;
      const marker = base + count + 1;
      this.sent = marker;
      this.inflight.push({ job, from, count, base, marker });
      if (count > 0) child.stdin.write(job.lines.bytes(from, from + count));
      child.stdin.write(MARKER_LINE);
    }
  }

  private settle(job: Job): void {
    if (job.failed || job.open > 0 || job.at < job.lines.count) return;
    this.jobs.splice(this.jobs.indexOf(job), 1);
    job.resolve({ lines: job.lines.count, errors: job.errors, ms: performance.now() - job.started });
  }

  /**
   * Lets the current process finish and starts a fresh one on the next run. iproute2 caches
   * interface name -> index for its lifetime, so after a device weft manages is deleted and
   * created again (by us or by hand), a long-lived process would still use the old index
   * ("Error: unknown ifindex"). With chunks in flight, the process is replaced once they are done.
   */
  restart(): void {
    if (this.inflight.length > 0) {
      this.restartDue = true;
      return;
    }
    const c = this.child;
    if (!c) return;
    this.child = undefined;
    c.removeAllListeners('close');
    c.removeAllListeners('error');
    c.on('error', () => undefined);
    // Every marker of the old process has been seen: its stderr no longer concerns us.
    c.stderr.removeAllListeners('data');
    c.stderr.resume();
    c.stdin.end();
  }

  /** Closes stdin and waits for the process to exit. */
  async close(): Promise<void> {
    this.closed = true;
    const c = this.child;
    if (!c) return;
    const exited = new Promise<void>((r) => c.once('close', () => r()));
    c.stdin.end();
    const t = setTimeout(() => c.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }

  private ensure(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const args = [...(this.netns ? ['-n', this.netns] : []), '-force', '-batch', '-'];
    // The parent-death signal ends the process with weft, however weft ends (iproute2-spawn.ts).
    const child = spawnHelper(this.tool, args, { stdio: ['pipe', 'pipe', 'pipe'] }) as ChildProcessWithoutNullStreams;
    this.child = child;
    this.sent = 0;
    this.messages = [];
    child.stdout.resume(); // nothing we send prints; drain anyway so the pipe never fills
    // A fresh reader per process: a partial line of the old one never joins the new one's.
    child.stderr.setEncoding('utf8').on('data', lineReader((line) => this.onStderrLine(line)));
    child.stdin.on('error', () => undefined); // reported through 'close'
    const fail = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      const err = new Error(`${this.tool} ${args.join(' ')} ${why}${this.messages.length ? `: ${this.messages.join('; ')}` : ''}`);
      // The batches with lines in the dead process fail; those behind them go to a new one.
      for (const p of this.inflight.splice(0)) {
        if (p.job.failed) continue;
        p.job.failed = true;
        this.jobs.splice(this.jobs.indexOf(p.job), 1);
        p.job.reject(err);
      }
      this.pump();
    };
    child.on('error', (e) => fail(`failed to start: ${e.message}`));
    child.on('close', (code, signal) => fail(`exited (${signal ?? `code ${code}`})`));
    return child;
  }

  private onStderrLine(text: string): void {
    const m = /^Command failed -:(\d+)$/.exec(text);
    if (!m) {
      if (text.trim()) this.messages.push(text.trim());
      return;
    }
    const n = Number(m[1]);
    const msgs = this.messages;
    this.messages = [];
    const p = this.inflight[0];
    if (!p) return;
    if (n === p.marker) {
      this.inflight.shift();
      p.job.open--;
      this.settle(p.job);
      this.pump();
    } else if (n > p.base && n < p.marker) {
      p.job.errors.push({ line: p.job.lines.line(p.from + n - p.base - 1), message: msgs.join('; ') || 'failed' });
    }
  }
}
