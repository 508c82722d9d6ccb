/**
 * A bounds-checked cursor over bytes. Every read past the end throws a WireError with the code the
 * caller names, so a truncated field becomes the NOTIFICATION the RFC prescribes for that field.
 */
import { WireError, type WireErrorCode } from './errors.js';

export class Reader {
  pos: number;
  readonly end: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
    /** What a short read means here (e.g. 'update.malformed-attribute-list'). */
    readonly shortCode: WireErrorCode = 'header.bad-length',
  ) {
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number, what: string): void {
    if (this.pos + n > this.end) {
      throw new WireError(this.shortCode, `${what}: needs ${n} byte(s) at offset ${this.pos}, ${this.remaining} left`, {
        offset: this.pos,
      });
    }
  }

  u8(what = 'octet'): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }

  u16(what = 'two-octet field'): number {
    this.need(2, what);
    const v = (this.buf[this.pos] << 8) | this.buf[this.pos + 1];
    this.pos += 2;
    return v;
  }

  u32(what = 'four-octet field'): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  /** A view (no copy) of the next n bytes. */
  bytes(n: number, what = 'field'): Uint8Array {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A sub-reader over the next n bytes, advancing this one past them. */
  sub(n: number, what: string, shortCode: WireErrorCode = this.shortCode): Reader {
    this.need(n, what);
    const r = new Reader(this.buf, this.pos, this.pos + n, shortCode);
    this.pos += n;
    return r;
  }
}
