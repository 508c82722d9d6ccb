import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { numberToIpv4 } from '../../src/lib/address.js';
import { parsePrefix } from '../../src/lib/prefix.js';
import { decideShape, ipipDevice, linkLocalOf, localVtepAddress, nodeVtep, vtepMac, vxlanDevice } from '../../src/dataplane/model.js';
import { normalizeDst, parseFdb, parseLinks, parseNeigh, parseRoutes } from '../../src/dataplane/kernel-state.js';
import { parseMonitorLine } from '../../src/dataplane/iproute2.js';

describe('decideShape', () => {
  const cases: [Parameters<typeof decideShape>, string, string][] = [
    [['never', 'vxlan', '10.0.1.11/24', '10.0.2.11'], 'direct', 'encapsulation never -> direct via 10.0.2.11'],
    [['always', 'vxlan', '10.0.1.11/24', '10.0.1.12'], 'vxlan', 'encapsulation always -> vxlan'],
    [['always', 'ipip', '10.0.1.11/24', '10.0.1.12'], 'ipip', 'encapsulation always -> ipip'],
    [['crossSubnet', 'vxlan', '10.0.1.11/24', '10.0.1.12'], 'direct', 'crossSubnet: 10.0.1.12 is inside 10.0.1.0/24 -> direct'],
    [['crossSubnet', 'vxlan', '10.0.1.11/24', '10.0.2.11'], 'vxlan', 'crossSubnet: 10.0.2.11 is outside 10.0.1.0/24 -> vxlan'],
    [['crossSubnet', 'ipip', '10.0.1.11/16', '10.0.2.11'], 'direct', 'crossSubnet: 10.0.2.11 is inside 10.0.0.0/16 -> direct'],
    [['crossSubnet', 'ipip', '10.0.1.11/24', '10.0.2.11'], 'ipip', 'crossSubnet: 10.0.2.11 is outside 10.0.1.0/24 -> ipip'],
    [['crossSubnet', 'vxlan', 'fd00:1::11/64', 'fd00:1::12'], 'direct', 'crossSubnet: fd00:1::12 is inside fd00:1::/64 -> direct'],
  ];
  for (const [args, shape, reason] of cases) {
    it(`${args.join(' ')} -> ${shape}`, () => {
      expect(decideShape(...args)).toEqual({ shape, reason });
    });
  }

  it('a /32 node address never counts as same subnet, and the reason says why (calico#4254)', () => {
    const d = decideShape('crossSubnet', 'vxlan', '10.0.1.11/32', '10.0.1.12');
    expect(d.shape).toBe('vxlan');
    expect(d.reason).toContain('/32');
    expect(d.reason).toContain('calico#4254');
  });
});

describe('VTEP MAC and addresses', () => {
  it('02:00 + the address bytes', () => {
    expect(vtepMac('10.0.2.11')).toBe('02:00:0a:00:02:0b');
    expect(vtepMac('255.255.255.255')).toBe('02:00:ff:ff:ff:ff');
  });

  it('is a locally administered unicast MAC and never collides for distinct addresses', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (a, b) => {
        const ma = vtepMac(numberToIpv4(a));
        const first = parseInt(ma.slice(0, 2), 16);
        expect(first & 0x02).toBe(0x02); // U/L bit: locally administered
        expect(first & 0x01).toBe(0); // I/G bit: unicast
        expect(ma === vtepMac(numberToIpv4(b))).toBe(a === b);
      }),
    );
  });

  it('two IPv6 nodes that differ only in their subnet get different MACs', () => {
    expect(vtepMac('fd00:77:1::2')).not.toBe(vtepMac('fd00:77:2::2'));
  });

  it('a signalled MAC or VTEP address overrides the derived one', () => {
    expect(nodeVtep({ name: 'c', underlayAddress: '10.0.2.11' })).toEqual({ mac: '02:00:0a:00:02:0b', address: '10.0.2.11', onlink: true });
    expect(nodeVtep({ name: 'c', underlayAddress: '10.0.2.11', mac: '0A:BB:CC:DD:EE:FF', vtepAddress: '10.244.2.0' })).toEqual({
      mac: '0a:bb:cc:dd:ee:ff',
      address: '10.244.2.0',
      onlink: true,
    });
  });

  it('IPv6 routes, and anything over an IPv6 underlay, go via the link-local address of the VTEP MAC', () => {
    expect(linkLocalOf('02:00:0a:00:02:0b')).toBe('fe80::aff:fe00:20b');
    expect(linkLocalOf('0a:bb:cc:dd:ee:ff')).toBe('fe80::8bb:ccff:fedd:eeff');
    const v6Route = parsePrefix('fd00:244:2::/122');
    expect(nodeVtep({ name: 'c', underlayAddress: '10.0.2.11' }, v6Route)).toEqual({ mac: '02:00:0a:00:02:0b', address: 'fe80::aff:fe00:20b', onlink: false });
    const v6Node = { name: 'c', underlayAddress: 'fd00:77:2::11' };
    expect(vtepMac('fd00:77:2::11')).toBe('06:28:2b:5b:5d:02');
    expect(nodeVtep(v6Node, parsePrefix('10.244.2.0/26'))).toEqual({ mac: '06:28:2b:5b:5d:02', address: linkLocalOf('06:28:2b:5b:5d:02'), onlink: false });
    expect(nodeVtep(v6Node, v6Route).address).toBe(linkLocalOf('06:28:2b:5b:5d:02'));
  });

  it('a VXLAN device over IPv6 is weft.vxlan6 with MTU underlay - 70 and no VTEP address', () => {
    const v = vxlanDevice({ underlayDevice: 'eth1', localAddress: 'fd00:77:1::11', underlayMtu: 1500, localBlocks: [parsePrefix('10.244.1.0/26')] });
    expect(v).toEqual({ device: 'weft.vxlan6', family: 6, vni: 4096, port: 4789, underlayDevice: 'eth1', localAddress: 'fd00:77:1::11', mtu: 1430, mac: '06:cd:d7:5d:96:d3' });
  });

  it('local VTEP address = .0 of the lowest IPv4 block', () => {
    expect(localVtepAddress([parsePrefix('10.244.7.64/26'), parsePrefix('10.244.3.0/26'), parsePrefix('fd00::/64')])).toBe('10.244.3.0');
    expect(localVtepAddress([])).toBeUndefined();
  });

  it('device MTUs: VXLAN underlay - 50, IP-in-IP underlay - 20', () => {
    const v = vxlanDevice({ underlayDevice: 'eth0', localAddress: '10.0.1.11', underlayMtu: 1500, localBlocks: [parsePrefix('10.244.1.0/26')] });
    expect(v).toEqual({
      device: 'weft.vxlan',
      family: 4,
      vni: 4096,
      port: 4789,
      underlayDevice: 'eth0',
      localAddress: '10.0.1.11',
      mtu: 1450,
      mac: '02:00:0a:00:01:0b',
      vtepAddress: '10.244.1.0',
    });
    expect(ipipDevice(9000)).toEqual({ device: 'tunl0', mtu: 8980 });
  });
});

describe('iproute2 JSON parsers', () => {
  it('routes: protocol by name or number, host routes get /32, flags', () => {
    const r = parseRoutes([
      { dst: '10.0.9.9', gateway: '10.0.1.12', dev: 'veth0', protocol: 'weft', flags: [] },
      { type: 'blackhole', dst: '10.244.3.0/26', protocol: '249', flags: [] },
      { dst: '10.244.2.0/26', gateway: '10.0.2.11', dev: 'weft.vxlan', protocol: 'weft', metric: 5, flags: ['onlink'] },
      { dst: 'default', protocol: 'static', nexthops: [{ gateway: '10.0.0.1' }], flags: [] },
      { dst: '10.244.1.5', dev: 'pod0', scope: 'link', flags: [] }, // a plain `ip route add`: proto boot, not printed
    ]);
    expect(r.map((x) => [x.dst, x.type, x.protocol, x.onlink, x.metric, x.multipath])).toEqual([
      ['10.0.9.9/32', 'unicast', 'weft', false, 0, false],
      ['10.244.3.0/26', 'blackhole', '249', false, 0, false],
      ['10.244.2.0/26', 'unicast', 'weft', true, 5, false],
      ['0.0.0.0/0', 'unicast', 'static', false, 0, true],
      ['10.244.1.5/32', 'unicast', 'boot', false, 0, false],
    ]);
    expect(normalizeDst('fd00::1', 6)).toBe('fd00::1/128');
  });

  it('IPv6 routes: metric 1024 (what a route written without one gets) reads as the default slot 0; a blackhole has no device', () => {
    // As `ip -6 -json route show table main` printed them here (iproute2 6.1, kernel 6.18).
    const r = parseRoutes(
      [
        { dst: '2001:db8:1::/64', gateway: 'fe80::1', dev: 'd0', protocol: 'weft', metric: 1024, flags: [], pref: 'medium' },
        { type: 'blackhole', dst: '2001:db8:2::/64', dev: 'lo', protocol: 'weft', metric: 1024, flags: [], pref: 'medium' },
        { dst: 'fe80::/64', dev: 'd0', protocol: 'kernel', metric: 256, flags: [], pref: 'medium' },
      ],
      6,
    );
    expect(r.map((x) => [x.dst, x.type, x.dev, x.metric])).toEqual([
      ['2001:db8:1::/64', 'unicast', 'd0', 0],
      ['2001:db8:2::/64', 'blackhole', undefined, 0],
      ['fe80::/64', 'unicast', 'd0', 256],
    ]);
    // IPv4 keeps its metrics as they are.
    expect(parseRoutes([{ dst: '10.0.0.0/24', dev: 'eth0', metric: 1024 }], 4)[0].metric).toBe(1024);
  });

  it('fdb, neighbours, links', () => {
    expect(parseFdb([{ mac: '02:00:0A:00:02:0B', dst: '10.0.2.11', flags: ['self'], state: 'permanent' }, { mac: 'x', state: '' }])).toEqual([
      { mac: '02:00:0a:00:02:0b', dst: '10.0.2.11', permanent: true },
      { mac: 'x', permanent: false },
    ]);
    expect(parseNeigh([{ dst: '10.0.2.11', lladdr: '02:00:0a:00:02:0b', state: ['PERMANENT'] }, { dst: '10.0.3.1', state: ['FAILED'] }])).toEqual([
      { address: '10.0.2.11', lladdr: '02:00:0a:00:02:0b', permanent: true },
      { address: '10.0.3.1', permanent: false },
    ]);
    const [l] = parseLinks([
      {
        ifname: 'weft.vxlan',
        flags: ['BROADCAST', 'UP'],
        mtu: 1450,
        address: '02:00:0a:00:01:0b',
        linkinfo: { info_kind: 'vxlan', info_data: { id: 4096, local: '10.0.1.11', link: 'veth0', port: 4789, learning: false } },
        addr_info: [
          { family: 'inet', local: '10.244.1.0', prefixlen: 32 },
          { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
        ],
      },
    ]);
    expect(l).toEqual({
      name: 'weft.vxlan',
      mtu: 1450,
      up: true,
      mac: '02:00:0a:00:01:0b',
      kind: 'vxlan',
      vxlan: { id: 4096, local: '10.0.1.11', port: 4789, link: 'veth0', learning: false },
      addrs: ['10.244.1.0/32'],
    });
  });

  it('monitor lines (as printed by iproute2 6.1)', () => {
    expect(parseMonitorLine('Deleted 10.244.2.0/26 via 10.0.2.11 dev weft.vxlan proto weft onlink ')).toEqual({ type: 'route-deleted', dst: '10.244.2.0/26' });
    expect(parseMonitorLine('Deleted blackhole 10.244.1.0/26 proto 249 ')).toEqual({ type: 'route-deleted', dst: '10.244.1.0/26' });
    expect(parseMonitorLine('Deleted 10.0.2.11 dev weft.vxlan lladdr 02:00:0a:00:02:0b NOARP PERMANENT ')).toEqual({
      type: 'neigh-deleted',
      address: '10.0.2.11',
      dev: 'weft.vxlan',
    });
    expect(parseMonitorLine('Deleted 02:00:0a:00:02:0b dev weft.vxlan dst 10.0.2.11 self permanent')).toEqual({
      type: 'fdb-deleted',
      mac: '02:00:0a:00:02:0b',
      dev: 'weft.vxlan',
    });
    expect(parseMonitorLine('Deleted 7: weft.vxlan: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UNKNOWN group default ')).toEqual({
      type: 'link-deleted',
      name: 'weft.vxlan',
    });
    expect(parseMonitorLine('10.244.1.0/26 proto weft')).toBeUndefined();
  });
});
