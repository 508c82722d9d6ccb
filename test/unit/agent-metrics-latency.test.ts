// Update-to-kernel latency (observability/kernel-latency.ts) against the real Dataplane on the
// in-memory kernel: an UPDATE is observed once the data plane reports the slice that carried its
// prefixes written ('applied' with the queue marks, dataplane/queue-marks.ts), never before, and
// once per UPDATE; IPv6 prefixes wait for the IPv6 mark.
import { afterEach, describe, expect, it } from 'vitest';
import { KernelLatency } from '../../src/agent/observability/kernel-latency.js';
import { Dataplane } from '../../src/dataplane/dataplane.js';
import { MemoryKernel } from '../../src/dataplane/memory-kernel.js';
import type { RemoteRoute } from '../../src/dataplane/model.js';
import { MarkedQueue } from '../../src/dataplane/queue-marks.js';
import { parsePrefix, type Prefix } from '../../src/lib/prefix.js';

const P = (t: string): Prefix => parsePrefix(t);
const via = (n: number): RemoteRoute => ({ prefix: P('0.0.0.0/0'), node: { name: `host-${n}`, underlayAddress: `10.0.1.${n}` }, shape: 'direct', reason: 'test' });

function tracker() {
  let now = 0;
  const seen: number[] = [];
  const batches: [number, boolean][] = [];
  const t = new KernelLatency(() => now, (s) => seen.push(s), (s, full) => batches.push([s, full]));
  return { t, seen, batches, tick: (ms: number) => (now += ms) };
}

describe('MarkedQueue', () => {
  it('counts pushed and taken per family; clear takes everything', () => {
    const q = new MarkedQueue();
    q.push(P('10.0.0.0/24'));
    q.push(P('2001:db8::/64'));
    q.push(P('10.0.1.0/24'));
    expect(q.pushedMarks()).toEqual({ v4: 2, v6: 1 });
    q.take(2); // IPv4 first
    expect(q.takenMarks()).toEqual({ v4: 2, v6: 0 });
    q.clear();
    expect(q.takenMarks()).toEqual({ v4: 2, v6: 1 });
  });
});

describe('KernelLatency', () => {
  it('observes each UPDATE of a group once both family marks are reached; dropped hand-offs are forgotten', () => {
    const { t, seen, tick } = tracker();
    t.arrived();
    tick(5);
    t.arrived();
    t.handedOff({ v4: 3, v6: 1 });
    t.arrived();
    t.handedOff({ v4: 5, v6: 1 });
    tick(10);
    t.applied({ v4: 5, v6: 0 }); // the IPv6 prefix of both groups is not written yet
    expect(seen).toEqual([]);
    t.applied({ v4: 3, v6: 1 });
    expect(seen).toEqual([0.015, 0.01]);
    tick(10);
    t.applied({ v4: 5, v6: 1 });
    expect(seen).toEqual([0.015, 0.01, 0.02]);
    expect(t.pending).toBe(0);
    t.arrived();
    t.dropped();
    t.handedOff({ v4: 9, v6: 9 });
    t.applied({ v4: 9, v6: 9 });
    expect(seen).toHaveLength(3);
  });
});

describe('update-to-kernel with the Dataplane on the in-memory kernel', () => {
  let dp: Dataplane | undefined;
  afterEach(async () => {
    await dp?.stop();
    dp = undefined;
  });

  it("the 'applied' marks follow the queue: observed after the routes are in the kernel, once per UPDATE", async () => {
    const k = new MemoryKernel();
    k.addLink({ name: 'eth0', mtu: 1500, addrs: ['10.0.1.11/24'], mac: '02:00:00:00:00:11' });
    k.addRoute({ dst: '10.0.1.0/24', dev: 'eth0', protocol: 'kernel' });
    dp = new Dataplane({ resyncIntervalMs: 0 }, { driver: k });
    const { t, seen, batches } = tracker();
    dp.on('applied', (m) => t.applied(m));
    dp.on('batch', (b) => t.batch(b.ms, b.full));
    dp.setDesired({ localBlocks: [], underlayDevice: 'eth0', routes: [] });
    await dp.start();
    expect(dp.settled).toBe(true);

    // Two UPDATEs handed off in one flush, a third in the next.
    t.arrived();
    t.arrived();
    dp.updateRoutes([[P('10.244.4.0/26'), via(12)], [P('10.244.5.0/26'), via(12)]]);
    t.handedOff(dp.queuedMarks());
    t.arrived();
    dp.updateRoutes([[P('10.244.6.0/26'), via(13)]]);
    t.handedOff(dp.queuedMarks());
    expect(dp.settled).toBe(false);
    expect(seen).toEqual([]);
    await dp.flush();
    expect(dp.settled).toBe(true);
    expect(k.routeTable().filter((r) => r.includes('proto weft'))).toHaveLength(3);
    expect(seen).toHaveLength(3);
    expect(t.pending).toBe(0);
    expect(batches.some(([, full]) => !full)).toBe(true);
    // A change that writes nothing (the route is already so) still completes its UPDATE.
    t.arrived();
    dp.updateRoutes([[P('10.244.6.0/26'), via(13)]]);
    t.handedOff(dp.queuedMarks());
    await dp.flush();
    expect(seen).toHaveLength(4);
  });
});
