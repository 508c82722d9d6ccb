// The in-memory kernel keeps the real one's contract: the same batch lines (the kinds weft
// writes, good and bad, IPv4 and IPv6: gateways of the other family (RFC 8950), multipath routes,
// a second VXLAN device over IPv6, neighbours of both families, devices going down and away) go
// to the real kernel through Iproute2Driver in a fresh namespace and to a MemoryKernel set up
// alike; which lines fail and with what message, what the reads give (iproute2's JSON, and what
// it parses to: routes, devices, addresses, neighbours, FDB, nexthop objects) and which deletions
// the monitors report must be the same. Kernel-made routes (proto kernel, and the link-local and
// multicast ones a device gets and loses), multicast neighbours and interface indexes are left out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IpDriver, MonitorEvent } from '../../src/dataplane/ip-driver.js';
import { Iproute2Driver } from '../../src/dataplane/iproute2.js';
import { readKernelState } from '../../src/dataplane/kernel-read.js';
import { isWeftRoute, type KernelState } from '../../src/dataplane/kernel-state.js';
import { MemoryKernel } from '../../src/dataplane/memory-kernel.js';
import { Lab } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const skip = process.getuid?.() !== 0 ? 'not root' : undefined;
if (skip) console.warn(`dataplane-driver-contract skipped: ${skip}`);

const NH = 2003173376;
/** A line ([tool, line]; each line is its own batch, so that which ones failed is known per line), or a read of everything. */
type Step = ['ip' | 'bridge', string] | ['read', string];
const STEPS: Step[] = [
  ['ip', 'link add name weft.vxlan address 02:00:0a:00:01:0b mtu 1450 type vxlan id 4096 dstport 4789 local 10.0.1.11 dev eth0 nolearning'],
  ['ip', 'link add name weft.vxlan type vxlan id 4096 dstport 4789 local 10.0.1.11 dev eth0 nolearning'], // exists
  ['ip', 'route replace 10.244.2.0/26 via 10.0.2.11 dev weft.vxlan onlink proto 249'], // device not up yet
  ['ip', 'link set dev weft.vxlan up'],
  ['ip', 'addr replace 10.244.1.0/32 dev weft.vxlan'],
  ['ip', 'neigh replace 10.0.2.11 lladdr 02:00:0a:00:02:0b dev weft.vxlan nud permanent'],
  ['ip', 'neigh replace 10.0.3.11 lladdr 02:00:0a:00:03:0b dev weft.vxlan nud permanent'],
  ['bridge', 'fdb replace 02:00:0a:00:02:0b dev weft.vxlan dst 10.0.2.11 self permanent'],
  ['bridge', 'fdb replace 02:00:0a:00:03:0b dev weft.vxlan dst 10.0.3.11 self permanent'],
  ['bridge', 'fdb replace 02:00:0a:00:03:0b dev weft.vxlan dst 10.0.3.12 self permanent'], // moves
  ['ip', 'route replace blackhole 10.244.1.0/26 proto 249'],
  ['ip', 'route replace 10.244.2.0/26 via 10.0.2.11 dev weft.vxlan onlink proto 249'],
  ['ip', 'route replace 10.244.3.0/26 via 10.0.1.12 dev eth0 proto 249'],
  ['ip', 'route replace 10.244.4.0/26 via 10.9.9.9 dev eth0 proto 249'], // gateway not on eth0
  ['ip', 'route replace 10.244.4.0/26 via 10.0.1.12 dev weft.vxlan proto 249'], // nor on weft.vxlan
  ['ip', 'route replace 10.244.4.0/26 via 10.0.1.12 dev nosuch proto 249'], // no device
  ['ip', 'route replace 10.244.4.0/26 via 10.0.1.12 onlink proto 249'], // onlink needs a device
  ['ip', `nexthop replace id ${NH} via 10.0.1.12 dev eth0 proto 249`],
  ['ip', `nexthop replace id ${NH + 1} via 10.0.1.13 dev eth0 proto 249`],
  ['ip', `route replace 10.244.5.0/26 nhid ${NH} proto 249`],
  ['ip', `route replace 10.244.6.0/26 nhid ${NH + 1} proto 249`],
  ['ip', 'route replace 10.244.7.0/26 nhid 99 proto 249'], // no such object
  ['ip', 'route replace 10.244.8.0/26 via 10.0.1.12 proto 249'], // device found by the kernel
  ['ip', 'route replace 10.244.9.0/26 dev eth0 proto 249'],
  ['ip', 'route replace 10.244.12.0/26 via 10.244.9.5 dev eth0 proto 249'], // on a device route: fine
  ['ip', 'route replace 10.244.13.0/26 via 10.244.3.5 dev eth0 proto 249'], // behind a gateway: refused
  ['ip', 'route add 10.244.10.0/26 via 10.0.1.14 dev eth0 proto static'], // someone else's
  ['ip', 'route add 10.244.10.0/26 via 10.0.1.15 dev eth0 proto static'], // exists
  ['ip', 'route replace 10.244.11.0/26 via 10.0.1.12 dev eth0 proto 249 metric 100'],
  ['ip', 'route del 10.244.10.0/26 proto 249'], // not ours: refused
  ['ip', 'route del 10.244.3.0/26 proto 249'],
  ['ip', 'route del 10.244.3.0/26 proto 249'], // gone already
  ['ip', 'route del blackhole 10.244.2.0/26 proto 249'], // wrong type
  ['ip', 'route del 10.244.11.0/26 proto 249 metric 100'],
  ['ip', 'route replace blackhole 2001:db8:1::/64 proto 249'],
  ['ip', 'route replace 2001:db8:2::/64 via fe80::12 dev eth0 proto 249'],
  ['ip', 'route replace 2001:db8:3::/64 via fe80::12 dev eth0 proto 249 metric 512'],
  ['ip', 'route del 2001:db8:3::/64 proto 249'], // no metric: the first (here the only) one
  ['ip', `nexthop del id ${NH + 1}`], // takes 10.244.6.0/26 with it, without an event
  ['ip', 'neigh del 10.0.3.11 dev weft.vxlan'],
  ['bridge', 'fdb del 02:00:0a:00:03:0b dev weft.vxlan dst 10.0.3.12'],
  ['ip', 'link set dev weft.vxlan mtu 1400'],
  ['ip', 'frobnicate'], // unknown object

  // Issue 12. IPv6 addresses, a VXLAN device over IPv6, neighbours of both families on both.
  ['ip', 'addr add fd00:9::1/64 dev eth0'],
  ['ip', 'addr add fd00:9::1/64 dev eth0'], // exists
  ['ip', 'addr add fd00:77::11/64 dev eth1'],
  ['ip', 'addr del fd00:77::99/64 dev eth1'], // not there
  ['ip', 'link add name weft.vxlan6 address 06:00:00:00:00:11 mtu 1430 type vxlan id 4096 dstport 4789 local fd00:77::11 dev eth1 nolearning'],
  ['ip', 'route replace 10.244.20.0/26 via inet6 fe80::4:aff:fe00:20b dev weft.vxlan6 proto 249'], // device not up yet
  ['ip', 'link set dev weft.vxlan6 up'],
  ['ip', 'neigh replace fe80::4:aff:fe00:20b lladdr 06:00:00:00:00:12 dev weft.vxlan6 nud permanent'],
  ['ip', 'neigh replace fe80::4:aff:fe00:20c lladdr 06:00:00:00:00:13 dev weft.vxlan6 nud permanent'],
  ['ip', 'neigh replace 10.0.4.11 lladdr 06:00:00:00:00:13 dev weft.vxlan6 nud permanent'],
  ['ip', 'neigh replace fe80::aff:fe00:20b lladdr 02:00:0a:00:02:0b dev weft.vxlan nud permanent'],
  ['bridge', 'fdb replace 06:00:00:00:00:12 dev weft.vxlan6 dst fd00:77::12 self permanent'],
  ['bridge', 'fdb replace 06:00:00:00:00:13 dev weft.vxlan6 dst fd00:77::13 self permanent'],
  // Gateways: an IPv4 route via an IPv6 one (RFC 8950), IPv6 routes via link-local and global ones.
  ['ip', 'route replace 10.244.20.0/26 via inet6 fe80::4:aff:fe00:20b dev weft.vxlan6 proto 249'],
  ['ip', 'route replace fd00:244:20::/122 via fe80::4:aff:fe00:20b dev weft.vxlan6 proto 249'],
  ['ip', 'route replace fd00:244:21::/122 via fe80::aff:fe00:20b dev weft.vxlan proto 249'], // IPv6 pods over the IPv4 underlay
  ['ip', 'route replace 10.244.21.0/26 via inet6 fd00:9::2 dev eth0 proto 249'],
  ['ip', 'route replace 10.244.22.0/26 via inet6 fd00:77::12 dev eth0 proto 249'], // not on eth0
  ['ip', 'route replace 10.244.22.0/26 via inet6 fe80::12 proto 249'], // link-local: needs a device
  ['ip', 'route replace 10.244.22.0/26 via inet6 fd00:77::12 proto 249'], // the kernel finds eth1
  ['ip', 'route replace 10.244.23.0/26 via fd00:9::2 dev eth0 proto 249'], // iproute2 wants `inet6`
  ['ip', 'route replace fd00:244:22::/122 via inet 10.0.1.12 dev eth0 proto 249'], // IPv6 takes no IPv4 gateway
  ['ip', 'route replace fd00:244:23::/122 via inet6 fd00:9::2 dev eth0 proto 249'], // a plain gateway
  ['ip', 'route replace fd00:244:24::/122 via fd00:9::1 dev eth0 proto 249'], // our own address
  ['ip', 'route replace fd00:244:25::/122 via fd00:99::2 dev eth0 proto 249'], // no route to it
  ['ip', 'route replace fd00:244:25::/122 via fd00:99::2 dev eth0 onlink proto 249'], // onlink: fine
  ['ip', 'route replace fd00:244:26::/122 via fd00:77::12 proto 249'], // the kernel finds eth1
  ['ip', 'route replace blackhole fd00:244::/122 proto 249'],
  // Multipath (ECMP), replacing single-path routes and back, both families.
  ['ip', 'route replace 10.244.30.0/26 via 10.0.1.12 dev eth0 proto 249'],
  ['ip', 'route replace 10.244.30.0/26 proto 249 nexthop via 10.0.1.12 dev eth0 nexthop via 10.0.1.13 dev eth0'],
  ['ip', 'route replace 10.244.31.0/26 proto 249 nexthop via 10.0.1.12 dev eth0 nexthop via 10.0.1.13 dev eth0'],
  ['ip', 'route replace 10.244.31.0/26 via 10.0.1.14 dev eth0 proto 249'],
  ['ip', 'route replace 10.244.32.0/26 proto 249 nexthop via 10.0.1.12 dev eth0 nexthop via 10.9.9.9 dev eth0'], // invalid gateway
  ['ip', 'route replace 10.244.32.0/26 proto 249 nexthop via 10.0.1.12 dev eth0 nexthop via 10.0.1.13 dev eth1'], // not on eth1
  ['ip', 'route replace 10.244.32.0/26 proto 249 nexthop via 10.0.1.12 dev eth0 nexthop via 10.0.1.13 dev nosuch'],
  ['ip', 'route replace 10.244.33.0/26 proto 249 nexthop via inet6 fd00:9::2 dev eth0 nexthop via inet6 fd00:77::12 dev eth1'],
  ['ip', 'route replace 10.244.34.0/26 proto 249 nexthop via 10.0.1.12 dev eth0 nexthop via inet6 fe80::4:aff:fe00:20b dev weft.vxlan6'],
  ['ip', 'route replace 10.244.35.0/26 proto 249 nexthop via 10.0.1.12 dev eth0'], // one next hop: a plain route
  ['ip', 'route replace 10.244.36.0/26 proto 249 metric 7 nexthop via 10.0.1.12 dev eth0 weight 3 nexthop via 10.0.2.11 dev weft.vxlan onlink'],
  ['ip', 'route add 10.244.36.0/26 via 10.0.1.12 dev eth0 proto 249 metric 7'], // exists
  ['ip', 'route replace fd00:244:30::/122 proto 249 nexthop via fd00:9::2 dev eth0 nexthop via fd00:77::12 dev eth1'],
  ['ip', 'route replace fd00:244:30::/122 proto 249 nexthop via fd00:9::3 dev eth0 nexthop via fd00:9::4 dev eth0'],
  ['ip', 'route replace fd00:244:31::/122 via fd00:9::2 dev eth0 proto 249'],
  ['ip', 'route replace fd00:244:31::/122 proto 249 nexthop via fd00:9::2 dev eth0 nexthop via fd00:9::3 dev eth0'],
  ['ip', 'route replace fd00:244:32::/122 proto 249 nexthop via fd00:9::2 dev eth0 nexthop via fd00:9::3 dev eth0'],
  ['ip', 'route replace fd00:244:32::/122 via fd00:9::5 dev eth0 proto 249'],
  ['ip', 'route replace fd00:244:33::/122 proto 249 nexthop via fd00:9::2 dev eth0 nexthop via fd00:9::2 dev eth0'], // twice
  ['ip', 'route replace fd00:244:33::/122 proto 249 nexthop via fd00:9::2 dev eth0 nexthop via fd00:99::2 dev eth0'], // no route
  ['ip', 'route replace fd00:244:33::/122 proto 249 nexthop via fd00:9::2 dev eth0 nexthop via inet 10.0.1.12 dev eth0'],
  ['ip', 'route replace fd00:244:34::/122 proto 249 nexthop via fe80::4:aff:fe00:20b dev weft.vxlan6 nexthop via fe80::aff:fe00:20b dev weft.vxlan'],
  ['ip', 'route replace fd00:244:35::/122 proto 249 nexthop via fd00:9::2 dev eth0'], // one next hop
  ['ip', 'route replace fd00:244:36::/122 proto 249 metric 5 nexthop via fd00:9::2 dev eth0 nexthop via fd00:77::12 dev eth1'],
  ['ip', 'route del fd00:244:31::/122 proto 249'], // a multipath route goes whole
  ['ip', 'route del 10.244.30.0/26 proto 249'],
  ['ip', 'route del blackhole fd00:244:32::/122 proto 249'], // IPv6 does not look at the type
  ['read', 'dual-stack and multipath routes'],
  // weft.vxlan6 goes down (its routes, neighbours, link-local address with it), up, and away.
  ['ip', 'link set dev weft.vxlan6 down'],
  ['read', 'weft.vxlan6 down'],
  ['ip', 'route replace fd00:244:37::/122 via fe80::4:aff:fe00:20b dev weft.vxlan6 proto 249'], // device not up
  ['ip', 'link set dev weft.vxlan6 up'],
  ['ip', 'route replace fd00:244:20::/122 via fe80::4:aff:fe00:20b dev weft.vxlan6 proto 249'],
  ['ip', 'neigh replace fe80::4:aff:fe00:20b lladdr 06:00:00:00:00:12 dev weft.vxlan6 nud permanent'],
  ['read', 'weft.vxlan6 up again'],
  ['ip', 'link del dev weft.vxlan6'],
];

/** The devices read (FDB and neighbours of the VXLAN ones). */
const VXLANS = ['weft.vxlan', 'weft.vxlan6'];
const DEVICES = [...VXLANS, 'eth0', 'eth1'];

/** What is compared of a read: parsed, without kernel-made routes and interface indexes. */
function comparable(k: KernelState): unknown {
  return {
    routes: k.routes
      .filter((r) => r.protocol !== 'kernel')
      .map((r) => ({ ...r, protocol: isWeftRoute(r) ? 'weft' : r.protocol }))
      .sort((a, b) => `${a.dst} ${a.metric}`.localeCompare(`${b.dst} ${b.metric}`)),
    links: Object.values(k.links)
      .map(({ ifindex: _ifindex, ...l }) => l)
      .sort((a, b) => a.name.localeCompare(b.name)),
    neigh: [...k.neigh].sort((a, b) => `${a.dev ?? ''} ${a.address}`.localeCompare(`${b.dev ?? ''} ${b.address}`)),
    fdb: [...k.fdb].sort((a, b) => `${a.dev ?? ''} ${a.mac}`.localeCompare(`${b.dev ?? ''} ${b.mac}`)),
    nexthops: (k.nexthops ?? []).map((n) => ({ ...n, protocol: n.protocol === '249' ? 'weft' : n.protocol })).sort((a, b) => a.id - b.id),
    connected: [...(k.connected ?? [])].sort((a, b) => `${a.dev} ${a.address}`.localeCompare(`${b.dev} ${b.address}`)),
  };
}

type Json = Record<string, unknown>;
const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const pick = (o: Json, keys: readonly string[]): Json => Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
const sortBy = (xs: Json[], key: (x: Json) => string) => [...xs].sort((a, b) => key(a).localeCompare(key(b)));

/**
 * What is compared of iproute2's JSON itself: every route but the kernel's, whole; of the devices
 * what MemoryKernel imitates (flags, MTU, MAC, kind, VXLAN parameters, addresses with family,
 * length, scope and label); neighbours, FDB entries and nexthop objects whole. Sorted where the
 * kernel's order is a hash table's.
 */
async function rawRead(d: IpDriver): Promise<unknown> {
  const [r4, r6, links, nexthops, ...entries] = await Promise.all([d.routes(4), d.routes(6), d.links(), d.nexthops(), ...VXLANS.flatMap((dev) => [d.neighbours(dev), d.fdb(dev)])]);
  const link = (l: Json): Json => {
    const info = l.linkinfo as Json | undefined;
    return {
      ...pick(l, ['ifname', 'flags', 'mtu', 'address']),
      ...(info ? { linkinfo: { info_kind: info.info_kind, ...(info.info_data ? { info_data: pick(info.info_data as Json, ['id', 'local', 'local6', 'link', 'port', 'learning']) } : {}) } } : {}),
      addr_info: list(l.addr_info).map((a) => pick(a, ['family', 'local', 'prefixlen', 'scope', 'label'])),
    };
  };
  return {
    routes: [...list(r4), ...list(r6)].filter((r) => r.protocol !== 'kernel'),
    links: sortBy(list(links).map(link), (l) => String(l.ifname)),
    nexthops: list(nexthops),
    ...Object.fromEntries(
      VXLANS.map((dev, i) => [dev, { neigh: sortBy(list(entries[2 * i]), (n) => String(n.dst)), fdb: sortBy(list(entries[2 * i + 1]), (f) => `${String(f.mac)} ${String(f.dst)}`) }]),
    ),
  };
}

interface Run {
  failed: boolean[];
  messages: string[];
  /** At each 'read' step and at the end: the parsed state and the JSON. */
  reads: { at: string; state: unknown; json: unknown }[];
  deletions: string[];
}

const PROBE_MAC = '02:00:c6:33:64:01';
const PROBE_DST = '198.51.100.1';
const PROBES = ['route 198.51.100.0/24', `fdb ${PROBE_MAC}`, `neigh ${PROBE_DST}`];

/** A deletion of something the kernel made (a device's link-local and multicast routes, multicast neighbours): not compared. */
const kernelMade = (k: string) => /^route (fe80:|ff00:)/.test(k) || /^neigh ff0/.test(k);
const key = (e: MonitorEvent) => (e.type === 'route-deleted' ? `route ${e.dst}` : e.type === 'neigh-deleted' ? `neigh ${e.address}` : e.type === 'fdb-deleted' ? `fdb ${e.mac}` : `link ${e.name}`);

describe.skipIf(skip !== undefined)('MemoryKernel keeps the kernel contract of Iproute2Driver', () => {
  let lab: Lab;
  let ns: string;
  let eth0Mac: string;
  let eth1Mac: string;

  beforeAll(async () => {
    lab = Lab.create();
    ns = await lab.createNs('contract');
    const nb = await lab.createNs('nb');
    await lab.veth(ns, 'eth0', '10.0.1.11/24', nb, 'eth0', '10.0.1.12/24');
    await lab.veth(ns, 'eth1', undefined, nb, 'eth1', undefined);
    const mac = async (dev: string) => (JSON.parse((await lab.ip(ns, '-json', 'link', 'show', 'dev', dev)).stdout) as { address: string }[])[0].address;
    eth0Mac = await mac('eth0');
    eth1Mac = await mac('eth1');
  });

  afterAll(async () => {
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  /**
   * Runs STEPS through a driver. `poke` deletes a probe route (seen by `ip monitor`) and, with
   * `fdb`, a probe FDB entry on weft.vxlan (seen by `bridge monitor`): each monitor reports in
   * order, so once both probes are seen, every deletion before them has been reported.
   */
  async function drive(d: IpDriver, poke: (fdb: boolean) => Promise<void>): Promise<Run> {
    const events: MonitorEvent[] = [];
    const failures: string[] = [];
    const mon = d.monitor(
      (e) => events.push(e),
      (why) => failures.push(why),
    );
    try {
      // The monitor is listening once a probe deletion comes through (`ip monitor` says nothing when it is ready).
      await waitFor(
        async () => {
          await poke(false);
          return events.some((e) => e.type === 'route-deleted' && e.dst === '198.51.100.0/24');
        },
        { what: 'the monitor reporting a probe deletion', timeoutMs: 10_000, intervalMs: 20 },
      );
      events.length = 0;
      const streams = { ip: d.batch('ip'), bridge: d.batch('bridge') };
      const failed: boolean[] = [];
      const messages: string[] = [];
      const reads: Run['reads'] = [];
      const read = async (at: string) => reads.push({ at, state: comparable(await readKernelState(d, VXLANS, DEVICES)), json: await rawRead(d) });
      for (const [tool, line] of STEPS) {
        if (tool === 'read') {
          await read(line);
          continue;
        }
        try {
          const r = await streams[tool].run([line]);
          failed.push(r.errors.length > 0);
          messages.push(r.errors[0]?.message ?? '');
        } catch (e) {
          // iproute2 could not parse it and exited (even with -force); the next batch gets a new process.
          failed.push(true);
          messages.push(`died: ${(e as Error).message.replace(/ -n \S+/, '')}`);
        }
      }
      await read('the end');
      await waitFor(
        async () => {
          await poke(true);
          return events.some((e) => e.type === 'route-deleted' && e.dst === '198.51.100.0/24') && events.some((e) => e.type === 'fdb-deleted' && e.mac === PROBE_MAC);
        },
        { what: 'both probes reported after the steps', timeoutMs: 10_000, intervalMs: 20 },
      );
      await Promise.all([streams.ip.close(), streams.bridge.close()]);
      // Sorted: `ip monitor` and `bridge monitor` are two processes, their relative order is not kept.
      const deletions = events
        .map(key)
        .filter((k) => !PROBES.includes(k) && !kernelMade(k))
        .sort();
      expect(failures).toEqual([]);
      return { failed, messages, reads, deletions };
    } finally {
      mon.stop();
    }
  }

  it('the same lines fail, the reads parse the same, the same deletions are reported', async () => {
    const real = new Iproute2Driver({ netns: ns });
    const realRun = await drive(real, async (fdb) => {
      // (A route with a protocol: the monitor's line for a proto boot route has no "proto".)
      await lab.ip(ns, 'route', 'replace', '198.51.100.0/24', 'dev', 'eth0', 'proto', 'static');
      await lab.ip(ns, 'route', 'del', '198.51.100.0/24', 'dev', 'eth0', 'proto', 'static');
      if (!fdb) return;
      const bridge = (...a: string[]) => lab.exec(ns, 'bridge', ['fdb', ...a, PROBE_MAC, 'dev', 'weft.vxlan', 'dst', PROBE_DST]);
      await bridge('replace');
      await bridge('del');
    });

    const mem = new MemoryKernel();
    mem.addLink({ name: 'eth0', mac: eth0Mac, kind: 'veth', addrs: ['10.0.1.11/24'] });
    mem.addLink({ name: 'eth1', mac: eth1Mac, kind: 'veth' });
    const probe = mem.batch('bridge');
    const memRun = await drive(mem, async (fdb) => {
      mem.addRoute({ dst: '198.51.100.0/24', dev: 'eth0', protocol: 'static' });
      mem.deleteRoute('198.51.100.0/24');
      if (fdb) await probe.run([`fdb replace ${PROBE_MAC} dev weft.vxlan dst ${PROBE_DST}`, `fdb del ${PROBE_MAC} dev weft.vxlan dst ${PROBE_DST}`]);
    });

    const lines = STEPS.filter((s) => s[0] !== 'read');
    const table = lines.map(([tool, line], i) => `${realRun.failed[i] ? 'FAIL' : 'ok  '} ${memRun.failed[i] ? 'FAIL' : 'ok  '} ${tool} ${line}  [${realRun.messages[i]} | ${memRun.messages[i]}]`);
    expect(memRun.failed, table.join('\n')).toEqual(realRun.failed);
    expect(memRun.messages, table.join('\n')).toEqual(realRun.messages);
    expect(memRun.reads.map((r) => r.at)).toEqual(realRun.reads.map((r) => r.at));
    for (const [i, r] of realRun.reads.entries()) {
      expect(memRun.reads[i].json, `JSON read at: ${r.at}`).toEqual(r.json);
      expect(memRun.reads[i].state, `parsed read at: ${r.at}`).toEqual(r.state);
    }
    expect(memRun.deletions).toEqual(realRun.deletions);
    // The test did exercise both outcomes and the deletions.
    expect(realRun.failed.filter(Boolean).length).toBeGreaterThanOrEqual(30);
    expect(realRun.deletions.length).toBeGreaterThanOrEqual(8);
  });
});
