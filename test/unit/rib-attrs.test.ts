import { describe, expect, it } from 'vitest';
import { AttrInterner, keyOf, partsFromAttributes, toPathAttributes } from '../../src/rib/attrs.js';
import { Rib } from '../../src/rib/loc-rib.js';
import { parsePrefix } from '../../src/lib/prefix.js';
import { attr } from '../../src/wire/attr-build.js';
import { AS_TRANS } from '../../src/wire/iana.js';

const base = () => [attr.origin(0), attr.asPath([65001, 65002]), attr.nextHop('10.0.0.1'), attr.communities([1, 2])];

describe('AttrInterner', () => {
  it('returns the identical frozen object for equal sets, whatever the wire order', () => {
    const i = new AttrInterner();
    const a = i.intern(base());
    const b = i.intern([...base()].reverse());
    expect(b).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.asPath)).toBe(true);
    expect(i.intern([...base(), attr.med(5)])).not.toBe(a);
    expect(i.size()).toBe(2);
  });

  it('keys the MP next hop in (the nextHop override) and ignores MP_REACH itself', () => {
    const i = new AttrInterner();
    const a = i.intern(base(), '2001:db8::1');
    expect(a.nextHop).toBe('2001:db8::1');
    expect(i.intern(base(), '2001:db8::2')).not.toBe(a);
  });

  it('drops sets when the last holder releases them, and sweeps never-retained ones', () => {
    const i = new AttrInterner();
    const a = i.intern(base());
    i.retain(a, 2);
    i.release(a);
    expect(i.size()).toBe(1);
    i.release(a);
    expect(i.size()).toBe(0);
    i.intern([attr.origin(1)]);
    expect(i.sweep()).toBe(1);
    expect(i.size()).toBe(0);
  });

  it('drops sets no route uses any more through the RIB', () => {
    const rib = new Rib({ local: { asn: 64512, routerId: '10.0.0.9' } });
    rib.addPeer({ id: 'p', address: '10.0.0.1', asn: 64512, routerId: '10.0.0.1', type: 'ibgp', isRrClient: false, localAsn: 64512 });
    const p1 = parsePrefix('10.1.0.0/24');
    const p2 = parsePrefix('10.2.0.0/24');
    rib.applyUpdate('p', { announced: [p1, p2], withdrawn: [], attrs: base() });
    expect(rib.interner.size()).toBe(1);
    rib.applyUpdate('p', { announced: [p1], withdrawn: [], attrs: [...base(), attr.med(1)] });
    expect(rib.interner.size()).toBe(2);
    rib.applyUpdate('p', { announced: [], withdrawn: [p2] });
    expect(rib.interner.size()).toBe(1); // the first set is gone with its last prefix
    rib.peerDown('p');
    expect(rib.interner.size()).toBe(0);
  });

  it('derives the path length and neighbour AS once', () => {
    const i = new AttrInterner();
    const a = i.intern([attr.origin(0), attr.asPath([{ kind: 'sequence', asns: [65001, 65002] }, { kind: 'set', asns: [7, 8] }])]);
    expect(a.asPathLength).toBe(3);
    expect(a.neighborAs).toBe(65001);
    expect(i.intern([attr.origin(0), attr.asPath([])]).neighborAs).toBeUndefined();
  });

  it('rebuilds the path from AS_PATH and AS4_PATH (RFC 6793 4.2.3)', () => {
    const p = partsFromAttributes([attr.origin(0), attr.asPath([65001, AS_TRANS, AS_TRANS]), attr.as4Path([4200000001, 4200000002])]);
    expect(p.asPath).toEqual([{ kind: 'sequence', asns: [65001] }, { kind: 'sequence', asns: [4200000001, 4200000002] }]);
  });

  it('keeps unknown optional transitive attributes (Partial set on the way out), drops non-transitive ones', () => {
    const i = new AttrInterner();
    const a = i.intern([...base(), attr.unknown(99, Uint8Array.of(1, 2)), attr.unknown(98, Uint8Array.of(3), 0x80)]);
    expect(a.unknown.map((u) => u.code)).toEqual([99]);
    const out = toPathAttributes(a).find((x) => x.type === 'unknown');
    expect(out?.flags).toBe(0xe0);
    expect(keyOf(partsFromAttributes(toPathAttributes(a)))).not.toBe(a.key); // the Partial bit is part of the key
  });
});
