/** Each OPEN check: the NOTIFICATION code, subcode and data it answers with (RFC 4271 6.2 and friends). */
import { describe, expect, it } from 'vitest';
import {
  checkBgpId,
  checkHoldTime,
  checkOpen,
  checkOptionalParameters,
  checkPeerAs,
  checkRequiredCapabilities,
  checkVersion,
  localCapabilities,
  type OpenCheckConfig,
} from '../../src/session/index.js';
import { toHex } from '../../src/lib/hex.js';
import type { WireError } from '../../src/wire/errors.js';
import type { OpenMessage } from '../../src/wire/types.js';
import { LOCAL_ID, peerOpen } from './session-fixtures.js';

function cfg(over: Partial<OpenCheckConfig> = {}): OpenCheckConfig {
  return { localAs: 64512, bgpId: LOCAL_ID, peerAs: 64512, capabilities: localCapabilities({ localAs: 64512 }), requiredFamilies: [], ...over };
}

function n(e: WireError | undefined): [string, number, number, string] | undefined {
  return e && [e.code, e.notification.code, e.notification.subcode, toHex(e.notification.data)];
}

describe('version (RFC 4271 6.2)', () => {
  it('anything but 4 -> OPEN/1 with data 0x0004', () => {
    expect(n(checkVersion({ ...peerOpen(), version: 3 }))).toEqual(['open.unsupported-version', 2, 1, '0004']);
    expect(n(checkVersion({ ...peerOpen(), version: 5 }))).toEqual(['open.unsupported-version', 2, 1, '0004']);
    expect(checkVersion(peerOpen())).toBeUndefined();
  });
});

describe('peer AS (RFC 4271 6.2, RFC 6793, RFC 7607)', () => {
  it('a mismatch -> OPEN/2 with the 2-octet My AS as data', () => {
    expect(n(checkPeerAs(cfg({ peerAs: 65001 }), peerOpen({ asn: 65002 })))).toEqual(['open.bad-peer-as', 2, 2, 'fdea']);
    expect(checkPeerAs(cfg({ peerAs: 65001 }), peerOpen({ asn: 65001 }))).toBeUndefined();
  });

  it('the four-octet AS capability is the peer AS; My AS is then AS_TRANS (data 0x5ba0 on mismatch)', () => {
    const open = peerOpen({ asn: 4_200_000_000 });
    expect(open.myAs).toBe(23456);
    expect(checkPeerAs(cfg({ peerAs: 4_200_000_000 }), open)).toBeUndefined();
    expect(n(checkPeerAs(cfg({ peerAs: 4_200_000_001 }), open))).toEqual(['open.bad-peer-as', 2, 2, '5ba0']);
    // An old speaker saying AS_TRANS without the capability is AS 23456.
    expect(n(checkPeerAs(cfg({ peerAs: 65001 }), peerOpen({ asn: 23456, capabilities: [] })))).toEqual(['open.bad-peer-as', 2, 2, '5ba0']);
  });

  it('internal / external', () => {
    expect(checkPeerAs(cfg({ peerAs: 'internal' }), peerOpen({ asn: 64512 }))).toBeUndefined();
    expect(n(checkPeerAs(cfg({ peerAs: 'internal' }), peerOpen({ asn: 65001 })))?.slice(0, 3)).toEqual(['open.bad-peer-as', 2, 2]);
    expect(checkPeerAs(cfg({ peerAs: 'external' }), peerOpen({ asn: 65001 }))).toBeUndefined();
    expect(n(checkPeerAs(cfg({ peerAs: 'external' }), peerOpen({ asn: 64512 })))?.slice(0, 3)).toEqual(['open.bad-peer-as', 2, 2]);
  });

  it('AS 0 is always bad (RFC 7607)', () => {
    expect(n(checkPeerAs(cfg({ peerAs: 'external' }), { ...peerOpen({ asn: 65001, capabilities: [] }), myAs: 0 }))).toEqual(['open.bad-peer-as', 2, 2, '0000']);
    expect(n(checkPeerAs(cfg({ peerAs: 'external' }), peerOpen({ asn: 0 })))?.slice(0, 3)).toEqual(['open.bad-peer-as', 2, 2]);
  });

  it('a peer expected above 65535 without the four-octet capability -> OPEN/7 with our capability', () => {
    const c = cfg({ peerAs: 4_200_000_000 });
    const open = peerOpen({ asn: 23456, capabilities: [{ type: 'multiprotocol', afi: 1, safi: 1 }] });
    // Capability 65, length 4, AS 64512 (0x0000fc00).
    expect(n(checkRequiredCapabilities(c, open))).toEqual(['open.unsupported-capability', 2, 7, '41040000fc00']);
    // And checkOpen reports it before the AS comparison.
    expect(n(checkOpen(c, open))?.[0]).toBe('open.unsupported-capability');
  });
});

describe('hold time (RFC 4271 6.2)', () => {
  it('1 and 2 -> OPEN/6; 0 and 3 are fine', () => {
    for (const h of [1, 2]) expect(n(checkHoldTime(peerOpen({ holdTime: h })))).toEqual(['open.unacceptable-hold-time', 2, 6, '']);
    for (const h of [0, 3, 65535]) expect(checkHoldTime(peerOpen({ holdTime: h }))).toBeUndefined();
  });
});

describe('BGP identifier (RFC 6286 2.2)', () => {
  it('zero -> OPEN/3', () => {
    expect(n(checkBgpId(cfg(), peerOpen({ bgpId: '0.0.0.0' })))).toEqual(['open.bad-bgp-id', 2, 3, '']);
  });
  it('our own identifier from an internal peer -> OPEN/3', () => {
    expect(n(checkBgpId(cfg(), peerOpen({ bgpId: LOCAL_ID })))).toEqual(['open.bad-bgp-id', 2, 3, '']);
  });
  it('our own identifier from an external peer is allowed', () => {
    expect(checkBgpId(cfg({ peerAs: 65001 }), peerOpen({ asn: 65001, bgpId: LOCAL_ID }))).toBeUndefined();
  });
  it('any non-zero value is valid, not only unicast host addresses', () => {
    expect(checkBgpId(cfg(), peerOpen({ bgpId: '255.255.255.255' }))).toBeUndefined();
    expect(checkBgpId(cfg(), peerOpen({ bgpId: '0.0.0.1' }))).toBeUndefined();
  });
});

describe('optional parameters (RFC 4271 6.2)', () => {
  it('an unknown parameter type -> OPEN/4', () => {
    const open: OpenMessage = { ...peerOpen(), params: [...peerOpen().params, { type: 'unknown', code: 1, data: Uint8Array.of(1) }] };
    expect(n(checkOptionalParameters(open))).toEqual(['open.unsupported-opt-param', 2, 4, '']);
    expect(checkOptionalParameters(peerOpen())).toBeUndefined();
  });
});

describe('required families (RFC 5492 5)', () => {
  const v6 = { afi: 2, safi: 1 };
  const c = cfg({ capabilities: localCapabilities({ localAs: 64512, families: [{ afi: 1, safi: 1 }, v6] }), requiredFamilies: [v6] });

  it('a required family the peer lacks -> OPEN/7 with the multiprotocol capability as data', () => {
    expect(n(checkRequiredCapabilities(c, peerOpen()))).toEqual(['open.unsupported-capability', 2, 7, '010400020001']);
    const both = peerOpen({ capabilities: localCapabilities({ localAs: 64512, families: [{ afi: 1, safi: 1 }, v6] }) });
    expect(checkRequiredCapabilities(c, both)).toBeUndefined();
  });

  it('no multiprotocol capability at all means IPv4 unicast (RFC 4760 8)', () => {
    const bare = peerOpen({ capabilities: [] });
    expect(checkRequiredCapabilities(cfg({ requiredFamilies: [{ afi: 1, safi: 1 }] }), bare)).toBeUndefined();
    expect(n(checkRequiredCapabilities(c, bare))?.[0]).toBe('open.unsupported-capability');
  });
});

describe('checkOpen order', () => {
  it('takes the first failure in RFC 4271 6.2 order', () => {
    const bad: OpenMessage = { ...peerOpen({ asn: 65001, holdTime: 1, bgpId: '0.0.0.0' }), version: 3 };
    expect(checkOpen(cfg(), bad)?.code).toBe('open.unsupported-version');
    expect(checkOpen(cfg(), { ...bad, version: 4 })?.code).toBe('open.bad-peer-as');
    expect(checkOpen(cfg({ peerAs: 65001 }), { ...bad, version: 4 })?.code).toBe('open.unacceptable-hold-time');
    expect(checkOpen(cfg({ peerAs: 65001 }), { ...bad, version: 4, holdTime: 3 })?.code).toBe('open.bad-bgp-id');
    expect(checkOpen(cfg(), peerOpen())).toBeUndefined();
  });
});
