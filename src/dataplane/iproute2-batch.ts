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
 * Large batches go in chunks of CHUNK_LINES, at most two in flight: node never buffers more
 * than that for the pipe (a 1M-line batch was one ~60 MB string, buffered by node at once),
 * and iproute2 is never idle waiting for us. iproute2 6.1 keeps ~4 KB per command for the life
 * of a batch process (measured: 812 MB peak RSS after 200k `route replace` lines, the same from
 * a file; 3.9 GB at 1M), so a process is replaced between chunks once it has run
 * LINES_PER_PROCESS lines (~80 MB at most; a fresh process costs a few ms).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface BatchError {
  /** The batch line that failed. */
  line: string;
  /** What iproute2 printed for it ("Error: Nexthop has invalid gateway."). */
  message: string;
}

export interface BatchResult {
  lines: number;
  errors: BatchError[];
  ms: number;
}

const MARKER = 'weft-batch-done';
/** Lines per write; the next chunk is written while iproute2 works on the previous one. */
const CHUNK_LINES = 5000;
/** A batch process is replaced (between chunks) after this many lines: see above. */
const LINES_PER_PROCESS = 20_000;

interface Pending {
  lines: string[];
  /** Process line number of the batch's first line, minus one. */
  base: number;
  marker: number;
  errors: BatchError[];
  started: number;
  resolve: (r: BatchResult) => void;
  reject: (e: Error) => void;
}

export class BatchProcess {
  private child: ChildProcessWithoutNullStreams | undefined;
  private sent = 0;
  private readonly inflight: Pending[] = [];
  private stderrBuf = '';
  private messages: string[] = [];
  private closed = false;

  constructor(
    readonly tool: 'ip' | 'bridge',
    readonly netns?: string,
  ) {}

  /** Runs the lines as one batch; resolves once all have been applied (some may have failed). */
  async run(lines: readonly string[]): Promise<BatchResult> {
    if (this.closed) throw new Error(`${this.tool} batch process is closed`);
    for (const l of lines) if (l.includes('\n')) throw new Error(`batch line has a newline: ${JSON.stringify(l)}`);
    if (lines.length <= CHUNK_LINES && this.sent < LINES_PER_PROCESS) return this.runChunk(lines);
    const started = performance.now();
    const errors: BatchError[] = [];
    let prev: Promise<BatchResult> | undefined;
    for (let i = 0; i < lines.length; i += CHUNK_LINES) {
      if (this.sent >= LINES_PER_PROCESS) {
        // Only with nothing in flight: the old process's last markers must be seen first.
        if (prev) errors.push(...(await prev).errors);
        prev = undefined;
        this.restart();
      }
      const cur = this.runChunk(lines.slice(i, i + CHUNK_LINES));
      cur.catch(() => undefined); // awaited below; a failure is thrown from there
      if (prev) errors.push(...(await prev).errors);
      prev = cur;
    }
    if (prev) errors.push(...(await prev).errors);
    return { lines: lines.length, errors, ms: performance.now() - started };
  }

  private runChunk(lines: readonly string[]): Promise<BatchResult> {
    const child = this.ensure();
    return new Promise<BatchResult>((resolve, reject) => {
      const base = this.sent;
      const marker = base + lines.length + 1;
      this.sent = marker;
      this.inflight.push({ lines: [...lines], base, marker, errors: [], started: performance.now(), resolve, reject });
      child.stdin.write(lines.length ? `${lines.join('\n')}\n${MARKER}\n` : `${MARKER}\n`);
    });
  }

  /**
   * Lets the current process finish and starts a fresh one on the next run. iproute2 caches
   * interface name -> index for its lifetime, so after a device weft manages is deleted and
   * created again (by us or by hand), a long-lived process would still use the old index
   * ("Error: unknown ifindex"). Call only between runs.
   */
  restart(): void {
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
    const child = spawn(this.tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.sent = 0;
    this.stderrBuf = '';
    this.messages = [];
    child.stdout.resume(); // nothing we send prints; drain anyway so the pipe never fills
    child.stderr.setEncoding('utf8').on('data', (d: string) => this.onStderr(d));
    child.stdin.on('error', () => undefined); // reported through 'close'
    const fail = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      const err = new Error(`${this.tool} ${args.join(' ')} ${why}${this.messages.length ? `: ${this.messages.join('; ')}` : ''}`);
      for (const p of this.inflight.splice(0)) p.reject(err);
    };
    child.on('error', (e) => fail(`failed to start: ${e.message}`));
    child.on('close', (code, signal) => fail(`exited (${signal ?? `code ${code}`})`));
    return child;
  }

  private onStderr(d: string): void {
    this.stderrBuf += d;
    let nl: number;
    while ((nl = this.stderrBuf.indexOf('\n')) >= 0) {
      const text = this.stderrBuf.slice(0, nl);
      this.stderrBuf = this.stderrBuf.slice(nl + 1);
      const m = /^Command failed -:(\d+)$/.exec(text);
      if (!m) {
        if (text.trim()) this.messages.push(text.trim());
        continue;
      }
      const n = Number(m[1]);
      const msgs = this.messages;
      this.messages = [];
      const p = this.inflight[0];
      if (!p) continue;
      if (n === p.marker) {
        this.inflight.shift();
        p.resolve({ lines: p.lines.length, errors: p.errors, ms: performance.now() - p.started });
      } else if (n > p.base && n < p.marker) {
        p.errors.push({ line: p.lines[n - p.base - 1], message: msgs.join('; ') || 'failed' });
      }
    }
  }
}
