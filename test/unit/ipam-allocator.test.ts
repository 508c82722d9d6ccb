// The pure part of the block allocator (src/agent/membership/ipam.ts): blocks of a pool by number
// and back, and the next free block given what is claimed, as properties over random pools and
// random claimed sets (IPv4 and IPv6), plus the cases a reader would check by hand.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPrefix, parsePrefix, prefixContains, prefixLength, type Prefix } from '../../src/lib/prefix.js';
import { blockAt, blockCount, blockIndex, nextFreeBlock, poolOf, searchStart, type PoolShape } from '../../src/agent/membership/ipam.js';

const pool = (cidr: string, blockSize: number): PoolShape => ({ cidr: parsePrefix(cidr), blockSize });
const text = (p: Prefix | undefined) => (p === undefined ? undefined : formatPrefix(p));

/** Small pools (so that full pools happen): IPv4 /20../28 with blocks 0..6 bits longer, or IPv6 likewise. */
const arbPool = fc.oneof(
  fc.record({ a: fc.integer({ min: 0, max: 255 }), len: fc.integer({ min: 20, max: 28 }), extra: fc.integer({ min: 0, max: 6 }) }).map(({ a, len, extra }) => pool(formatPrefix(parsePrefix(`10.${a}.0.0/${len}`, true)), Math.min(32, len + extra))),
  fc.record({ a: fc.integer({ min: 0, max: 0xffff }), len: fc.integer({ min: 56, max: 120 }), extra: fc.integer({ min: 0, max: 6 }) }).map(({ a, len, extra }) => pool(formatPrefix(parsePrefix(`fd00:${a.toString(16)}::/${len}`, true)), Math.min(128, len + extra))),
);

describe('ipam: blocks of a pool', () => {
  it('counts and numbers blocks by hand-checked examples', () => {
    const p = pool('10.244.0.0/16', 26);
    expect(blockCount(p)).toBe(1024n);
    expect(text(blockAt(p, 0n))).toBe('10.244.0.0/26');
    expect(text(blockAt(p, 5n))).toBe('10.244.1.64/26');
    expect(text(blockAt(p, 1023n))).toBe('10.244.255.192/26');
    expect(blockIndex(p, parsePrefix('10.244.1.64/26'))).toBe(5n);
    expect(blockIndex(p, parsePrefix('10.244.1.0/25'))).toBeUndefined(); // not one block
    expect(blockIndex(p, parsePrefix('10.245.0.0/26'))).toBeUndefined(); // outside
    const v6 = pool('fd00:244::/64', 122);
    expect(blockCount(v6)).toBe(1n << 58n);
    expect(text(blockAt(v6, 3n))).toBe('fd00:244::c0/122');
    expect(blockIndex(v6, parsePrefix('fd00:244::c0/122'))).toBe(3n);
  });

  it('blockAt and blockIndex are inverse, and every block lies in its pool with the block size', () => {
    fc.assert(
      fc.property(arbPool, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (p, raw) => {
        const i = raw % blockCount(p);
        const b = blockAt(p, i);
        expect(prefixLength(b)).toBe(p.blockSize);
        expect(prefixContains(p.cidr, b)).toBe(true);
        expect(blockIndex(p, b)).toBe(i);
      }),
    );
  });
});

describe('ipam: the next free block', () => {
  it('is never a claimed block, lies in the pool, and is undefined only when the pool is full', () => {
    fc.assert(
      fc.property(arbPool, fc.array(fc.bigInt({ min: 0n, max: 127n }), { maxLength: 80 }), fc.bigInt({ min: 0n, max: 1000n }), (p, picks, start) => {
        const count = blockCount(p);
        const claimed = new Set<Prefix>(picks.map((i) => blockAt(p, i % count)));
        const b = nextFreeBlock(p, claimed, start);
        if (b === undefined) {
          expect(BigInt(claimed.size)).toBe(count);
          return;
        }
        expect(claimed.has(b)).toBe(false);
        expect(blockIndex(p, b)).not.toBeUndefined();
      }),
    );
  });

  it('is the first free block at or after the start, wrapping round', () => {
    fc.assert(
      fc.property(arbPool.filter((p) => blockCount(p) <= 64n), fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }), fc.nat(200), (p, taken, start) => {
        const count = Number(blockCount(p));
        const claimed = new Set<Prefix>();
        for (let i = 0; i < count; i++) if (taken[i]) claimed.add(blockAt(p, BigInt(i)));
        let want: Prefix | undefined;
        for (let k = 0; k < count; k++) {
          const i = (start + k) % count;
          if (!taken[i]) {
            want = blockAt(p, BigInt(i));
            break;
          }
        }
        expect(nextFreeBlock(p, claimed, BigInt(start))).toBe(want);
      }),
    );
  });

  it('claims taken one after another never repeat and fill the pool exactly (a released block comes back)', () => {
    fc.assert(
      fc.property(arbPool.filter((p) => blockCount(p) <= 64n), fc.string(), fc.nat(63), (p, name, release) => {
        const claimed = new Set<Prefix>();
        const start = searchStart(name, p);
        for (;;) {
          const b = nextFreeBlock(p, claimed, start);
          if (b === undefined) break;
          expect(claimed.has(b)).toBe(false);
          claimed.add(b);
        }
        expect(BigInt(claimed.size)).toBe(blockCount(p));
        const back = blockAt(p, BigInt(release) % blockCount(p));
        claimed.delete(back);
        expect(nextFreeBlock(p, claimed, start)).toBe(back);
      }),
    );
  });

  it('ignores claims of other pools, and poolOf finds the pool a block belongs to', () => {
    const a = pool('10.244.0.0/24', 26);
    const b = pool('10.245.0.0/24', 26);
    const claimed = new Set<Prefix>([parsePrefix('10.245.0.0/26'), parsePrefix('10.244.0.0/26')]);
    expect(text(nextFreeBlock(a, claimed))).toBe('10.244.0.64/26');
    expect(poolOf([a, b], parsePrefix('10.245.0.128/26'))).toBe(b);
    expect(poolOf([a, b], parsePrefix('10.245.0.128/25'))).toBeUndefined();
  });

  it('starts hosts at different places (FNV-1a of the name), within the pool', () => {
    const p = pool('10.244.0.0/16', 26);
    const starts = new Set(Array.from({ length: 100 }, (_, i) => searchStart(`host-${i}`, p)));
    expect(starts.size).toBeGreaterThan(90);
    for (const s of starts) expect(s < 1024n && s >= 0n).toBe(true);
  });
});
