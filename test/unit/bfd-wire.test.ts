// The BFD Control packet codec (src/wire/bfd.ts): round trips, a packet captured from FRR's bfdd,
// and every discard reason of RFC 5880 6.8.6 that the packet alone decides.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BFD_STATE_NAMES, decodeBfdControl, encodeBfdControl, type BfdControlPacket } from '../../src/wire/bfd.js';
import { fromHex, toHex } from '../../src/lib/hex.js';

const base: BfdControlPacket = {
  diag: 0,
  state: 'Down',
  poll: false,
  final: false,
  cpi: false,
  demand: false,
  multipoint: false,
  detectMult: 3,
  myDiscriminator: 0x01020304,
  yourDiscriminator: 0,
  desiredMinTxUs: 1_000_000,
  requiredMinRxUs: 300_000,
  requiredMinEchoRxUs: 0,
};

const decodeOk = (b: Uint8Array): BfdControlPacket => {
  const r = decodeBfdControl(b);
  if (!r.ok) throw new Error(`${r.reason}: ${r.message}`);
  return r.packet;
};

describe('BFD Control packet codec (RFC 5880 4.1)', () => {
  it('encodes the byte diagram: version 1, diag, state and flags, detect mult, length 24', () => {
    const b = encodeBfdControl({ ...base, diag: 1, state: 'Up', poll: true, yourDiscriminator: 7 });
    expect(toHex(b)).toBe('21e00318' + '01020304' + '00000007' + '000f4240' + '000493e0' + '00000000');
    expect(decodeOk(b)).toEqual({ ...base, diag: 1, state: 'Up', poll: true, yourDiscriminator: 7 });
  });

  it('round-trips every field, flags and the authentication section', () => {
    const packet = fc.record({
      diag: fc.integer({ min: 0, max: 31 }),
      state: fc.constantFrom(...BFD_STATE_NAMES),
      poll: fc.boolean(),
      final: fc.boolean(),
      cpi: fc.boolean(),
      demand: fc.boolean(),
      multipoint: fc.constant(false),
      detectMult: fc.integer({ min: 1, max: 255 }),
      myDiscriminator: fc.integer({ min: 1, max: 0xffffffff }),
      yourDiscriminator: fc.integer({ min: 0, max: 0xffffffff }),
      desiredMinTxUs: fc.integer({ min: 0, max: 0xffffffff }),
      requiredMinRxUs: fc.integer({ min: 0, max: 0xffffffff }),
      requiredMinEchoRxUs: fc.integer({ min: 0, max: 0xffffffff }),
      auth: fc.option(fc.record({ authType: fc.integer({ min: 0, max: 255 }), data: fc.uint8Array({ minLength: 0, maxLength: 28 }) }), { nil: undefined }),
    });
    fc.assert(
      fc.property(packet, (p) => {
        const { auth, ...rest } = p;
        const q: BfdControlPacket = auth ? { ...rest, auth } : rest;
        expect(decodeOk(encodeBfdControl(q))).toEqual(q);
      }),
      { numRuns: 300 },
    );
  });

  it('ignores octets after the Length field (the datagram may be longer)', () => {
    const b = new Uint8Array(30);
    b.set(encodeBfdControl(base));
    expect(decodeOk(b)).toEqual(base);
  });

  const cases: [string, (b: Uint8Array) => Uint8Array, string][] = [
    ['less than 24 octets', (b) => b.slice(0, 23), 'short'],
    ['an empty datagram', () => new Uint8Array(0), 'short'],
    ['version 0', (b) => ((b[0] = b[0]! & 0x1f), b), 'version'],
    ['version 2', (b) => ((b[0] = (2 << 5) | (b[0]! & 0x1f)), b), 'version'],
    ['Length field 23', (b) => ((b[3] = 23), b), 'length'],
    ['Length field 0', (b) => ((b[3] = 0), b), 'length'],
    ['Length field more than the datagram', (b) => ((b[3] = 25), b), 'length'],
    ['A bit set with Length 24', (b) => ((b[1] = b[1]! | 0x04), b), 'length'],
    ['A bit set, Auth Len past the Length field', (b) => {
      const c = new Uint8Array(28);
      c.set(b);
      c[1] = c[1]! | 0x04;
      c[3] = 28;
      c[24] = 1;
      c[25] = 9;
      return c;
    }, 'length'],
    ['A bit set, Auth Len below 2', (b) => {
      const c = new Uint8Array(26);
      c.set(b);
      c[1] = c[1]! | 0x04;
      c[3] = 26;
      c[25] = 1;
      return c;
    }, 'length'],
    ['Detect Mult zero', (b) => ((b[2] = 0), b), 'detect-mult-zero'],
    ['Multipoint bit set', (b) => ((b[1] = b[1]! | 0x01), b), 'multipoint'],
    ['My Discriminator zero', (b) => (b.fill(0, 4, 8), b), 'my-discriminator-zero'],
  ];
  it.each(cases)('discards %s (RFC 5880 6.8.6)', (_what, mutate, reason) => {
    const r = decodeBfdControl(mutate(encodeBfdControl(base)));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toBe(reason);
      expect(r.message.length).toBeGreaterThan(0);
    }
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), (b) => {
        const r = decodeBfdControl(b);
        if (r.ok) expect(encodeBfdControl(r.packet).length).toBe(b[3]);
      }),
      { numRuns: 2000 },
    );
  });
});
