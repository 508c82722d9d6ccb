// The data plane on a real kernel, in one namespace: blackhole for a local block, a direct route via
// a neighbour, stale weft routes removed while a foreign route of the same shape stays, drift
// repaired through ip monitor, IPv6 routes left alone by resyncs, withdraw on stop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dataplane, type BatchRecord, type DesiredState } from '../../src/dataplane/index.js';
import { parsePrefix } from '../../src/lib/prefix.js';
import { Lab } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const skip = process.getuid?.() !== 0 ? 'not root' : undefined;
if (skip) console.warn(`dataplane-routes skipped: ${skip}`);

interface Route {
  dst: string;
  type?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
}

describe.skipIf(skip !== undefined)('data plane: routes in a namespace', () => {
  let lab: Lab;
  let ns: string;
  let dp: Dataplane;
  const batches: BatchRecord[] = [];

  const routes = async (): Promise<Route[]> => JSON.parse((await lab.ip(ns, '-json', 'route', 'show', 'table', 'main')).stdout) as Route[];
  const find = async (dst: string) => (await routes()).find((r) => r.dst === dst);

  const desired = (extra: Partial<DesiredState> = {}): DesiredState => ({
    localBlocks: [parsePrefix('10.244.1.0/26')],
    underlayDevice: 'eth0',
    routes: [{ prefix: parsePrefix('10.244.7.0/26'), node: { name: 'host-b', underlayAddress: '10.0.1.12' }, shape: 'direct', reason: 'test' }],
    ...extra,
  });

  beforeAll(async () => {
    lab = Lab.create();
    ns = await lab.createNs('host');
    const nb = await lab.createNs('nbr');
    await lab.veth(ns, 'eth0', '10.0.1.11/24', nb, 'eth0', '10.0.1.12/24');
    // Left over from an earlier run (proto weft), and someone else's route with the same shape.
    await lab.ip(ns, 'route', 'add', '10.244.9.0/26', 'via', '10.0.1.12', 'proto', '249');
    await lab.ip(ns, 'route', 'add', '10.244.8.0/26', 'via', '10.0.1.12', 'proto', 'static');
    dp = new Dataplane({ netns: ns, resyncIntervalMs: 0 });
    dp.on('batch', (b) => batches.push(b));
    dp.setDesired(desired());
    await dp.start();
  });

  afterAll(async () => {
    await dp?.stop();
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it('installs the blackhole and the direct route with proto weft', async () => {
    expect(await find('10.244.1.0/26')).toMatchObject({ type: 'blackhole', protocol: 'weft' });
    expect(await find('10.244.7.0/26')).toMatchObject({ gateway: '10.0.1.12', dev: 'eth0', protocol: 'weft' });
    const get = (await lab.ip(ns, 'route', 'get', '10.244.7.9')).stdout;
    expect(get).toContain('via 10.0.1.12 dev eth0');
  });

  it('removed the stale weft route and left the foreign one alone', async () => {
    expect(await find('10.244.9.0/26')).toBeUndefined();
    expect(await find('10.244.8.0/26')).toMatchObject({ gateway: '10.0.1.12', protocol: 'static' });
    const first = batches[0].lines.map((l) => l.line);
    expect(first.at(-1)).toBe('route del 10.244.9.0/26 proto 249'); // deletes come last
    expect(first.some((l) => l.includes('10.244.8.0'))).toBe(false);
  });

  it('a desired prefix held by a foreign route is reported, not overwritten', async () => {
    dp.setDesired(desired({ localBlocks: [parsePrefix('10.244.1.0/26'), parsePrefix('10.244.8.0/26')] }));
    await dp.flush();
    expect(dp.stats.problems).toEqual(['10.244.8.0/26: a proto static route is already there; weft leaves it alone']);
    expect(await find('10.244.8.0/26')).toMatchObject({ protocol: 'static' });
    dp.setDesired(desired());
    await dp.flush();
  });

  it('a route deleted by hand comes back within 1 s', async () => {
    await lab.ip(ns, 'route', 'del', '10.244.7.0/26');
    await waitFor(() => find('10.244.7.0/26'), { what: 'route 10.244.7.0/26 restored', timeoutMs: 1000, intervalMs: 20 });
    await lab.ip(ns, 'route', 'del', 'blackhole', '10.244.1.0/26');
    await waitFor(() => find('10.244.1.0/26'), { what: 'blackhole restored', timeoutMs: 1000, intervalMs: 20 });
  });

  it('a burst of changes becomes one batch', async () => {
    const before = batches.length;
    for (let i = 0; i < 50; i++) {
      dp.setDesired(desired({ localBlocks: Array.from({ length: i + 1 }, (_, j) => parsePrefix(`10.245.${j}.0/24`)) }));
    }
    await dp.flush();
    expect(batches.length - before).toBe(1);
    expect((await routes()).filter((r) => r.dst.startsWith('10.245.'))).toHaveLength(50);
    expect(await find('10.244.1.0/26')).toBeUndefined(); // no longer desired
  });

  it('IPv6: a block and a route (the kernel gives them metric 1024) are written once and left alone by resyncs', async () => {
    const v6 = desired({
      localBlocks: [parsePrefix('2001:db8:1::/64')],
      routes: [{ prefix: parsePrefix('2001:db8:2::/64'), node: { name: 'host-b', underlayAddress: 'fe80::12' }, shape: 'direct', reason: 'test' }],
    });
    dp.setDesired(v6);
    await dp.flush();
    const routes6 = async () => JSON.parse((await lab.ip(ns, '-6', '-json', 'route', 'show', 'proto', '249')).stdout) as Route[];
    expect((await routes6()).map((r) => `${r.type ?? 'unicast'} ${r.dst} ${r.gateway ?? ''}`).sort()).toEqual(['blackhole 2001:db8:1::/64 ', 'unicast 2001:db8:2::/64 fe80::12']);
    const before = batches.length;
    await dp.resync();
    await dp.resync();
    expect(batches.slice(before).map((b) => b.sample)).toEqual([]);
    expect(await routes6()).toHaveLength(2);
    // Back to IPv4 only: the IPv6 ones go.
    dp.setDesired(desired());
    await dp.flush();
    expect(await routes6()).toEqual([]);
  });

  it('stop({withdraw: true}) removes every weft route and nothing else', async () => {
    await dp.stop({ withdraw: true });
    const left = await routes();
    expect(left.filter((r) => r.protocol === 'weft')).toEqual([]);
    expect(left.find((r) => r.dst === '10.244.8.0/26')).toMatchObject({ protocol: 'static' });
    expect(left.find((r) => r.dst === '10.0.1.0/24')).toMatchObject({ protocol: 'kernel' });
  });
});
