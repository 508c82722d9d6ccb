import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/lib/hex.js';
import { parsePrefix, v4Prefix, v6Prefix } from '../../src/lib/prefix.js';
import { decodePrefixes, decodeV4Prefixes, decodeV6Prefixes, v6PrefixBytes, writePrefixes } from '../../src/wire/nlri.js';
import { Writer } from '../../src/wire/writer.js';
import { thrown } from '../helpers/wire-error.js';

function v4(hex: string, addPath = false): { prefixes: number[]; ids: number[] } {
  const b = fromHex(hex);
  const prefixes: number[] = [];
  const ids: number[] = [];
  decodeV4Prefixes(b, 0, b.length, prefixes, addPath ? ids : null, 'update.invalid-network');
  return { prefixes, ids };
}

function encoded(afi: number, prefixes: (number | string)[], ids?: number[]): string {
  const w = new Writer(8);
  writePrefixes(w, afi, prefixes, ids, ids !== undefined);
  return toHex(w.finish());
}

describe('IPv4 NLRI (RFC 4271 4.3)', () => {
  it('decodes lengths 0, 8, 16, 24, 25 and 32 into address*64+length numbers', () => {
    const { prefixes } = v4('00 080a 10ac10 18c0a801 19c0a80180 200a000001');
    expect(prefixes).toEqual(['0.0.0.0/0', '10.0.0.0/8', '172.16.0.0/16', '192.168.1.0/24', '192.168.1.128/25', '10.0.0.1/32'].map((t) => parsePrefix(t)));
  });

  it('clears trailing host bits ("the value of trailing bits is irrelevant")', () => {
    expect(v4('19c0a801ff').prefixes).toEqual([v4Prefix(0xc0a80180, 25)]);
    expect(v4('0fc0ff').prefixes).toEqual([parsePrefix('192.254.0.0/15')]);
  });

  it('encodes to the minimum number of octets', () => {
    const list = ['0.0.0.0/0', '10.0.0.0/8', '192.168.1.128/25', '10.0.0.1/32'].map((t) => parsePrefix(t));
    expect(encoded(1, list)).toBe('00080a19c0a80180200a000001');
  });

  it('reads and writes RFC 7911 path identifiers', () => {
    const hex = '00000001 18c0a801 ffffffff 080a';
    const { prefixes, ids } = v4(hex, true);
    expect(prefixes).toEqual([parsePrefix('192.168.1.0/24'), parsePrefix('10.0.0.0/8')]);
    expect(ids).toEqual([1, 0xffffffff]);
    expect(encoded(1, prefixes, ids)).toBe(hex.replace(/ /g, ''));
  });

  it('rejects a length above 32 and a prefix running past the field', () => {
    expect(thrown(() => v4('21 0a000000 00')).code).toBe('update.invalid-network');
    expect(thrown(() => v4('18 0a00')).code).toBe('update.invalid-network');
    expect(thrown(() => v4('000000', true)).code).toBe('update.invalid-network');
  });

  it('round-trips arbitrary prefix lists', () => {
    const prefix = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 32 }));
    fc.assert(
      fc.property(fc.array(prefix), (raw) => {
        const list = raw.map(([hi, lo, len]) => v4Prefix(hi * 65536 + lo, len));
        expect(v4(encoded(1, list)).prefixes).toEqual(list);
      }),
    );
  });
});

describe('IPv6 NLRI (RFC 4760 5)', () => {
  it('decodes into RFC 5952 prefix text', () => {
    const b = fromHex('00 20 20010db8 30 20010db80001 40 20010db8000000ff 80 fe800000000000000000000000000001 7f ffffffffffffffffffffffffffffffff');
    const out: string[] = [];
    decodeV6Prefixes(b, 0, b.length, out, null, 'update.optional-attribute');
    expect(out).toEqual(['::/0', '2001:db8::/32', '2001:db8:1::/48', '2001:db8:0:ff::/64', 'fe80::1/128', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127']);
  });

  it('writes the wire form of prefix text', () => {
    expect(toHex(v6PrefixBytes('2001:db8:1::/48'))).toBe('3020010db80001');
    expect(toHex(v6PrefixBytes('::/0'))).toBe('00');
    expect(encoded(2, ['2001:db8::/32', 'fe80::1/128'], [7, 8])).toBe('000000072020010db800000008' + '80fe800000000000000000000000000001');
  });

  it('rejects a length above 128 and an overrun', () => {
    expect(thrown(() => decodePrefixes(2, fromHex('81' + '00'.repeat(17)), 0, 18, false, 'update.optional-attribute')).code).toBe(
      'update.optional-attribute',
    );
    expect(thrown(() => decodePrefixes(2, fromHex('40 20010db8'), 0, 5, false, 'update.optional-attribute')).code).toBe('update.optional-attribute');
  });

  it('gives the same text as src/lib/prefix.ts v6Prefix and round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }), (bytes, len) => {
        const p = v6Prefix(bytes, len);
        const wire = v6PrefixBytes(p);
        const out: string[] = [];
        // Unmasked trailing bits on the wire still give the canonical prefix.
        const dirty = Uint8Array.of(len, ...bytes.subarray(0, wire.length - 1));
        decodeV6Prefixes(dirty, 0, dirty.length, out, null, 'update.optional-attribute');
        decodeV6Prefixes(wire, 0, wire.length, out, null, 'update.optional-attribute');
        expect(out).toEqual([p, p]);
      }),
    );
  });

  it('refuses a prefix of the wrong family on encode (a caller bug, plain Error)', () => {
    expect(() => encoded(1, ['2001:db8::/32'])).toThrow(/IPv6 prefix/);
    expect(() => encoded(2, [parsePrefix('10.0.0.0/8')])).toThrow(/IPv4 prefix/);
    expect(() => encoded(1, [33])).toThrow(/not an IPv4 prefix/);
  });
});
