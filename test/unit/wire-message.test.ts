import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/lib/hex.js';
import { parsePrefix } from '../../src/lib/prefix.js';
import { WireError } from '../../src/wire/errors.js';
import { decodeKeepalive, encodeKeepalive } from '../../src/wire/keepalive.js';
import { decodeMessage, encodeMessage, messageToJson } from '../../src/wire/message.js';
import { decodeRouteRefresh, encodeRouteRefresh } from '../../src/wire/route-refresh.js';
import { DEFAULT_WIRE_OPTIONS, type BgpMessage, type UpdateMessage, type WireOptions } from '../../src/wire/types.js';
import { decodeUpdate, encodeUpdate } from '../../src/wire/update.js';

const MARKER = 'ff'.repeat(16);
const EXTENDED: WireOptions = { ...DEFAULT_WIRE_OPTIONS, extendedMessage: true };

/** Hex with whitespace and `#` comments; the header length must match the message size. */
function hex(text: string): Uint8Array {
  const b = fromHex(text.replace(/#[^\n]*/g, ''));
  if (b.length >= 19) expect((b[16] << 8) | b[17], `length field of ${toHex(b)}`).toBe(b.length);
  return b;
}

function wireError(fn: () => unknown): WireError {
  try {
    fn();
  } catch (e) {
    if (e instanceof WireError) return e;
    throw e;
  }
  throw new Error('expected a WireError, nothing was thrown');
}

function expectWireError(fn: () => unknown, code: string, notif: [number, number, string]): void {
  const err = wireError(fn);
  expect(err.code).toBe(code);
  expect([err.notification.code, err.notification.subcode, toHex(err.notification.data)]).toEqual(notif);
}

/** A message with a correct header around `body`. */
function frame(type: number, body: Uint8Array): Uint8Array {
  const m = new Uint8Array(19 + body.length).fill(0xff);
  m[16] = m.length >> 8;
  m[17] = m.length & 255;
  m[18] = type;
  m.set(body, 19);
  return m;
}

const KEEPALIVE = hex(`${MARKER} 0013 04   # RFC 4271 4.4: the header alone`);
const OPEN = hex(`
  ${MARKER} 0025 01
  04 fde8 00b4 0a000101      # version 4, AS 65000, hold 180, id 10.0.1.1
  08 02 06 01 04 0001 00 01  # one parameter: multiprotocol IPv4 unicast
`);
const NOTIFICATION = hex(`${MARKER} 0017 03  02 02 fde8   # OPEN Message Error / Bad Peer AS`);
// RFC 2918 3 / RFC 7313 3: AFI (2) | subtype (1) | SAFI (1).
const REFRESH = hex(`${MARKER} 0017 05  0001 00 01      # normal request, IPv4 unicast`);
const BORR = hex(`${MARKER} 0017 05  0002 01 01         # Beginning of Route Refresh, IPv6 unicast`);
const EORR = hex(`${MARKER} 0017 05  0001 02 01         # End of Route Refresh, IPv4 unicast`);
// RFC 4724 2: the IPv4 unicast End-of-RIB marker, an UPDATE with nothing in it.
const EOR = hex(`${MARKER} 0017 02  0000 0000`);

describe('decodeMessage / encodeMessage dispatch', () => {
  const cases: [string, Uint8Array, BgpMessage][] = [
    ['KEEPALIVE', KEEPALIVE, { type: 'keepalive' }],
    [
      'OPEN',
      OPEN,
      {
        type: 'open',
        version: 4,
        myAs: 65000,
        holdTime: 180,
        bgpId: '10.0.1.1',
        params: [{ type: 'capabilities', capabilities: [{ type: 'multiprotocol', afi: 1, safi: 1 }] }],
      },
    ],
    ['NOTIFICATION', NOTIFICATION, { type: 'notification', code: 2, subcode: 2, data: fromHex('fde8') }],
    ['ROUTE-REFRESH', REFRESH, { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 }],
    ['BoRR', BORR, { type: 'route-refresh', afi: 2, safi: 1, subtype: 1 }],
    ['EoRR', EORR, { type: 'route-refresh', afi: 1, safi: 1, subtype: 2 }],
  ];
  for (const [name, bytes, expected] of cases) {
    it(`${name}: decodes and re-encodes byte for byte`, () => {
      const m = decodeMessage(bytes);
      expect(m).toEqual(expected);
      expect(toHex(encodeMessage(m))).toBe(toHex(bytes));
    });
  }

  it('UPDATE goes to decodeUpdate / encodeUpdate with the options', () => {
    for (const opts of [DEFAULT_WIRE_OPTIONS, { ...DEFAULT_WIRE_OPTIONS, fourOctetAs: false }]) {
      const m = decodeMessage(EOR, opts);
      expect(m.type).toBe('update');
      expect(m).toEqual(decodeUpdate(EOR, opts));
      expect(toHex(encodeMessage(m, opts))).toBe(toHex(encodeUpdate(m as UpdateMessage, opts)));
      expect(toHex(encodeMessage(m, opts))).toBe(toHex(EOR));
    }
  });

  it('keepalive and route-refresh codecs on their own', () => {
    expect(toHex(encodeKeepalive())).toBe(toHex(KEEPALIVE));
    expect(decodeKeepalive(KEEPALIVE)).toEqual({ type: 'keepalive' });
    expect(toHex(encodeRouteRefresh({ type: 'route-refresh', afi: 2, safi: 1, subtype: 1 }))).toBe(toHex(BORR));
    expect(decodeRouteRefresh(EORR)).toEqual({ type: 'route-refresh', afi: 1, safi: 1, subtype: 2 });
  });
});

describe('decodeMessage: header errors', () => {
  it('a bad marker is 1/1', () => {
    const bad = KEEPALIVE.slice();
    bad[15] = 0;
    expectWireError(() => decodeMessage(bad), 'header.not-synchronized', [1, 1, '']);
  });

  it('a length field that differs from the bytes given is 1/2 with the length field as data', () => {
    const long = fromHex(`${MARKER} 0014 04`); // says 20, has 19
    expectWireError(() => decodeMessage(long), 'header.bad-length', [1, 2, '0014']);
    const trailing = fromHex(`${MARKER} 0013 04 00`); // says 19, has 20
    expectWireError(() => decodeMessage(trailing), 'header.bad-length', [1, 2, '0013']);
    expectWireError(() => decodeMessage(fromHex(`${MARKER} 00`)), 'header.bad-length', [1, 2, '']);
    expectWireError(() => decodeMessage(new Uint8Array(0)), 'header.bad-length', [1, 2, '']);
  });

  it('an unknown type is 1/3 with the type octet', () => {
    expectWireError(() => decodeMessage(frame(6, new Uint8Array(4))), 'header.bad-type', [1, 3, '06']);
  });

  it('a KEEPALIVE longer than 19 octets is 1/2', () => {
    expectWireError(() => decodeMessage(frame(4, new Uint8Array(1))), 'header.bad-length', [1, 2, '0014']);
    expectWireError(() => decodeKeepalive(frame(4, new Uint8Array(1))), 'header.bad-length', [1, 2, '0014']);
  });

  it('messages over 4096 octets need extended messages, and never for OPEN (RFC 8654 3)', () => {
    const bigNotification = frame(3, new Uint8Array(5000).fill(1));
    expectWireError(() => decodeMessage(bigNotification), 'header.bad-length', [1, 2, toHex(bigNotification.subarray(16, 18))]);
    const m = decodeMessage(bigNotification, EXTENDED);
    expect(m.type === 'notification' && m.data.length).toBe(4998);
    expect(toHex(encodeMessage(m, EXTENDED))).toBe(toHex(bigNotification));
    expect(() => encodeMessage(m)).toThrow(/maximum 4096/);

    const bigOpen = frame(1, new Uint8Array(5000));
    expectWireError(() => decodeMessage(bigOpen, EXTENDED), 'header.bad-length', [1, 2, toHex(bigOpen.subarray(16, 18))]);
  });
});

describe('ROUTE-REFRESH errors (RFC 7313 5)', () => {
  it('a length other than 23 is 7/1 with the whole message as data', () => {
    const long = hex(`${MARKER} 0018 05  0001 00 01 00`);
    expectWireError(() => decodeMessage(long), 'route-refresh.bad-length', [7, 1, toHex(long)]);
    expectWireError(() => decodeRouteRefresh(long), 'route-refresh.bad-length', [7, 1, toHex(long)]);
    // Shorter than 23 is already a header error (RFC 4271 6.1) when framed ...
    const short = hex(`${MARKER} 0016 05  0001 00`);
    expectWireError(() => decodeMessage(short), 'header.bad-length', [1, 2, '0016']);
    // ... and a ROUTE-REFRESH error when decoded directly.
    expectWireError(() => decodeRouteRefresh(short), 'route-refresh.bad-length', [7, 1, toHex(short)]);
  });
});

describe('messageToJson', () => {
  it('OPEN: bytes as hex, the rest as is', () => {
    const open = decodeMessage(
      hex(`${MARKER} 0026 01  04 fde8 00b4 0a000101 09  02 07 0905 0102030405   # capability 9, 5 octets`),
    );
    expect(messageToJson(open)).toEqual({
      type: 'open',
      version: 4,
      myAs: 65000,
      holdTime: 180,
      bgpId: '10.0.1.1',
      params: [{ type: 'capabilities', capabilities: [{ type: 'unknown', code: 9, data: '0102030405' }] }],
    });
  });

  it('NOTIFICATION: data as hex, the shutdown text and a description', () => {
    const m = decodeMessage(hex(`${MARKER} 0018 03  06 02  02 6869`));
    expect(messageToJson(m)).toEqual({
      type: 'notification',
      code: 6,
      subcode: 2,
      data: '026869',
      shutdownMessage: 'hi',
      description: 'Cease / Administrative Shutdown',
    });
  });

  it('KEEPALIVE and ROUTE-REFRESH', () => {
    expect(messageToJson({ type: 'keepalive' })).toEqual({ type: 'keepalive' });
    expect(messageToJson(decodeMessage(BORR))).toEqual({ type: 'route-refresh', afi: 2, safi: 1, subtype: 1 });
  });

  it('UPDATE: prefixes as text (also inside MP attributes), bytes as hex, problems summarised', () => {
    const update: UpdateMessage = {
      type: 'update',
      withdrawn: [parsePrefix('10.244.7.0/26') as number],
      attributes: [
        { type: 'origin', flags: 0x40, origin: 0 },
        { type: 'as-path', flags: 0x40, segments: [{ kind: 'sequence', asns: [65001, 4200000001] }] },
        {
          type: 'mp-reach',
          flags: 0x90,
          reach: { afi: 2, safi: 1, nextHop: ['2001:db8::1', 'fe80::1'], nlri: [parsePrefix('2001:db8:1::/48')] },
        },
        { type: 'mp-reach', flags: 0x90, reach: { afi: 1, safi: 1, nextHop: ['10.0.0.1'], nlri: [parsePrefix('10.1.0.0/16')], pathIds: [7] } },
        { type: 'mp-unreach', flags: 0x90, unreach: { afi: 2, safi: 1, withdrawn: [parsePrefix('2001:db8:2::/48')] } },
        { type: 'mp-unreach', flags: 0x90, unreach: { afi: 25, safi: 70, withdrawn: [], raw: fromHex('0102') } },
        { type: 'large-communities', flags: 0xc0, communities: [[64512, 1, 2]] },
        { type: 'unknown', flags: 0xe0, code: 99, data: fromHex('deadbeef') },
      ],
      nlri: [parsePrefix('10.244.3.0/26') as number, parsePrefix('0.0.0.0/0') as number],
      problems: [new WireError('update.attribute-length', 'MED of 3 octets', { severity: 'attribute-discard', offset: 40 })],
    };
    const json = messageToJson(update);
    expect(json).toEqual({
      type: 'update',
      withdrawn: ['10.244.7.0/26'],
      attributes: [
        { type: 'origin', flags: 0x40, origin: 0 },
        { type: 'as-path', flags: 0x40, segments: [{ kind: 'sequence', asns: [65001, 4200000001] }] },
        { type: 'mp-reach', flags: 0x90, reach: { afi: 2, safi: 1, nextHop: ['2001:db8::1', 'fe80::1'], nlri: ['2001:db8:1::/48'] } },
        { type: 'mp-reach', flags: 0x90, reach: { afi: 1, safi: 1, nextHop: ['10.0.0.1'], nlri: ['10.1.0.0/16'], pathIds: [7] } },
        { type: 'mp-unreach', flags: 0x90, unreach: { afi: 2, safi: 1, withdrawn: ['2001:db8:2::/48'] } },
        { type: 'mp-unreach', flags: 0x90, unreach: { afi: 25, safi: 70, withdrawn: [], raw: '0102' } },
        { type: 'large-communities', flags: 0xc0, communities: ['64512:1:2'] },
        { type: 'unknown', flags: 0xe0, code: 99, data: 'deadbeef' },
      ],
      nlri: ['10.244.3.0/26', '0.0.0.0/0'],
      problems: [{ code: 'update.attribute-length', severity: 'attribute-discard', message: 'MED of 3 octets' }],
    });
    // Plain JSON: survives a trip through JSON text unchanged.
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    // The message itself is not changed.
    expect(update.nlri[0]).toBeTypeOf('number');
  });

  it('UPDATE decoded from bytes: the End-of-RIB marker', () => {
    expect(messageToJson(decodeMessage(EOR))).toEqual({ type: 'update', withdrawn: [], attributes: [], nlri: [] });
  });
});

describe('decodeMessage: properties', () => {
  it('arbitrary bytes throw nothing but WireError', () => {
    const check = (bytes: Uint8Array, opts: WireOptions) => {
      try {
        decodeMessage(bytes, opts);
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
      }
    };
    const optsArb = fc.constantFrom<WireOptions>(DEFAULT_WIRE_OPTIONS, EXTENDED, {
      fourOctetAs: false,
      extendedMessage: false,
      addPath: new Set(['1/1', '2/1']),
    });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), optsArb, check), { numRuns: 500 });
    // Behind a well-formed header, for every type, so the body decoders are reached.
    const framed = fc
      .tuple(fc.integer({ min: 1, max: 5 }), fc.uint8Array({ maxLength: 200 }))
      .map(([type, body]) => frame(type, body));
    fc.assert(fc.property(framed, optsArb, check), { numRuns: 3000 });
  });

  it('non-UPDATE messages that decode re-encode byte for byte', () => {
    const framed = fc
      .tuple(fc.constantFrom(1, 3, 4, 5), fc.uint8Array({ maxLength: 60 }))
      .map(([type, body]) => frame(type, body));
    fc.assert(
      fc.property(framed, (bytes) => {
        let m: BgpMessage;
        try {
          m = decodeMessage(bytes);
        } catch (e) {
          if (e instanceof WireError) return;
          throw e;
        }
        expect(toHex(encodeMessage(m))).toBe(toHex(bytes));
      }),
      { numRuns: 2000 },
    );
  });
});
