/**
 * The fuzzers' random numbers: xorshift32, fast and deterministic, so a run is replayed from its
 * seed (WEFT_FUZZ_SEED).
 */
export class Rng {
  private s: number;

  constructor(readonly seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9; // xorshift never leaves 0
  }

  /** [0, 1) */
  next(): number {
    let s = this.s;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.s = s >>> 0;
    return this.s / 4294967296;
  }

  /** 0 .. n-1 */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** lo .. hi, both included */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  /** A uint32. */
  u32(): number {
    return (this.int(0x10000) * 0x10000 + this.int(0x10000)) >>> 0;
  }

  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** The seed of a run: WEFT_FUZZ_SEED, else the clock. */
export function seedFromEnv(): number {
  const env = process.env.WEFT_FUZZ_SEED;
  return env !== undefined && env !== '' ? Number(env) >>> 0 : Date.now() % 2 ** 31;
}
