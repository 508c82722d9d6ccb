import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/lib/hex.js';
import { capabilityValue, decodeCapability, encodeCapabilities } from '../../src/wire/capabilities.js';
import { WireError } from '../../src/wire/errors.js';
import { buildOpen, capabilitiesOf, decodeOpen, encodeOpen, openAsn } from '../../src/wire/open.js';
import type { Capability, OpenMessage, OptionalParameter } from '../../src/wire/types.js';

const MARKER = 'ff'.repeat(16);
/**
 * Hex with whitespace and `#` comments to the end of the line. A whole message's header length
 * must match its size (a guard against mistakes in the hand-built vectors).
 */
function hex(text: string): Uint8Array {
  const b = fromHex(text.replace(/#[^\n]*/g, ''));
  if (b.length >= 19 && b[0] === 0xff) expect((b[16] << 8) | b[17], `length field of ${toHex(b)}`).toBe(b.length);
  return b;
}

function expectWireError(fn: () => unknown, code: string, notif: [number, number, string]): WireError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(WireError);
  const err = caught as WireError;
  expect(err.code).toBe(code);
  expect([err.notification.code, err.notification.subcode, toHex(err.notification.data)]).toEqual(notif);
  return err;
}

// RFC 4271 4.2 + RFC 5492 4: every capability weft knows, grouped in ONE optional parameter (as
// BIRD and FRR send them).
const GROUPED = hex(`
  ${MARKER} 005b 01          # header: length 91, type OPEN
  04                         # version 4
  fde8                       # My AS 65000
  00b4                       # hold time 180
  0a000101                   # BGP identifier 10.0.1.1
  3e                         # Opt Parm Len 62
  02 3c                      # parameter type 2 (capabilities), length 60
    01 04 0001 00 01         # multiprotocol IPv4 unicast (RFC 4760 8: AFI, reserved, SAFI)
    01 04 0002 00 01         # multiprotocol IPv6 unicast
    02 00                    # route refresh (RFC 2918)
    80 00                    # route refresh, pre-standard code 128
    46 00                    # enhanced route refresh (RFC 7313)
    41 04 0000fde8           # 4-octet AS 65000 (RFC 6793)
    40 06 c078 0001 01 80    # graceful restart: flags R|N, 120 s; IPv4 unicast with F bit (RFC 4724 3)
    05 06 0001 0001 0002     # extended next hop: IPv4 unicast over IPv6 next hops (RFC 8950 3)
    06 00                    # extended message (RFC 8654)
    45 04 0001 01 03         # add-path IPv4 unicast, send and receive (RFC 7911 4)
    49 0a 06 686f73742d61 02 6c6f  # FQDN: hostname "host-a", domain "lo"
`);

const GROUPED_CAPS: Capability[] = [
  { type: 'multiprotocol', afi: 1, safi: 1 },
  { type: 'multiprotocol', afi: 2, safi: 1 },
  { type: 'route-refresh' },
  { type: 'route-refresh-old' },
  { type: 'enhanced-route-refresh' },
  { type: 'four-octet-as', asn: 65000 },
  { type: 'graceful-restart', flags: 0xc, time: 120, families: [{ afi: 1, safi: 1, flags: 0x80 }] },
  { type: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
  { type: 'extended-message' },
  { type: 'add-path', families: [{ afi: 1, safi: 1, sendReceive: 3 }] },
  { type: 'fqdn', hostname: 'host-a', domain: 'lo' },
];

const GROUPED_OPEN: OpenMessage = {
  type: 'open',
  version: 4,
  myAs: 65000,
  holdTime: 180,
  bgpId: '10.0.1.1',
  params: [{ type: 'capabilities', capabilities: GROUPED_CAPS }],
};

// One capability per parameter (as weft's buildOpen writes), 4-octet AS 4200000001 -> AS_TRANS.
const SPLIT = hex(`
  ${MARKER} 002d 01          # length 45, OPEN
  04 5ba0 005a 0a000002      # version 4, My AS 23456 (AS_TRANS), hold 90, id 10.0.0.2
  10                         # Opt Parm Len 16
  02 06 01 04 0001 00 01     # parameter: multiprotocol IPv4 unicast
  02 06 41 04 fa56ea01       # parameter: 4-octet AS 4200000001
`);

// RFC 9072 2: the extended optional parameters length format.
const EXTENDED = hex(`
  ${MARKER} 0029 01          # length 41, OPEN
  04 fde9 005a 0a000001      # version 4, My AS 65001, hold 90, id 10.0.0.1
  ff                         # Non-Ext OP Len 255
  ff                         # Non-Ext OP Type 255: extended format
  0009                       # Extended Opt. Parm. Length 9
  02 0006                    # parameter type 2, 2-octet length 6
    01 04 0001 00 01         # multiprotocol IPv4 unicast
`);

describe('OPEN: decode and encode hand-built vectors', () => {
  it('decodes grouped capabilities and re-encodes them byte for byte', () => {
    const m = decodeOpen(GROUPED);
    expect(m).toEqual(GROUPED_OPEN);
    expect(toHex(encodeOpen(m))).toBe(toHex(GROUPED));
    expect(capabilitiesOf(m)).toEqual(GROUPED_CAPS);
    expect(openAsn(m)).toBe(65000);
  });

  it('buildOpen writes AS_TRANS and one capability per parameter', () => {
    const built = buildOpen({
      asn: 4200000001,
      holdTime: 90,
      bgpId: '10.0.0.2',
      capabilities: [
        { type: 'multiprotocol', afi: 1, safi: 1 },
        { type: 'four-octet-as', asn: 4200000001 },
      ],
    });
    expect(built.myAs).toBe(23456);
    expect(built.extendedParams).toBeUndefined();
    expect(toHex(encodeOpen(built))).toBe(toHex(SPLIT));
    const decoded = decodeOpen(SPLIT);
    expect(decoded).toEqual(built);
    expect(openAsn(decoded)).toBe(4200000001);
  });

  it('buildOpen keeps a 2-octet AS in My Autonomous System', () => {
    const built = buildOpen({ asn: 64512, holdTime: 3, bgpId: '1.2.3.4', capabilities: [] });
    expect(built).toEqual({ type: 'open', version: 4, myAs: 64512, holdTime: 3, bgpId: '1.2.3.4', params: [] });
    // An OPEN without parameters: Opt Parm Len 0, 29 octets.
    expect(toHex(encodeOpen(built))).toBe(toHex(hex(`${MARKER} 001d 01  04 fc00 0003 01020304 00`)));
    expect(openAsn(built)).toBe(64512);
  });

  it('decodes and re-encodes the RFC 9072 extended format', () => {
    const m = decodeOpen(EXTENDED);
    expect(m).toEqual({
      type: 'open',
      version: 4,
      myAs: 65001,
      holdTime: 90,
      bgpId: '10.0.0.1',
      params: [{ type: 'capabilities', capabilities: [{ type: 'multiprotocol', afi: 1, safi: 1 }] }],
      extendedParams: true,
    });
    expect(toHex(encodeOpen(m))).toBe(toHex(EXTENDED));
  });

  it('switches to the extended format when the parameters exceed 255 octets', () => {
    const caps: Capability[] = Array.from({ length: 50 }, (_, i) => ({ type: 'multiprotocol', afi: 1, safi: i }));
    const built = buildOpen({ asn: 65000, holdTime: 90, bgpId: '10.0.0.1', capabilities: caps });
    expect(built.extendedParams).toBe(true); // 50 parameters of 8 octets = 400 > 255
    const bytes = encodeOpen(built);
    expect(toHex(bytes.subarray(28, 32))).toBe('ffff' + (50 * 9).toString(16).padStart(4, '0')); // 2-octet param lengths
    expect(decodeOpen(bytes)).toEqual(built);
    // Without the flag, the encoder still picks the format that fits.
    const { extendedParams: _, ...plain } = built;
    expect(toHex(encodeOpen(plain))).toBe(toHex(bytes));
  });

  it('keeps unknown parameters, unknown capabilities and malformed known ones as bytes', () => {
    const msg = hex(`
      ${MARKER} 0039 01        # length 57
      04 fde8 00b4 0a000101    # version 4, AS 65000, hold 180, id 10.0.1.1
      1c                       # Opt Parm Len 28
      01 03 aabbcc             # parameter type 1 (deprecated authentication): unknown
      02 15                    # capabilities, length 21
        41 02 fde8             # 4-octet AS with a 2-octet value: kept as unknown
        01 04 0001 01 01       # multiprotocol with reserved octet 1: kept as unknown
        09 01 00               # code 9 (BGP role), not decoded by weft
        49 03 01 ff 00         # FQDN whose hostname is not UTF-8
        40 01 00               # graceful restart, 1 octet
    `);
    const m = decodeOpen(msg);
    const params: OptionalParameter[] = [
      { type: 'unknown', code: 1, data: fromHex('aabbcc') },
      {
        type: 'capabilities',
        capabilities: [
          { type: 'unknown', code: 65, data: fromHex('fde8') },
          { type: 'unknown', code: 1, data: fromHex('00010101') },
          { type: 'unknown', code: 9, data: fromHex('00') },
          { type: 'unknown', code: 73, data: fromHex('01ff00') },
          { type: 'unknown', code: 64, data: fromHex('00') },
        ],
      },
    ];
    expect(m.params).toEqual(params);
    expect(toHex(encodeOpen(m))).toBe(toHex(msg));
    expect(openAsn(m)).toBe(65000); // the malformed 4-octet AS capability is not used
  });

  it('decoded bytes do not alias the input', () => {
    const msg = hex(`${MARKER} 0022 01 04 fde8 00b4 0a000101 05 07 03 aabbcc`);
    const m = decodeOpen(msg);
    msg[msg.length - 1] = 0;
    expect(m.params).toEqual([{ type: 'unknown', code: 7, data: fromHex('aabbcc') }]);
  });
});

describe('OPEN: errors', () => {
  it('version 3 is Unsupported Version Number, data = 2-octet 4', () => {
    const msg = hex(`${MARKER} 001d 01  03 fde8 00b4 0a000101 00`);
    expectWireError(() => decodeOpen(msg), 'open.unsupported-version', [2, 1, '0004']);
  });

  it('an Opt Parm Len that does not match the message is Bad Message Length (length field as data)', () => {
    const tooLong = hex(`${MARKER} 0025 01  04 fde8 00b4 0a000101 0a  02 06 01 04 0001 00 01`);
    expectWireError(() => decodeOpen(tooLong), 'header.bad-length', [1, 2, '0025']);
    const trailing = hex(`${MARKER} 0027 01  04 fde8 00b4 0a000101 08  02 06 01 04 0001 00 01 ee ee`);
    expectWireError(() => decodeOpen(trailing), 'header.bad-length', [1, 2, '0027']);
    const extTooShort = hex(`${MARKER} 001e 01  04 fde8 00b4 0a000101 ff ff`);
    expectWireError(() => decodeOpen(extTooShort), 'header.bad-length', [1, 2, '001e']);
    const extMismatch = hex(`${MARKER} 0021 01  04 fde8 00b4 0a000101 ff ff 0002 02`);
    expectWireError(() => decodeOpen(extMismatch), 'header.bad-length', [1, 2, '0021']);
  });

  it('fewer than 29 octets is Bad Message Length', () => {
    const short = hex(`${MARKER} 001c 01  04 fde8 00b4 0a000101`);
    expectWireError(() => decodeOpen(short), 'header.bad-length', [1, 2, '001c']);
    expectWireError(() => decodeOpen(new Uint8Array(3)), 'header.bad-length', [1, 2, '']);
  });

  it('a parameter running past the parameter area is a malformed OPEN (2/0)', () => {
    const msg = hex(`${MARKER} 0021 01  04 fde8 00b4 0a000101 04  02 05 0104`);
    expectWireError(() => decodeOpen(msg), 'open.malformed', [2, 0, '']);
    const noLength = hex(`${MARKER} 001e 01  04 fde8 00b4 0a000101 01  02`);
    expectWireError(() => decodeOpen(noLength), 'open.malformed', [2, 0, '']);
  });

  it('a capability running past its parameter is a malformed OPEN (2/0)', () => {
    const msg = hex(`${MARKER} 0023 01  04 fde8 00b4 0a000101 06  02 04 01 04 0001`);
    expectWireError(() => decodeOpen(msg), 'open.malformed', [2, 0, '']);
    const lone = hex(`${MARKER} 0020 01  04 fde8 00b4 0a000101 03  02 01 41`); // code without a length
    expectWireError(() => decodeOpen(lone), 'open.malformed', [2, 0, '']);
  });

  it('RFC 9072: an extended parameter running past the area, or Non-Ext OP Len != 255, is malformed', () => {
    const overrun = hex(`${MARKER} 0025 01  04 fde8 00b4 0a000101 ff ff 0005  02 0007 0104`);
    expectWireError(() => decodeOpen(overrun), 'open.malformed', [2, 0, '']);
    const badNonExt = hex(`${MARKER} 0029 01  04 fde9 005a 0a000001 fe ff 0009 02 0006 01 04 0001 00 01`);
    expectWireError(() => decodeOpen(badNonExt), 'open.malformed', [2, 0, '']);
  });
});

describe('capabilities', () => {
  it('encodes each capability as its TLV (RFC 5492 4)', () => {
    expect(toHex(encodeCapabilities([{ type: 'four-octet-as', asn: 4200000001 }, { type: 'route-refresh' }]))).toBe('4104fa56ea010200');
    expect(toHex(capabilityValue({ type: 'graceful-restart', flags: 0x8, time: 4095, families: [] }))).toBe('8fff');
  });

  it('refuses to encode values that do not fit', () => {
    expect(() => capabilityValue({ type: 'graceful-restart', flags: 16, time: 0, families: [] })).toThrow(/outside/);
    expect(() => capabilityValue({ type: 'fqdn', hostname: 'x'.repeat(256), domain: '' })).toThrow(/at most 255/);
    expect(() => encodeCapabilities([{ type: 'unknown', code: 200, data: new Uint8Array(256) }])).toThrow(/at most 255/);
  });

  it('decodes UTF-8 host names, keeping a leading BOM', () => {
    const host = new TextEncoder().encode('\ufeffnœud');
    const value = new Uint8Array([host.length, ...host, 0]);
    expect(decodeCapability(73, value)).toEqual({ type: 'fqdn', hostname: '\ufeffnœud', domain: '' });
    // Hostname length 5 but only 4 octets ("éte") and no domain length follow.
    expect(decodeCapability(73, fromHex('05c3a97465'))).toEqual({ type: 'unknown', code: 73, data: fromHex('05c3a97465') });
  });
});

// ---------------------------------------------------------------- properties

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const KNOWN_CODES = new Set([1, 2, 5, 6, 64, 65, 69, 70, 73, 128]);
const utf8Length = (s: string) => new TextEncoder().encode(s).length;

const capabilityArb: fc.Arbitrary<Capability> = fc.oneof(
  fc.record({ type: fc.constant('multiprotocol' as const), afi: u16, safi: u8 }),
  fc.constant({ type: 'route-refresh' as const }),
  fc.constant({ type: 'route-refresh-old' as const }),
  fc.constant({ type: 'enhanced-route-refresh' as const }),
  fc.constant({ type: 'extended-message' as const }),
  fc.record({ type: fc.constant('four-octet-as' as const), asn: u32 }),
  fc.record({
    type: fc.constant('graceful-restart' as const),
    flags: fc.integer({ min: 0, max: 15 }),
    time: fc.integer({ min: 0, max: 4095 }),
    families: fc.array(fc.record({ afi: u16, safi: u8, flags: u8 }), { maxLength: 6 }),
  }),
  fc.record({
    type: fc.constant('extended-next-hop' as const),
    entries: fc.array(fc.record({ afi: u16, safi: u16, nextHopAfi: u16 }), { maxLength: 6 }),
  }),
  fc.record({
    type: fc.constant('add-path' as const),
    families: fc.array(fc.record({ afi: u16, safi: u8, sendReceive: u8 }), { maxLength: 6 }),
  }),
  fc
    .record({
      type: fc.constant('fqdn' as const),
      hostname: fc.string({ unit: 'grapheme', maxLength: 20 }),
      domain: fc.string({ unit: 'grapheme', maxLength: 20 }),
    })
    .filter((c) => 2 + utf8Length(c.hostname) + utf8Length(c.domain) <= 255),
  fc.record({
    type: fc.constant('unknown' as const),
    code: u8.filter((c) => !KNOWN_CODES.has(c)),
    data: fc.uint8Array({ maxLength: 24 }),
  }),
);

const paramArb: fc.Arbitrary<OptionalParameter> = fc.oneof(
  fc.record({ type: fc.constant('capabilities' as const), capabilities: fc.array(capabilityArb, { maxLength: 5 }) }),
  fc.record({
    type: fc.constant('unknown' as const),
    // 2 would be read as capabilities; 255 is RFC 9072's extended-format marker.
    code: fc.integer({ min: 0, max: 254 }).filter((c) => c !== 2),
    data: fc.uint8Array({ maxLength: 40 }),
  }),
);

const ipv4Arb = fc.tuple(u8, u8, u8, u8).map((q) => q.join('.'));

const openArb: fc.Arbitrary<OpenMessage> = fc
  .record(
    {
      type: fc.constant('open' as const),
      version: fc.constant(4),
      myAs: u16,
      holdTime: u16,
      bgpId: ipv4Arb,
      params: fc.array(paramArb, { maxLength: 6 }),
      extendedParams: fc.constant(true as const),
    },
    { requiredKeys: ['type', 'version', 'myAs', 'holdTime', 'bgpId', 'params'] },
  )
  .filter((m) => {
    try {
      encodeOpen(m);
      return true;
    } catch {
      return false; // over 4096 octets
    }
  });

describe('OPEN: properties', () => {
  it('decode(encode(m)) deep-equals m for valid OPENs', () => {
    fc.assert(
      fc.property(openArb, (m) => {
        const bytes = encodeOpen(m);
        // Parameters over 255 octets force the extended format even when the flag was not set.
        const extended = bytes[28] === 255 && bytes[29] === 255;
        const expected: OpenMessage = extended ? { ...m, extendedParams: true } : m;
        const decoded = decodeOpen(bytes);
        expect(decoded).toEqual(expected);
        expect(toHex(encodeOpen(decoded))).toBe(toHex(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('arbitrary bytes make decodeOpen throw nothing but WireError', () => {
    const check = (bytes: Uint8Array) => {
      try {
        const m = decodeOpen(bytes);
        // Whatever decodes must re-encode to the same body (decodeOpen does not read the header).
        expect(toHex(encodeOpen(m).subarray(19))).toBe(toHex(bytes.subarray(19)));
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), check), { numRuns: 1000 });
    // Bytes behind a consistent header and version 4 reach the parameter parsing.
    const bodyArb = fc
      .tuple(fc.uint8Array({ minLength: 9, maxLength: 9 }), fc.uint8Array({ maxLength: 120 }), fc.boolean())
      .map(([fixed, params, ext]) => {
        const body = ext
          ? new Uint8Array([4, ...fixed, 255, 255, params.length >> 8, params.length & 255, ...params])
          : new Uint8Array([4, ...fixed, params.length, ...params]);
        const msg = new Uint8Array(19 + body.length).fill(0xff);
        msg[16] = msg.length >> 8;
        msg[17] = msg.length & 255;
        msg[18] = 1;
        msg.set(body, 19);
        return msg;
      });
    fc.assert(fc.property(bodyArb, check), { numRuns: 2000 });
  });
});
