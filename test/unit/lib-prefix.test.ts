import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytesToIpv6, ipv4ToNumber, ipv6ToBytes, isIpv6, numberToIpv4, parseIpv6Into } from '../../src/lib/address.js';
import { formatPrefix, parsePrefix, prefixContains, prefixLength, v4Prefix, v6Bytes, v6Prefix } from '../../src/lib/prefix.js';

describe('addresses', () => {
  it('IPv4 text <-> number', () => {
    expect(ipv4ToNumber('10.244.3.1')).toBe(0x0af40301);
    expect(numberToIpv4(0xffffffff)).toBe('255.255.255.255');
    for (const bad of ['10.0.0', '10.0.0.256', '1.2.3.4.5', 'a.b.c.d', '']) expect(() => ipv4ToNumber(bad)).toThrow(/not an IPv4/);
  });

  it('IPv6 text follows RFC 5952', () => {
    const cases: [string, string][] = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of equal runs
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
      ['::', '::'],
      ['::1', '::1'],
      ['fe80::', 'fe80::'],
      ['::ffff:10.0.0.1', '::ffff:10.0.0.1'], // RFC 5952 5: mapped addresses keep the dotted quad
      ['::ffff:a00:1', '::ffff:10.0.0.1'],
    ];
    for (const [input, canonical] of cases) expect(bytesToIpv6(ipv6ToBytes(input))).toBe(canonical);
    for (const bad of ['1::2::3', '12345::', ':::', '1:2:3:4:5:6:7:8:9', 'g::1']) expect(() => ipv6ToBytes(bad)).toThrow(/not an IPv6/);
  });

  it('IPv6 bytes round-trip through canonical text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        expect([...ipv6ToBytes(bytesToIpv6(b))]).toEqual([...b]);
      }),
    );
  });
});

describe('prefixes', () => {
  it('IPv4 prefixes are numbers, IPv6 prefixes canonical text', () => {
    const p = parsePrefix('10.244.3.0/26');
    expect(typeof p).toBe('number');
    expect(formatPrefix(p)).toBe('10.244.3.0/26');
    expect(prefixLength(p)).toBe(26);
    expect(parsePrefix('2001:DB8:0::/32')).toBe('2001:db8::/32');
    expect(formatPrefix(parsePrefix('0.0.0.0/0'))).toBe('0.0.0.0/0');
    expect(formatPrefix(parsePrefix('255.255.255.255/32'))).toBe('255.255.255.255/32');
  });

  it('rejects host bits, bad lengths and missing lengths with the reason', () => {
    expect(() => parsePrefix('10.244.3.1/26')).toThrow(/host bits set \(did you mean 10\.244\.3\.0\/26\?\)/);
    expect(() => parsePrefix('10.0.0.0/33')).toThrow(/0\.\.32/);
    expect(() => parsePrefix('10.0.0.0')).toThrow(/no length/);
    expect(() => parsePrefix('2001:db8::1/64')).toThrow(/host bits/);
    expect(formatPrefix(parsePrefix('10.244.3.1/26', true))).toBe('10.244.3.0/26');
  });

  it('containment', () => {
    const pool = parsePrefix('10.244.0.0/16');
    expect(prefixContains(pool, parsePrefix('10.244.3.0/26'))).toBe(true);
    expect(prefixContains(pool, parsePrefix('10.245.3.0/26'))).toBe(false);
    expect(prefixContains(pool, parsePrefix('10.0.0.0/8'))).toBe(false);
    expect(prefixContains(parsePrefix('0.0.0.0/0'), pool)).toBe(true);
    expect(prefixContains(parsePrefix('fd00::/8'), parsePrefix('fd00:1::/64'))).toBe(true);
    expect(prefixContains(pool, parsePrefix('fd00:1::/64'))).toBe(false);
  });

  it('IPv4 packing is unique and ordered by address then length', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.integer({ min: 0, max: 32 }), (a, len) => {
        const p = v4Prefix(a, len);
        expect(parsePrefix(formatPrefix(p))).toBe(p);
        expect(prefixLength(p)).toBe(len);
      }),
    );
  });
});

// The split/regex/map implementations the single-pass parser and formatter replaced, kept as the
// oracle: the fast code must accept, reject and print exactly what these did.
const ref = {
  ipv6ToBytes(text: string): Uint8Array {
    const bad = () => new Error(`not an IPv6 address: ${JSON.stringify(text)}`);
    let s = text;
    const lastColon = s.lastIndexOf(':');
    if (lastColon >= 0 && s.indexOf('.', lastColon) > 0) {
      let v4: number;
      try {
        v4 = ipv4ToNumber(s.slice(lastColon + 1));
      } catch {
        throw bad();
      }
      s = `${s.slice(0, lastColon + 1)}${((v4 >>> 16) & 0xffff).toString(16)}:${(v4 & 0xffff).toString(16)}`;
    }
    const halves = s.split('::');
    if (halves.length > 2) throw bad();
    const parse = (h: string): number[] =>
      h === ''
        ? []
        : h.split(':').map((g) => {
            if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
            return parseInt(g, 16);
          });
    const head = parse(halves[0]);
    const rest = halves.length === 2 ? parse(halves[1]) : [];
    if (halves.length === 2 && head.length + rest.length > 7) throw bad();
    const groups = halves.length === 2 ? [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest] : head;
    if (groups.length !== 8) throw bad();
    const out = new Uint8Array(16);
    groups.forEach((g, i) => {
      out[i * 2] = g >> 8;
      out[i * 2 + 1] = g & 255;
    });
    return out;
  },
  bytesToIpv6(b: Uint8Array, offset = 0): string {
    let mapped = b[offset + 10] === 0xff && b[offset + 11] === 0xff;
    for (let i = 0; i < 10 && mapped; i++) mapped = b[offset + i] === 0;
    if (mapped) return `::ffff:${b[offset + 12]}.${b[offset + 13]}.${b[offset + 14]}.${b[offset + 15]}`;
    const g: number[] = [];
    for (let i = 0; i < 8; i++) g.push((b[offset + i * 2] << 8) | b[offset + i * 2 + 1]);
    let bestStart = -1;
    let bestLen = 0;
    for (let i = 0; i < 8; ) {
      if (g[i] !== 0) {
        i++;
        continue;
      }
      let j = i;
      while (j < 8 && g[j] === 0) j++;
      if (j - i > bestLen) {
        bestStart = i;
        bestLen = j - i;
      }
      i = j;
    }
    if (bestLen < 2) return g.map((x) => x.toString(16)).join(':');
    const left = g.slice(0, bestStart).map((x) => x.toString(16)).join(':');
    const right = g.slice(bestStart + bestLen).map((x) => x.toString(16)).join(':');
    return `${left}::${right}`;
  },
  v6Prefix(bytes: Uint8Array, length: number): string {
    const b = new Uint8Array(16);
    const full = length >> 3;
    b.set(bytes.subarray(0, full));
    if (length & 7) b[full] = bytes[full] & (0xff << (8 - (length & 7)));
    return `${ref.bytesToIpv6(b)}/${length}`;
  },
};

/** What a parse gives: the 16 bytes as hex, or the error message. */
function outcome(f: () => Uint8Array): string {
  try {
    return Buffer.from(f()).toString('hex');
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

// 16 bytes with many zero groups (so runs of every length and position occur), sometimes
// IPv4-mapped, sometimes arbitrary.
const groupArb = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 0xffff }), fc.constantFrom(0xffff, 1, 0x100, 0xf));
const addressArb = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc.array(groupArb, { minLength: 8, maxLength: 8 }).map((g) => Uint8Array.from(g.flatMap((x) => [x >> 8, x & 255]))),
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((v4) => Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4)),
);

// Other spellings of an address: upper case, leading zeros, no '::', a dotted-quad tail.
function spellings(b: Uint8Array): string[] {
  const g = Array.from({ length: 8 }, (_, i) => (b[2 * i] << 8) | b[2 * i + 1]);
  const canonical = bytesToIpv6(b);
  return [
    canonical,
    canonical.toUpperCase(),
    g.map((x) => x.toString(16).padStart(4, '0')).join(':'),
    g.map((x) => x.toString(16)).join(':'),
    `${g.slice(0, 6).map((x) => x.toString(16)).join(':')}:${b[12]}.${b[13]}.${b[14]}.${b[15]}`,
  ];
}

describe('IPv6 single-pass parser and formatter against the reference', () => {
  it('formats arbitrary 16-byte addresses exactly as the reference (RFC 5952), at any offset', () => {
    fc.assert(
      fc.property(addressArb, fc.nat(3), (b, pad) => {
        expect(bytesToIpv6(b)).toBe(ref.bytesToIpv6(b));
        const shifted = new Uint8Array(pad + 16);
        shifted.set(b, pad);
        expect(bytesToIpv6(shifted, pad)).toBe(ref.bytesToIpv6(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('parses every spelling of arbitrary addresses exactly as the reference', () => {
    fc.assert(
      fc.property(addressArb, (b) => {
        for (const text of spellings(b)) {
          expect(outcome(() => ipv6ToBytes(text))).toBe(outcome(() => ref.ipv6ToBytes(text)));
          expect([...ipv6ToBytes(text)]).toEqual([...b]);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts and rejects arbitrary near-address text exactly as the reference', () => {
    const piece = fc.constantFrom(':', '::', '.', '0', '1', 'f', 'F', 'ffff', '00000', '255', '256', '1.2.3.4', 'g', ' ', '/', '%', '1:2:3:4:5:6:7');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const text = parts.join('');
        expect(outcome(() => ipv6ToBytes(text))).toBe(outcome(() => ref.ipv6ToBytes(text)));
        expect(isIpv6(text)).toBe(!outcome(() => ref.ipv6ToBytes(text)).startsWith('error'));
      }),
      { numRuns: 5000 },
    );
  });

  it('edge cases', () => {
    const accepted: [string, string][] = [
      ['::', '::'],
      ['::0', '::'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'], // '::' for a single zero group is accepted on input
      ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
      ['1:0:0:2:0:0:0:3', '1:0:0:2::3'], // the longest run, not the first
      ['1:0:0:2:3:0:0:4', '1::2:3:0:0:4'], // the first of equal runs
      ['ABCD:EF01::', 'abcd:ef01::'],
      ['0001:0002::0003', '1:2::3'],
      ['::1.2.3.4', '::102:304'], // not mapped: hex groups
      ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
      ['::ffff:001.02.3.000', '::ffff:1.2.3.0'],
      ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
      ['::ffff:0:0', '::ffff:0.0.0.0'],
      ['0:0:0:0:0:ffff:a00:1', '::ffff:10.0.0.1'],
      ['::fffe:a00:1', '::fffe:a00:1'],
    ];
    for (const [text, canonical] of accepted) {
      expect(bytesToIpv6(ipv6ToBytes(text))).toBe(canonical);
      expect([...ipv6ToBytes(text)]).toEqual([...ref.ipv6ToBytes(text)]);
    }
    const rejected = [
      '', ':', ':::', '1:', ':1', '1::2::3', '1:::2', '::1::', '1::2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7',
      '12345::', 'g::1', '1.2.3.4', '::1.2.3', '::1.2.3.4.5', '::1.2.3.256', '::1.2.3.4:5', '::1.2.3.4::', '::0001.2.3.4',
      '1:2:3:4:5:6:7:1.2.3.4', '::a.b.c.d', '::1..2.3', 'fe80::1%eth0', ' ::1', '::1 ', '[::1]', '::١',
    ];
    for (const text of rejected) {
      expect(() => ipv6ToBytes(text)).toThrow(`not an IPv6 address: ${JSON.stringify(text)}`);
      expect(() => ref.ipv6ToBytes(text)).toThrow(/not an IPv6/);
      expect(isIpv6(text)).toBe(false);
    }
  });

  it('parses a slice of a longer string into a slice of a longer buffer', () => {
    const out = new Uint8Array(20).fill(0xaa);
    expect(parseIpv6Into('x2001:db8::1/64', 1, 12, out, 2)).toBe(true);
    expect([...out]).toEqual([0xaa, 0xaa, 0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1, 0xaa, 0xaa]);
    expect(parseIpv6Into('2001:db8::1/64', 0, 14, out, 0)).toBe(false);
  });

  it('v6Prefix and v6Bytes give what the reference did', () => {
    fc.assert(
      fc.property(addressArb, fc.integer({ min: 0, max: 128 }), (b, len) => {
        const p = v6Prefix(b, len);
        expect(p).toBe(ref.v6Prefix(b, len));
        expect([...v6Bytes(p)]).toEqual([...ref.ipv6ToBytes(p.slice(0, p.indexOf('/')))]);
        expect(parsePrefix(p)).toBe(p);
      }),
      { numRuns: 2000 },
    );
    // Without a '/', v6Bytes has always read all but the last character.
    expect([...v6Bytes('::12')]).toEqual([...ipv6ToBytes('::1')]);
    expect(() => v6Bytes('zz::/8')).toThrow('not an IPv6 address: "zz::"');
  });
});
