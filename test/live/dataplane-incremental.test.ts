// The data plane's incremental path on a real kernel: 120k direct routes handed over with
// updateRoutes in slices while batches are being written (passes of at most 50k prefixes, the next
// one planned during the previous one's write) all reach the kernel without a resync; changing and
// removing some of them writes just those lines; withdraw removes everything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dataplane, type BatchRecord, type RemoteRoute } from '../../src/dataplane/index.js';
import { parsePrefix, v4Prefix, type Prefix } from '../../src/lib/prefix.js';
import { Lab } from '../helpers/netns.js';

const skip = process.getuid?.() !== 0 ? 'not root' : undefined;
if (skip) console.warn(`dataplane-incremental skipped: ${skip}`);

const K = 120_000;
const prefixAt = (i: number): Prefix => v4Prefix(((16 << 24) | (i << 8)) >>> 0, 24);
// One route object for many prefixes: updateRoutes reads the map key, not route.prefix.
const viaB: RemoteRoute = { prefix: prefixAt(0), node: { name: 'host-b', underlayAddress: '10.0.1.12' }, shape: 'direct', reason: 'test' };
const viaC: RemoteRoute = { ...viaB, node: { name: 'host-c', underlayAddress: '10.0.1.13' } };

describe.skipIf(skip !== undefined)('data plane: incremental route changes', () => {
  let lab: Lab;
  let ns: string;
  let dp: Dataplane;
  const batches: BatchRecord[] = [];

  // (With the proto filter, ip leaves "proto weft" out of each line.) Routes written by incremental
  // passes name a nexthop object ("nhid N via G dev D"): listed here without the "nhid N".
  const listed = async () => (await lab.ip(ns, 'route', 'show', 'proto', '249')).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const weftRoutes = async () => (await listed()).map((l) => l.replace(/ nhid \d+/, ''));

  beforeAll(async () => {
    lab = Lab.create();
    ns = await lab.createNs('host');
    const nb = await lab.createNs('nbr');
    await lab.veth(ns, 'eth0', '10.0.1.11/24', nb, 'eth0', '10.0.1.12/24');
    dp = new Dataplane({ netns: ns, resyncIntervalMs: 0, resyncAfterPauseMs: 60_000 });
    dp.on('batch', (b) => batches.push(b));
    dp.setDesired({ localBlocks: [parsePrefix('10.244.1.0/26')], routes: [], underlayDevice: 'eth0' });
    await dp.start();
  });

  afterAll(async () => {
    await dp?.stop({ withdraw: true });
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it('every route of slices handed over during the writes reaches the kernel, each written once', async () => {
    const before = batches.length;
    for (let s = 0; s < K; s += 15_000) {
      const slice: [Prefix, RemoteRoute][] = [];
      for (let i = s; i < Math.min(K, s + 15_000); i++) slice.push([prefixAt(i), viaB]);
      dp.updateRoutes(slice);
      await new Promise((r) => setTimeout(r, 15));
    }
    await dp.flush();
    const mine = batches.slice(before);
    expect(mine.every((b) => !b.full && b.errors.length === 0 && b.lines.length <= 50_000)).toBe(true);
    expect(mine.reduce((n, b) => n + b.lines.length, 0)).toBe(K);
    expect(dp.stats.fullReads).toBe(1);
    const routes = await weftRoutes();
    expect(routes.filter((r) => /^1[67]\./.test(r))).toHaveLength(K); // 16.0.0.0/24 up to 17.212.191.0/24
    expect(routes).toContain('17.212.191.0/24 via 10.0.1.12 dev eth0');
    // Every one of them through one nexthop object of weft's for 10.0.1.12 on eth0.
    const nh = JSON.parse((await lab.ip(ns, '-json', 'nexthop', 'show')).stdout) as { id: number; gateway?: string; dev?: string; protocol?: string }[];
    const ours = nh.filter((n) => n.protocol === 'weft');
    expect(ours.map((n) => [n.gateway, n.dev])).toEqual([['10.0.1.12', 'eth0']]);
    expect((await listed()).filter((r) => r.includes(` nhid ${ours[0].id} via 10.0.1.12 dev eth0`))).toHaveLength(K);
  });

  it('changing and removing a few writes just those lines', async () => {
    const before = batches.length;
    dp.updateRoutes([
      [prefixAt(5), viaC],
      [prefixAt(6), undefined],
      [prefixAt(7), viaB], // unchanged
    ]);
    await dp.flush();
    const lines = batches.slice(before).flatMap((b) => b.lines.map((l) => l.line));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^route replace 16\.0\.5\.0\/24 nhid \d+ proto 249$/);
    expect(lines[1]).toBe('route del 16.0.6.0/24 proto 249');
    const routes = await weftRoutes();
    expect(routes).toContain('16.0.5.0/24 via 10.0.1.13 dev eth0');
    expect(routes.some((r) => r.startsWith('16.0.6.0/24'))).toBe(false);
    expect(dp.desiredRoutes().size).toBe(K - 1);
  });

  it('a full resync afterwards finds nothing to change', async () => {
    const before = batches.length;
    await dp.resync();
    expect(batches.length).toBe(before);
  });
});
