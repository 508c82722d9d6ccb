/**
 * Batch lines as bytes, for the `ip -batch` streams. A table of 1M routes arriving is 1M
 * `route replace` lines: as JS strings (the prefix text, the concatenation, the joined chunk,
 * then the UTF-8 copy for the pipe) they were ~300 bytes of garbage per route and a large share
 * of node's CPU. Here a route line is written straight into a growing Buffer from the prefix
 * number and the pre-encoded rest of the line; nothing per route is allocated.
 */
import type { Prefix } from '../lib/prefix.js';

/** ASCII decimal of 0..255, each as bytes. */
const DEC: Uint8Array[] = Array.from({ length: 256 }, (_, i) => Buffer.from(String(i), 'latin1'));
const DOT = 0x2e;
const SLASH = 0x2f;
const NL = 0x0a;

export class LineBuffer {
  private buf = Buffer.allocUnsafe(16 * 1024);
  private len = 0;
  /** End offset of each line, its newline included. */
  private ends = new Uint32Array(256);
  private n = 0;

  /** Lines so far. */
  get count(): number {
    return this.n;
  }

  /** Appends `head` + the prefix's text + `tail` + newline. */
  route(head: Uint8Array, p: Prefix, tail: Uint8Array): void {
    this.room(head.length + (typeof p === 'string' ? p.length : 19) + tail.length + 1);
    const b = this.buf;
    let o = this.len;
    b.set(head, o);
    o += head.length;
    if (typeof p === 'string') o += b.write(p, o, 'latin1');
    else {
      const len = p % 64;
      const a = (p - len) / 64;
      for (let shift = 24; shift >= 0; shift -= 8) {
        const d = DEC[(a >>> shift) & 255];
        b.set(d, o);
        o += d.length;
        b[o++] = shift === 0 ? SLASH : DOT;
      }
      const l = DEC[len];
      b.set(l, o);
      o += l.length;
    }
    b.set(tail, o);
    o += tail.length;
    b[o++] = NL;
    this.end(o);
  }

  /** Appends one line of text (no newline in it). */
  text(line: string): void {
    this.room(line.length * 3 + 1);
    let o = this.len + this.buf.write(line, this.len, 'utf8');
    this.buf[o++] = NL;
    this.end(o);
  }

  /** Line i, without its newline. */
  line(i: number): string {
    const start = i === 0 ? 0 : this.ends[i - 1];
    return this.buf.toString('utf8', start, this.ends[i] - 1);
  }

  /** Every line, as strings (for logs and tests; not the hot path). */
  lines(from = 0, to = this.n): string[] {
    const out: string[] = [];
    for (let i = from; i < Math.min(to, this.n); i++) out.push(this.line(i));
    return out;
  }

  /** The bytes of lines [from, to), newlines included (a view: the buffer is not copied). */
  bytes(from: number, to: number): Buffer {
    const start = from === 0 ? 0 : this.ends[from - 1];
    return this.buf.subarray(start, to === 0 ? 0 : this.ends[to - 1]);
  }

  private end(o: number): void {
    if (this.n === this.ends.length) {
      const e = new Uint32Array(this.ends.length * 2);
      e.set(this.ends);
      this.ends = e;
    }
    this.ends[this.n++] = o;
    this.len = o;
  }

  private room(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + extra));
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }
}
