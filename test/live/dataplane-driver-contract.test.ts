// The in-memory kernel keeps the real one's contract: the same batch lines (the kinds weft
// writes, good and bad, IPv4 and IPv6) go to the real kernel through Iproute2Driver in a fresh
// namespace and to a MemoryKernel set up alike; which lines fail, what the reads parse to
// (routes, devices, neighbours, FDB, nexthop objects) and which deletions the monitors report
// must be the same. Kernel-made routes (proto kernel) and interface indexes are left out.
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
/** [tool, line]; each line is its own batch, so that which ones failed is known per line. */
const STEPS: ['ip' | 'bridge', string][] = [
  ['ip', 'link add name weft.vxlan address 02:00:0a:00:01:0b mtu 1450 type vxlan id 4096 dstport 4789 local 10.0.1.11 dev eth0 nolearning'],
  ['ip', 'link add name weft.vxlan type vxlan id 4096 dstport 4789 local 10.0.1.11 dev eth0 nolearning'], // exists
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
  ['ip', `nexthop replace id ${NH} via 10.0.1.12 dev eth0 proto 249`],
  ['ip', `nexthop replace id ${NH + 1} via 10.0.1.13 dev eth0 proto 249`],
  ['ip', `route replace 10.244.5.0/26 nhid ${NH} proto 249`],
  ['ip', `route replace 10.244.6.0/26 nhid ${NH + 1} proto 249`],
  ['ip', 'route replace 10.244.7.0/26 nhid 99 proto 249'], // no such object
  ['ip', 'route replace 10.244.8.0/26 via 10.0.1.12 proto 249'], // device found by the kernel
  ['ip', 'route replace 10.244.9.0/26 dev eth0 proto 249'],
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
];

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
    neigh: [...k.neigh].sort((a, b) => a.address.localeCompare(b.address)),
    fdb: [...k.fdb].sort((a, b) => a.mac.localeCompare(b.mac)),
    nexthops: (k.nexthops ?? []).map((n) => ({ ...n, protocol: n.protocol === '249' ? 'weft' : n.protocol })).sort((a, b) => a.id - b.id),
  };
}

interface Run {
  failed: boolean[];
  messages: string[];
  state: unknown;
  deletions: string[];
}

const PROBE_MAC = '02:00:c6:33:64:01';
const PROBE_DST = '198.51.100.1';
const PROBES = ['route 198.51.100.0/24', `fdb ${PROBE_MAC}`, `neigh ${PROBE_DST}`];

const key = (e: MonitorEvent) => (e.type === 'route-deleted' ? `route ${e.dst}` : e.type === 'neigh-deleted' ? `neigh ${e.address}` : e.type === 'fdb-deleted' ? `fdb ${e.mac}` : `link ${e.name}`);

describe.skipIf(skip !== undefined)('MemoryKernel keeps the kernel contract of Iproute2Driver', () => {
  let lab: Lab;
  let ns: string;
  let eth0Mac: string;

  beforeAll(async () => {
    lab = Lab.create();
    ns = await lab.createNs('contract');
    const nb = await lab.createNs('nb');
    await lab.veth(ns, 'eth0', '10.0.1.11/24', nb, 'eth0', '10.0.1.12/24');
    eth0Mac = (JSON.parse((await lab.ip(ns, '-json', 'link', 'show', 'dev', 'eth0')).stdout) as { address: string }[])[0].address;
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
      for (const [tool, line] of STEPS) {
        const r = await streams[tool].run([line]);
        failed.push(r.errors.length > 0);
        messages.push(r.errors[0]?.message ?? '');
      }
      const state = comparable(await readKernelState(d, 'weft.vxlan', ['weft.vxlan', 'eth0']));
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
        .filter((k) => !PROBES.includes(k))
        .sort();
      expect(failures).toEqual([]);
      return { failed, messages, state, deletions };
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
    const probe = mem.batch('bridge');
    const memRun = await drive(mem, async (fdb) => {
      mem.addRoute({ dst: '198.51.100.0/24', dev: 'eth0', protocol: 'static' });
      mem.deleteRoute('198.51.100.0/24');
      if (fdb) await probe.run([`fdb replace ${PROBE_MAC} dev weft.vxlan dst ${PROBE_DST}`, `fdb del ${PROBE_MAC} dev weft.vxlan dst ${PROBE_DST}`]);
    });

    const table = STEPS.map(([tool, line], i) => `${realRun.failed[i] ? 'FAIL' : 'ok  '} ${memRun.failed[i] ? 'FAIL' : 'ok  '} ${tool} ${line}  [${realRun.messages[i]} | ${memRun.messages[i]}]`);
    expect(memRun.failed, table.join('\n')).toEqual(realRun.failed);
    expect(memRun.state).toEqual(realRun.state);
    expect(memRun.deletions).toEqual(realRun.deletions);
    // The test did exercise both outcomes and the deletions.
    expect(realRun.failed.filter(Boolean).length).toBeGreaterThanOrEqual(10);
    expect(realRun.deletions.length).toBeGreaterThanOrEqual(4);
  });
});
