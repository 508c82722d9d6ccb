/**
 * RFC 9012 Tunnel Encapsulation attribute (type 23): hand-built byte fixtures from the RFC's
 * formats, RFC 9012 13 error handling through decodeUpdate (RFC 7606 outcomes), round-trip
 * properties, the RIB's equality and pass-on, and the JSON view `weft decode` prints.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/lib/hex.js';
import { parsePrefix } from '../../src/lib/prefix.js';
import { AttrInterner, toPathAttributes } from '../../src/rib/attrs.js';
import { AdjRibOut } from '../../src/rib/export.js';
import { Rib } from '../../src/rib/loc-rib.js';
import type { PeerInfo } from '../../src/rib/peer.js';
import { attr, vxlanTunnelAttribute } from '../../src/wire/attr-build.js';
import { decodeTunnelEncap, encodeTunnelEncap, firstSubTlv, tunnelTypeName, vxlanTunnelOf } from '../../src/wire/attr-tunnel-encap.js';
import { WireError } from '../../src/wire/errors.js';
import { messageToJson } from '../../src/wire/message.js';
import { DEFAULT_WIRE_OPTIONS, type AttrOf, type PathAttribute, type UpdateMessage } from '../../src/wire/types.js';
import { decodeUpdate, encodeUpdate, updateSeverity } from '../../src/wire/update.js';
import { Writer } from '../../src/wire/writer.js';
import { tunnelTlvsArb } from '../helpers/tunnel-encap-arb.js';

// ------------------------------------------------------------------ byte builders (RFC 9012 2)

const h = (s: string) => s.replace(/\s+/g, '');
const len2 = (hex: string) => (h(hex).length / 2).toString(16).padStart(4, '0');
const len1 = (hex: string) => (h(hex).length / 2).toString(16).padStart(2, '0');
/** A Tunnel TLV: Tunnel Type (2), Length (2), sub-TLVs. */
const tlv = (type: number, ...subs: string[]) => type.toString(16).padStart(4, '0') + len2(subs.join('')) + h(subs.join(''));
/** A sub-TLV: type (1), length (1 for 0-127, 2 for 128-255), value. */
const sub = (type: number, value: string) => type.toString(16).padStart(2, '0') + (type >= 128 ? len2(value) : len1(value)) + h(value);

/** RFC 9012 3.1 Tunnel Egress Endpoint: Reserved (4), Address Family (2), Address. */
const EGRESS_NH = sub(6, '00000000 0000');
const EGRESS_V4 = sub(6, '00000000 0001 0a00010b'); // 10.0.1.11
const EGRESS_V6 = sub(6, '00000000 0002 fd000000000000000000000000000011'); // fd00::11
/** RFC 9012 3.2.1 VXLAN Encapsulation: V|M flags, VN-ID (3), MAC (6), Reserved (2). */
const VXLAN_VNI_100 = sub(1, '80 000064 000000000000 0000');
const VXLAN_VNI_4096_MAC = sub(1, 'c0 001000 02000a00010b 0000');

function decodeHex(value: string, flags = 0xc0): AttrOf<'tunnel-encap'> {
  const b = fromHex(value);
  return decodeTunnelEncap(b, 0, b.length, flags);
}

function encodeHex(a: AttrOf<'tunnel-encap'>): string {
  const w = new Writer();
  encodeTunnelEncap(w, a);
  return toHex(w.finish());
}

/** An UPDATE announcing 10.244.7.0/26 with the attribute value as given (as bytes, flags as given). */
function update(value: string, flags = 0xc0): UpdateMessage {
  const m: UpdateMessage = {
    type: 'update',
    withdrawn: [],
    attributes: [attr.origin(0), attr.asPath([65001]), attr.nextHop('10.0.1.12'), attr.unknown(23, fromHex(value), flags)],
    nlri: [parsePrefix('10.244.7.0/26') as number],
  };
  return decodeUpdate(encodeUpdate(m, DEFAULT_WIRE_OPTIONS), DEFAULT_WIRE_OPTIONS);
}

function tunnelOf(m: UpdateMessage): AttrOf<'tunnel-encap'> | undefined {
  return m.attributes.find((a): a is AttrOf<'tunnel-encap'> => a.type === 'tunnel-encap');
}

// ------------------------------------------------------------------------------- fixtures

describe('RFC 9012 Tunnel Encapsulation: decoding the RFC formats', () => {
  it('VXLAN with a VNI, egress = the next hop (address family 0)', () => {
    const value = tlv(8, EGRESS_NH, VXLAN_VNI_100);
    expect(value).toBe('00080016' + '0606000000000000' + '010c80000064000000000000' + '0000');
    const a = decodeHex(value);
    expect(a).toEqual({
      type: 'tunnel-encap',
      flags: 0xc0,
      tunnels: [{ tunnelType: 8, subTlvs: [{ type: 'egress-endpoint', address: undefined }, { type: 'encapsulation', vni: 100, mac: undefined }] }],
    });
    expect(vxlanTunnelOf(a.tunnels)).toEqual({ vni: 100, mac: undefined, egress: undefined });
    expect(encodeHex(a)).toBe(value);
  });

  it('VXLAN with VNI and MAC (M bit), egress IPv4 and IPv6', () => {
    for (const [egress, address] of [[EGRESS_V4, '10.0.1.11'], [EGRESS_V6, 'fd00::11']] as const) {
      const value = tlv(8, VXLAN_VNI_4096_MAC, egress);
      const a = decodeHex(value);
      expect(a.tunnels[0].subTlvs).toEqual([{ type: 'encapsulation', vni: 4096, mac: '02:00:0a:00:01:0b' }, { type: 'egress-endpoint', address }]);
      expect(vxlanTunnelOf(a.tunnels)).toEqual({ vni: 4096, mac: '02:00:0a:00:01:0b', egress: address });
      expect(encodeHex(a)).toBe(value);
    }
  });

  it('two tunnels in one attribute, with UDP port, protocol type, color, DS field and embedded label handling', () => {
    const value =
      tlv(8, EGRESS_V4, VXLAN_VNI_100, sub(8, '12b5'), sub(2, '6558'), sub(4, '030b 0000 0000002a')) +
      tlv(7, sub(7, 'b8'), EGRESS_V4, sub(9, '02'));
    const a = decodeHex(value);
    expect(a.tunnels).toEqual([
      {
        tunnelType: 8,
        subTlvs: [
          { type: 'egress-endpoint', address: '10.0.1.11' },
          { type: 'encapsulation', vni: 100, mac: undefined },
          { type: 'udp-port', port: 4789 },
          { type: 'protocol-type', etherType: 0x6558 },
          { type: 'color', color: 42 },
        ],
      },
      { tunnelType: 7, subTlvs: [{ type: 'ds-field', ds: 0xb8 }, { type: 'egress-endpoint', address: '10.0.1.11' }, { type: 'embedded-label-handling', handling: 2 }] },
    ]);
    expect(encodeHex(a)).toBe(value);
  });

  it('unknown sub-TLVs (1- and 2-octet lengths) and an unknown tunnel type are kept and re-encoded byte for byte (RFC 9012 13)', () => {
    const value = tlv(8, sub(64, '1234'), EGRESS_NH, sub(200, 'aabbcc'), VXLAN_VNI_100, sub(255, '')) + tlv(0x4242, EGRESS_V6, sub(1, 'deadbeef'), sub(130, '00'.repeat(300)));
    const a = decodeHex(value);
    expect(a.tunnels.map((t) => t.tunnelType)).toEqual([8, 0x4242]);
    expect(a.tunnels[0].subTlvs[0]).toEqual({ type: 'unknown', code: 64, data: fromHex('1234') });
    expect(a.tunnels[0].subTlvs[2]).toEqual({ type: 'unknown', code: 200, data: fromHex('aabbcc') });
    expect(a.tunnels[0].subTlvs[4]).toEqual({ type: 'unknown', code: 255, data: new Uint8Array(0) });
    // The Encapsulation sub-TLV of an unknown tunnel type has no known format: kept as bytes.
    expect(a.tunnels[1].subTlvs[1]).toEqual({ type: 'unknown', code: 1, data: fromHex('deadbeef') });
    expect(a.tunnels[1].subTlvs[2]).toMatchObject({ type: 'unknown', code: 130 });
    expect(encodeHex(a)).toBe(value);
    expect(tunnelTypeName(0x4242)).toBe('unknown (16962)');
  });

  it('reserved bits and fields are disregarded on receipt and propagated unchanged (RFC 9012 3.1, 3.2.1, 4.3)', () => {
    const value = tlv(
      8,
      sub(6, 'ffffffff 0001 0a00010b'), // egress with a non-zero Reserved field
      sub(1, 'bf 000064 112233445566 abcd'), // V, reserved bits, a MAC without the M bit, Reserved
      sub(4, '030b 8000 00000007'), // Color with non-zero Flags
    );
    const a = decodeHex(value);
    expect(a.tunnels[0].subTlvs).toMatchObject([
      { type: 'egress-endpoint', address: '10.0.1.11' },
      { type: 'encapsulation', vni: 100, mac: undefined },
      { type: 'color', color: 7 },
    ]);
    expect(encodeHex(a)).toBe(value);
    // V bit clear: the VN-ID field is disregarded, and still propagated.
    const noV = decodeHex(tlv(8, EGRESS_NH, sub(1, '40 000064 02000a00010b 0000')));
    expect(vxlanTunnelOf(noV.tunnels)).toEqual({ vni: undefined, mac: '02:00:0a:00:01:0b', egress: undefined });
    expect(encodeHex(noV)).toBe(tlv(8, EGRESS_NH, sub(1, '40 000064 02000a00010b 0000')));
  });

  it('malformed known sub-TLVs are treated as unrecognized: kept as bytes, the TLV stays (RFC 9012 13)', () => {
    const bad = [
      sub(1, '80 000064 000000000000'), // VXLAN Encapsulation of 10 octets (12 expected)
      sub(2, 'ffff'), // Protocol Type 0xFFFF is reserved (3.4.1)
      sub(2, '0800 00'), // Protocol Type of 3 octets
      sub(4, '0300 0000 00000001'), // Color not starting 0x030b (3.4.2)
      sub(4, '030b 0000 0001'), // Color of 6 octets
      sub(7, 'b8b8'), // DS field of 2 octets
      sub(8, '0000'), // UDP port 0 is reserved (3.3.2)
      sub(8, '12'), // UDP port of 1 octet
      sub(9, '03'), // Embedded Label Handling other than 1 or 2 (3.5)
    ];
    for (const s of bad) {
      const value = tlv(8, EGRESS_NH, s);
      const a = decodeHex(value);
      expect(a.tunnels[0].subTlvs[1], s).toMatchObject({ type: 'unknown', code: parseInt(s.slice(0, 2), 16) });
      expect(encodeHex(a)).toBe(value);
    }
    // The Encapsulation sub-TLV of GRE (tunnel type 2) is a key, not V/M/VN-ID: kept as bytes.
    expect(decodeHex(tlv(2, EGRESS_NH, sub(1, '00000001'))).tunnels[0].subTlvs[1]).toEqual({ type: 'unknown', code: 1, data: fromHex('00000001') });
  });

  it('repeated sub-TLVs are kept and passed on; only the first counts (RFC 9012 13)', () => {
    const value = tlv(8, EGRESS_NH, VXLAN_VNI_100, VXLAN_VNI_4096_MAC);
    const a = decodeHex(value);
    expect(a.tunnels[0].subTlvs).toHaveLength(3);
    expect(firstSubTlv(a.tunnels[0], 'encapsulation')).toEqual({ type: 'encapsulation', vni: 100, mac: undefined });
    expect(vxlanTunnelOf(a.tunnels)?.vni).toBe(100);
    expect(encodeHex(a)).toBe(value);
  });
});

// ------------------------------------------------------------------- RFC 9012 13 outcomes

describe('RFC 9012 13: malformed input and its RFC 7606 outcome', () => {
  const VALID = tlv(8, EGRESS_NH, VXLAN_VNI_100);

  it('a valid attribute: no problem, decoded as tunnel-encap', () => {
    const m = update(VALID);
    expect(m.problems).toBeUndefined();
    expect(tunnelOf(m)?.tunnels[0].tunnelType).toBe(8);
  });

  const framing: [string, string][] = [
    ['an empty attribute (no Tunnel TLV)', ''],
    ['3 octets: too few for a Tunnel TLV header', '000800'],
    ['a trailing partial Tunnel TLV header', VALID + '0008'],
    ['a Tunnel TLV running past the attribute', '0008 0020' + VALID.slice(8)],
    ['a sub-TLV header past the end of its TLV', tlv(8, EGRESS_NH, '01')],
    ['a 2-octet sub-TLV length cut by the end of its TLV', tlv(8, EGRESS_NH, 'c800')],
    ['a sub-TLV value past the end of its TLV', tlv(8, EGRESS_NH, '010c80000064')],
    ['a 2-octet-length sub-TLV value past the end of its TLV', tlv(8, EGRESS_NH, 'c80010aabb')],
    ['a TLV shorter than its final sub-TLV, the rest read as the next TLV', '0008000a' + EGRESS_NH.slice(0, 16) + '0600' + VXLAN_VNI_100],
  ];
  for (const [what, value] of framing) {
    it(`treat-as-withdraw: ${what}`, () => {
      expect(() => decodeHex(value)).toThrow(WireError);
      const m = update(value);
      expect(updateSeverity(m)).toBe('treat-as-withdraw');
      expect(m.problems?.[0]).toMatchObject({ code: 'update.optional-attribute', severity: 'treat-as-withdraw' });
      expect(tunnelOf(m)).toBeUndefined();
    });
  }

  const badEgress: [string, string][] = [
    ['no Tunnel Egress Endpoint', tlv(8, VXLAN_VNI_100)],
    ['two Tunnel Egress Endpoints', tlv(8, EGRESS_NH, VXLAN_VNI_100, EGRESS_V4)],
    ['a Tunnel Egress Endpoint of 5 octets', tlv(8, sub(6, '00000000 00'), VXLAN_VNI_100)],
    ['address family 3', tlv(8, sub(6, '00000000 0003 0a00010b'), VXLAN_VNI_100)],
    ['address family 1 with 16 octets', tlv(8, sub(6, '00000000 0001 fd000000000000000000000000000011'), VXLAN_VNI_100)],
    ['address family 2 with 4 octets', tlv(8, sub(6, '00000000 0002 0a00010b'), VXLAN_VNI_100)],
    ['address family 0 with an address', tlv(8, sub(6, '00000000 0000 0a00010b'), VXLAN_VNI_100)],
    ['a loopback egress (127.0.0.1)', tlv(8, sub(6, '00000000 0001 7f000001'), VXLAN_VNI_100)],
    ['a 0/8 egress', tlv(8, sub(6, '00000000 0001 00000000'), VXLAN_VNI_100)],
    ['a broadcast egress', tlv(8, sub(6, '00000000 0001 ffffffff'), VXLAN_VNI_100)],
    ['an IPv6 loopback egress', tlv(8, sub(6, '00000000 0002 00000000000000000000000000000001'), VXLAN_VNI_100)],
    ['an IPv6 link-local egress', tlv(8, sub(6, '00000000 0002 fe800000000000000000000000000001'), VXLAN_VNI_100)],
  ];
  for (const [what, bad] of badEgress) {
    it(`${what}: the TLV is removed; alone, the attribute has no valid TLV (treat-as-withdraw)`, () => {
      expect(updateSeverity(update(bad))).toBe('treat-as-withdraw');
      const m = update(bad + VALID);
      expect(m.problems).toBeUndefined();
      const a = tunnelOf(m);
      expect(a?.tunnels).toEqual(decodeHex(VALID).tunnels);
      expect(a?.removed).toEqual([{ tunnelType: 8, data: fromHex(bad.slice(8)), why: expect.any(String) }]);
      // Removed before the route is passed on: the re-encoded attribute holds the valid TLV only.
      expect(encodeHex(a as AttrOf<'tunnel-encap'>)).toBe(VALID);
    });
  }

  it('the Transitive bit clear (or the attribute marked well-known) is treat-as-withdraw (RFC 9012 13, RFC 7606 3c)', () => {
    expect(updateSeverity(update(VALID, 0x80))).toBe('treat-as-withdraw');
    expect(update(VALID, 0x80).problems?.[0].code).toBe('update.attribute-flags');
  });

  it('the Partial and Extended Length bits are accepted and kept', () => {
    const m = update(VALID, 0xf0);
    expect(m.problems).toBeUndefined();
    expect(tunnelOf(m)?.flags).toBe(0xf0);
  });

  it('a second Tunnel Encapsulation attribute is discarded (RFC 7606 3g)', () => {
    const m: UpdateMessage = {
      type: 'update',
      withdrawn: [],
      attributes: [attr.origin(0), attr.asPath([]), attr.nextHop('10.0.1.12'), attr.unknown(23, fromHex(VALID)), attr.unknown(23, fromHex(VALID))],
      nlri: [parsePrefix('10.244.7.0/26') as number],
    };
    const d = decodeUpdate(encodeUpdate(m, DEFAULT_WIRE_OPTIONS), DEFAULT_WIRE_OPTIONS);
    expect(updateSeverity(d)).toBe('attribute-discard');
    expect(d.attributes.filter((a) => a.type === 'tunnel-encap')).toHaveLength(1);
  });

  it('arbitrary bytes, and TLV-shaped bytes with random sub-TLVs, throw nothing but WireError; what decodes whole re-encodes byte for byte', () => {
    const subTlvBytes = fc.record({ code: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 255 })), data: fc.uint8Array({ maxLength: 24 }) }).map(({ code, data }) => sub(code, toHex(data)));
    const egress = fc.oneof(fc.constant(EGRESS_NH), fc.constant(EGRESS_V6), fc.uint8Array({ minLength: 4, maxLength: 4 }).map((r) => sub(6, toHex(r) + '0001 0a00010b')));
    const tlvBytes = fc.record({ type: fc.oneof(fc.constantFrom(2, 7, 8, 9), fc.integer({ min: 0, max: 0xffff })), egress: fc.option(egress), subs: fc.array(subTlvBytes, { maxLength: 5 }) }).map((r) => tlv(r.type, ...(r.egress === null ? [] : [r.egress]), ...r.subs));
    const input = fc.oneof(fc.uint8Array({ maxLength: 64 }).map(toHex), fc.array(tlvBytes, { minLength: 1, maxLength: 3 }).map((ts) => ts.join('')));
    fc.assert(
      fc.property(input, fc.nat(), (value, cut) => {
        for (const v of [value, value.slice(0, 2 * (cut % (value.length / 2 + 1)))]) {
          let a: AttrOf<'tunnel-encap'>;
          try {
            a = decodeHex(v);
          } catch (e) {
            expect(e).toBeInstanceOf(WireError);
            continue;
          }
          if (a.removed === undefined) expect(encodeHex(a)).toBe(v);
          expect(decodeHex(encodeHex(a)).tunnels).toEqual(a.tunnels);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('decode(encode(x)) deep-equals x for generated attributes', () => {
    fc.assert(
      fc.property(tunnelTlvsArb, (tunnels) => {
        const a = attr.tunnelEncap(tunnels);
        expect(decodeHex(encodeHex(a))).toEqual(a);
      }),
      { numRuns: 1000 },
    );
  });
});

// ------------------------------------------------------------------------- the helper, encoding

describe('vxlanTunnelAttribute', () => {
  it('builds the VXLAN TLV: egress endpoint (next hop when none is given) and the VNI (+ MAC)', () => {
    expect(encodeHex(vxlanTunnelAttribute(100))).toBe(tlv(8, EGRESS_NH, VXLAN_VNI_100));
    expect(encodeHex(vxlanTunnelAttribute(4096, '02:00:0A:00:01:0B', '10.0.1.11'))).toBe(tlv(8, EGRESS_V4, VXLAN_VNI_4096_MAC));
    expect(vxlanTunnelAttribute(4096, undefined, 'fd00:0::11').tunnels[0].subTlvs[0]).toEqual({ type: 'egress-endpoint', address: 'fd00::11' });
    expect(vxlanTunnelAttribute(1).flags).toBe(0xc0);
  });

  it('refuses values that cannot be encoded', () => {
    expect(() => vxlanTunnelAttribute(2 ** 24)).toThrow(/VNI/);
    expect(() => vxlanTunnelAttribute(-1)).toThrow(/VNI/);
    expect(() => vxlanTunnelAttribute(1, '02:00:0a:00:01')).toThrow(/MAC/);
    expect(() => vxlanTunnelAttribute(1, undefined, 'host-b')).toThrow(/IP address/);
    expect(() => encodeHex(attr.tunnelEncap([]))).toThrow(/at least one/);
    expect(() => encodeHex(attr.tunnelEncap([{ tunnelType: 2, subTlvs: [{ type: 'encapsulation', vni: 1 }] }]))).toThrow(/tunnel type 8 or 9/);
  });

  it('goes through a whole UPDATE and the JSON view names the tunnel type', () => {
    const m: UpdateMessage = {
      type: 'update',
      withdrawn: [],
      attributes: [attr.origin(0), attr.asPath([]), attr.nextHop('10.0.1.12'), vxlanTunnelAttribute(4096, '02:00:0a:00:01:0b', '10.0.1.11')],
      nlri: [parsePrefix('10.244.7.0/26') as number],
    };
    const d = decodeUpdate(encodeUpdate(m, DEFAULT_WIRE_OPTIONS), DEFAULT_WIRE_OPTIONS);
    expect(d).toEqual(m);
    const json = messageToJson(d) as { attributes: unknown[] };
    expect(json.attributes[3]).toEqual({
      type: 'tunnel-encap',
      flags: 0xc0,
      tunnels: [
        {
          tunnelType: 8,
          name: 'VXLAN',
          subTlvs: [
            { type: 'egress-endpoint', address: '10.0.1.11' },
            { type: 'encapsulation', vni: 4096, mac: '02:00:0a:00:01:0b' },
          ],
        },
      ],
    });
  });
});

// --------------------------------------------------------------------------------- the RIB

describe('RIB: the Tunnel Encapsulation attribute in attribute sets', () => {
  const base: PathAttribute[] = [attr.origin(0), attr.asPath([65001]), attr.nextHop('10.0.1.12')];

  it('takes part in equality: same tunnels share a set, another VNI or none is another set', () => {
    const i = new AttrInterner();
    const a = i.intern([...base, vxlanTunnelAttribute(100)]);
    const b = i.intern([vxlanTunnelAttribute(100), ...base]);
    const c = i.intern([...base, vxlanTunnelAttribute(101)]);
    const d = i.intern(base);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(d).not.toBe(a);
    expect(a.tunnelEncap).toEqual(vxlanTunnelAttribute(100).tunnels);
    expect(d.tunnelEncap).toBeUndefined();
  });

  it('is passed on as a known optional transitive attribute, unknown sub-TLVs byte for byte', () => {
    const value = tlv(8, EGRESS_NH, sub(200, 'aabbcc'), VXLAN_VNI_100);
    const received = update(value);
    const set = new AttrInterner().intern(received.attributes);
    const out = toPathAttributes(set).find((a) => a.type === 'tunnel-encap') as AttrOf<'tunnel-encap'>;
    expect(out.flags).toBe(0xc0);
    expect(encodeHex(out)).toBe(value);
  });

  const LOCAL = { asn: 64512, routerId: '10.0.0.9' };
  const SELF = { ipv4: '10.0.0.9', ipv6: 'fd00::9' };
  const ib = (n: number): PeerInfo => ({ id: `i${n}`, address: `10.0.0.${n}`, asn: 64512, routerId: `10.0.0.${n}`, type: 'ibgp', isRrClient: true, localAsn: 64512 });
  const eb = (n: number): PeerInfo => ({ id: `e${n}`, address: `10.0.1.${n}`, asn: 65000 + n, routerId: `10.0.1.${n}`, type: 'ebgp', isRrClient: false, localAsn: 64512 });

  it('reaches iBGP peers; is filtered on eBGP sessions both ways by default (RFC 9012 11)', () => {
    const rib = new Rib({ local: LOCAL });
    const out = new AdjRibOut(rib, { local: LOCAL, routeReflector: true });
    for (const p of [ib(1), ib(2), eb(3)]) {
      rib.addPeer(p);
      out.addPeer({ info: p, nextHopSelf: SELF });
    }
    const own = parsePrefix('10.244.3.0/26');
    out.onChanges(rib.localAdd(own, [attr.origin(0), vxlanTunnelAttribute(4096, '02:00:0a:00:00:09')]));
    expect(out.desired('i1', own)?.tunnelEncap).toEqual(vxlanTunnelAttribute(4096, '02:00:0a:00:00:09').tunnels);
    expect(out.desired('e3', own)?.tunnelEncap).toBeUndefined();

    const fromI = parsePrefix('10.244.7.0/26');
    out.onChanges(rib.applyUpdate('i1', { announced: [fromI], withdrawn: [], attrs: [...base, attr.localPref(100), vxlanTunnelAttribute(7)] }));
    expect(out.desired('i2', fromI)?.tunnelEncap).toEqual(vxlanTunnelAttribute(7).tunnels); // reflected to a client
    expect(out.desired('e3', fromI)?.tunnelEncap).toBeUndefined();

    const fromE = parsePrefix('10.244.9.0/26');
    out.onChanges(rib.applyUpdate('e3', { announced: [fromE], withdrawn: [], attrs: [attr.origin(0), attr.asPath([65003]), attr.nextHop('10.0.1.3'), vxlanTunnelAttribute(9)] }));
    expect(out.desired('i1', fromE)).toBeDefined();
    expect(out.desired('i1', fromE)?.tunnelEncap).toBeUndefined();
  });
});
