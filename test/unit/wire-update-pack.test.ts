import { describe, expect, it } from 'vitest';
import { v4Prefix, v6Prefix, type Prefix } from '../../src/lib/prefix.js';
import { attr, packRoutes, packUpdates } from '../../src/wire/update-pack.js';
import { familyKey, type PathAttribute, type UpdateMessage, type WireOptions } from '../../src/wire/types.js';
import { decodeUpdate } from '../../src/wire/update.js';

const OPTS: WireOptions = { fourOctetAs: true, extendedMessage: false, addPath: new Set() };
const EXT: WireOptions = { ...OPTS, extendedMessage: true };

const ATTRS: PathAttribute[] = [
  attr.origin(0),
  attr.asPath([64512]),
  attr.nextHop('10.0.1.11'),
  attr.localPref(100),
  attr.extCommunities([
    { type: 'encapsulation', tunnelType: 8 },
    { type: 'router-mac', mac: '02:00:0a:00:01:0b' },
  ]),
];

function slash24s(n: number): number[] {
  return Array.from({ length: n }, (_, i) => v4Prefix((((10 << 24) | (i << 8)) >>> 0) % 2 ** 32, 24));
}

function slash64s(n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const b = new Uint8Array(16);
    b.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, i >> 8, i & 255]);
    return v6Prefix(b, 64);
  });
}

/** Decodes every message, checks size and cleanliness, returns the decoded messages. */
function decodeAll(msgs: Uint8Array[], opts: WireOptions): UpdateMessage[] {
  const max = opts.extendedMessage ? 65535 : 4096;
  return msgs.map((b) => {
    expect(b.length).toBeLessThanOrEqual(max);
    const m = decodeUpdate(b, opts);
    expect(m.problems).toBeUndefined();
    return m;
  });
}

function expectExactlyOnce(got: Prefix[], want: Prefix[]): void {
  expect(got).toHaveLength(want.length);
  expect(new Set(got)).toEqual(new Set(want));
}

describe('packUpdates', () => {
  for (const [name, opts] of [
    ['4096-octet', OPTS],
    ['65535-octet (RFC 8654)', EXT],
  ] as const) {
    it(`packs 10k IPv4 /24s into full ${name} UPDATEs, each prefix exactly once`, () => {
      const prefixes = slash24s(10_000);
      const msgs = packUpdates({ attributes: ATTRS, announce: prefixes }, opts);
      const decoded = decodeAll(msgs, opts);
      expectExactlyOnce(
        decoded.flatMap((m) => m.nlri),
        prefixes,
      );
      for (const m of decoded) expect(m.attributes).toEqual(ATTRS);
      // Filled up: all but the last message leave less room than one more /24 (4 octets).
      const max = opts.extendedMessage ? 65535 : 4096;
      for (const b of msgs.slice(0, -1)) expect(max - b.length).toBeLessThan(4);
      const perMessage = decoded[0].nlri.length;
      expect(msgs).toHaveLength(Math.ceil(10_000 / perMessage));
    });
  }

  it('packs IPv6 prefixes into MP_REACH_NLRI (first attribute) with the next hop, without NEXT_HOP', () => {
    const prefixes = slash64s(3000);
    const msgs = packUpdates({ attributes: ATTRS, announce: prefixes, ipv6NextHop: ['2001:db8::11', 'fe80::1'] }, OPTS);
    const decoded = decodeAll(msgs, OPTS);
    const nlri: Prefix[] = [];
    for (const m of decoded) {
      const first = m.attributes[0];
      if (first.type !== 'mp-reach') throw new Error('MP_REACH_NLRI is not first');
      expect(first.flags).toBe(0x90);
      expect(first.reach.nextHop).toEqual(['2001:db8::11', 'fe80::1']);
      nlri.push(...first.reach.nlri);
      expect(m.attributes.slice(1)).toEqual(ATTRS.filter((a) => a.type !== 'next-hop'));
      expect(m.nlri).toEqual([]);
    }
    expectExactlyOnce(nlri, prefixes);
    for (const b of msgs.slice(0, -1)) expect(4096 - b.length).toBeLessThan(9);
  });

  it('packs IPv4 and IPv6 withdrawals', () => {
    const v4 = slash24s(2500);
    const v6 = slash64s(1000);
    const msgs = packUpdates({ withdraw: [...v4, ...v6] }, OPTS);
    const decoded = decodeAll(msgs, OPTS);
    expectExactlyOnce(
      decoded.flatMap((m) => m.withdrawn),
      v4,
    );
    const v6Out: Prefix[] = [];
    for (const m of decoded) {
      for (const a of m.attributes) {
        expect(a.type).toBe('mp-unreach');
        if (a.type === 'mp-unreach') v6Out.push(...a.unreach.withdrawn);
      }
      expect(m.nlri).toEqual([]);
    }
    expectExactlyOnce(v6Out, v6);
  });

  it('writes ADD-PATH path ids for ADD-PATH families (RFC 7911)', () => {
    const opts = { ...OPTS, addPath: new Set([familyKey(1, 1), familyKey(2, 1)]) };
    const v4 = slash24s(1500);
    const v6 = slash64s(500);
    const ids = [...v4, ...v6].map((_, i) => i + 1);
    const msgs = packUpdates({ attributes: ATTRS, announce: [...v4, ...v6], announcePathIds: ids, ipv6NextHop: ['2001:db8::11'] }, opts);
    const decoded = decodeAll(msgs, opts);
    const pairs = new Map<Prefix, number>();
    for (const m of decoded) {
      m.nlri.forEach((p, i) => pairs.set(p, m.nlriPathIds![i]));
      for (const a of m.attributes) if (a.type === 'mp-reach') a.reach.nlri.forEach((p, i) => pairs.set(p, a.reach.pathIds![i]));
    }
    expect(pairs.size).toBe(2000);
    [...v4, ...v6].forEach((p, i) => expect(pairs.get(p)).toBe(ids[i]));
  });

  it('sends nothing for nothing, and refuses input it cannot send', () => {
    expect(packUpdates({}, OPTS)).toEqual([]);
    expect(() => packUpdates({ attributes: [attr.origin(0)], announce: slash24s(1) }, OPTS)).toThrow(/NEXT_HOP/);
    expect(() => packUpdates({ attributes: ATTRS, announce: slash64s(1) }, OPTS)).toThrow(/ipv6NextHop/);
    expect(() => packUpdates({ attributes: [...ATTRS, attr.mpUnreach({ afi: 2, safi: 1, withdrawn: [] })] }, OPTS)).toThrow(/MP_REACH/);
    const huge = [...ATTRS, attr.unknown(99, new Uint8Array(4080))];
    expect(() => packUpdates({ attributes: huge, announce: slash24s(1) }, OPTS)).toThrow(/not fit/);
  });
});

/** An optional transitive attribute whose value makes the IPv4 announcement message exactly `total` octets with one /24. */
function filler(total: number, base: readonly PathAttribute[], opts: WireOptions): PathAttribute {
  const fixed = packUpdates({ attributes: base, announce: slash24s(1) }, opts)[0].length; // with one /24 (4 octets)
  return attr.unknown(240, new Uint8Array(total - fixed - 4), 0xc0 | 0x10); // 4-octet attribute header (Extended Length)
}

describe('packRoutes: routes that do not fit are an outcome, not an exception', () => {
  for (const [name, opts, max] of [
    ['4096', OPTS, 4096],
    ['65535 (RFC 8654)', EXT, 65535],
  ] as const) {
    it(`a ${max}-octet message is sent; one octet more of attributes and the route is returned as too-large (${name})`, () => {
      const big = filler(max, ATTRS, opts);
      const exact = packRoutes({ attributes: [...ATTRS, big], announce: slash24s(1) }, opts);
      expect(exact.tooLarge).toEqual([]);
      expect(exact.messages).toHaveLength(1);
      expect(exact.messages[0].length).toBe(max);
      expect(decodeAll(exact.messages, opts)[0].nlri).toEqual(slash24s(1));

      const over = attr.unknown(240, new Uint8Array((big as { data: Uint8Array }).data.length + 1), 0xd0);
      const r = packRoutes({ attributes: [...ATTRS, over], announce: slash24s(3), withdraw: slash64s(2) }, opts);
      expect(r.tooLarge).toEqual([{ type: 'too-large', prefixes: slash24s(3), pathIds: [0, 0, 0], attributeOctets: max - 23 - 4 + 1, maxOctets: max }]);
      // The withdrawals in the same input still go out.
      const decoded = decodeAll(r.messages, opts);
      expect(decoded).toHaveLength(1);
      expect(decoded[0].attributes[0].type).toBe('mp-unreach');
    });
  }

  it('leaves out only the prefixes that are too long when a shorter one still fits', () => {
    // Room for 4 octets after the attributes: a /24 (4 octets) fits, a /32 (5) does not.
    const big = filler(4096, ATTRS, OPTS);
    const host = v4Prefix((10 << 24) | 0x0101, 32);
    const r = packRoutes({ attributes: [...ATTRS, big], announce: [slash24s(2)[1], host, slash24s(1)[0]] }, OPTS);
    expect(r.tooLarge).toHaveLength(1);
    expect(r.tooLarge[0].prefixes).toEqual([host]);
    expect(decodeAll(r.messages, OPTS).flatMap((m) => m.nlri)).toEqual([slash24s(2)[1], slash24s(1)[0]]);
  });

  it('reports IPv6 announcements whose MP_REACH_NLRI and attributes fill the message (ADD-PATH ids kept)', () => {
    const opts = { ...OPTS, addPath: new Set([familyKey(2, 1)]) };
    const huge = [...ATTRS, attr.unknown(240, new Uint8Array(4050))];
    const r = packRoutes({ attributes: huge, announce: [...slash64s(2), ...slash24s(1)], announcePathIds: [7, 8, 9], ipv6NextHop: ['2001:db8::1'] }, opts);
    expect(r.tooLarge.map((t) => [t.prefixes, t.pathIds])).toEqual([
      [slash24s(1), [9]],
      [slash64s(2), [7, 8]],
    ]);
    expect(r.messages).toEqual([]);
  });

  it('an attribute value longer than 65535 octets (no length field can say it) is too large, not a throw', () => {
    // 17,000 4-octet AS numbers: 68,000+ octets of AS_PATH.
    const path = attr.asPath(Array.from({ length: 17_000 }, (_, i) => 70_000 + i));
    const base = ATTRS.filter((a) => a.type !== 'as-path');
    const r = packRoutes({ attributes: [path, ...base], announce: slash24s(1) }, EXT);
    expect(r.messages).toEqual([]);
    expect(r.tooLarge[0].attributeOctets).toBeGreaterThan(65535);
    expect(() => packUpdates({ attributes: [path, ...base], announce: slash24s(1) }, EXT)).toThrow(/do not fit/);
  });
});
