import { describe, expect, it } from 'vitest';
import { AttrInterner } from '../../src/rib/attrs.js';
import { applyVerdict, compileExportPolicy, compileImportPolicy, type ImportPolicyConfig, type Verdict } from '../../src/rib/policy.js';
import { importPolicyWidens } from '../../src/rib/policy-change.js';
import { parsePrefix } from '../../src/lib/prefix.js';
import { attr } from '../../src/wire/attr-build.js';

const interner = new AttrInterner();
const plain = interner.intern([attr.origin(0), attr.asPath([65001]), attr.nextHop('10.0.1.1')]);
const tagged = interner.intern([attr.origin(0), attr.asPath([65001]), attr.nextHop('10.0.1.1'), attr.communities([65001 * 65536 + 100, 65001 * 65536 + 200])]);
const why = (v: Verdict) => (v.accept ? 'accept' : v.reason);

describe('import policy: mesh peers', () => {
  const mesh = compileImportPolicy({ kind: 'mesh', pools: ['10.244.0.0/16', 'fd00:244::/48'], underlay: '10.0.1.0/24' });
  it.each([
    ['10.244.3.0/26', 'accept'],
    ['10.244.0.0/16', 'accept'],
    ['fd00:244:0:3::/64', 'accept'],
    ['10.245.0.0/24', 'outside-pools'],
    ['10.0.0.0/8', 'covers-underlay'], // contains 10.0.1.0/24
    ['10.0.1.0/24', 'covers-underlay'], // equal counts as covering
    ['10.0.1.128/25', 'outside-pools'], // inside the underlay, not covering it
    ['0.0.0.0/0', 'default-route'],
    ['::/0', 'default-route'],
  ])('%s -> %s', (p, want) => {
    expect(why(mesh.check(parsePrefix(p), plain))).toBe(want);
  });
});

describe('import policy: external peers', () => {
  it('accepts nothing outside the pools unless configured', () => {
    const ext = compileImportPolicy({ kind: 'external', pools: ['10.244.0.0/16'], underlay: '10.0.1.0/24' });
    expect(why(ext.check(parsePrefix('10.244.1.0/24'), plain))).toBe('accept');
    expect(why(ext.check(parsePrefix('192.168.0.0/24'), plain))).toBe('outside-pools');
    expect(why(ext.check(parsePrefix('0.0.0.0/0'), plain))).toBe('default-route');
  });

  it('prefix lists with ge/le (FRR semantics) decide first; first matching rule wins', () => {
    const ext = compileImportPolicy({
      kind: 'external',
      pools: [],
      rules: [
        { prefixList: [{ action: 'permit', prefix: '0.0.0.0/0' }], action: 'accept' }, // exactly the default
        { prefixList: [{ action: 'deny', prefix: '192.168.5.0/24', le: 32 }, { action: 'permit', prefix: '192.168.0.0/16', ge: 24, le: 28 }], action: 'accept', setLocalPref: 50 },
        { prefixList: [{ action: 'permit', prefix: '172.16.0.0/12', le: 24 }], action: 'reject' },
      ],
    });
    const v = (p: string) => ext.check(parsePrefix(p), plain);
    expect(why(v('0.0.0.0/0'))).toBe('accept');
    expect(why(v('192.168.1.0/24'))).toBe('accept');
    expect(v('192.168.1.0/24')).toMatchObject({ rule: 1, setLocalPref: 50 });
    expect(why(v('192.168.1.0/29'))).toBe('outside-pools'); // longer than le 28: no rule matches
    expect(why(v('192.168.0.0/16'))).toBe('outside-pools'); // shorter than ge 24
    expect(why(v('192.168.5.0/25'))).toBe('outside-pools'); // the deny entry matches first
    expect(why(v('172.16.4.0/24'))).toBe('rejected-by-rule');
    expect(v('172.16.4.0/24')).toMatchObject({ rule: 2 });
  });

  it('matches communities (any / all) and sets LOCAL_PREF / adds communities', () => {
    const c100 = 65001 * 65536 + 100;
    const c200 = 65001 * 65536 + 200;
    const ext = compileImportPolicy({
      kind: 'external',
      pools: [],
      rules: [
        { community: { all: [c100, c200] }, action: 'accept', setLocalPref: 300, addCommunities: [7] },
        { community: { any: [c100, 9] }, action: 'reject' },
      ],
    });
    const p = parsePrefix('192.0.2.0/24');
    const v = ext.check(p, tagged);
    expect(v).toMatchObject({ accept: true, rule: 0 });
    if (!v.accept) throw new Error('unreachable');
    const out = applyVerdict(interner, tagged, v);
    expect(out.localPref).toBe(300);
    expect(out.communities).toEqual([c100, c200, 7]);
    expect(applyVerdict(interner, tagged, v)).toBe(out); // interned
    const onlyOne = interner.intern([attr.origin(0), attr.asPath([65001]), attr.nextHop('10.0.1.1'), attr.communities([c100])]);
    expect(why(ext.check(p, onlyOne))).toBe('rejected-by-rule');
    expect(why(ext.check(p, plain))).toBe('outside-pools');
  });

  it('rejects a malformed prefix-list entry at compile time', () => {
    expect(() => compileImportPolicy({ kind: 'external', pools: [], rules: [{ prefixList: [{ action: 'permit', prefix: '10.0.0.0/16', ge: 8 }], action: 'accept' }] })).toThrow(/ge/);
    expect(() => compileImportPolicy({ kind: 'mesh', pools: ['10.0.0.1/16'] })).toThrow(/host bits/);
  });
});

describe('export policy', () => {
  it('accepts by default, rules first', () => {
    const ex = compileExportPolicy([{ prefixList: [{ action: 'permit', prefix: '10.244.0.0/16', le: 32 }], action: 'reject' }]);
    expect(why(ex.check(parsePrefix('10.244.1.0/26'), plain))).toBe('rejected-by-rule');
    expect(why(ex.check(parsePrefix('10.1.0.0/24'), plain))).toBe('accept');
  });
});

describe('importPolicyWidens: may a new import policy accept a route the old one refused?', () => {
  const base: ImportPolicyConfig = {
    kind: 'mesh',
    pools: ['10.244.0.0/16', 'fd00:244::/48'],
    underlay: '10.0.1.0/24',
    rules: [{ prefixList: [{ action: 'permit', prefix: '10.244.7.0/24', le: 26 }], action: 'accept', setLocalPref: 200 }],
  };
  const rule = base.rules![0];
  it.each<[string, Partial<ImportPolicyConfig>, boolean]>([
    ['the same configuration', {}, false],
    ['the same pools written as parsed prefixes, in another order', { pools: [parsePrefix('fd00:244::/48'), parsePrefix('10.244.0.0/16')] }, false],
    ['a pool removed', { pools: ['10.244.0.0/16'] }, false],
    ['a pool narrowed', { pools: ['10.244.0.0/17', 'fd00:244::/48'] }, false],
    ['a pool added', { pools: [...base.pools, '10.250.0.0/16'] }, true],
    ['a pool widened', { pools: ['10.0.0.0/8', 'fd00:244::/48'] }, true],
    ['mesh -> external', { kind: 'external' }, true],
    ['no underlay guard any more', { underlay: undefined }, true],
    ['a smaller underlay inside the old one (covering it means covering the old)', { underlay: '10.0.1.0/25' }, false],
    ['a larger underlay', { underlay: '10.0.0.0/16' }, true],
    ['only what a rule sets changed', { rules: [{ ...rule, setLocalPref: 50, addCommunities: [1] }] }, false],
    ['a reject rule put in front', { rules: [{ action: 'reject', community: { any: [7] } }, rule] }, false],
    ['an accept rule put in front', { rules: [{ action: 'accept', community: { any: [7] } }, rule] }, true],
    ['a rule removed', { rules: [] }, true],
    ['a rule\'s prefix list widened', { rules: [{ ...rule, prefixList: [{ action: 'permit', prefix: '10.244.7.0/24', le: 28 }] }] }, true],
    ['the same prefix list written with an explicit le = length', { rules: [{ ...rule, prefixList: [{ action: 'permit', prefix: '10.244.7.0/24', ge: 24, le: 26 }] }] }, false],
  ])('%s -> %s', (_name, change, widens) => {
    expect(importPolicyWidens(base, { ...base, ...change })).toBe(widens);
  });

  it('from no underlay to one only narrows', () => {
    expect(importPolicyWidens({ ...base, underlay: undefined }, base)).toBe(false);
  });
});
