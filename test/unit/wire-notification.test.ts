import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/lib/hex.js';
import { WIRE_ERRORS, WireError, type WireErrorCode } from '../../src/wire/errors.js';
import {
  CeaseSubcode,
  ErrorCode,
  FsmSubcode,
  HeaderSubcode,
  OpenSubcode,
  RouteRefreshSubcode,
  UpdateSubcode,
} from '../../src/wire/iana.js';
import {
  buildNotification,
  buildShutdown,
  decodeNotification,
  describeNotification,
  encodeNotification,
} from '../../src/wire/notification.js';
import type { NotificationMessage } from '../../src/wire/types.js';

const MARKER = 'ff'.repeat(16);
const utf8 = (s: string) => toHex(new TextEncoder().encode(s));

/** Hex with whitespace and `#` comments; the header length must match the message size. */
function hex(text: string): Uint8Array {
  const b = fromHex(text.replace(/#[^\n]*/g, ''));
  if (b.length >= 19) expect((b[16] << 8) | b[17], `length field of ${toHex(b)}`).toBe(b.length);
  return b;
}

function roundTrip(bytes: Uint8Array, expected: NotificationMessage): void {
  const m = decodeNotification(bytes);
  expect(m).toEqual(expected);
  expect(toHex(encodeNotification(m))).toBe(toHex(bytes));
}

describe('NOTIFICATION: hand-built vectors (RFC 4271 4.5)', () => {
  it('OPEN Message Error / Bad Peer AS with data', () => {
    roundTrip(hex(`${MARKER} 0017 03   02 02   fde8   # code 2, subcode 2, data = AS 65000`), {
      type: 'notification',
      code: 2,
      subcode: 2,
      data: fromHex('fde8'),
    });
  });

  it('Hold Timer Expired, no data', () => {
    roundTrip(hex(`${MARKER} 0015 03   04 00`), { type: 'notification', code: 4, subcode: 0, data: new Uint8Array() });
  });

  it('Cease / Administrative Shutdown with an RFC 9003 communication', () => {
    const bytes = hex(`
      ${MARKER} 0021 03
      06 02                       # Cease / Administrative Shutdown
      0b ${utf8('maintenance')}   # length 11, "maintenance"
    `);
    roundTrip(bytes, {
      type: 'notification',
      code: 6,
      subcode: 2,
      data: fromHex(`0b${utf8('maintenance')}`),
      shutdownMessage: 'maintenance',
    });
    expect(toHex(encodeNotification(buildShutdown(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, 'maintenance')))).toBe(toHex(bytes));
  });

  it('Cease / Administrative Reset with multi-octet UTF-8 text', () => {
    const text = 'Wartung für 5 Min ⚙';
    const octets = new TextEncoder().encode(text).length;
    const bytes = hex(`${MARKER} ${(22 + octets).toString(16).padStart(4, '0')} 03  06 04  ${octets.toString(16).padStart(2, '0')} ${utf8(text)}`);
    roundTrip(bytes, { type: 'notification', code: 6, subcode: 4, data: bytes.slice(21), shutdownMessage: text });
  });

  it('an empty communication (length 0) is the empty string; no length octet means none', () => {
    roundTrip(hex(`${MARKER} 0016 03  06 02  00`), { type: 'notification', code: 6, subcode: 2, data: fromHex('00'), shutdownMessage: '' });
    roundTrip(hex(`${MARKER} 0015 03  06 02`), { type: 'notification', code: 6, subcode: 2, data: new Uint8Array() });
  });

  it('a malformed communication leaves shutdownMessage unset and the data as received (RFC 9003 4)', () => {
    // The length octet says 5, two octets follow.
    roundTrip(hex(`${MARKER} 0018 03  06 02  05 6869`), { type: 'notification', code: 6, subcode: 2, data: fromHex('056869') });
    // Not UTF-8 (a lone lead octet).
    roundTrip(hex(`${MARKER} 0018 03  06 04  02 c328`), { type: 'notification', code: 6, subcode: 4, data: fromHex('02c328') });
  });

  it('only Cease 2 and 4 carry a communication', () => {
    roundTrip(hex(`${MARKER} 0018 03  06 03  02 6869`), { type: 'notification', code: 6, subcode: 3, data: fromHex('026869') });
  });

  it('fewer than 21 octets is Bad Message Length', () => {
    let caught: unknown;
    try {
      decodeNotification(fromHex(`${MARKER} 0014 03 06`));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(WireError);
    expect((caught as WireError).code).toBe('header.bad-length');
    expect([(caught as WireError).notification.code, (caught as WireError).notification.subcode]).toEqual([1, 2]);
  });

  it('decoded data does not alias the input', () => {
    const bytes = hex(`${MARKER} 0017 03  02 02 fde8`);
    const m = decodeNotification(bytes);
    bytes[20] = 0;
    expect(toHex(m.data)).toBe('fde8');
  });
});

describe('building NOTIFICATIONs', () => {
  it('from a WireError: its code, subcode and data', () => {
    const err = new WireError('open.unsupported-version', 'v3', { data: Uint8Array.of(0, 4) });
    const m = buildNotification(err);
    expect(m).toEqual({ type: 'notification', code: 2, subcode: 1, data: fromHex('0004') });
    expect(toHex(encodeNotification(m))).toBe(`${MARKER}0017030201` + '0004');
  });

  it('data that would not fit is cut so the message is at most 4096 octets (65535 when extended)', () => {
    const whole = new Uint8Array(5000).fill(7);
    const err = new WireError('route-refresh.bad-length', 'too long', { data: whole });
    const m = buildNotification(err);
    expect([m.code, m.subcode, m.data.length]).toEqual([7, 1, 4096 - 21]);
    expect(encodeNotification(m).length).toBe(4096);
    expect(buildNotification(err, 65535).data.length).toBe(5000);
    // An encoder never writes more than the maximum.
    expect(() => encodeNotification({ type: 'notification', code: 6, subcode: 0, data: whole })).toThrow(/maximum 4096/);
    expect(encodeNotification({ type: 'notification', code: 6, subcode: 0, data: whole }, 65535).length).toBe(5021);
  });

  it('every WireError code maps to a NOTIFICATION with a name', () => {
    for (const code of Object.keys(WIRE_ERRORS) as WireErrorCode[]) {
      const m = buildNotification(new WireError(code, code));
      expect([m.code, m.subcode]).toEqual([...WIRE_ERRORS[code]]);
      expect(describeNotification(m.code, m.subcode), code).not.toMatch(/subcode \d/);
    }
  });

  it('shutdown text over 255 octets is cut at a character boundary', () => {
    const m = buildShutdown(CeaseSubcode.ADMINISTRATIVE_RESET, 'é'.repeat(200)); // 400 octets
    expect(m.data[0]).toBe(254);
    expect(m.data.length).toBe(255);
    expect(m.shutdownMessage).toBe('é'.repeat(127));
    expect(decodeNotification(encodeNotification(m))).toEqual(m);
    const ascii = buildShutdown(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, 'x'.repeat(300));
    expect(ascii.data[0]).toBe(255);
    expect(ascii.shutdownMessage).toBe('x'.repeat(255));
  });
});

describe('describeNotification', () => {
  it('names codes and subcodes as IANA does', () => {
    expect(describeNotification(6, 2)).toBe('Cease / Administrative Shutdown');
    expect(describeNotification(2, 2)).toBe('OPEN Message Error / Bad Peer AS');
    expect(describeNotification(1, 2)).toBe('Message Header Error / Bad Message Length');
    expect(describeNotification(3, 11)).toBe('UPDATE Message Error / Malformed AS_PATH');
    expect(describeNotification(5, 0)).toBe('Finite State Machine Error / Unspecified Error');
    expect(describeNotification(7, 1)).toBe('ROUTE-REFRESH Message Error / Invalid Message Length');
    expect(describeNotification(4, 0)).toBe('Hold Timer Expired');
    expect(describeNotification(8, 0)).toBe('Send Hold Timer Expired');
    expect(describeNotification(2, 0)).toBe('OPEN Message Error / Unspecific');
    expect(describeNotification(6, 0)).toBe('Cease');
  });

  it('falls back to numbers for what it does not know', () => {
    expect(describeNotification(9, 3)).toBe('code 9 subcode 3');
    expect(describeNotification(0, 0)).toBe('code 0 subcode 0');
    expect(describeNotification(6, 42)).toBe('Cease / subcode 42');
    expect(describeNotification(4, 1)).toBe('Hold Timer Expired / subcode 1');
  });

  it('has a name for every code and subcode in iana.ts', () => {
    const tables: [number, Record<string, number>][] = [
      [ErrorCode.MESSAGE_HEADER, HeaderSubcode],
      [ErrorCode.OPEN_MESSAGE, OpenSubcode],
      [ErrorCode.UPDATE_MESSAGE, UpdateSubcode],
      [ErrorCode.FSM, FsmSubcode],
      [ErrorCode.CEASE, CeaseSubcode],
      [ErrorCode.ROUTE_REFRESH, RouteRefreshSubcode],
    ];
    for (const code of Object.values(ErrorCode)) expect(describeNotification(code, 0)).not.toMatch(/^code |subcode/);
    let named = 0;
    for (const [code, table] of tables) {
      for (const subcode of Object.values(table)) {
        const text = describeNotification(code, subcode);
        expect(text, `${code}/${subcode}`).toMatch(/^[^/]+ \/ [A-Z]/);
        expect(text).not.toMatch(/subcode/);
        named++;
      }
    }
    expect(named).toBe(35);
  });
});

describe('NOTIFICATION: properties', () => {
  it('any code, subcode and data re-encode byte for byte', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 }), (code, subcode, data) => {
        const bytes = encodeNotification({ type: 'notification', code, subcode, data });
        const m = decodeNotification(bytes);
        expect([m.code, m.subcode, toHex(m.data)]).toEqual([code, subcode, toHex(data)]);
        expect(toHex(encodeNotification(m))).toBe(toHex(bytes));
      }),
    );
  });

  it('shutdown communications round-trip', () => {
    fc.assert(
      fc.property(fc.constantFrom(2, 4), fc.string({ unit: 'grapheme', maxLength: 60 }), (subcode, text) => {
        const m = buildShutdown(subcode, text);
        expect(decodeNotification(encodeNotification(m))).toEqual(m);
        if (new TextEncoder().encode(text).length <= 255) expect(m.shutdownMessage).toBe(text);
      }),
    );
  });

  it('arbitrary bytes throw nothing but WireError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        try {
          decodeNotification(bytes);
        } catch (e) {
          if (!(e instanceof WireError)) throw e;
        }
      }),
    );
  });
});
