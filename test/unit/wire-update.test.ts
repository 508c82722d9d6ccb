import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/lib/hex.js';
import { parsePrefix } from '../../src/lib/prefix.js';
import { buildEndOfRib, endOfRibBytes, isEndOfRib } from '../../src/wire/eor.js';
import { WireError, type Severity } from '../../src/wire/errors.js';
import { familyKey, type UpdateMessage, type WireOptions } from '../../src/wire/types.js';
import { decodeUpdate, encodeUpdate, updateSeverity } from '../../src/wire/update.js';
import { thrown } from '../helpers/wire-error.js';

const OPTS: WireOptions = { fourOctetAs: true, extendedMessage: false, addPath: new Set() };
const AS2: WireOptions = { ...OPTS, fourOctetAs: false };

/** A whole UPDATE from its three variable fields (lengths filled in). */
function update(withdrawnHex: string, attrsHex: string, nlriHex = ''): Uint8Array {
  const w = fromHex(withdrawnHex);
  const a = fromHex(attrsHex);
  const n = fromHex(nlriHex);
  const body = [w.length >> 8, w.length & 255, ...w, a.length >> 8, a.length & 255, ...a, ...n];
  const len = 19 + body.length;
  return Uint8Array.from([...new Array<number>(16).fill(0xff), len >> 8, len & 255, 2, ...body]);
}

/** The single problem of a decoded UPDATE. */
function onlyProblem(m: UpdateMessage): WireError {
  expect(m.problems).toHaveLength(1);
  return m.problems![0];
}

function expectError(e: WireError, code: string, severity: Severity, subcode: number): void {
  expect(e.code).toBe(code);
  expect(e.severity).toBe(severity);
  expect(e.notification.code).toBe(3);
  expect(e.notification.subcode).toBe(subcode);
}

const ORIGIN = '40 01 01 00';
const AS_PATH = '40 02 06 02 01 0000fc00';
const NEXT_HOP = '40 03 04 0a000101';
const BASE = `${ORIGIN} ${AS_PATH} ${NEXT_HOP}`;
const NLRI = '1a 0af40300'; // 10.244.3.0/26

describe('UPDATE decode / encode (RFC 4271 4.3)', () => {
  it('decodes a typical announcement and re-encodes it byte for byte', () => {
    const msg = update(
      '18 0af407',
      `${BASE} 40 05 04 00000064 c0 10 10 030c000000000008 0603020000000001`,
      `${NLRI} 1a 0af40340`,
    );
    const m = decodeUpdate(msg, OPTS);
    expect(m).toEqual({
      type: 'update',
      withdrawn: [parsePrefix('10.244.7.0/24')],
      attributes: [
        { type: 'origin', flags: 0x40, origin: 0 },
        { type: 'as-path', flags: 0x40, segments: [{ kind: 'sequence', asns: [64512] }] },
        { type: 'next-hop', flags: 0x40, nextHop: '10.0.1.1' },
        { type: 'local-pref', flags: 0x40, localPref: 100 },
        { type: 'ext-communities', flags: 0xc0, communities: [{ type: 'encapsulation', tunnelType: 8 }, { type: 'router-mac', mac: '02:00:00:00:00:01' }] },
      ],
      nlri: [parsePrefix('10.244.3.0/26'), parsePrefix('10.244.3.64/26')],
    });
    expect(toHex(encodeUpdate(m, OPTS))).toBe(toHex(msg));
  });

  it('keeps attributes in wire order, not type order', () => {
    const msg = update('', `${NEXT_HOP} ${AS_PATH} ${ORIGIN}`, NLRI);
    const m = decodeUpdate(msg, OPTS);
    expect(m.attributes.map((a) => a.type)).toEqual(['next-hop', 'as-path', 'origin']);
    expect(toHex(encodeUpdate(m, OPTS))).toBe(toHex(msg));
  });

  it('reads ADD-PATH path ids in the withdrawn routes and NLRI when 1/1 is ADD-PATH', () => {
    const opts = { ...OPTS, addPath: new Set([familyKey(1, 1)]) };
    const msg = update('00000005 18 0af407', BASE, `00000009 ${NLRI}`);
    const m = decodeUpdate(msg, opts);
    expect(m.withdrawnPathIds).toEqual([5]);
    expect(m.nlriPathIds).toEqual([9]);
    expect(toHex(encodeUpdate(m, opts))).toBe(toHex(msg));
  });

  it('refuses to encode beyond the maximum message length', () => {
    const nlri = Array.from({ length: 1100 }, (_, i) => parsePrefix(`10.${i >> 8}.${i & 255}.0/24`) as number);
    const m: UpdateMessage = { type: 'update', withdrawn: [], attributes: decodeUpdate(update('', BASE), OPTS).attributes, nlri };
    expect(() => encodeUpdate(m, OPTS)).toThrow(/more than the maximum 4096/);
    expect(decodeUpdate(encodeUpdate(m, { ...OPTS, extendedMessage: true }), { ...OPTS, extendedMessage: true }).nlri).toEqual(nlri);
  });

  it('checks the header it is given', () => {
    const msg = update('', '');
    expect(thrown(() => decodeUpdate(msg.subarray(0, 22), OPTS)).code).toBe('header.bad-length');
    const wrongType = msg.slice();
    wrongType[18] = 4;
    expect(thrown(() => decodeUpdate(wrongType, OPTS)).code).toBe('header.bad-type');
  });
});

describe('RFC 7606 error handling', () => {
  it('withdrawn routes length past the message: session reset, Malformed Attribute List (3/1)', () => {
    const msg = update('', '');
    msg[20] = 1;
    expectError(thrown(() => decodeUpdate(msg, OPTS)), 'update.malformed-attribute-list', 'session-reset', 1);
  });

  it('total attribute length past the message: session reset (3/1)', () => {
    const msg = update('', ORIGIN);
    msg[22] = 5;
    expectError(thrown(() => decodeUpdate(msg, OPTS)), 'update.malformed-attribute-list', 'session-reset', 1);
  });

  it('an attribute running past the attributes: treat-as-withdraw, NLRI still located (RFC 7606 4)', () => {
    const msg = update('', `${BASE} 40 05 08 00000064`, NLRI);
    const m = decodeUpdate(msg, OPTS);
    expectError(onlyProblem(m), 'update.malformed-attribute-list', 'treat-as-withdraw', 1);
    expect(m.nlri).toEqual([parsePrefix('10.244.3.0/26')]);
  });

  it('too few octets left for an attribute header: treat-as-withdraw (RFC 7606 4)', () => {
    const m = decodeUpdate(update('', `${BASE} 40 05`, NLRI), OPTS);
    expectError(onlyProblem(m), 'update.malformed-attribute-list', 'treat-as-withdraw', 1);
    const ext = decodeUpdate(update('', `${BASE} 50 05 00`, NLRI), OPTS);
    expectError(onlyProblem(ext), 'update.malformed-attribute-list', 'treat-as-withdraw', 1);
  });

  it('duplicate attribute: all but the first discarded (RFC 7606 3g)', () => {
    const m = decodeUpdate(update('', `${BASE} 40 01 01 02`, NLRI), OPTS);
    expectError(onlyProblem(m), 'update.malformed-attribute-list', 'attribute-discard', 1);
    expect(m.attributes.filter((a) => a.type === 'origin')).toEqual([{ type: 'origin', flags: 0x40, origin: 0 }]);
  });

  it('duplicate MP_REACH_NLRI or MP_UNREACH_NLRI: session reset (3/1)', () => {
    const reach = '80 0e 0d 0001 01 04 0a000001 00 18 c0a801';
    expectError(thrown(() => decodeUpdate(update('', `${ORIGIN} ${AS_PATH} ${reach} ${reach}`), OPTS)), 'update.malformed-attribute-list', 'session-reset', 1);
    const unreach = '80 0f 03 0002 01';
    expectError(thrown(() => decodeUpdate(update('', `${unreach} ${unreach}`), OPTS)), 'update.malformed-attribute-list', 'session-reset', 1);
  });

  it('flags conflicting with the attribute: treat-as-withdraw (3/4), data = the attribute (RFC 7606 3c)', () => {
    const m = decodeUpdate(update('', `c0 01 01 00 ${AS_PATH} ${NEXT_HOP}`, NLRI), OPTS);
    const e = onlyProblem(m);
    expectError(e, 'update.attribute-flags', 'treat-as-withdraw', 4);
    expect(toHex(e.notification.data)).toBe('c0010100');
  });

  it('flags conflict on AGGREGATOR: the attribute is discarded', () => {
    const m = decodeUpdate(update('', `${BASE} 40 07 08 0000fc00 0a000001`, NLRI), OPTS);
    expectError(onlyProblem(m), 'update.attribute-flags', 'attribute-discard', 4);
    expect(m.attributes.some((a) => a.type === 'aggregator')).toBe(false);
  });

  const BASE2 = `${ORIGIN} 40 02 04 02 01 fc00 ${NEXT_HOP}`;
  /** [name, attribute hex, severity, options, the BASE attribute it replaces] */
  const lengthCases: [string, string, Severity, WireOptions, string?][] = [
    ['ORIGIN', '40 01 02 0000', 'treat-as-withdraw', OPTS, ORIGIN],
    ['NEXT_HOP', '40 03 05 0a00000100', 'treat-as-withdraw', OPTS, NEXT_HOP],
    ['MULTI_EXIT_DISC', '80 04 03 000000', 'treat-as-withdraw', OPTS],
    ['LOCAL_PREF', '40 05 05 0000000000', 'treat-as-withdraw', OPTS],
    ['ATOMIC_AGGREGATE', '40 06 01 00', 'attribute-discard', OPTS],
    ['AGGREGATOR (4-octet AS)', 'c0 07 06 fc00 0a000001', 'attribute-discard', OPTS],
    ['AGGREGATOR (2-octet AS)', 'c0 07 08 0000fc00 0a000001', 'attribute-discard', AS2],
    ['COMMUNITIES', 'c0 08 05 0000000000', 'treat-as-withdraw', OPTS],
    ['COMMUNITIES empty', 'c0 08 00', 'treat-as-withdraw', OPTS],
    ['ORIGINATOR_ID', '80 09 03 0a0000', 'treat-as-withdraw', OPTS],
    ['CLUSTER_LIST', '80 0a 06 0a0000010a00', 'treat-as-withdraw', OPTS],
    ['EXTENDED_COMMUNITIES', 'c0 10 07 00000000000000', 'treat-as-withdraw', OPTS],
    ['AS4_AGGREGATOR', 'c0 12 06 0000fc00 0a00', 'attribute-discard', AS2],
    ['LARGE_COMMUNITY', 'c0 20 0d 00000000000000000000000000', 'treat-as-withdraw', OPTS],
  ];
  for (const [name, hex, severity, opts, replaces] of lengthCases) {
    it(`${name} with a bad length: ${severity}, Attribute Length Error (3/5)`, () => {
      const base = opts.fourOctetAs ? BASE : BASE2;
      const attrs = replaces ? base.replace(replaces, hex) : `${base} ${hex}`;
      const m = decodeUpdate(update('', attrs, NLRI), opts);
      const e = onlyProblem(m);
      expectError(e, 'update.attribute-length', severity, 5);
      expect(toHex(e.notification.data)).toBe(hex.replace(/ /g, ''));
      const kept = m.attributes.map((a) => a.type);
      expect(kept).toHaveLength(replaces ? 2 : 3);
    });
  }

  it('missing ORIGIN, AS_PATH, NEXT_HOP with NLRI: treat-as-withdraw, Missing Well-known (3/3), data = type code (RFC 7606 3d)', () => {
    const m = decodeUpdate(update('', '', NLRI), OPTS);
    expect(m.problems?.map((p) => [p.code, p.severity, p.notification.subcode, toHex(p.notification.data)])).toEqual([
      ['update.missing-well-known', 'treat-as-withdraw', 3, '01'],
      ['update.missing-well-known', 'treat-as-withdraw', 3, '02'],
      ['update.missing-well-known', 'treat-as-withdraw', 3, '03'],
    ]);
  });

  it('NEXT_HOP is not needed for routes in MP_REACH_NLRI, nor any attribute for withdrawals only', () => {
    const reach = '80 0e 0d 0001 01 04 0a000001 00 18 c0a801';
    expect(decodeUpdate(update('', `${ORIGIN} ${AS_PATH} ${reach}`), OPTS).problems).toBeUndefined();
    expect(onlyProblem(decodeUpdate(update('', `${ORIGIN} ${reach}`), OPTS)).code).toBe('update.missing-well-known');
    expect(decodeUpdate(update('18 0af407', ''), OPTS).problems).toBeUndefined();
  });

  it('NLRI or withdrawn routes that cannot be parsed: session reset, Invalid Network Field (3/10) (RFC 7606 5.3)', () => {
    expectError(thrown(() => decodeUpdate(update('', BASE, '21 0a000000 00'), OPTS)), 'update.invalid-network', 'session-reset', 10);
    expectError(thrown(() => decodeUpdate(update('', BASE, '18 0a00'), OPTS)), 'update.invalid-network', 'session-reset', 10);
    expectError(thrown(() => decodeUpdate(update('20 0a00', ''), OPTS)), 'update.invalid-network', 'session-reset', 10);
  });

  it('MP_REACH_NLRI whose NLRI or next hop cannot be parsed: session reset, Optional Attribute Error (3/9)', () => {
    const badNlri = '80 0e 0e 0002 01 10 20010db8000000000000000000000001 00 81';
    expectError(thrown(() => decodeUpdate(update('', `${ORIGIN} ${AS_PATH} ${badNlri}`), OPTS)), 'update.optional-attribute', 'session-reset', 9);
    const badNextHop = '80 0e 10 0002 01 08 20010db800000000 00 20 20010db8';
    expectError(thrown(() => decodeUpdate(update('', `${ORIGIN} ${AS_PATH} ${badNextHop}`), OPTS)), 'update.optional-attribute', 'session-reset', 9);
    expectError(thrown(() => decodeUpdate(update('', '80 0f 02 0002'), OPTS)), 'update.optional-attribute', 'session-reset', 9);
    expectError(thrown(() => decodeUpdate(update('', '80 0f 05 0002 01 30 20'), OPTS)), 'update.optional-attribute', 'session-reset', 9);
  });

  const asPathCases: [string, string][] = [
    ['unknown segment type', '40 02 06 05 01 0000fc00'],
    ['segment of length zero', '40 02 02 02 00'],
    ['segment overrun', '40 02 06 02 02 0000fc00'],
    ['one octet left after the last segment', '40 02 07 02 01 0000fc00 02'],
    ['2-octet width on a 4-octet session', '40 02 04 02 01 fc00'],
  ];
  for (const [name, hex] of asPathCases) {
    it(`malformed AS_PATH (${name}): treat-as-withdraw, Malformed AS_PATH (3/11) (RFC 7606 7.2)`, () => {
      const m = decodeUpdate(update('', `${ORIGIN} ${hex} ${NEXT_HOP}`, NLRI), OPTS);
      expectError(onlyProblem(m), 'update.malformed-as-path', 'treat-as-withdraw', 11);
      expect(m.attributes.map((a) => a.type)).toEqual(['origin', 'next-hop']);
    });
  }

  it('malformed AS4_PATH: discarded (RFC 6793 6)', () => {
    const m = decodeUpdate(update('', `${ORIGIN} 40 02 04 02 01 fc00 ${NEXT_HOP} c0 11 02 02 00`, NLRI), AS2);
    expectError(onlyProblem(m), 'update.malformed-as-path', 'attribute-discard', 11);
    expect(m.attributes).toHaveLength(3);
  });

  it('undefined ORIGIN value: treat-as-withdraw, Invalid ORIGIN (3/6)', () => {
    const m = decodeUpdate(update('', BASE.replace(ORIGIN, '40 01 01 03'), NLRI), OPTS);
    expectError(onlyProblem(m), 'update.invalid-origin', 'treat-as-withdraw', 6);
  });

  it('NEXT_HOP that is not a unicast address: treat-as-withdraw, Invalid NEXT_HOP (3/8), only with IPv4 NLRI', () => {
    const attrs = BASE.replace(NEXT_HOP, '40 03 04 e0000001');
    expectError(onlyProblem(decodeUpdate(update('', attrs, NLRI), OPTS)), 'update.invalid-next-hop', 'treat-as-withdraw', 8);
    expect(decodeUpdate(update('', attrs), OPTS).problems).toBeUndefined();
  });

  it('unrecognized well-known attribute: session reset (3/2), data = the attribute', () => {
    const e = thrown(() => decodeUpdate(update('', `${BASE} 40 63 02 abcd`, NLRI), OPTS));
    expectError(e, 'update.unrecognized-well-known', 'session-reset', 2);
    expect(toHex(e.notification.data)).toBe('406302abcd');
  });

  it('the worst severity wins', () => {
    const m = decodeUpdate(update('', `${BASE} 40 06 01 00 c0 08 01 00`, NLRI), OPTS);
    expect(m.problems?.map((p) => p.severity)).toEqual(['attribute-discard', 'treat-as-withdraw']);
    expect(updateSeverity(m)).toBe('treat-as-withdraw');
    expect(updateSeverity(decodeUpdate(update('', BASE, NLRI), OPTS))).toBeUndefined();
  });
});

describe('End-of-RIB (RFC 4724 2)', () => {
  it('IPv4 unicast: the empty UPDATE', () => {
    const b = endOfRibBytes(1, 1);
    expect(toHex(b)).toBe(`${'ff'.repeat(16)}001702${'0000'}${'0000'}`);
    expect(isEndOfRib(decodeUpdate(b, OPTS))).toEqual({ afi: 1, safi: 1 });
  });

  it('other families: only an empty MP_UNREACH_NLRI', () => {
    const b = endOfRibBytes(2, 1);
    expect(toHex(b)).toBe(`${'ff'.repeat(16)}001d0200000006800f03000201`);
    expect(isEndOfRib(decodeUpdate(b, OPTS))).toEqual({ afi: 2, safi: 1 });
    expect(isEndOfRib(buildEndOfRib(25, 70))).toEqual({ afi: 25, safi: 70 });
  });

  it('anything else is not End-of-RIB', () => {
    expect(isEndOfRib(decodeUpdate(update('18 0af407', ''), OPTS))).toBeNull();
    expect(isEndOfRib(decodeUpdate(update('', '80 0f 0a 0002 01 30 20010db80001'), OPTS))).toBeNull();
    expect(isEndOfRib(decodeUpdate(update('', `80 0f 03 0002 01 ${ORIGIN}`), OPTS))).toBeNull();
    expect(isEndOfRib(decodeUpdate(update('', BASE, NLRI), OPTS))).toBeNull();
  });
});
