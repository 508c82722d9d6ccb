// Route lines written as bytes (line-buffer.ts) must be the text the string form would be, and
// one prefix's lines must always go to the same `ip` stream.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { streamOf, streamOfPrefix } from '../../src/dataplane/route-streams.js';
import { LineBuffer } from '../../src/dataplane/line-buffer.js';
import { formatPrefix, v4Prefix } from '../../src/lib/prefix.js';

const HEAD = Buffer.from('route replace ');
const TAIL = Buffer.from(' via 10.0.1.12 dev eth0 proto 249');

describe('LineBuffer', () => {
  it('route(): "head prefix tail" for any IPv4 prefix, as formatPrefix writes it', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 })), { maxLength: 300 }), (ps) => {
        const b = new LineBuffer();
        const want: string[] = [];
        for (const [a, l] of ps) {
          const p = v4Prefix(a, l);
          b.route(HEAD, p, TAIL);
          want.push(`route replace ${formatPrefix(p)} via 10.0.1.12 dev eth0 proto 249`);
        }
        expect(b.count).toBe(want.length);
        expect(b.lines()).toEqual(want);
        expect(b.bytes(0, b.count).toString()).toBe(want.map((l) => `${l}\n`).join(''));
      }),
    );
  });

  it('mixes text lines, IPv6 prefixes and any chunk boundaries', () => {
    const b = new LineBuffer();
    b.text('route del 10.9.0.0/24 proto 249');
    b.route(HEAD, 'fd00:244::/64', TAIL);
    for (let i = 0; i < 5000; i++) b.route(HEAD, v4Prefix((16 << 24) + i * 256, 24), TAIL);
    expect(b.line(0)).toBe('route del 10.9.0.0/24 proto 249');
    expect(b.line(1)).toBe('route replace fd00:244::/64 via 10.0.1.12 dev eth0 proto 249');
    expect(b.line(5001)).toBe('route replace 16.19.135.0/24 via 10.0.1.12 dev eth0 proto 249');
    const joined = [b.bytes(0, 1000), b.bytes(1000, 4321), b.bytes(4321, b.count)].map((x) => x.toString()).join('');
    expect(joined).toBe(b.lines().map((l) => `${l}\n`).join(''));
  });
});

describe('ip streams by prefix', () => {
  it('a prefix goes to one stream whatever its line says; consecutive /24s are spread evenly', () => {
    let ones = 0;
    for (let i = 0; i < 10_000; i++) {
      const p = v4Prefix((16 << 24) + i * 256, 24);
      const s = streamOfPrefix(p);
      ones += s;
      const text = formatPrefix(p);
      expect(streamOf(`route replace ${text} via 10.0.1.12 dev eth0 proto 249`)).toBe(s);
      expect(streamOf(`route del ${text} proto 249`)).toBe(s);
      expect(streamOf(`route del blackhole ${text} proto 249 metric 5`)).toBe(s);
    }
    expect(ones).toBeGreaterThan(4500);
    expect(ones).toBeLessThan(5500);
  });
});
