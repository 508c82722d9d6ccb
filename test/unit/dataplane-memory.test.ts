// The whole Dataplane in-process on the in-memory kernel (MemoryKernel behind the IpDriver seam):
// no namespaces, no root, no processes. Start adopts what is there, desired-route changes write
// just their lines, a route deleted behind weft's back is written again, a resync with nothing
// changed writes nothing, large batches pause the monitors, a failed line makes the next pass read
// the kernel, and withdraw leaves only the foreign routes.
import { afterEach, describe, expect, it } from 'vitest';
import { Dataplane, type BatchRecord, type DataplaneOptions } from '../../src/dataplane/dataplane.js';
import { MemoryKernel } from '../../src/dataplane/memory-kernel.js';
import type { RemoteRoute } from '../../src/dataplane/model.js';
import { waitFor } from '../../src/lab/wait.js';
import { parsePrefix, type Prefix } from '../../src/lib/prefix.js';

const P = (t: string): Prefix => parsePrefix(t);
const via = (n: number): RemoteRoute => ({ prefix: P('0.0.0.0/0'), node: { name: `host-${n}`, underlayAddress: `10.0.1.${n}` }, shape: 'direct', reason: 'test' });
const route = (prefix: string, n: number): RemoteRoute => ({ ...via(n), prefix: P(prefix) });
const LOCAL = '10.244.1.0/26';

/** A host with eth0 10.0.1.11/24, weft's routes of an earlier run, a foreign route and a boot route. */
function host(): MemoryKernel {
  const k = new MemoryKernel();
  k.addLink({ name: 'eth0', mtu: 1500, addrs: ['10.0.1.11/24'], mac: '02:00:00:00:00:11' });
  k.addRoute({ dst: '10.0.1.0/24', dev: 'eth0', protocol: 'kernel' });
  k.addRoute({ dst: LOCAL, type: 'blackhole', protocol: 'weft' });
  k.addRoute({ dst: '10.244.2.0/26', gateway: '10.0.1.12', dev: 'eth0', protocol: 'weft' });
  k.addRoute({ dst: '10.244.9.0/26', gateway: '10.0.1.12', dev: 'eth0', protocol: 'weft' });
  k.addRoute({ dst: '10.244.5.0/26', gateway: '10.0.1.14', dev: 'eth0', protocol: 'bird' });
  k.addRoute({ dst: '192.0.2.0/24', gateway: '10.0.1.1', dev: 'eth0' });
  return k;
}

describe('Dataplane on the in-memory kernel', () => {
  let dp: Dataplane | undefined;
  afterEach(async () => {
    await dp?.stop();
    dp = undefined;
  });

  async function started(k: MemoryKernel, opts: DataplaneOptions = {}) {
    const batches: BatchRecord[] = [];
    const errors: string[] = [];
    dp = new Dataplane({ resyncIntervalMs: 0, ...opts }, { driver: k });
    dp.on('batch', (b) => batches.push(b));
    dp.on('error', (e) => errors.push(e.message));
    dp.setDesired({ localBlocks: [P(LOCAL)], underlayDevice: 'eth0', routes: [route('10.244.2.0/26', 12), route('10.244.3.0/26', 13), route('10.244.5.0/26', 12)] });
    await dp.start();
    return { dp, batches, errors };
  }
  const linesSince = (k: MemoryKernel, n: number) => k.written.slice(n).map((w) => `${w.tool} ${w.line}`);

  it('start adopts what is already right: writes only the missing route and removes the stale one', async () => {
    const k = host();
    const { dp, errors } = await started(k);
    expect(linesSince(k, 0)).toEqual(['ip route replace 10.244.3.0/26 via 10.0.1.13 dev eth0 proto 249', 'ip route del 10.244.9.0/26 proto 249']);
    expect(errors).toEqual([]);
    expect(dp.stats.fullReads).toBe(1);
    expect(dp.stats.problems).toEqual(['10.244.5.0/26: a proto bird route is already there; weft leaves it alone']);
    expect(k.routeTable()).toEqual([
      '10.0.1.0/24 dev eth0 proto kernel',
      '10.244.2.0/26 via 10.0.1.12 dev eth0 proto weft',
      '10.244.3.0/26 via 10.0.1.13 dev eth0 proto weft',
      '10.244.5.0/26 via 10.0.1.14 dev eth0 proto bird',
      '192.0.2.0/24 via 10.0.1.1 dev eth0',
      `blackhole ${LOCAL} proto weft`,
    ]);
    // Our own deletion came back through the monitor and was recognised as ours: nothing more ran.
    await dp.flush();
    expect(k.written).toHaveLength(2);
    expect(k.monitoring).toBe(1);
  });

  it('desired-route changes write just their lines, direct routes on one nexthop object', async () => {
    const k = host();
    const { dp } = await started(k);
    const n = k.written.length;
    dp.updateRoutes([
      [P('10.244.4.0/26'), via(12)],
      [P('10.244.3.0/26'), via(12)],
      [P('10.244.2.0/26'), undefined],
      [P('10.244.7.0/26'), via(99)], // 10.0.1.99 is on eth0's subnet too
    ]);
    await dp.flush();
    const lines = linesSince(k, n);
    // The objects first (acknowledged), then the routes on both streams.
    expect(lines.slice(0, 2).sort()).toEqual(['ip nexthop replace id 2003173376 via 10.0.1.12 dev eth0 proto 249', 'ip nexthop replace id 2003173377 via 10.0.1.99 dev eth0 proto 249']);
    expect(lines.slice(2).sort()).toEqual([
      'ip route del 10.244.2.0/26 proto 249',
      'ip route replace 10.244.3.0/26 nhid 2003173376 proto 249',
      'ip route replace 10.244.4.0/26 nhid 2003173376 proto 249',
      'ip route replace 10.244.7.0/26 nhid 2003173377 proto 249',
    ]);
    expect(k.routeTable().filter((r) => r.includes('proto weft'))).toEqual([
      '10.244.3.0/26 nhid 2003173376 via 10.0.1.12 dev eth0 proto weft',
      '10.244.4.0/26 nhid 2003173376 via 10.0.1.12 dev eth0 proto weft',
      '10.244.7.0/26 nhid 2003173377 via 10.0.1.99 dev eth0 proto weft',
      `blackhole ${LOCAL} proto weft`,
    ]);
    expect(dp.stats.fullReads).toBe(1);
    // The same again: nothing to write.
    const m = k.written.length;
    dp.updateRoutes([[P('10.244.4.0/26'), via(12)]]);
    await dp.flush();
    expect(k.written.length).toBe(m);
  });

  it('a route deleted behind its back is written again; a deleted local blackhole too (full plan)', async () => {
    const k = host();
    const { dp, batches } = await started(k);
    dp.updateRoutes([[P('10.244.4.0/26'), via(12)]]);
    await dp.flush();
    const n = k.written.length;
    const rewritten = new Promise((r) => dp.once('batch', r));
    expect(k.deleteRoute('10.244.4.0/26')).toBe(true);
    await rewritten;
    await dp.flush();
    expect(linesSince(k, n)).toEqual(['ip route replace 10.244.4.0/26 nhid 2003173376 proto 249']);
    expect(batches.at(-1)?.full).toBe(false);
    expect(k.route('10.244.4.0/26')?.protocol).toBe('weft');

    const reads = dp.stats.fullReads;
    const m = k.written.length;
    const again = new Promise((r) => dp.once('batch', r));
    k.deleteRoute(LOCAL);
    await again;
    await dp.flush();
    expect(linesSince(k, m)).toEqual([`ip route replace blackhole ${LOCAL} proto 249`]);
    // The streamed resync found a route missing; the full plan after it repaired it.
    expect(dp.stats.fullReads).toBe(reads + 1);
    expect(k.route(LOCAL)?.type).toBe('blackhole');
  });

  it('a resync with nothing changed writes nothing (streamed, no full read)', async () => {
    const k = host();
    const { dp } = await started(k);
    dp.updateRoutes([[P('10.244.4.0/26'), via(12)]]);
    await dp.flush();
    const n = k.written.length;
    const { fullReads, verifies } = dp.stats;
    await dp.resync();
    await dp.resync();
    expect(k.written.length).toBe(n);
    expect(dp.stats.verifies).toBe(verifies + 2);
    expect(dp.stats.fullReads).toBe(fullReads);
  });

  it('a resync repairs a route changed behind its back, per prefix', async () => {
    const k = host();
    const { dp } = await started(k);
    const n = k.written.length;
    // Someone points our route elsewhere (no event: a replace is no deletion).
    k.addRoute({ dst: '10.244.3.0/26', gateway: '10.0.1.50', dev: 'eth0', protocol: 'weft' });
    await dp.resync();
    // Repaired by an incremental pass: a direct route on a nexthop object.
    expect(linesSince(k, n)).toEqual(['ip nexthop replace id 2003173376 via 10.0.1.13 dev eth0 proto 249', 'ip route replace 10.244.3.0/26 nhid 2003173376 proto 249']);
    expect(dp.stats.fullReads).toBe(1);
    expect(k.route('10.244.3.0/26')?.gateway).toBe('10.0.1.13');
  });

  it('large batches are written with the monitors paused; they come back, and a resync follows', async () => {
    const k = host();
    const { dp } = await started(k, { monitorPauseLines: 5, resyncAfterPauseMs: 1 });
    const during: number[] = [];
    dp.on('batch', () => during.push(k.monitoring));
    const verifies = dp.stats.verifies;
    dp.updateRoutes(Array.from({ length: 8 }, (_, i) => [P(`10.250.${i}.0/24`), via(12)] as const));
    await dp.flush();
    expect(during).toEqual([0]);
    expect(k.monitoring).toBe(1);
    await waitFor(() => dp.stats.verifies > verifies, { what: 'the resync after the paused batch', timeoutMs: 5000 });
    // A small change afterwards: the monitors stay on.
    during.length = 0;
    dp.updateRoutes([[P('10.250.9.0/24'), via(12)]]);
    await dp.flush();
    expect(during).toEqual([1]);
  });

  it('a failed line drops the cache: the next change is planned against a fresh read', async () => {
    const k = host();
    const { dp, errors } = await started(k);
    k.refuse(/10\.244\.6\.0/, 'Error: refused by the test.');
    dp.updateRoutes([[P('10.244.6.0/26'), via(12)]]);
    await dp.flush();
    expect(errors).toEqual(['1 of 1 lines failed; first: "route replace 10.244.6.0/26 nhid 2003173376 proto 249": Error: refused by the test.']);
    expect(dp.stats.lineErrors).toBe(1);
    k.clearRefusals();
    const reads = dp.stats.fullReads;
    dp.updateRoutes([[P('10.244.8.0/26'), via(12)]]);
    await dp.flush();
    expect(dp.stats.fullReads).toBe(reads + 1);
    // The full plan wrote both (plain `via` form: full plans do not use nexthop objects).
    expect(k.route('10.244.6.0/26')?.gateway).toBe('10.0.1.12');
    expect(k.route('10.244.8.0/26')?.gateway).toBe('10.0.1.12');
  });

  it('IPv6: a local block and a route (metric 1024 in the kernel) stay put through resyncs and a restart', async () => {
    const k = host();
    k.addLink({ name: 'eth1', addrs: [] });
    const v6 = { localBlocks: [P('2001:db8:1::/64')], underlayDevice: 'eth1', routes: [{ ...route('2001:db8:2::/64', 12), node: { name: 'h6', underlayAddress: 'fe80::12' } }] };
    const one = new Dataplane({ resyncIntervalMs: 0 }, { driver: k });
    one.setDesired(v6);
    await one.start();
    expect(k.routeTable().filter((r) => r.includes('2001:db8'))).toEqual(['2001:db8:2::/64 via fe80::12 dev eth1 proto weft', 'blackhole 2001:db8:1::/64 dev lo proto weft']);
    const n = k.written.length;
    await one.resync();
    await one.resync();
    expect(linesSince(k, n)).toEqual([]);
    expect(one.stats.fullReads).toBe(1);
    await one.stop();
    // A restart adopts both: nothing written.
    dp = new Dataplane({ resyncIntervalMs: 0 }, { driver: k });
    dp.setDesired(v6);
    await dp.start();
    expect(linesSince(k, n)).toEqual([]);
    expect(k.routeTable().filter((r) => r.includes('2001:db8'))).toHaveLength(2);
  });

  it('stop({withdraw}) removes every weft route and nexthop object, and nothing else', async () => {
    const k = host();
    const { dp } = await started(k);
    dp.updateRoutes([[P('10.244.4.0/26'), via(12)]]);
    await dp.flush();
    await dp.stop({ withdraw: true });
    expect(k.routeTable()).toEqual(['10.0.1.0/24 dev eth0 proto kernel', '10.244.5.0/26 via 10.0.1.14 dev eth0 proto bird', '192.0.2.0/24 via 10.0.1.1 dev eth0']);
    expect(k.written.at(-1)?.line).toBe('nexthop del id 2003173376');
    expect(await k.nexthops()).toEqual([]);
    expect(k.monitoring).toBe(0);
  });
});
