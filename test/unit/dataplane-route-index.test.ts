// Incremental plans (route-index.ts) against full plans (planner.ts): planning only the changed
// prefixes against the indexed expected state must give the lines plan() gives for them, and
// leave the index equal to plan()'s expected state.
import { describe, expect, it } from 'vitest';
import { parsePrefix, type Prefix } from '../../src/lib/prefix.js';
import { emptyKernelState, type KernelRoute, type KernelState } from '../../src/dataplane/kernel-state.js';
import { ipipDevice, type DesiredState, type NodeRef, type RemoteRoute, type RouteShape } from '../../src/dataplane/model.js';
import { plan } from '../../src/dataplane/planner.js';
import { RouteIndex } from '../../src/dataplane/route-index.js';

const B = parsePrefix('10.244.1.0/26');
const nodeB: NodeRef = { name: 'host-b', underlayAddress: '10.0.1.12' };
const nodeC: NodeRef = { name: 'host-c', underlayAddress: '10.0.1.13' };
const route = (prefix: string, node: NodeRef, shape: RouteShape = 'direct'): RemoteRoute => ({ prefix: parsePrefix(prefix), node, shape, reason: 'test' });
const desired = (routes: RemoteRoute[], d: Partial<DesiredState> = {}): DesiredState => ({ localBlocks: [B], routes, underlayDevice: 'eth0', ...d });
const kr = (dst: string, o: Partial<KernelRoute> = {}): KernelRoute => ({ dst, type: 'unicast', onlink: false, protocol: 'weft', metric: 0, multipath: false, ...o });

/** Incremental plan of `changed` after `before` was converged, with `after` desired. */
function incremental(before: DesiredState, after: DesiredState, changed: string[], kernel: KernelState = emptyKernelState()) {
  const ix = RouteIndex.from(plan(kernel, before).expected);
  const byPrefix = new Map<Prefix, RemoteRoute>(after.routes.map((r) => [r.prefix, r]));
  const problems = new Map<string, string>();
  const { lines, needFull } = ix.planRoutes(changed.map((c) => parsePrefix(c)), (p) => byPrefix.get(p), after, new Set(after.localBlocks), problems);
  return { ix, lines: lines.map((l) => `${l.stage} ${l.line}`), problems: [...problems.values()], needFull };
}

const sortRoutes = (rs: KernelRoute[]) => rs.map((r) => JSON.stringify(r, Object.keys(r).sort())).sort();

describe('route index: incremental plans', () => {
  const one = desired([route('10.244.7.0/26', nodeB)]);

  it('a new route, a moved route and a removed route: the lines plan() would write', () => {
    const before = desired([route('10.244.7.0/26', nodeB), route('10.244.8.0/26', nodeB)]);
    const after = desired([route('10.244.7.0/26', nodeC), route('10.244.9.0/26', nodeB)]);
    const r = incremental(before, after, ['10.244.7.0/26', '10.244.8.0/26', '10.244.9.0/26']);
    expect(r.lines).toEqual([
      'route route replace 10.244.7.0/26 via 10.0.1.13 dev eth0 proto 249',
      'route route replace 10.244.9.0/26 via 10.0.1.12 dev eth0 proto 249',
      'delete route del 10.244.8.0/26 proto 249',
    ]);
    expect(r.problems).toEqual([]);
    // The index is now what a full plan expects, and a full plan from it writes nothing.
    expect(sortRoutes(r.ix.toKernelState().routes)).toEqual(sortRoutes(plan(emptyKernelState(), after).expected.routes));
    expect(plan(r.ix.toKernelState(), after).lines).toEqual([]);
  });

  it('an unchanged prefix gives no line', () => {
    expect(incremental(one, one, ['10.244.7.0/26']).lines).toEqual([]);
  });

  it('a foreign route in the slot is reported and left alone', () => {
    const kernel = { ...emptyKernelState(), routes: [kr('10.244.9.0/26', { protocol: 'static', gateway: '10.0.1.12' })] };
    const r = incremental(one, desired([...one.routes, route('10.244.9.0/26', nodeB)]), ['10.244.9.0/26'], kernel);
    expect(r.lines).toEqual([]);
    expect(r.problems).toEqual(['10.244.9.0/26: a proto static route is already there; weft leaves it alone']);
  });

  it('a route for a local block is not written', () => {
    const r = incremental(one, desired([...one.routes, route('10.244.1.0/26', nodeB)]), ['10.244.1.0/26']);
    expect(r.lines).toEqual([]);
    expect(r.problems).toEqual(['10.244.1.0/26: is a local block; route via host-b not written']);
  });

  it('IP-in-IP: written on tunl0 onlink; without the device it is a problem and the old route goes', () => {
    const withIpip = desired([route('10.244.7.0/26', nodeB, 'ipip')], { ipip: ipipDevice(1500) });
    expect(incremental(one, withIpip, ['10.244.7.0/26']).lines).toEqual(['route route replace 10.244.7.0/26 via 10.0.1.12 dev tunl0 onlink proto 249']);
    const r = incremental(one, desired([route('10.244.7.0/26', nodeB, 'ipip')]), ['10.244.7.0/26']);
    expect(r.lines).toEqual(['delete route del 10.244.7.0/26 proto 249']);
    expect(r.problems).toEqual(['10.244.7.0/26: shape ipip via host-b but no IP-in-IP device is configured']);
  });

  it('a VXLAN route is left for a full plan; the other prefixes are still planned', () => {
    const after = desired([route('10.244.7.0/26', nodeB, 'vxlan'), route('10.244.9.0/26', nodeB)], { vxlan: undefined });
    const r = incremental(one, after, ['10.244.7.0/26', '10.244.9.0/26']);
    expect(r.needFull).toBe(true);
    expect(r.lines).toEqual(['route route replace 10.244.9.0/26 via 10.0.1.12 dev eth0 proto 249']);
    // The VXLAN prefix keeps its old expected route until the full plan.
    expect(r.ix.toKernelState().routes.find((k) => k.dst === '10.244.7.0/26')?.dev).toBe('eth0');
    const plain = incremental(one, desired([route('10.244.9.0/26', nodeB), route('10.244.7.0/26', nodeB)]), ['10.244.9.0/26']);
    expect(plain.needFull).toBe(false);
  });

  it('hasWeft: the expected weft routes, by their kernel text', () => {
    const ix = RouteIndex.from(plan(emptyKernelState(), one).expected);
    expect(ix.hasWeft('10.244.7.0/26')).toBe(true);
    expect(ix.hasWeft('10.244.1.0/26')).toBe(true);
    expect(ix.hasWeft('10.244.8.0/26')).toBe(false);
    expect(ix.hasWeft('not a prefix')).toBe(false);
  });
});

describe('route index: verifying a streamed kernel read', () => {
  const two = desired([route('10.244.7.0/26', nodeB), route('10.244.8.0/26', nodeB)]);
  // What the kernel lists once two's plan is applied (protocol by name, as ip prints it).
  const listed = (): KernelRoute[] => [
    kr('10.244.1.0/26', { type: 'blackhole' }),
    kr('10.244.7.0/26', { gateway: '10.0.1.12', dev: 'eth0' }),
    kr('10.244.8.0/26', { gateway: '10.0.1.12', dev: 'eth0' }),
    kr('10.0.1.0/24', { dev: 'eth0', protocol: 'kernel' }),
  ];
  const verify = (routes: KernelRoute[]) => {
    const connected = { ...emptyKernelState(), routes: [kr('10.0.1.0/24', { dev: 'eth0', protocol: 'kernel' })] };
    const ix = RouteIndex.from(plan(connected, two).expected);
    const v = ix.verifier(new Set(two.localBlocks));
    for (const r of routes) v.check(r);
    return { ix, ...v.end() };
  };

  it('the kernel as expected: complete, nothing to repair', () => {
    expect(verify(listed())).toMatchObject({ complete: true, changed: [] });
  });

  it('a route changed by hand and an unexpected weft route: listed for an incremental repair', () => {
    const routes = listed();
    routes[1] = kr('10.244.7.0/26', { gateway: '10.0.1.13', dev: 'eth0' });
    routes.push(kr('10.244.9.0/26', { gateway: '10.0.1.12', dev: 'eth0' }));
    const r = verify(routes);
    expect(r).toMatchObject({ complete: true, changed: [parsePrefix('10.244.7.0/26'), parsePrefix('10.244.9.0/26')] });
    // The index now holds what the kernel has, so planning those prefixes writes the repair.
    const want = new Map(two.routes.map((x) => [x.prefix, x]));
    const p = r.ix.planRoutes(r.changed, (x) => want.get(x), two, new Set(two.localBlocks), new Map());
    expect(p.lines.map((l) => l.line)).toEqual(['route replace 10.244.7.0/26 via 10.0.1.12 dev eth0 proto 249', 'route del 10.244.9.0/26 proto 249']);
  });

  it('a missing route, a changed blackhole or a weft route at another metric: a full plan is needed', () => {
    expect(verify(listed().filter((x) => x.dst !== '10.244.8.0/26'))).toMatchObject({ complete: false, why: '1 expected routes missing' });
    const bh = listed();
    bh[0] = kr('10.244.1.0/26', { gateway: '10.0.1.12', dev: 'eth0' });
    expect(verify(bh).complete).toBe(false);
    expect(verify([...listed(), kr('10.244.7.0/26', { gateway: '10.0.1.12', metric: 5 })]).complete).toBe(false);
  });

  it('a foreign route appearing in a free slot is listed; one taking our slot makes ours missing', () => {
    expect(verify([...listed(), kr('10.244.20.0/26', { gateway: '10.0.1.12', protocol: 'static' })]).changed).toEqual([parsePrefix('10.244.20.0/26')]);
    const taken = listed();
    taken[2] = kr('10.244.8.0/26', { gateway: '10.0.1.12', protocol: 'static' });
    expect(verify(taken).complete).toBe(false);
  });
});
