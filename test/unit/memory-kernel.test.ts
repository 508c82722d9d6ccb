// MemoryKernel on its own: the line forms of dual-stack and ECMP routing (issue 12) applied and
// read back as iproute2 prints them, with the kernel's refusals. What the real kernel prints for
// each form was taken from iproute2 6.1 on a 6.x kernel; test/live/dataplane-driver-contract runs
// the same kinds of lines against both and compares.
import { describe, expect, it } from 'vitest';
import type { MonitorEvent } from '../../src/dataplane/ip-driver.js';
import { readKernelState } from '../../src/dataplane/kernel-read.js';
import { MemoryKernel } from '../../src/dataplane/memory-kernel.js';

/** eth0 10.0.1.11/24 + fd00:9::1/64, eth1 fd00:77::11/64, va 10.9.0.1/24, vb 10.9.1.1/24. */
function host(): MemoryKernel {
  const k = new MemoryKernel();
  k.addLink({ name: 'eth0', mac: '02:00:00:00:00:11', kind: 'veth', addrs: ['10.0.1.11/24', 'fd00:9::1/64'] });
  k.addLink({ name: 'eth1', mac: '02:00:00:00:01:11', kind: 'veth', addrs: ['fd00:77::11/64'] });
  k.addLink({ name: 'va', mac: '02:00:00:00:02:11', kind: 'veth', addrs: ['10.9.0.1/24'] });
  k.addLink({ name: 'vb', mac: '02:00:00:00:03:11', kind: 'veth', addrs: ['10.9.1.1/24'] });
  return k;
}

/** Runs lines on one ip stream: the message of each ('' = applied, 'died' = iproute2 could not parse it and exited). */
async function run(k: MemoryKernel, ...lines: string[]): Promise<string[]> {
  const s = k.batch('ip');
  const out: string[] = [];
  for (const line of lines) {
    try {
      const r = await s.run([line]);
      out.push(r.errors[0]?.message ?? '');
    } catch {
      out.push('died');
    }
  }
  return out;
}

const routes = async (k: MemoryKernel, family: 4 | 6) => (await k.routes(family)) as Record<string, unknown>[];
const route = async (k: MemoryKernel, dst: string) => (await routes(k, dst.includes(':') ? 6 : 4)).find((r) => r.dst === dst);

/** The deletions monitors saw, once the microtasks that carry them have run. */
async function watch(k: MemoryKernel, act: () => Promise<unknown>): Promise<MonitorEvent[]> {
  const seen: MonitorEvent[] = [];
  const m = k.monitor((e) => seen.push(e));
  await act();
  await Promise.resolve();
  m.stop();
  return seen;
}

describe('MemoryKernel: gateways of the other family (RFC 8950)', () => {
  it('an IPv4 route via an IPv6 gateway reads back as "via" {family, host}, a link-local one too', async () => {
    const k = host();
    await run(k, 'link add name weft.vxlan6 address 06:00:00:00:00:11 mtu 1430 type vxlan id 4096 dstport 4789 local fd00:77::11 dev eth1 nolearning', 'link set dev weft.vxlan6 up');
    expect(await run(k, 'route replace 10.244.1.0/26 via inet6 fd00:9::2 dev eth0 proto 249', 'route replace 10.244.2.0/26 via inet6 fe80::4:aff:fe00:20b dev weft.vxlan6 proto 249')).toEqual(['', '']);
    expect(await route(k, '10.244.1.0/26')).toEqual({ dst: '10.244.1.0/26', via: { family: 'inet6', host: 'fd00:9::2' }, dev: 'eth0', protocol: 'weft', flags: [] });
    expect(await route(k, '10.244.2.0/26')).toEqual({ dst: '10.244.2.0/26', via: { family: 'inet6', host: 'fe80::4:aff:fe00:20b' }, dev: 'weft.vxlan6', protocol: 'weft', flags: [] });
    expect(k.routeTable()).toContain('10.244.1.0/26 via inet6 fd00:9::2 dev eth0 proto weft');
    // The parser reads the gateway out of "via".
    const state = await readKernelState(k, ['weft.vxlan', 'weft.vxlan6'], []);
    expect(state.routes.find((r) => r.dst === '10.244.1.0/26')).toMatchObject({ gateway: 'fd00:9::2', dev: 'eth0', multipath: false });
  });

  it('`via inet6` on an IPv6 route is a plain gateway; an IPv6 route takes no IPv4 gateway', async () => {
    const k = host();
    expect(await run(k, 'route replace fd00:244:1::/122 via inet6 fd00:9::2 dev eth0 proto 249', 'route replace fd00:244:2::/122 via inet 10.0.1.12 dev eth0 proto 249')).toEqual([
      '',
      'Error: IPv6 does not support RTA_VIA attribute.',
    ]);
    expect(await route(k, 'fd00:244:1::/122')).toEqual({ dst: 'fd00:244:1::/122', gateway: 'fd00:9::2', dev: 'eth0', protocol: 'weft', metric: 1024, flags: [], pref: 'medium' });
    expect(await route(k, 'fd00:244:2::/122')).toBeUndefined();
  });

  it('an IPv6 gateway is checked as the kernel checks it, for routes of either family', async () => {
    const k = host();
    await run(k, 'link add name vd address 02:00:00:00:00:05 type vxlan id 5 dstport 4789 local 10.0.1.11 nolearning');
    expect(
      await run(
        k,
        'route replace 10.244.3.0/26 via inet6 fd00:77::12 dev eth0 proto 249', // on eth1's subnet, not eth0's
        'route replace fd00:244:3::/122 via fd00:99::2 dev eth0 proto 249', // on no subnet
        'route replace 10.244.3.0/26 via inet6 fe80::12 proto 249', // link-local without a device
        'route replace fd00:244:3::/122 via fd00:9::1 dev eth0 proto 249', // this host's own
        'route replace fd00:244:3::/122 via fe80::12 dev vd proto 249', // vd is down
        'route replace 10.244.3.0/26 via inet6 fd00:77::12 proto 249', // the kernel finds eth1
        'route replace fd00:244:4::/122 via fd00:99::2 dev eth0 onlink proto 249', // onlink: as it is
        'route replace 10.244.4.0/26 via fd00:9::2 dev eth0 proto 249', // iproute2 wants `inet6`: it exits
      ),
    ).toEqual([
      'RTNETLINK answers: No route to host',
      'RTNETLINK answers: No route to host',
      'Error: Egress device not specified.',
      'Error: Gateway can not be a local address.',
      'Error: Nexthop device is not up.',
      '',
      '',
      'died',
    ]);
    expect((await route(k, '10.244.3.0/26'))?.dev).toBe('eth1');
  });
});

describe('MemoryKernel: lines iproute2 cannot parse', () => {
  it('end the batch (run() rejects like a dead process, the rest of it is not run); the next batch runs', async () => {
    const k = host();
    const s = k.batch('ip');
    await expect(
      s.run(['route replace 10.244.1.0/26 dev eth0 proto 249', 'route replace 10.244.2.0/26 via fd00:9::2 dev eth0 proto 249', 'route replace 10.244.3.0/26 dev eth0 proto 249']),
    ).rejects.toThrow('ip -force -batch - exited (code 1): Error: inet address is expected rather than "fd00:9::2".');
    await expect(s.run(['route replace 10.244.4.0/26 proto 249 nexthop via 10.0.1.12 dev eth0 nexthop via 10.0.1.13 dev nosuch'])).rejects.toThrow(
      'exited (code 255): Cannot find device "nosuch"; Error: cannot parse nexthop',
    );
    expect((await s.run(['route replace 10.244.5.0/26 dev eth0 proto 249'])).errors).toEqual([]);
    expect(k.routeTable().filter((r) => r.includes('10.244.'))).toEqual(['10.244.1.0/26 dev eth0 proto weft', '10.244.5.0/26 dev eth0 proto weft']);
  });
});

describe('MemoryKernel: multipath routes', () => {
  it('an IPv4 multipath route reads back as "nexthops" with weight and flags, no gateway or device of its own', async () => {
    const k = host();
    expect(await run(k, 'route replace 10.244.4.0/26 proto 249 nexthop via 10.9.0.2 dev va nexthop via 10.9.1.3 dev vb')).toEqual(['']);
    expect(await route(k, '10.244.4.0/26')).toEqual({
      dst: '10.244.4.0/26',
      protocol: 'weft',
      flags: [],
      nexthops: [
        { gateway: '10.9.0.2', dev: 'va', weight: 1, flags: [] },
        { gateway: '10.9.1.3', dev: 'vb', weight: 1, flags: [] },
      ],
    });
    expect(k.routeTable()).toContain('10.244.4.0/26 proto weft nexthop via 10.9.0.2 dev va nexthop via 10.9.1.3 dev vb');
    const state = await readKernelState(k, 'weft.vxlan', []);
    expect(state.routes.find((r) => r.dst === '10.244.4.0/26')).toEqual({
      dst: '10.244.4.0/26',
      type: 'unicast',
      onlink: false,
      protocol: 'weft',
      metric: 0,
      multipath: true,
      hops: [
        { gateway: '10.9.0.2', dev: 'va' },
        { gateway: '10.9.1.3', dev: 'vb' },
      ],
    });
  });

  it('IPv6 ones print metric and pref before "nexthops"; an IPv4 one via IPv6 gateways prints "via" per next hop', async () => {
    const k = host();
    await run(
      k,
      'route replace fd00:244:4::/122 proto 249 nexthop via fd00:9::2 dev eth0 nexthop via fd00:77::12 dev eth1',
      'route replace 10.244.5.0/26 proto 249 nexthop via 10.0.1.12 dev eth0 nexthop via inet6 fd00:77::12 dev eth1',
      'route replace 10.244.6.0/26 proto 249 metric 7 nexthop via 10.9.0.2 dev va weight 3 nexthop via 10.0.2.11 dev vb onlink',
    );
    expect(JSON.stringify(await route(k, 'fd00:244:4::/122'))).toBe(
      '{"dst":"fd00:244:4::/122","protocol":"weft","metric":1024,"flags":[],"pref":"medium","nexthops":[{"gateway":"fd00:9::2","dev":"eth0","weight":1,"flags":[]},{"gateway":"fd00:77::12","dev":"eth1","weight":1,"flags":[]}]}',
    );
    expect((await route(k, '10.244.5.0/26'))?.nexthops).toEqual([
      { gateway: '10.0.1.12', dev: 'eth0', weight: 1, flags: [] },
      { via: { family: 'inet6', host: 'fd00:77::12' }, dev: 'eth1', weight: 1, flags: [] },
    ]);
    expect(await route(k, '10.244.6.0/26')).toEqual({
      dst: '10.244.6.0/26',
      protocol: 'weft',
      metric: 7,
      flags: [],
      nexthops: [
        { gateway: '10.9.0.2', dev: 'va', weight: 3, flags: [] },
        { gateway: '10.0.2.11', dev: 'vb', weight: 1, flags: ['onlink'] },
      ],
    });
  });

  it('replaces a single-path route and is replaced by one, in both families, with no event; one next hop is a plain route', async () => {
    const k = host();
    const events = await watch(k, () =>
      run(
        k,
        'route replace 10.244.4.0/26 via 10.9.0.2 dev va proto 249',
        'route replace 10.244.4.0/26 proto 249 nexthop via 10.9.0.2 dev va nexthop via 10.9.1.3 dev vb',
        'route replace fd00:244:4::/122 via fd00:9::2 dev eth0 proto 249',
        'route replace fd00:244:4::/122 proto 249 nexthop via fd00:9::2 dev eth0 nexthop via fd00:9::3 dev eth0',
        'route replace fd00:244:4::/122 via fd00:9::6 dev eth0 proto 249',
        'route replace 10.244.5.0/26 proto 249 nexthop via 10.9.0.2 dev va',
      ),
    );
    expect(events).toEqual([]);
    expect((await route(k, '10.244.4.0/26'))?.nexthops).toHaveLength(2);
    expect(await route(k, 'fd00:244:4::/122')).toMatchObject({ gateway: 'fd00:9::6', dev: 'eth0' });
    expect(await route(k, 'fd00:244:4::/122')).not.toHaveProperty('nexthops');
    expect(await route(k, '10.244.5.0/26')).toEqual({ dst: '10.244.5.0/26', gateway: '10.9.0.2', dev: 'va', protocol: 'weft', flags: [] });
    await run(k, 'route replace 10.244.4.0/26 via 10.9.0.5 dev va proto 249');
    expect(await route(k, '10.244.4.0/26')).toEqual({ dst: '10.244.4.0/26', gateway: '10.9.0.5', dev: 'va', protocol: 'weft', flags: [] });
  });

  it('refuses the whole line for one bad next hop, as the kernel words it per family', async () => {
    const k = host();
    await run(k, 'route replace fd00:244:9::/122 via fd00:9::9 dev eth0 proto 249');
    expect(
      await run(
        k,
        'route replace 10.244.9.0/26 proto 249 nexthop via 10.9.0.2 dev va nexthop via 10.9.9.9 dev vb',
        'route replace 10.244.9.0/26 proto 249 nexthop via 10.9.0.2 dev va nexthop via 10.9.0.3 dev vb', // on va's subnet, not vb's
        'route replace fd00:244:9::/122 proto 249 nexthop via fd00:9::2 dev eth0 nexthop via fd00:9::3 dev eth1',
        'route replace fd00:244:9::/122 proto 249 nexthop via fd00:9::2 dev eth0 nexthop via fd00:9::2 dev eth0',
        'route replace fd00:244:9::/122 proto 249 nexthop via fd00:9::2 dev eth0 nexthop via inet 10.0.1.12 dev eth0',
        'route add fd00:244:9::/122 proto 249 nexthop via fd00:9::2 dev eth0 nexthop via fd00:9::3 dev eth0',
      ),
    ).toEqual([
      'Error: Nexthop has invalid gateway.',
      'Error: Nexthop has invalid gateway.',
      'RTNETLINK answers: No route to host',
      'RTNETLINK answers: File exists',
      'Error: Device only routes can not be added for IPv6 using the multipath API.',
      'RTNETLINK answers: File exists',
    ]);
    expect(await route(k, '10.244.9.0/26')).toBeUndefined();
    expect(await route(k, 'fd00:244:9::/122')).toMatchObject({ gateway: 'fd00:9::9' });
  });

  it('`route del` takes a multipath route whole, with one event; IPv6 does not look at the type', async () => {
    const k = host();
    await run(k, 'route replace fd00:244:4::/122 proto 249 nexthop via fd00:9::2 dev eth0 nexthop via fd00:9::3 dev eth0', 'route replace blackhole 10.244.4.0/26 proto 249');
    const events = await watch(k, () => run(k, 'route del blackhole fd00:244:4::/122 proto 249', 'route del fd00:244:4::/122 proto 249', 'route del 10.244.4.0/26 proto 249'));
    expect(events).toEqual([
      { type: 'route-deleted', dst: 'fd00:244:4::/122' },
      { type: 'route-deleted', dst: '10.244.4.0/26' },
    ]);
    expect(await route(k, 'fd00:244:4::/122')).toBeUndefined();
  });
});

describe('MemoryKernel: IPv6 routes', () => {
  it('lists blackholes on lo and every IPv6 route with metric 1024 (when written without one) and pref medium', async () => {
    const k = host();
    await run(k, 'route replace blackhole fd00:244::/122 proto 249', 'route replace fd00:244:1::/122 via fd00:9::2 dev eth0 proto 249', 'route replace fd00:244:2::/122 dev eth0 proto 249 metric 5');
    expect(await routes(k, 6)).toEqual([
      { dst: 'fd00:244::/122', type: 'blackhole', dev: 'lo', protocol: 'weft', metric: 1024, flags: [], pref: 'medium' },
      { dst: 'fd00:244:1::/122', gateway: 'fd00:9::2', dev: 'eth0', protocol: 'weft', metric: 1024, flags: [], pref: 'medium' },
      { dst: 'fd00:244:2::/122', dev: 'eth0', protocol: 'weft', metric: 5, flags: [], pref: 'medium' },
    ]);
  });

  it("lists routes in the kernel's order: IPv4 by address (longer first), IPv6 children before their parent", async () => {
    const k = new MemoryKernel();
    for (const p of ['10.244.1.0/26', '10.244.1.0/24', '10.244.1.0/32', '10.244.1.128/25', '10.0.0.0/8', '0.0.0.0/0', '10.244.1.64/26']) await run(k, `route add blackhole ${p} proto 249`);
    for (const p of ['fd00::/64', 'fd00::/48', 'fd00::/122', '::/0', 'fd00:1::/64', 'fd00::8000:0:0:0/65', 'fc00::/7']) await run(k, `route add blackhole ${p} proto 249`);
    await run(k, 'route add blackhole fd00::/64 proto 249 metric 5');
    expect((await routes(k, 4)).map((r) => r.dst)).toEqual(['default', '10.0.0.0/8', '10.244.1.0', '10.244.1.0/26', '10.244.1.0/24', '10.244.1.64/26', '10.244.1.128/25']);
    expect((await routes(k, 6)).map((r) => `${String(r.dst)} ${String(r.metric)}`)).toEqual([
      'fd00::/122 1024',
      'fd00::8000:0:0:0/65 1024',
      'fd00::/64 5',
      'fd00::/64 1024',
      'fd00::/48 1024',
      'fd00:1::/64 1024',
      'fc00::/7 1024',
      'default 1024',
    ]);
  });
});

describe('MemoryKernel: a second VXLAN device, over IPv6', () => {
  it('weft.vxlan6 shows its local address as local6; its FDB entries and neighbours of both families read back', async () => {
    const k = host();
    expect(
      await run(
        k,
        'link add name weft.vxlan6 address 06:00:00:00:00:11 mtu 1430 type vxlan id 4096 dstport 4789 local fd00:77::11 dev eth1 nolearning',
        'link set dev weft.vxlan6 up',
        'neigh replace fe80::4:aff:fe00:20b lladdr 06:00:00:00:00:12 dev weft.vxlan6 nud permanent',
        'neigh replace 10.0.4.11 lladdr 06:00:00:00:00:13 dev weft.vxlan6 nud permanent',
      ),
    ).toEqual(['', '', '', '']);
    expect((await k.batch('bridge').run(['fdb replace 06:00:00:00:00:12 dev weft.vxlan6 dst fd00:77::12 self permanent'])).errors).toEqual([]);
    const [link] = (await k.links('weft.vxlan6')) as Record<string, unknown>[];
    expect(link).toEqual({
      ifindex: link.ifindex,
      ifname: 'weft.vxlan6',
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      mtu: 1430,
      address: '06:00:00:00:00:11',
      linkinfo: { info_kind: 'vxlan', info_data: { id: 4096, local6: 'fd00:77::11', link: 'eth1', port: 4789, learning: false } },
      addr_info: [{ family: 'inet6', local: 'fe80::400:ff:fe00:11', prefixlen: 64, scope: 'link' }],
    });
    expect(await k.fdb('weft.vxlan6')).toEqual([{ mac: '06:00:00:00:00:12', dst: 'fd00:77::12', flags: ['self'], state: 'permanent' }]);
    expect(await k.neighbours('weft.vxlan6')).toEqual([
      { dst: 'fe80::4:aff:fe00:20b', lladdr: '06:00:00:00:00:12', state: ['PERMANENT'] },
      { dst: '10.0.4.11', lladdr: '06:00:00:00:00:13', state: ['PERMANENT'] },
    ]);
    const state = await readKernelState(k, ['weft.vxlan', 'weft.vxlan6'], []);
    expect(state.fdb).toEqual([{ dev: 'weft.vxlan6', mac: '06:00:00:00:00:12', dst: 'fd00:77::12', permanent: true }]);
    expect(state.neigh.map((n) => n.address)).toEqual(['fe80::4:aff:fe00:20b', '10.0.4.11']);
  });

  it('IPv6 neighbours on weft.vxlan too', async () => {
    const k = host();
    await run(k, 'link add name weft.vxlan address 02:00:0a:00:01:0b mtu 1450 type vxlan id 4096 dstport 4789 local 10.0.1.11 dev eth0 nolearning', 'link set dev weft.vxlan up');
    expect(await run(k, 'neigh replace fe80::aff:fe00:20b lladdr 02:00:0a:00:02:0b dev weft.vxlan nud permanent', 'route replace fd00:244:21::/122 via fe80::aff:fe00:20b dev weft.vxlan proto 249')).toEqual(['', '']);
    expect(await k.neighbours('weft.vxlan')).toEqual([{ dst: 'fe80::aff:fe00:20b', lladdr: '02:00:0a:00:02:0b', state: ['PERMANENT'] }]);
  });

  it('a device going down loses its IPv6 addresses, neighbours and routes; a multipath next hop there is dead until it is up', async () => {
    const k = host();
    await run(
      k,
      'link add name weft.vxlan6 address 06:00:00:00:00:11 type vxlan id 4096 dstport 4789 local fd00:77::11 dev eth1 nolearning',
      'link set dev weft.vxlan6 up',
      'addr add fd00:5::1/64 dev weft.vxlan6',
      'neigh replace fe80::4:aff:fe00:20b lladdr 06:00:00:00:00:12 dev weft.vxlan6 nud permanent',
      'route replace 10.244.20.0/26 via inet6 fe80::4:aff:fe00:20b dev weft.vxlan6 proto 249',
      'route replace fd00:244:20::/122 via fe80::4:aff:fe00:20b dev weft.vxlan6 proto 249',
      'route replace 10.244.34.0/26 proto 249 nexthop via 10.0.1.12 dev eth0 nexthop via inet6 fe80::4:aff:fe00:20b dev weft.vxlan6',
    );
    const events = await watch(k, () => run(k, 'link set dev weft.vxlan6 down'));
    expect(events).toEqual([
      { type: 'neigh-deleted', address: 'fe80::4:aff:fe00:20b', dev: 'weft.vxlan6' },
      { type: 'route-deleted', dst: 'fd00:244:20::/122' }, // IPv4's 10.244.20.0/26 goes silently
    ]);
    expect(k.link('weft.vxlan6')).toMatchObject({ up: false, addrs: [] });
    expect(await route(k, '10.244.20.0/26')).toBeUndefined();
    expect((await route(k, '10.244.34.0/26'))?.nexthops).toEqual([
      { gateway: '10.0.1.12', dev: 'eth0', weight: 1, flags: [] },
      { via: { family: 'inet6', host: 'fe80::4:aff:fe00:20b' }, dev: 'weft.vxlan6', weight: 1, flags: ['dead', 'linkdown'] },
    ]);
    await run(k, 'link set dev weft.vxlan6 up');
    expect(((await route(k, '10.244.34.0/26'))?.nexthops as { flags: string[] }[])[1].flags).toEqual([]);
  });

  it('deleting a device takes its entries (with events), IPv4 multipath routes through it silently, and just the IPv6 next hops there', async () => {
    const k = host();
    await run(
      k,
      'link add name weft.vxlan address 02:00:0a:00:01:0b type vxlan id 4096 dstport 4789 local 10.0.1.11 dev eth0 nolearning',
      'link add name weft.vxlan6 address 06:00:00:00:00:11 type vxlan id 4096 dstport 4789 local fd00:77::11 dev eth1 nolearning',
      'link set dev weft.vxlan up',
      'link set dev weft.vxlan6 up',
      'route replace 10.244.34.0/26 proto 249 nexthop via 10.0.1.12 dev eth0 nexthop via inet6 fe80::4:aff:fe00:20b dev weft.vxlan6',
      'route replace fd00:244:34::/122 proto 249 nexthop via fe80::4:aff:fe00:20b dev weft.vxlan6 nexthop via fe80::aff:fe00:20b dev weft.vxlan',
    );
    await k.batch('bridge').run(['fdb replace 06:00:00:00:00:12 dev weft.vxlan6 dst fd00:77::12 self permanent']);
    const events = await watch(k, () => run(k, 'link del dev weft.vxlan6'));
    expect(events).toEqual([
      { type: 'fdb-deleted', mac: '06:00:00:00:00:12', dev: 'weft.vxlan6' },
      { type: 'neigh-deleted', address: 'fd00:77::12', dev: 'weft.vxlan6' },
      { type: 'route-deleted', dst: 'fd00:244:34::/122' },
      { type: 'link-deleted', name: 'weft.vxlan6' },
    ]);
    expect(await route(k, '10.244.34.0/26')).toBeUndefined();
    expect(await route(k, 'fd00:244:34::/122')).toEqual({ dst: 'fd00:244:34::/122', gateway: 'fe80::aff:fe00:20b', dev: 'weft.vxlan', protocol: 'weft', metric: 1024, flags: [], pref: 'medium' });
  });
});

describe('MemoryKernel: addresses (`ip -d -json addr show`)', () => {
  it('gives every device family, local, prefixlen and scope as the kernel does, and the parser the connected prefixes', async () => {
    const k = host();
    expect(await run(k, 'addr add fd00:a::1/64 dev va', 'addr add fd00:b::1/64 dev va', 'addr add fd00:a::1/64 dev va', 'addr add 10.9.0.1/24 dev va', 'addr del fd00:c::1/64 dev va')).toEqual([
      '',
      '',
      'Error: ipv6: address already assigned.',
      'Error: ipv4: Address already assigned.',
      'Error: ipv6: address not found.',
    ]);
    const all = (await k.links()) as { ifname: string; addr_info: unknown[] }[];
    expect(all.map((l) => l.ifname)).toEqual(['lo', 'eth0', 'eth1', 'va', 'vb']);
    expect(all[0].addr_info).toEqual([
      { family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host', label: 'lo' },
      { family: 'inet6', local: '::1', prefixlen: 128, scope: 'host' },
    ]);
    // IPv4 in the order added; IPv6 global ones the newest first, then the link-local one (EUI-64 of the MAC).
    expect(all[3].addr_info).toEqual([
      { family: 'inet', local: '10.9.0.1', prefixlen: 24, scope: 'global', label: 'va' },
      { family: 'inet6', local: 'fd00:b::1', prefixlen: 64, scope: 'global' },
      { family: 'inet6', local: 'fd00:a::1', prefixlen: 64, scope: 'global' },
      { family: 'inet6', local: 'fe80::ff:fe00:211', prefixlen: 64, scope: 'link' },
    ]);
    const state = await readKernelState(k, 'weft.vxlan', []);
    expect(state.connected?.filter((c) => c.dev === 'va')).toEqual([
      { prefix: '10.9.0.0/24', address: '10.9.0.1/24', dev: 'va' },
      { prefix: 'fd00:b::/64', address: 'fd00:b::1/64', dev: 'va' },
      { prefix: 'fd00:a::/64', address: 'fd00:a::1/64', dev: 'va' },
    ]);
  });

  it('an IPv6 address added with `addr add` makes its subnet a place for gateways (while the device is up)', async () => {
    const k = host();
    expect(await run(k, 'route replace fd00:244:1::/122 via fd00:a::2 dev va proto 249', 'addr add fd00:a::1/64 dev va', 'route replace fd00:244:1::/122 via fd00:a::2 dev va proto 249')).toEqual([
      'RTNETLINK answers: No route to host',
      '',
      '',
    ]);
  });
});
