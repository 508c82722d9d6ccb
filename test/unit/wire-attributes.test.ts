import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/lib/hex.js';
import { parsePrefix } from '../../src/lib/prefix.js';
import { ATTRIBUTE_BY_CODE, ATTRIBUTES, encodeAttribute, forPassOn } from '../../src/wire/attributes.js';
import { attr } from '../../src/wire/attr-build.js';
import { decodeExtCommunity, writeExtCommunity } from '../../src/wire/ext-community.js';
import { AttrType } from '../../src/wire/iana.js';
import { familyKey, type ExtCommunity, type PathAttribute, type WireOptions } from '../../src/wire/types.js';
import { decodeUpdate, encodeUpdate } from '../../src/wire/update.js';
import { Writer } from '../../src/wire/writer.js';

const AS4: WireOptions = { fourOctetAs: true, extendedMessage: false, addPath: new Set() };
const AS2: WireOptions = { ...AS4, fourOctetAs: false };

/** An UPDATE with no routes and the given path attribute octets. */
function withAttrs(attrHex: string): Uint8Array {
  const attrs = fromHex(attrHex);
  const body = [0, 0, attrs.length >> 8, attrs.length & 255, ...attrs];
  const len = 19 + body.length;
  return Uint8Array.from([...new Array<number>(16).fill(0xff), len >> 8, len & 255, 2, ...body]);
}

/** Decodes one attribute from its RFC layout, checks there were no problems and it re-encodes identically. */
function one(hex: string, opts: WireOptions = AS4): PathAttribute {
  const msg = withAttrs(hex);
  const m = decodeUpdate(msg, opts);
  expect(m.problems).toBeUndefined();
  expect(m.attributes).toHaveLength(1);
  expect(toHex(encodeUpdate(m, opts))).toBe(toHex(msg));
  return m.attributes[0];
}

/** Same for an MP_REACH_NLRI carrying routes: ORIGIN and AS_PATH must come with it (RFC 7606 3d). */
function mp(hex: string, opts: WireOptions = AS4): PathAttribute {
  const msg = withAttrs(`40 01 01 00  40 02 00  ${hex}`);
  const m = decodeUpdate(msg, opts);
  expect(m.problems).toBeUndefined();
  expect(m.attributes).toHaveLength(3);
  expect(toHex(encodeUpdate(m, opts))).toBe(toHex(msg));
  return m.attributes[2];
}

describe('attribute table', () => {
  it('has one row per code with the RFC flags and RFC 7606 actions', () => {
    const rows = Object.values(ATTRIBUTES);
    expect(new Set(rows.map((r) => r.code)).size).toBe(rows.length);
    for (const r of rows) expect(ATTRIBUTE_BY_CODE[r.code]).toBe(r);
    expect(ATTRIBUTES.origin.flags).toBe(0x40);
    expect(ATTRIBUTES.med.flags).toBe(0x80);
    expect(ATTRIBUTES.communities.flags).toBe(0xc0);
    expect(ATTRIBUTES['mp-reach'].onError).toBe('session-reset');
    expect(ATTRIBUTES.aggregator.onError).toBe('attribute-discard');
    expect(ATTRIBUTES['as4-path'].onError).toBe('attribute-discard');
    expect(ATTRIBUTES['large-communities'].onError).toBe('treat-as-withdraw');
  });
});

describe('attribute values in RFC layout', () => {
  it('ORIGIN (RFC 4271 5.1.1)', () => {
    expect(one('40 01 01 02')).toEqual({ type: 'origin', flags: 0x40, origin: 2 });
  });

  it('AS_PATH with 4-octet AS numbers (RFC 6793), all four segment kinds', () => {
    expect(one('40 02 24 02 03 0000fc00 0000fde9 fa56ea00  01 02 00000001 00000002  03 01 0000fde8  04 01 0000fde9')).toEqual({
      type: 'as-path',
      flags: 0x40,
      segments: [
        { kind: 'sequence', asns: [64512, 65001, 4200000000] },
        { kind: 'set', asns: [1, 2] },
        { kind: 'confed-sequence', asns: [65000] },
        { kind: 'confed-set', asns: [65001] },
      ],
    });
  });

  it('AS_PATH with 2-octet AS numbers (RFC 4271 4.3), and empty', () => {
    expect(one('40 02 08 02 03 fc00 fde9 5ba0', AS2)).toEqual({ type: 'as-path', flags: 0x40, segments: [{ kind: 'sequence', asns: [64512, 65001, 23456] }] });
    expect(one('40 02 00', AS2)).toEqual({ type: 'as-path', flags: 0x40, segments: [] });
  });

  it('NEXT_HOP, MULTI_EXIT_DISC, LOCAL_PREF, ATOMIC_AGGREGATE', () => {
    expect(one('40 03 04 0a000001')).toEqual({ type: 'next-hop', flags: 0x40, nextHop: '10.0.0.1' });
    expect(one('80 04 04 ffffffff')).toEqual({ type: 'med', flags: 0x80, med: 0xffffffff });
    expect(one('40 05 04 00000064')).toEqual({ type: 'local-pref', flags: 0x40, localPref: 100 });
    expect(one('40 06 00')).toEqual({ type: 'atomic-aggregate', flags: 0x40 });
  });

  it('AGGREGATOR with 4- and 2-octet AS, AS4_AGGREGATOR', () => {
    expect(one('c0 07 08 fa56ea00 0a000001')).toEqual({ type: 'aggregator', flags: 0xc0, asn: 4200000000, address: '10.0.0.1' });
    expect(one('c0 07 06 5ba0 0a000001', AS2)).toEqual({ type: 'aggregator', flags: 0xc0, asn: 23456, address: '10.0.0.1' });
    expect(one('c0 12 08 fa56ea00 0a000001', AS2)).toEqual({ type: 'as4-aggregator', flags: 0xc0, asn: 4200000000, address: '10.0.0.1' });
  });

  it('AS4_PATH is 4 octets per AS on a 2-octet session', () => {
    expect(one('c0 11 0a 02 02 fa56ea00 0000fc00', AS2)).toEqual({ type: 'as4-path', flags: 0xc0, segments: [{ kind: 'sequence', asns: [4200000000, 64512] }] });
  });

  it('COMMUNITIES (RFC 1997), LARGE_COMMUNITY (RFC 8092)', () => {
    expect(one('c0 08 08 fc000001 ffffff01')).toEqual({ type: 'communities', flags: 0xc0, communities: [0xfc000001, 0xffffff01] });
    expect(one('c0 20 0c 0000fc00 00000001 ffffffff')).toEqual({ type: 'large-communities', flags: 0xc0, communities: [[64512, 1, 0xffffffff]] });
  });

  it('ORIGINATOR_ID, CLUSTER_LIST (RFC 4456 8)', () => {
    expect(one('80 09 04 0a000002')).toEqual({ type: 'originator-id', flags: 0x80, originatorId: '10.0.0.2' });
    expect(one('80 0a 08 0a000003 0a000004')).toEqual({ type: 'cluster-list', flags: 0x80, clusterIds: ['10.0.0.3', '10.0.0.4'] });
  });

  it('MP_REACH_NLRI IPv6 with global + link-local next hop (RFC 4760 3, RFC 2545 3)', () => {
    const hex = `90 0e 0035 0002 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001 00 30 20010db80001 40 20010db800000002`;
    expect(mp(hex)).toEqual({
      type: 'mp-reach',
      flags: 0x90,
      reach: { afi: 2, safi: 1, nextHop: ['2001:db8::1', 'fe80::1'], nlri: ['2001:db8:1::/48', '2001:db8:0:2::/64'] },
    });
  });

  it('MP_REACH_NLRI IPv4 with IPv4 and with IPv6 next hop (RFC 8950), reserved octet kept', () => {
    expect(mp('80 0e 0d 0001 01 04 0a000001 00 18 c0a801')).toEqual({
      type: 'mp-reach',
      flags: 0x80,
      reach: { afi: 1, safi: 1, nextHop: ['10.0.0.1'], nlri: [parsePrefix('192.168.1.0/24')] },
    });
    expect(mp('80 0e 19 0001 01 10 20010db8000000000000000000000001 07 18 c0a801')).toEqual({
      type: 'mp-reach',
      flags: 0x80,
      reach: { afi: 1, safi: 1, nextHop: ['2001:db8::1'], reserved: 7, nlri: [parsePrefix('192.168.1.0/24')] },
    });
  });

  it('MP_REACH / MP_UNREACH with ADD-PATH (RFC 7911 3)', () => {
    const opts = { ...AS4, addPath: new Set([familyKey(2, 1)]) };
    expect(one('80 0f 0e 0002 01 0000002a 30 20010db80001', opts)).toEqual({
      type: 'mp-unreach',
      flags: 0x80,
      unreach: { afi: 2, safi: 1, withdrawn: ['2001:db8:1::/48'], pathIds: [42] },
    });
  });

  it('MP_REACH / MP_UNREACH of other families keep next hop and NLRI as bytes', () => {
    // L2VPN EVPN (AFI 25, SAFI 70): route type 2, opaque here.
    const a = mp('90 0e 000e 0019 46 04 0a000001 00 02 03 aabbcc');
    expect(a).toEqual({
      type: 'mp-reach',
      flags: 0x90,
      reach: { afi: 25, safi: 70, nextHop: [], nextHopRaw: fromHex('0a000001'), nlri: [], raw: fromHex('0203aabbcc') },
    });
    expect(one('80 0f 05 0001 80 abcd')).toEqual({ type: 'mp-unreach', flags: 0x80, unreach: { afi: 1, safi: 128, withdrawn: [], raw: fromHex('abcd') } });
  });

  it('MP_UNREACH_NLRI IPv6 (RFC 4760 4)', () => {
    expect(one('80 0f 0a 0002 01 30 20010db80001')).toEqual({ type: 'mp-unreach', flags: 0x80, unreach: { afi: 2, safi: 1, withdrawn: ['2001:db8:1::/48'] } });
  });

  it('EXTENDED_COMMUNITIES (RFC 4360, RFC 9012, RFC 9135)', () => {
    const hex = 'c0 10 30 030c000000000008 0603020000000001 0002fde800000064 01020a0000010064 0202fa56ea000064 0003fde800000001';
    expect(one(hex)).toEqual({
      type: 'ext-communities',
      flags: 0xc0,
      communities: [
        { type: 'encapsulation', tunnelType: 8 },
        { type: 'router-mac', mac: '02:00:00:00:00:01' },
        { type: 'route-target', global: 65000, local: 100 },
        { type: 'route-target', global: '10.0.0.1', local: 100 },
        { type: 'route-target', global: 4200000000, local: 100 },
        { type: 'route-origin', global: 65000, local: 1 },
      ],
    });
  });

  it('unknown optional attributes are kept as bytes with their flags', () => {
    expect(one('e0 63 02 abcd')).toEqual({ type: 'unknown', flags: 0xe0, code: 99, data: fromHex('abcd') });
    expect(one('80 fe 00')).toEqual({ type: 'unknown', flags: 0x80, code: 254, data: new Uint8Array(0) });
  });
});

describe('extended communities that would not re-encode identically stay raw', () => {
  const cases: [string, ExtCommunity][] = [
    ['030c000000010008', { type: 'raw', hex: '030c000000010008' }], // reserved field not zero
    ['0202000000640001', { type: 'raw', hex: '0202000000640001' }], // 4-octet AS form of a 2-octet AS
    ['4002fde800000064', { type: 'raw', hex: '4002fde800000064' }], // non-transitive route target
    ['0302000000000000', { type: 'raw', hex: '0302000000000000' }],
    ['0202000100000064', { type: 'route-target', global: 65536, local: 100 }],
  ];
  for (const [hex, want] of cases) {
    it(hex, () => {
      const c = decodeExtCommunity(fromHex(hex), 0);
      expect(c).toEqual(want);
      const b = new Uint8Array(8);
      writeExtCommunity(b, 0, c);
      expect(toHex(b)).toBe(hex);
    });
  }
});

describe('encoding flags', () => {
  it('keeps an Extended Length flag given on a short value', () => {
    expect(one('50 01 0001 00')).toEqual({ type: 'origin', flags: 0x50, origin: 0 });
  });

  it('sets Extended Length when a value is longer than 255 octets', () => {
    const communities = Array.from({ length: 70 }, (_, i) => 0xfc000000 + i);
    const w = new Writer(4);
    encodeAttribute(w, attr.communities(communities), AS4);
    const out = w.finish();
    expect(toHex(out.subarray(0, 4))).toBe('d0080118'); // flags 0xc0|0x10, code 8, length 280
    expect(out.length).toBe(284);
    const m = decodeUpdate(withAttrs(toHex(out)), AS4);
    expect(m.attributes).toEqual([{ type: 'communities', flags: 0xd0, communities }]);
  });

  it('refuses values that cannot be encoded (plain Error)', () => {
    const w = new Writer();
    expect(() => encodeAttribute(w, attr.asPath([70000]), AS2)).toThrow(/AS_TRANS/);
    expect(() => encodeAttribute(w, attr.communities([]), AS4)).toThrow(/empty/);
    expect(() => encodeAttribute(w, attr.asPath([{ kind: 'sequence', asns: [] }]), AS4)).toThrow(/1\.\.255/);
  });
});

describe('builders use the table flags', () => {
  it('gives each attribute its RFC flags', () => {
    expect(attr.origin(0).flags).toBe(0x40);
    expect(attr.med(1).flags).toBe(0x80);
    expect(attr.largeCommunities([[1, 2, 3]])).toEqual({ type: 'large-communities', flags: 0xc0, communities: [[1, 2, 3]] });
    expect(attr.mpReach({ afi: 2, safi: 1, nextHop: ['2001:db8::1'], nlri: [] }).flags).toBe(0x90);
    expect(attr.clusterList(['10.0.0.1']).flags).toBe(0x80);
  });

  it('splits a long AS sequence into segments of 255', () => {
    const path = attr.asPath(Array.from({ length: 300 }, (_, i) => 64512 + i));
    expect(path.segments.map((s) => s.asns.length)).toEqual([255, 45]);
    expect(attr.asPath([]).segments).toEqual([]);
  });
});

describe('forPassOn (RFC 4271 5)', () => {
  it('sets Partial on unknown optional transitive attributes and drops unknown non-transitive ones', () => {
    const attrs: PathAttribute[] = [
      attr.origin(0),
      attr.unknown(99, fromHex('01')),
      attr.unknown(100, fromHex('02'), 0x80),
      attr.unknown(101, fromHex('03'), 0xe0),
      attr.med(5),
    ];
    const out = forPassOn(attrs);
    expect(out).toEqual([attr.origin(0), { type: 'unknown', flags: 0xe0, code: 99, data: fromHex('01') }, attrs[3], attr.med(5)]);
    // The input is not modified; plain encode keeps flags as given.
    expect(attrs[1].flags).toBe(0xc0);
    const w = new Writer();
    encodeAttribute(w, attrs[1], AS4);
    expect(toHex(w.finish())).toBe('c0630101');
  });

  it('table codes match the IANA constants', () => {
    expect(ATTRIBUTES['large-communities'].code).toBe(AttrType.LARGE_COMMUNITY);
    expect(ATTRIBUTES['as4-aggregator'].code).toBe(AttrType.AS4_AGGREGATOR);
  });
});
