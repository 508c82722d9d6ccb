import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToIpv6, numberToIpv4 } from '../../src/lib/address.js';
import { v4Prefix, v6Prefix } from '../../src/lib/prefix.js';
import { ATTRIBUTE_BY_CODE, ATTRIBUTES, type KnownAttrType } from '../../src/wire/attributes.js';
import { decodeExtCommunity } from '../../src/wire/ext-community.js';
import { WireError } from '../../src/wire/errors.js';
import { packUpdates } from '../../src/wire/update-pack.js';
import type { AsPathSegment, MpReach, MpUnreach, PathAttribute, UpdateMessage, WireOptions } from '../../src/wire/types.js';
import { decodeUpdate, encodeUpdate } from '../../src/wire/update.js';
import { tunnelTlvsArb } from '../helpers/tunnel-encap-arb.js';

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.tuple(u16, u16).map(([hi, lo]) => hi * 65536 + lo);
const ipv4 = u32.map(numberToIpv4);
/** A unicast host address (RFC 4271 6.3 would flag 0.0.0.0, 224/4 and 240/4 as NEXT_HOP). */
const unicastV4 = fc.tuple(fc.integer({ min: 1, max: 223 }), u16, fc.integer({ min: 0, max: 255 })).map(([a, bc, d]) => numberToIpv4(a * 2 ** 24 + bc * 256 + d));
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => bytesToIpv6(b));
const v4p = fc.tuple(u32, fc.integer({ min: 0, max: 32 })).map(([a, l]) => v4Prefix(a, l));
const v6p = fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 })).map(([b, l]) => v6Prefix(b, l));
const FAMILIES = ['1/1', '1/2', '2/1', '2/2'];

/** Flags as the table gives them, maybe with Extended Length, maybe Partial on optional transitive. */
function flags(t: KnownAttrType): fc.Arbitrary<number> {
  const base = ATTRIBUTES[t].flags;
  return fc.tuple(fc.boolean(), fc.boolean()).map(([ext, partial]) => base | (ext ? 0x10 : 0) | (partial && base === 0xc0 ? 0x20 : 0));
}

function segments(asn: fc.Arbitrary<number>): fc.Arbitrary<AsPathSegment[]> {
  const kind = fc.constantFrom('set', 'sequence', 'confed-sequence', 'confed-set') as fc.Arbitrary<AsPathSegment['kind']>;
  return fc.array(fc.record({ kind, asns: fc.array(asn, { minLength: 1, maxLength: 10 }) }), { maxLength: 4 });
}

function withIds<T extends { pathIds?: number[] }>(o: T, addPath: boolean, ids: number[], n: number): T {
  return addPath ? { ...o, pathIds: ids.slice(0, n) } : o;
}

function mpReach(opts: WireOptions): fc.Arbitrary<MpReach> {
  const ids = fc.array(u32, { minLength: 8, maxLength: 8 });
  const reserved = fc.option(fc.integer({ min: 1, max: 255 }), { nil: undefined });
  const known = fc
    .record({ fam: fc.constantFrom(...FAMILIES), v4nh: unicastV4, v6nh: fc.array(ipv6, { minLength: 1, maxLength: 2 }), v4Style: fc.boolean(), v4: fc.array(v4p, { maxLength: 8 }), v6: fc.array(v6p, { maxLength: 8 }), ids, reserved })
    .map((r): MpReach => {
      const [afi, safi] = r.fam.split('/').map(Number);
      const nextHop = afi === 1 && r.v4Style ? [r.v4nh] : r.v6nh;
      const nlri = afi === 1 ? r.v4 : r.v6;
      const reach = withIds<MpReach>({ afi, safi, nextHop, nlri }, opts.addPath.has(r.fam), r.ids, nlri.length);
      return r.reserved === undefined ? reach : { ...reach, reserved: r.reserved };
    });
  const other = fc
    .record({ fam: fc.constantFrom([25, 70], [1, 128], [2, 4], [16388, 71]), nh: fc.uint8Array({ maxLength: 24 }), raw: fc.uint8Array({ maxLength: 40 }), reserved })
    .map((r): MpReach => {
      const reach: MpReach = { afi: r.fam[0], safi: r.fam[1], nextHop: [], nextHopRaw: r.nh, nlri: [], raw: r.raw };
      return r.reserved === undefined ? reach : { ...reach, reserved: r.reserved };
    });
  return fc.oneof(known, other);
}

function mpUnreach(opts: WireOptions): fc.Arbitrary<MpUnreach> {
  const known = fc
    .record({ fam: fc.constantFrom(...FAMILIES), v4: fc.array(v4p, { maxLength: 10 }), v6: fc.array(v6p, { maxLength: 10 }), ids: fc.array(u32, { minLength: 10, maxLength: 10 }) })
    .map((r): MpUnreach => {
      const [afi, safi] = r.fam.split('/').map(Number);
      const withdrawn = afi === 1 ? r.v4 : r.v6;
      return withIds<MpUnreach>({ afi, safi, withdrawn }, opts.addPath.has(r.fam), r.ids, withdrawn.length);
    });
  const other = fc.record({ safi: fc.constantFrom(4, 70, 128, 133), raw: fc.uint8Array({ maxLength: 40 }) }).map((r): MpUnreach => ({ afi: 1, safi: r.safi, withdrawn: [], raw: r.raw }));
  return fc.oneof(known, other);
}

/** One arbitrary value of every attribute kind, valid for the session options. */
function allAttributes(opts: WireOptions): fc.Arbitrary<Record<PathAttribute['type'], PathAttribute>> {
  const asn = opts.fourOctetAs ? u32 : u16;
  const unknownCode = fc.integer({ min: 0, max: 255 }).filter((c) => ATTRIBUTE_BY_CODE[c] === undefined);
  return fc.record({
    origin: fc.record({ type: fc.constant('origin' as const), flags: flags('origin'), origin: fc.integer({ min: 0, max: 2 }) }),
    'as-path': fc.record({ type: fc.constant('as-path' as const), flags: flags('as-path'), segments: segments(asn) }),
    'next-hop': fc.record({ type: fc.constant('next-hop' as const), flags: flags('next-hop'), nextHop: unicastV4 }),
    med: fc.record({ type: fc.constant('med' as const), flags: flags('med'), med: u32 }),
    'local-pref': fc.record({ type: fc.constant('local-pref' as const), flags: flags('local-pref'), localPref: u32 }),
    'atomic-aggregate': fc.record({ type: fc.constant('atomic-aggregate' as const), flags: flags('atomic-aggregate') }),
    aggregator: fc.record({ type: fc.constant('aggregator' as const), flags: flags('aggregator'), asn, address: ipv4 }),
    communities: fc.record({ type: fc.constant('communities' as const), flags: flags('communities'), communities: fc.array(u32, { minLength: 1, maxLength: 40 }) }),
    'originator-id': fc.record({ type: fc.constant('originator-id' as const), flags: flags('originator-id'), originatorId: ipv4 }),
    'cluster-list': fc.record({ type: fc.constant('cluster-list' as const), flags: flags('cluster-list'), clusterIds: fc.array(ipv4, { minLength: 1, maxLength: 20 }) }),
    'mp-reach': fc.record({ type: fc.constant('mp-reach' as const), flags: flags('mp-reach'), reach: mpReach(opts) }),
    'mp-unreach': fc.record({ type: fc.constant('mp-unreach' as const), flags: flags('mp-unreach'), unreach: mpUnreach(opts) }),
    'ext-communities': fc.record({
      type: fc.constant('ext-communities' as const),
      flags: flags('ext-communities'),
      communities: fc.array(
        fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => decodeExtCommunity(b, 0)),
        { minLength: 1, maxLength: 20 },
      ),
    }),
    'as4-path': fc.record({ type: fc.constant('as4-path' as const), flags: flags('as4-path'), segments: segments(u32) }),
    'as4-aggregator': fc.record({ type: fc.constant('as4-aggregator' as const), flags: flags('as4-aggregator'), asn: u32, address: ipv4 }),
    'large-communities': fc.record({
      type: fc.constant('large-communities' as const),
      flags: flags('large-communities'),
      communities: fc.array(fc.tuple(u32, u32, u32), { minLength: 1, maxLength: 15 }),
    }),
    'tunnel-encap': fc.record({ type: fc.constant('tunnel-encap' as const), flags: flags('tunnel-encap'), tunnels: tunnelTlvsArb }),
    unknown: fc.record({ type: fc.constant('unknown' as const), flags: fc.integer({ min: 0x80, max: 0xf0 }).map((f) => f & 0xf0), code: unknownCode, data: fc.uint8Array({ maxLength: 100 }) }),
  });
}

const KINDS = Object.keys(ATTRIBUTES).concat('unknown') as PathAttribute['type'][];

const optionsArb: fc.Arbitrary<WireOptions> = fc
  .record({ fourOctetAs: fc.boolean(), addPath: fc.subarray(FAMILIES) })
  .map((o) => ({ fourOctetAs: o.fourOctetAs, extendedMessage: true, addPath: new Set(o.addPath) }));

function updateArb(opts: WireOptions): fc.Arbitrary<UpdateMessage> {
  const v4AddPath = opts.addPath.has('1/1');
  return fc
    .record({
      all: allAttributes(opts),
      kinds: fc.shuffledSubarray(KINDS),
      withdrawn: fc.array(v4p, { maxLength: 20 }),
      nlri: fc.array(v4p, { maxLength: 30 }),
      ids: fc.array(u32, { minLength: 30, maxLength: 30 }),
    })
    .map((r): UpdateMessage => {
      const attributes = r.kinds.map((k) => r.all[k]);
      const reach = attributes.find((a) => a.type === 'mp-reach');
      const mpRoutes = reach !== undefined && (reach.reach.nlri.length > 0 || (reach.reach.raw?.length ?? 0) > 0);
      // RFC 7606 3d: announcements carry the well-known mandatory attributes.
      const need: PathAttribute['type'][] = r.nlri.length > 0 ? ['origin', 'as-path', 'next-hop'] : mpRoutes ? ['origin', 'as-path'] : [];
      for (const k of need) if (!r.kinds.includes(k)) attributes.push(r.all[k]);
      const m: UpdateMessage = { type: 'update', withdrawn: r.withdrawn, attributes, nlri: r.nlri };
      if (v4AddPath) {
        m.withdrawnPathIds = r.ids.slice(0, r.withdrawn.length);
        m.nlriPathIds = r.ids.slice(0, r.nlri.length);
      }
      return m;
    });
}

const withOptions = optionsArb.chain((opts) => updateArb(opts).map((m) => [opts, m] as const));

function throwsOnlyWireError(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
  }
}

describe('UPDATE properties', () => {
  it('decode(encode(m)) deep-equals m for valid UPDATEs with every attribute kind', () => {
    fc.assert(
      fc.property(withOptions, ([opts, m]) => {
        const bytes = encodeUpdate(m, opts);
        expect(decodeUpdate(bytes, opts)).toEqual(m);
        expect(encodeUpdate(decodeUpdate(bytes, opts), opts)).toEqual(bytes);
      }),
      { numRuns: 400 },
    );
  });

  it('arbitrary bytes after a valid header throw nothing but WireError', () => {
    fc.assert(
      fc.property(optionsArb, fc.uint8Array({ maxLength: 300 }), (opts, body) => {
        const len = 19 + body.length;
        const msg = Uint8Array.from([...new Array<number>(16).fill(0xff), len >> 8, len & 255, 2, ...body]);
        throwsOnlyWireError(() => decodeUpdate(msg, opts));
      }),
      { numRuns: 2000 },
    );
  });

  it('arbitrary whole buffers throw nothing but WireError', () => {
    fc.assert(
      fc.property(optionsArb, fc.uint8Array({ maxLength: 64 }), (opts, msg) => throwsOnlyWireError(() => decodeUpdate(msg, opts))),
      { numRuns: 500 },
    );
  });

  it('mutated valid UPDATEs throw nothing but WireError', () => {
    const mutation = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(withOptions, mutation, fc.nat(), fc.boolean(), ([opts, m], changes, cut, truncate) => {
        const bytes = encodeUpdate(m, opts).slice();
        for (const [at, v] of changes) bytes[19 + (at % Math.max(1, bytes.length - 19))] = v;
        let msg = bytes;
        if (truncate && bytes.length > 23) {
          msg = bytes.slice(0, 23 + (cut % (bytes.length - 23)));
          msg[16] = msg.length >> 8;
          msg[17] = msg.length & 255;
        }
        // The other session options too: a 2-octet session reading 4-octet paths and so on.
        throwsOnlyWireError(() => decodeUpdate(msg, opts));
        throwsOnlyWireError(() => decodeUpdate(msg, { ...opts, fourOctetAs: !opts.fourOctetAs, addPath: new Set(FAMILIES) }));
      }),
      { numRuns: 1000 },
    );
  });

  it('packed UPDATEs decode to the packed routes for arbitrary prefix sets', () => {
    fc.assert(
      fc.property(fc.uniqueArray(v4p, { maxLength: 3000 }), fc.uniqueArray(v6p, { maxLength: 300 }), (v4, v6) => {
        const opts: WireOptions = { fourOctetAs: true, extendedMessage: false, addPath: new Set() };
        const attrs: PathAttribute[] = [
          { type: 'origin', flags: 0x40, origin: 0 },
          { type: 'as-path', flags: 0x40, segments: [] },
          { type: 'next-hop', flags: 0x40, nextHop: '10.0.0.1' },
        ];
        const msgs = packUpdates({ attributes: attrs, announce: [...v4, ...v6], ipv6NextHop: ['2001:db8::1'] }, opts);
        const got: (number | string)[] = [];
        for (const b of msgs) {
          const m = decodeUpdate(b, opts);
          expect(m.problems).toBeUndefined();
          got.push(...m.nlri);
          for (const a of m.attributes) if (a.type === 'mp-reach') got.push(...a.reach.nlri);
        }
        expect(got.sort()).toEqual([...v4, ...v6].sort());
      }),
      { numRuns: 50 },
    );
  });
});
