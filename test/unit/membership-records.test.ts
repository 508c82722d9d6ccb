// Registry entries as the agent reads them (src/agent/membership/records.ts and keys.ts): a
// record that does not validate is refused with the reason, never turned into a mesh member;
// the key layout round-trips; `blocks: auto` and membership.etcd in the config schema.
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../src/agent/config/agent-config.js';
import { ConfigError } from '../../src/agent/config/config-error.js';
import { parsePrefix, formatPrefix } from '../../src/lib/prefix.js';
import { blockKey, nameOfNodeKey, nodeKey, parseBlockKey } from '../../src/agent/membership/keys.js';
import { checkNodeRecord, meshNodeOf, membersFor, type NodeRecord } from '../../src/agent/membership/records.js';

const good = { version: 1, name: 'host-b', address: '10.0.1.12', asn: 64512, blocks: ['10.244.7.0/26'], vni: 4096 };
const check = (v: unknown, name = 'host-b') => checkNodeRecord(name, typeof v === 'string' ? v : JSON.stringify(v), 64512);

describe('node records', () => {
  it('a good record becomes the same member a nodes-file entry would', () => {
    const r = check(good);
    expect(r.type).toBe('ok');
    if (r.type !== 'ok') return;
    expect(meshNodeOf(r.record)).toEqual({ name: 'host-b', address: '10.0.1.12' });
    expect(meshNodeOf({ ...r.record, port: 1179 })).toEqual({ name: 'host-b', address: '10.0.1.12', port: 1179 });
    expect(check({ ...good, address: 'fd00::12', extraFieldFromANewerWeft: true }).type).toBe('ok');
  });

  it.each([
    ['not json', '{', 'not JSON'],
    ['an array', [], 'not a JSON object'],
    ['another version', { ...good, version: 2 }, 'version 2 is not 1'],
    ['a name that is not the key', { ...good, name: 'host-c' }, 'name "host-c" differs from the key\'s "host-b"'],
    ['a bad address', { ...good, address: '10.0.1.300' }, 'address "10.0.1.300" is not an IPv4 or IPv6 address'],
    ['a bad port', { ...good, port: 70000 }, 'port 70000 is not 1..65535'],
    ['another AS', { ...good, asn: 65001 }, "AS 65001 is not this mesh's AS 64512"],
    ['a bad block', { ...good, blocks: ['10.244.7.1/26'] }, 'block "10.244.7.1/26" is not a prefix'],
    ['no block list', { ...good, blocks: undefined }, 'blocks is not a list'],
    ['a bad vni', { ...good, vni: 0 }, 'vni 0 is not 1..16777215'],
    ['an unknown role', { ...good, role: 'boss' }, 'role "boss" is not reflector or client'],
  ])('refuses %s with the reason', (_what, value, reason) => {
    const r = check(value);
    expect(r.type).toBe('refused');
    if (r.type === 'refused') expect(r.reason).toContain(reason);
  });
});

describe('route-reflector roles', () => {
  const rec = (name: string, role?: 'reflector' | 'client'): NodeRecord => ({ version: 1, name, address: `10.0.0.${name.length}${name.charCodeAt(name.length - 1) % 10}`, asn: 64512, blocks: [], ...(role ? { role } : {}) });
  const recs = [rec('r1', 'reflector'), rec('r2', 'reflector'), rec('c1', 'client'), rec('m1')];
  const names = (xs: { name: string; reflectorClient?: true }[]) => xs.map((x) => `${x.name}${x.reflectorClient ? '*' : ''}`);

  it('a client peers with the reflectors only (everyone while there is none); a reflector marks its clients; a mesh node peers with all', () => {
    expect(names(membersFor('client', recs))).toEqual(['r1', 'r2']);
    expect(names(membersFor('client', [rec('c1', 'client'), rec('m1')]))).toEqual(['c1', 'm1']);
    expect(names(membersFor('reflector', recs))).toEqual(['r1', 'r2', 'c1*', 'm1']);
    expect(names(membersFor('mesh', recs))).toEqual(['r1', 'r2', 'c1', 'm1']);
  });
});

describe('key layout', () => {
  it('node and block keys round-trip; foreign keys are named as such', () => {
    expect(nodeKey('/weft', 'a')).toBe('/weft/nodes/a');
    expect(nameOfNodeKey('/weft', '/weft/nodes/a')).toBe('a');
    expect(nameOfNodeKey('/weft', '/weft/nodes/a/b')).toBeUndefined();
    expect(nameOfNodeKey('/weft', '/weft/nodes/')).toBeUndefined();
    const k = blockKey('/weft', parsePrefix('10.244.0.0/16'), parsePrefix('10.244.3.0/26'));
    expect(k).toBe('/weft/blocks/10.244.0.0-16/10.244.3.0-26');
    const back = parseBlockKey('/weft', k);
    expect(typeof back === 'string' ? back : [formatPrefix(back.pool), formatPrefix(back.block)]).toEqual(['10.244.0.0/16', '10.244.3.0/26']);
    const v6 = parseBlockKey('/weft', blockKey('/weft', parsePrefix('fd00:244::/64'), parsePrefix('fd00:244::40/122')));
    expect(typeof v6 === 'string' ? v6 : formatPrefix(v6.block)).toBe('fd00:244::40/122');
    expect(parseBlockKey('/weft', '/weft/blocks/x')).toMatch(/not a block key/);
    expect(parseBlockKey('/weft', '/weft/blocks/10.244.0.0-16/10.244.3.1-26')).toMatch(/host bits/);
  });
});

describe('config: membership.etcd and blocks: auto', () => {
  const base = { node: { name: 'a', asn: 64512, address: '10.0.1.11/24' }, pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }] };
  const etcd = { etcd: { endpoints: ['http://10.0.1.5:2379'] } };
  const problems = (v: unknown) => {
    try {
      parseAgentConfig(v, 'weft.yaml');
      return [];
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
  };

  it('blocks: auto or a count becomes autoBlocks with an empty block list; a list stays a list', () => {
    expect(parseAgentConfig({ ...base, membership: etcd, blocks: 'auto' }, 'x').config).toMatchObject({ blocks: [], autoBlocks: 1, membership: { etcd: { prefix: '/weft', leaseTtl: 10 } } });
    expect(parseAgentConfig({ ...base, membership: etcd, blocks: 3 }, 'x').config.autoBlocks).toBe(3);
    const c = parseAgentConfig({ ...base, blocks: ['10.244.3.0/26'] }, 'x').config;
    expect(c.blocks).toEqual([parsePrefix('10.244.3.0/26')]);
    expect(c.autoBlocks).toBeUndefined();
  });

  it('names what is wrong', () => {
    expect(problems({ ...base, blocks: 'auto' })).toEqual(['blocks: auto (or a count) needs membership.etcd: blocks are claimed from the pools in the etcd registry']);
    expect(problems({ ...base, blocks: 'some' }).join('\n')).toMatch(/blocks/);
    expect(problems({ ...base, membership: { etcd: { endpoints: ['10.0.1.5:2379'] } } }).join('\n')).toMatch(/membership\.etcd\.endpoints\[0\]: must be an etcd client URL like http:\/\/10\.0\.0\.5:2379/);
    expect(problems({ ...base, membership: { etcd: { ...etcd.etcd, username: 'weft' } } })).toEqual(['membership.etcd: give both username and password, or neither']);
    expect(problems({ ...base, membership: { etcd: { ...etcd.etcd, prefix: 'weft/' } } }).join('\n')).toMatch(/membership\.etcd\.prefix: must start with \//);
    expect(problems({ ...base, membership: { etcd: { ...etcd.etcd, tls: { cert: '/c.pem' } } } })).toEqual(['membership.etcd.tls: give both cert and key (the client certificate and its key), or neither']);
    expect(problems({ ...base, membership: { etcd: { ...etcd.etcd, role: 'reflector' } } })[0]).toMatch(/^membership\.etcd\.role: reflector needs a routeReflector section/);
    expect(problems({ ...base, routeReflector: {}, membership: { etcd: { ...etcd.etcd, role: 'reflector' } } })).toEqual([]);
  });

  it('membership.etcd.cache: a path or false (none); anything else is named', () => {
    expect(problems({ ...base, membership: { etcd: { ...etcd.etcd, cache: '/var/lib/weft/registry.json' } } })).toEqual([]);
    expect(problems({ ...base, membership: { etcd: { ...etcd.etcd, cache: false } } })).toEqual([]);
    expect(problems({ ...base, membership: { etcd: { ...etcd.etcd, cache: true } } }).join('\n')).toMatch(/^membership\.etcd\.cache: /);
    expect(problems({ ...base, membership: { etcd: { ...etcd.etcd, cache: '' } } }).join('\n')).toMatch(/^membership\.etcd\.cache: /);
  });
});
