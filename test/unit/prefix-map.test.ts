import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PrefixMap, PrefixQueue } from '../../src/lib/prefix-map.js';
import { v4Prefix, type Prefix } from '../../src/lib/prefix.js';

const v4 = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 })).map(([a, l]) => v4Prefix(a, l));
const v6 = fc.constantFrom('2001:db8::/32', 'fd00::/8', '::/0', '2001:db8:1::/48');
const prefix: fc.Arbitrary<Prefix> = fc.oneof(v4, v6);

describe('PrefixMap', () => {
  it('behaves as a Map over any sequence of set/delete (IPv4 with high addresses, lengths 0..32, IPv6)', () => {
    const op = fc.tuple(fc.boolean(), prefix, fc.integer());
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const m = new PrefixMap<number>();
        const ref = new Map<Prefix, number>();
        for (const [set, p, v] of ops) {
          if (set) {
            m.set(p, v);
            ref.set(p, v);
          } else expect(m.delete(p)).toBe(ref.delete(p));
          expect(m.size).toBe(ref.size);
        }
        for (const [p, v] of ref) {
          expect(m.has(p)).toBe(true);
          expect(m.get(p)).toBe(v);
        }
        expect(new Map(m.entries())).toEqual(ref);
        expect([...m.values()].sort()).toEqual([...ref.values()].sort());
      }),
    );
  });

  it('tells 255.255.255.0/24 from 127.255.255.0/24 (the sign bit of the small-integer key)', () => {
    const m = new PrefixMap<string>();
    const a = v4Prefix(0xffffff00, 24);
    const b = v4Prefix(0x7fffff00, 24);
    m.set(a, 'a').set(b, 'b');
    expect([m.get(a), m.get(b), m.size]).toEqual(['a', 'b', 2]);
    expect([...m.keys()].sort()).toEqual([a, b].sort());
  });
});

describe('PrefixQueue', () => {
  it('gives back what was pushed, across growth and partial takes', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.array(prefix, { maxLength: 3000 }), fc.integer({ min: 1, max: 2000 })), { maxLength: 20 }), (steps) => {
        const q = new PrefixQueue();
        const ref: Prefix[] = [];
        const got: Prefix[] = [];
        for (const s of steps) {
          if (typeof s === 'number') {
            const t = q.take(s);
            expect(t.length).toBe(Math.min(s, ref.length - got.length));
            got.push(...t);
          } else {
            for (const p of s) q.push(p);
            ref.push(...s);
          }
          expect(q.length).toBe(ref.length - got.length);
        }
        got.push(...q.take(Infinity));
        const key = (p: Prefix) => String(p);
        expect(got.map(key).sort()).toEqual(ref.map(key).sort());
        // IPv4 prefixes come out in the order they went in.
        expect(got.filter((p) => typeof p === 'number')).toEqual(ref.filter((p) => typeof p === 'number'));
      }),
      { numRuns: 50 },
    );
  });
});
