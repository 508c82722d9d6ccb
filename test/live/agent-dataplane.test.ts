// `weft agent` with its kernel data plane, end to end: hosts A and B in 10.77.1.0/24 and C in
// 10.77.2.0/24, joined by a router namespace that has no route to the pod blocks; one pod
// namespace per host behind a veth (pod /32, host-side /32 route). Agents in a full mesh with a
// crossSubnet + VXLAN pool:
// - A<->B routes are direct, A<->C and B<->C VXLAN (proto weft in each host's table, `weft routes`
//   says why), pods ping A->B, A->C, C->B, `weft explain` and `weft status` tell the shape and MTU;
// - kill -9 of A and a new agent on A: A's kernel routes, neighbours and FDB are the same before
//   and after, and no data-plane batch of the new agent deletes anything;
// - the pool switched to `always` (SIGHUP) converges to VXLAN everywhere, no stale route left;
// - SIGTERM leaves the kernel as it is; with keepRoutesOnExit: false it removes weft's routes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfig, startAgent, type AgentStatus, type RouteView, type WeftAgent } from '../helpers/agent.js';
import { run } from '../helpers/exec.js';
import { Lab } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';
import { kernelRoutes, type KernelRoute } from '../helpers/kernel-routes.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : undefined;
if (skip) console.warn(`agent-dataplane skipped: ${skip}`);

interface Host {
  name: string;
  ns: string;
  pod: string;
  address: string;
  underlay: string;
  block: string;
  podAddr: string;
  agent: WeftAgent;
}

const HOSTS = [
  { name: 'ha', address: '10.77.1.2', len: 24, gw: '10.77.1.1', i: 1 },
  { name: 'hb', address: '10.77.1.3', len: 24, gw: '10.77.1.1', i: 2 },
  { name: 'hc', address: '10.77.2.2', len: 24, gw: '10.77.2.1', i: 3 },
] as const;

describe.skipIf(skip !== undefined)('weft agent: kernel data plane (direct + VXLAN across subnets)', () => {
  let lab: Lab;
  let router: string;
  const hosts = new Map<string, Host>();
  const h = (name: string) => hosts.get(name)!;
  const nodes = HOSTS.map((x) => ({ name: x.name, address: x.address }));

  const config = (x: (typeof HOSTS)[number], encapsulation: 'crossSubnet' | 'always') =>
    agentConfig(x.name, `${x.address}/${x.len}`, {
      mesh: { nodes },
      pools: [{ cidr: '10.244.0.0/16', blockSize: 26, encapsulation, tunnel: 'vxlan' }],
      blocks: [`10.244.${x.i}.0/26`],
    });

  const diagnose = () => [...hosts.values()].map((n) => n.agent.logTail(15)).join('\n');

  /** weft's routes in a host's main table. */
  async function weftRoutes(n: Host): Promise<KernelRoute[]> {
    return (await kernelRoutes(lab, n.ns, 'weft')).sort((a, b) => a.dst.localeCompare(b.dst));
  }

  /** Routes, neighbours and FDB of weft's device: what a restart must not change. */
  async function kernelView(n: Host): Promise<string> {
    const neigh = JSON.parse((await lab.ip(n.ns, '-json', 'neigh', 'show', 'dev', 'weft.vxlan')).stdout) as unknown;
    const fdb = JSON.parse((await lab.exec(n.ns, 'bridge', ['-json', 'fdb', 'show', 'dev', 'weft.vxlan'])).stdout) as unknown;
    const link = JSON.parse((await lab.ip(n.ns, '-json', 'link', 'show', 'dev', 'weft.vxlan')).stdout) as { ifindex: number }[];
    return JSON.stringify({ routes: await weftRoutes(n), neigh, fdb, ifindex: link[0]?.ifindex });
  }

  const ping = (from: Host, to: Host) =>
    lab.exec(from.pod, 'ping', ['-c', '1', '-W', '1', '-q', to.podAddr], { okCodes: [0, 1], timeoutMs: 10_000 });

  async function pingOk(from: Host, to: Host): Promise<void> {
    await waitFor(async () => (await ping(from, to)).code === 0, { what: `pod ${from.name} -> pod ${to.name} ping`, timeoutMs: 15_000, intervalMs: 200, diagnose });
  }

  /** Each host's remote blocks are proto weft routes of the expected shape, and nothing else is. */
  async function kernelShapes(want: (self: Host, peer: Host) => 'direct' | 'vxlan'): Promise<void> {
    let last = '';
    await waitFor(
      async () => {
        for (const n of hosts.values()) {
          const routes = await weftRoutes(n);
          last = `${n.name}: ${JSON.stringify(routes)}`;
          const expected = [...hosts.values()].map((p) => {
            if (p === n) return { dst: p.block, type: 'blackhole' };
            return want(n, p) === 'direct' ? { dst: p.block, gateway: p.address, dev: 'eth0' } : { dst: p.block, gateway: p.address, dev: 'weft.vxlan' };
          });
          expected.sort((a, b) => a.dst.localeCompare(b.dst));
          if (routes.length !== expected.length) return false;
          for (let k = 0; k < routes.length; k++) {
            const r = routes[k];
            const e = expected[k];
            if (r.dst !== e.dst) return false;
            if ('type' in e ? r.type !== 'blackhole' : r.gateway !== e.gateway || r.dev !== e.dev) return false;
            if ('dev' in e && e.dev === 'weft.vxlan' && !(r.flags ?? []).includes('onlink')) return false;
          }
        }
        return true;
      },
      { what: 'kernel routes of the expected shapes on every host', timeoutMs: 30_000, intervalMs: 200, diagnose: () => `${last}\n${diagnose()}` },
    );
  }

  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
    lab = Lab.create();
    router = await lab.createNs('router');
    await lab.sysctl(router, 'net.ipv4.ip_forward', '1');
    for (const x of HOSTS) {
      const ns = await lab.createNs(x.name);
      const pod = await lab.createNs(`${x.name}-pod`);
      await lab.sysctl(ns, 'net.ipv4.ip_forward', '1');
      await lab.veth(router, `r${x.i}`, undefined, ns, 'eth0', `${x.address}/${x.len}`);
      await lab.ip(ns, 'route', 'add', 'default', 'via', x.gw);
      const podAddr = `10.244.${x.i}.5`;
      await lab.veth(ns, 'pod0', `10.244.${x.i}.1/32`, pod, 'eth0', undefined);
      await lab.ip(ns, 'route', 'add', `${podAddr}/32`, 'dev', 'pod0');
      await lab.ip(pod, 'addr', 'add', `${podAddr}/32`, 'dev', 'eth0');
      await lab.ip(pod, 'link', 'set', 'dev', 'eth0', 'mtu', '1450');
      await lab.ip(pod, 'route', 'add', `10.244.${x.i}.1`, 'dev', 'eth0');
      await lab.ip(pod, 'route', 'add', 'default', 'via', `10.244.${x.i}.1`);
      hosts.set(x.name, { name: x.name, ns, pod, address: x.address, underlay: `${x.address}/${x.len}`, block: `10.244.${x.i}.0/26`, podAddr, agent: undefined as unknown as WeftAgent });
    }
    // A and B share one L2 segment (a bridge in the router namespace, gateway .1); C is routed.
    await lab.bridge(router, 'br1', ['r1', 'r2'], '10.77.1.1/24');
    await lab.ip(router, 'addr', 'add', '10.77.2.1/24', 'dev', 'r3');
    for (const x of HOSTS) h(x.name).agent = await startAgent(lab, h(x.name).ns, { name: x.name, config: config(x, 'crossSubnet') });
  });

  afterAll(async () => {
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it('the router has no route to the pod blocks', async () => {
    expect((await lab.ip(router, 'route', 'show')).stdout).not.toContain('10.244.');
  });

  it('crossSubnet: A<->B direct, A<->C and B<->C VXLAN in the kernel', async () => {
    const sameSubnet = (a: Host, b: Host) => a.address.startsWith('10.77.1.') && b.address.startsWith('10.77.1.');
    await kernelShapes((a, b) => (sameSubnet(a, b) ? 'direct' : 'vxlan'));
  });

  it('`weft routes --json` says shape, why and installed', async () => {
    const routes = await h('ha').agent.cli<RouteView[]>('routes');
    const by = new Map(routes.map((r) => [r.prefix, r]));
    expect(by.get(h('ha').block)).toMatchObject({ source: 'local', shape: 'blackhole', installed: true });
    expect(by.get(h('hb').block)).toMatchObject({ shape: 'direct', installed: true, why: 'crossSubnet: 10.77.1.3 is inside 10.77.1.0/24 -> direct' });
    expect(by.get(h('hc').block)).toMatchObject({ shape: 'vxlan', installed: true, why: 'crossSubnet: 10.77.2.2 is outside 10.77.1.0/24 -> vxlan' });
    const table = (await h('ha').agent.cliRun(['routes'])).stdout;
    expect(table).toMatch(/SHAPE\s+INSTALLED\s+WHY/);
  });

  it('pods ping A->B, A->C, C->B', async () => {
    await pingOk(h('ha'), h('hb'));
    await pingOk(h('ha'), h('hc'));
    await pingOk(h('hc'), h('hb'));
  });

  it('`weft explain`, `weft status` and the start log tell the shape and the container MTU', async () => {
    const a = h('ha').agent;
    const e = JSON.parse((await a.cliRun(['explain', h('hc').podAddr, '--json'])).stdout) as Record<string, unknown>;
    expect(e).toMatchObject({
      route: { prefix: h('hc').block, peer: 'hc', nextHop: h('hc').address },
      pool: '10.244.0.0/16',
      block: h('hc').block,
      node: { name: 'hc', address: h('hc').address },
      shape: 'vxlan',
      installed: true,
      mac: { value: '02:00:0a:4d:02:02', source: 'signalled' },
      kernel: { dst: h('hc').podAddr, gateway: h('hc').address, dev: 'weft.vxlan' },
    });
    const text = (await a.cliRun(['explain', h('hb').podAddr])).stdout;
    expect(text).toMatch(/shape\s+direct/);
    const st = await a.cli<AgentStatus>('status');
    expect(st.dataplane).toMatchObject({ underlayDevice: 'eth0', underlayMtu: 1500, podMtu: 1450, routes: { blackhole: 1, direct: 1, vxlan: 1 }, held: 0 });
    expect((await a.cliRun(['status'])).stdout).toContain('containers must use MTU 1450');
    expect(a.logEvents('dataplane.started')[0]).toMatchObject({ underlayDevice: 'eth0', podMtu: 1450 });
  });

  it('kill -9 and a new agent on A change no kernel route, and no batch deletes anything', async () => {
    const a = h('ha');
    const before = await kernelView(a);
    a.agent.proc.signal('SIGKILL');
    await a.agent.proc.exited;
    expect(await kernelView(a)).toBe(before);
    const x = HOSTS[0];
    a.agent = await startAgent(lab, a.ns, { name: 'ha-restarted', config: config(x, 'crossSubnet') });
    await waitFor(
      async () => {
        const st = await a.agent.status();
        return st.peers.every((p) => p.state === 'Established') && st.dataplane?.held === 0 && (await a.agent.learned()).length === 2;
      },
      { what: 'restarted A: sessions up, routes learned, nothing held', timeoutMs: 30_000, intervalMs: 200, diagnose },
    );
    await a.agent.status(); // one more turn for the last desired state to reach the kernel
    await waitFor(async () => ((await a.agent.status()).dataplane?.held === 0 ? true : undefined), { what: 'held released', timeoutMs: 5000 });
    expect(a.agent.logEvents('dataplane.held')[0]).toMatchObject({ routes: 2 });
    expect(await kernelView(a)).toBe(before);
    const batches = a.agent.logEvents('dataplane.batch');
    expect(batches.filter((b) => (b.deletes as number) > 0)).toEqual([]);
    await pingOk(a, h('hc'));
    await pingOk(a, h('hb'));
  });

  it('pool switched to always (SIGHUP) converges to VXLAN everywhere, no stale route', async () => {
    for (const x of HOSTS) {
      const n = h(x.name);
      n.agent.writeConfig(config(x, 'always'));
      n.agent.proc.signal('SIGHUP');
    }
    await kernelShapes(() => 'vxlan');
    for (const n of hosts.values()) {
      const routes = await n.agent.routes();
      for (const r of routes.filter((v) => v.source === 'peer')) expect(r).toMatchObject({ shape: 'vxlan', why: 'encapsulation always -> vxlan' });
    }
    await pingOk(h('ha'), h('hb'));
    await pingOk(h('hb'), h('hc'));
  });

  it('SIGTERM keeps the kernel routes; with keepRoutesOnExit: false it withdraws them', async () => {
    const c = h('hc');
    const x = HOSTS[2];
    const before = await weftRoutes(c);
    expect(before.length).toBe(3);
    c.agent.proc.signal('SIGTERM');
    expect(await c.agent.proc.exited).toEqual({ code: 0, signal: null });
    expect(await weftRoutes(c)).toEqual(before);
    c.agent = await startAgent(lab, c.ns, { name: 'hc-withdraw', config: { ...config(x, 'always'), dataplane: { keepRoutesOnExit: false } } });
    await waitFor(async () => (await c.agent.status()).dataplane?.held === 0 && (await c.agent.learned()).length === 2, { what: 'hc back', timeoutMs: 30_000, diagnose });
    c.agent.proc.signal('SIGTERM');
    expect(await c.agent.proc.exited).toEqual({ code: 0, signal: null });
    expect(await weftRoutes(c)).toEqual([]);
    expect((await lab.ip(c.ns, 'link', 'show')).stdout).not.toContain('weft.vxlan');
  });
});
