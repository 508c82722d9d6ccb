import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/lib/hex.js';
import { ipv6ToBytes } from '../../src/lib/address.js';
import { parsePrefix, v4Prefix, v6Prefix } from '../../src/lib/prefix.js';
import {
  decodePrefixes,
  decodeV4Prefixes,
  decodeV6Prefixes,
  v6PrefixBytes,
  v6PrefixSize,
  writePrefixes,
  writeV6Prefix,
} from '../../src/wire/nlri.js';
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

  it('decodes IPv4-mapped prefixes with the dotted quad, as lib does (RFC 5952 5)', () => {
    const b = fromHex('68 00000000000000000000ffff0a 60 00000000000000000000ffff 70 00000000000000000000fffe0a0b');
    const out: string[] = [];
    decodeV6Prefixes(b, 0, b.length, out, null, 'update.optional-attribute');
    expect(out).toEqual(['::ffff:10.0.0.0/104', '::ffff:0.0.0.0/96', '::fffe:a0b:0/112']);
    for (const p of out) expect(parsePrefix(p)).toBe(p);
    expect(toHex(v6PrefixBytes('::ffff:10.0.0.0/104'))).toBe('6800000000000000000000ffff0a');
  });

  it('decode and encode agree with lib on zero-heavy and mapped addresses, with path ids', () => {
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    const address = fc.oneof(
      fc.array(group, { minLength: 8, maxLength: 8 }).map((g) => Uint8Array.from(g.flatMap((x) => [x >> 8, x & 255]))),
      fc.uint8Array({ minLength: 4, maxLength: 4 }).map((v4) => Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4)),
    );
    const item = fc.tuple(address, fc.integer({ min: 0, max: 128 }), fc.nat());
    fc.assert(
      fc.property(fc.array(item, { maxLength: 8 }), (items) => {
        const prefixes = items.map(([b, len]) => v6Prefix(b, len));
        const ids = items.map(([, , id]) => id);
        // The wire form is the length octet and the significant octets of the masked address.
        const wire = prefixes.map((p, i) => {
          const len = items[i][1];
          const n = (len + 7) >> 3;
          return Uint8Array.of(len, ...ipv6ToBytes(p.slice(0, p.indexOf('/'))).subarray(0, n));
        });
        prefixes.forEach((p, i) => {
          expect(toHex(v6PrefixBytes(p))).toBe(toHex(wire[i]));
          expect(v6PrefixSize(p)).toBe(wire[i].length);
          const buf = new Uint8Array(20).fill(0xee);
          expect(writeV6Prefix(buf, 1, p)).toBe(1 + wire[i].length);
          expect(toHex(buf.subarray(1, 1 + wire[i].length))).toBe(toHex(wire[i]));
          expect(buf[1 + wire[i].length]).toBe(0xee); // nothing past the significant octets
        });
        const hex = encoded(2, prefixes, ids);
        const b = fromHex(hex);
        const out: string[] = [];
        const gotIds: number[] = [];
        decodeV6Prefixes(b, 0, b.length, out, gotIds, 'update.optional-attribute');
        expect(out).toEqual(prefixes);
        expect(gotIds).toEqual(ids);
      }),
      { numRuns: 500 },
    );
  });

  it('reads prefix text in any spelling lib accepts, and rejects the rest with a plain Error', () => {
    expect(toHex(v6PrefixBytes('2001:DB8:0001:0000::/48'))).toBe('3020010db80001');
    expect(toHex(v6PrefixBytes('2001:db8::ff/121'))).toBe('7920010db8000000000000000000000080');
    expect(toHex(v6PrefixBytes('2001:db8::/056'))).toBe('3820010db8000000'); // the length as Number() reads it
    expect(v6PrefixSize('::/0')).toBe(1);
    expect(v6PrefixSize('::/128')).toBe(17);
    for (const bad of ['2001:db8::', '2001:db8::/129', '2001:db8::/-1', '2001:db8::/4.5', '2001:db8::/x']) {
      expect(() => v6PrefixBytes(bad)).toThrow(`not an IPv6 prefix: ${JSON.stringify(bad)}`);
      expect(() => v6PrefixSize(bad)).toThrow(/not an IPv6 prefix/);
    }
    expect(() => v6PrefixBytes('2001:db8:::/48')).toThrow('not an IPv6 address: "2001:db8:::"');
    const buf = new Uint8Array(4);
    expect(() => writeV6Prefix(buf, 0, 'zz::/8')).toThrow(/not an IPv6 address/);
    expect([...buf]).toEqual([0, 0, 0, 0]);
    // A bad prefix throws before the writer moves.
    const w = new Writer(8);
    writePrefixes(w, 2, ['2001:db8::/32'], undefined, false);
    expect(() => writePrefixes(w, 2, ['2001:db8::1::/64'], undefined, false)).toThrow(/not an IPv6 address/);
    expect(toHex(w.finish())).toBe('2020010db8');
  });

  it('refuses a prefix of the wrong family on encode (a caller bug, plain Error)', () => {
    expect(() => encoded(1, ['2001:db8::/32'])).toThrow(/IPv6 prefix/);
    expect(() => encoded(2, [parsePrefix('10.0.0.0/8')])).toThrow(/IPv4 prefix/);
    expect(() => encoded(1, [33])).toThrow(/not an IPv4 prefix/);
  });
});
