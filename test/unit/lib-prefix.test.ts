import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytesToIpv6, ipv4ToNumber, ipv6ToBytes, numberToIpv4 } from '../../src/lib/address.js';
import { formatPrefix, parsePrefix, prefixContains, prefixLength, v4Prefix } from '../../src/lib/prefix.js';

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
