/**
 * fast-check arbitraries for the RFC 9012 Tunnel Encapsulation attribute in its decoded form:
 * values that decode(encode(x)) gives back unchanged (each TLV with exactly one valid Tunnel
 * Egress Endpoint, the VN-ID Encapsulation sub-TLV only in VXLAN / NVGRE TLVs, unknown sub-TLVs
 * with codes weft does not read).
 */
import fc from 'fast-check';
import { bytesToIpv6, numberToIpv4 } from '../../src/lib/address.js';
import type { TunnelSubTlv, TunnelTlv } from '../../src/wire/types.js';

const KNOWN_SUB_TLVS = new Set([1, 2, 4, 6, 7, 8, 9]);

const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':'));
/** Unicast addresses outside the special-purpose blocks RFC 9012 3.1 refuses. */
const v4 = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 0xffffff })).filter(([a, r]) => a !== 127 && !(a === 169 && r >>> 16 === 254)).map(([a, r]) => numberToIpv4(a * 2 ** 24 + r));
const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
  b[0] = 0x20 + (b[0] & 0x0f);
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) b[3] = 0;
  return bytesToIpv6(b);
});

export const egressArb: fc.Arbitrary<TunnelSubTlv> = fc.oneof(fc.constant(undefined), v4, v6).map((address) => ({ type: 'egress-endpoint', address }));

const unknownSubTlv: fc.Arbitrary<TunnelSubTlv> = fc
  .integer({ min: 0, max: 255 })
  .filter((c) => !KNOWN_SUB_TLVS.has(c))
  .chain((code) => fc.uint8Array({ maxLength: code >= 128 ? 300 : 40 }).map((data): TunnelSubTlv => ({ type: 'unknown', code, data })));

const otherSubTlv: fc.Arbitrary<TunnelSubTlv> = fc.oneof(
  fc.integer({ min: 0, max: 0xfffe }).map((etherType): TunnelSubTlv => ({ type: 'protocol-type', etherType })),
  fc.integer({ min: 0, max: 0xffffffff }).map((color): TunnelSubTlv => ({ type: 'color', color })),
  fc.integer({ min: 0, max: 255 }).map((ds): TunnelSubTlv => ({ type: 'ds-field', ds })),
  fc.integer({ min: 1, max: 0xffff }).map((port): TunnelSubTlv => ({ type: 'udp-port', port })),
  fc.constantFrom(1, 2).map((handling): TunnelSubTlv => ({ type: 'embedded-label-handling', handling })),
  unknownSubTlv,
);

const encapsulation: fc.Arbitrary<TunnelSubTlv> = fc
  .record({ vni: fc.option(fc.integer({ min: 0, max: 0xffffff }), { nil: undefined }), mac: fc.option(mac, { nil: undefined }) })
  .map(({ vni, mac: m }): TunnelSubTlv => ({ type: 'encapsulation', vni, mac: m }));

export const tunnelTlvArb: fc.Arbitrary<TunnelTlv> = fc
  .record({
    tunnelType: fc.oneof(fc.constantFrom(7, 8, 9), fc.integer({ min: 0, max: 0xffff })),
    egress: egressArb,
    encap: fc.option(encapsulation, { nil: undefined }),
    others: fc.array(otherSubTlv, { maxLength: 4 }),
    at: fc.nat(),
  })
  .map((r): TunnelTlv => {
    const subTlvs = [...r.others];
    subTlvs.splice(r.at % (subTlvs.length + 1), 0, r.egress);
    if (r.encap !== undefined && (r.tunnelType === 8 || r.tunnelType === 9)) subTlvs.push(r.encap);
    return { tunnelType: r.tunnelType, subTlvs };
  });

export const tunnelTlvsArb: fc.Arbitrary<TunnelTlv[]> = fc.array(tunnelTlvArb, { minLength: 1, maxLength: 3 });
