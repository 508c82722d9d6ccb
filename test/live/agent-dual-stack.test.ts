// Dual-stack pods with `weft agent`, end to end (issue 12): hosts A and B share 10.77.1.0/24 and
// fd00:77:1::/64, C is in 10.77.2.0/24 and fd00:77:2::/64 behind a router that forwards both
// families and has no route to the pod blocks. Every pod has an IPv4 and an IPv6 address. The
// mesh runs over IPv4 sessions; each session carries both families (MP-BGP, RFC 4760).
// - With an IPv6 underlay (node.address6): IPv6 blocks A<->B direct via the IPv6 underlay
//   address, A<->C through weft.vxlan6 (VXLAN over IPv6, link-local gateway); every pod pair
//   pings over both families; `weft routes` says installed for IPv6 routes.
// - Idle with a 1 s resync: no route, neighbour or link change at all (IPv6 routes used to be
//   deleted and written again by every resync).
// - Without IPv6 underlay addresses: IPv6 blocks are announced with IPv4-mapped next hops and go
//   through weft.vxlan (VXLAN over IPv4) to every node; weft.vxlan6 is gone; pods still ping.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfig, startAgent, type AgentStatus, type RouteView, type WeftAgent } from '../helpers/agent.js';
import { run } from '../helpers/exec.js';
import { Lab } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';
import { kernelRoutes, MONITOR_PROBE, startRouteMonitor, stopRouteMonitor } from '../helpers/kernel-routes.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : undefined;
if (skip) console.warn(`agent-dual-stack skipped: ${skip}`);

const HOSTS = [
  { name: 'ha', v4: '10.77.1.2', v6: 'fd00:77:1::2', gw4: '10.77.1.1', gw6: 'fd00:77:1::1', i: 1 },
  { name: 'hb', v4: '10.77.1.3', v6: 'fd00:77:1::3', gw4: '10.77.1.1', gw6: 'fd00:77:1::1', i: 2 },
  { name: 'hc', v4: '10.77.2.2', v6: 'fd00:77:2::2', gw4: '10.77.2.1', gw6: 'fd00:77:2::1', i: 3 },
] as const;
type HostDef = (typeof HOSTS)[number];

interface Host {
  def: HostDef;
  ns: string;
  pod: string;
  block4: string;
  block6: string;
  pod4: string;
  pod6: string;
  agent: WeftAgent;
}

describe.skipIf(skip !== undefined)('weft agent: dual-stack pods (IPv6 blocks over IPv4 sessions, VXLAN over either underlay)', () => {
  let lab: Lab;
  let router: string;
  const hosts = new Map<string, Host>();
  const h = (name: string) => hosts.get(name)!;
  const nodes = HOSTS.map((x) => ({ name: x.name, address: x.v4 }));

  const config = (x: HostDef, withAddress6: boolean) =>
    agentConfig(x.name, `${x.v4}/24`, {
      node: { name: x.name, asn: 64512, address: `${x.v4}/24`, ...(withAddress6 ? { address6: `${x.v6}/64` } : {}) },
      mesh: { nodes },
      pools: [
        { cidr: '10.244.0.0/16', blockSize: 26, encapsulation: 'crossSubnet', tunnel: 'vxlan' },
        { cidr: 'fd00:244::/64', blockSize: 122, encapsulation: 'crossSubnet', tunnel: 'vxlan' },
      ],
      blocks: [`10.244.${x.i}.0/26`, `fd00:244::${x.i}00/122`],
      dataplane: { resyncSeconds: 1 },
    });

  const diagnose = () => [...hosts.values()].map((n) => n.agent.logTail(15)).join('\n');

  const ping = (from: Host, to: Host, six: boolean) =>
    lab.exec(from.pod, 'ping', [...(six ? ['-6'] : []), '-c', '1', '-W', '1', '-q', six ? to.pod6 : to.pod4], { okCodes: [0, 1], timeoutMs: 10_000 });

  async function allPing(): Promise<void> {
    for (const a of hosts.values()) {
      for (const b of hosts.values()) {
        if (a === b) continue;
        for (const six of [false, true]) {
          await waitFor(async () => (await ping(a, b, six)).code === 0, {
            what: `pod ${a.def.name} -> pod ${b.def.name} ping${six ? ' -6' : ''}`,
            timeoutMs: 15_000,
            intervalMs: 200,
            diagnose: async () => `${JSON.stringify(await kernelRoutes(lab, a.ns, 'weft'))}\n${diagnose()}`,
          });
        }
      }
    }
  }

  /** weft's IPv6 routes on a host, as `ip -6 -json route` has them. */
  async function routes6(n: Host): Promise<{ dst: string; gateway?: string; dev?: string; type?: string }[]> {
    return JSON.parse((await lab.ip(n.ns, '-6', '-json', 'route', 'show', 'proto', 'weft')).stdout) as { dst: string; gateway?: string; dev?: string }[];
  }

  /** Waits until a host's weft IPv6 routes satisfy `ok`. */
  async function waitRoutes6(n: Host, what: string, ok: (find: (dst: string) => { gateway?: string; dev?: string } | undefined) => boolean): Promise<void> {
    let last = '';
    await waitFor(
      async () => {
        const r = await routes6(n);
        last = JSON.stringify(r);
        return ok((dst) => r.find((x) => x.dst === dst));
      },
      { what, timeoutMs: 30_000, intervalMs: 200, diagnose: () => `${last}\n${diagnose()}` },
    );
  }

  async function startAll(withAddress6: boolean): Promise<void> {
    for (const x of HOSTS) h(x.name).agent = await startAgent(lab, h(x.name).ns, { name: `${x.name}-${withAddress6 ? 'v6' : 'mapped'}`, config: config(x, withAddress6) });
  }

  async function stopAll(): Promise<void> {
    for (const n of hosts.values()) await n.agent.proc.stop();
  }

  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
    lab = Lab.create();
    router = await lab.createNs('router');
    await lab.sysctl(router, 'net.ipv4.ip_forward', '1', 'net.ipv6.conf.all.forwarding', '1', 'net.ipv6.conf.default.accept_dad', '0');
    for (const x of HOSTS) {
      const ns = await lab.createNs(x.name);
      const pod = await lab.createNs(`${x.name}-pod`);
      for (const n of [ns, pod]) await lab.sysctl(n, 'net.ipv6.conf.all.accept_dad', '0', 'net.ipv6.conf.default.accept_dad', '0');
      await lab.sysctl(ns, 'net.ipv4.ip_forward', '1', 'net.ipv6.conf.all.forwarding', '1');
      await lab.veth(router, `r${x.i}`, undefined, ns, 'eth0', `${x.v4}/24`);
      await lab.ip(ns, 'addr', 'add', `${x.v6}/64`, 'dev', 'eth0', 'nodad');
      await lab.ip(ns, 'route', 'add', 'default', 'via', x.gw4);
      await lab.ip(ns, '-6', 'route', 'add', 'default', 'via', x.gw6);
      const pod4 = `10.244.${x.i}.5`;
      const pod6 = `fd00:244::${x.i}05`;
      const host6 = `fd00:244::${x.i}01`;
      await lab.veth(ns, 'pod0', `10.244.${x.i}.1/32`, pod, 'eth0', undefined);
      await lab.ip(ns, 'addr', 'add', `${host6}/128`, 'dev', 'pod0', 'nodad');
      await lab.ip(ns, 'route', 'add', `${pod4}/32`, 'dev', 'pod0');
      await lab.ip(ns, '-6', 'route', 'add', `${pod6}/128`, 'dev', 'pod0');
      await lab.ip(pod, 'addr', 'add', `${pod4}/32`, 'dev', 'eth0');
      await lab.ip(pod, 'addr', 'add', `${pod6}/128`, 'dev', 'eth0', 'nodad');
      await lab.ip(pod, 'link', 'set', 'dev', 'eth0', 'mtu', '1430');
      await lab.ip(pod, 'route', 'add', `10.244.${x.i}.1`, 'dev', 'eth0');
      await lab.ip(pod, 'route', 'add', 'default', 'via', `10.244.${x.i}.1`);
      await lab.ip(pod, '-6', 'route', 'add', host6, 'dev', 'eth0');
      await lab.ip(pod, '-6', 'route', 'add', 'default', 'via', host6);
      hosts.set(x.name, { def: x, ns, pod, block4: `10.244.${x.i}.0/26`, block6: `fd00:244::${x.i}00/122`, pod4, pod6, agent: undefined as unknown as WeftAgent });
    }
    // A and B share one L2 segment (a bridge in the router namespace); C is routed.
    await lab.bridge(router, 'br1', ['r1', 'r2'], ['10.77.1.1/24']);
    await lab.ip(router, 'addr', 'add', 'fd00:77:1::1/64', 'dev', 'br1', 'nodad');
    await lab.ip(router, 'addr', 'add', '10.77.2.1/24', 'dev', 'r3');
    await lab.ip(router, 'addr', 'add', 'fd00:77:2::1/64', 'dev', 'r3', 'nodad');
    await startAll(true);
  });

  afterAll(async () => {
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it('with node.address6: IPv6 blocks direct inside the subnet, over weft.vxlan6 across it', async () => {
    const a = h('ha');
    await waitRoutes6(a, 'IPv6 routes of the expected shapes on A', (find) => {
      const b = find(h('hb').block6);
      const c = find(h('hc').block6);
      return b?.gateway === 'fd00:77:1::3' && b.dev === 'eth0' && c?.dev === 'weft.vxlan6' && c.gateway?.startsWith('fe80::') === true;
    });
    const link = JSON.parse((await lab.ip(a.ns, '-d', '-json', 'link', 'show', 'dev', 'weft.vxlan6')).stdout) as { mtu: number }[];
    expect(link[0].mtu).toBe(1430);
    await allPing();
  });

  it('`weft routes` and `weft status` tell the IPv6 routes truthfully', async () => {
    const a = h('ha').agent;
    const routes = await a.cli<RouteView[]>('routes');
    const by = new Map(routes.map((r) => [r.prefix, r]));
    expect(by.get(h('ha').block6)).toMatchObject({ source: 'local', shape: 'blackhole', installed: true });
    expect(by.get(h('hb').block6)).toMatchObject({ shape: 'direct', installed: true, nextHop: 'fd00:77:1::3' });
    expect(by.get(h('hc').block6)).toMatchObject({ shape: 'vxlan', installed: true, nextHop: 'fd00:77:2::2' });
    const st = await a.cli<AgentStatus>('status');
    expect(st.dataplane).toMatchObject({ podMtu: 1430, routes: { blackhole: 2, direct: 2, vxlan: 2 } });
    const e = JSON.parse((await a.cliRun(['explain', h('hc').pod6, '--json'])).stdout) as Record<string, unknown>;
    expect(e).toMatchObject({ block: h('hc').block6, shape: 'vxlan', installed: true, node: { name: 'hc', address: 'fd00:77:2::2' }, kernel: { dev: 'weft.vxlan6' } });
  });

  it('idle with a resync every second: no route, neighbour or link change at all', async () => {
    const a = h('ha');
    const neigh = lab.spawnIn(a.ns, 'ip', ['-o', 'monitor', 'neigh', 'link'], { label: 'ha-neigh-monitor' });
    const mon = await startRouteMonitor(lab, a.ns, 'ha-route-monitor');
    const resyncsBefore = (await a.agent.status()).dataplane;
    const t0 = Date.now();
    await waitFor(async () => (Date.now() - t0 >= 12_000 ? true : undefined), { what: '12 s of idle', timeoutMs: 15_000, intervalMs: 500 });
    await stopRouteMonitor(lab, a.ns, mon);
    neigh.signal('SIGTERM');
    const routeEvents = readFileSync(mon.logPath, 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.includes(MONITOR_PROBE));
    const otherEvents = readFileSync(neigh.logPath, 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.includes(MONITOR_PROBE));
    expect(routeEvents).toEqual([]);
    expect(otherEvents.filter((l) => !/ (STALE|REACHABLE|DELAY|PROBE)$/.test(l.trim()) || l.includes('PERMANENT'))).toEqual([]);
    const after = (await a.agent.status()).dataplane;
    expect(after?.linesApplied).toBe(resyncsBefore?.linesApplied);
  });

  it('without IPv6 underlay addresses: IPv6 blocks go through weft.vxlan (IPv4 underlay) to every node, and pods still ping', async () => {
    await stopAll();
    await startAll(false);
    const a = h('ha');
    await waitRoutes6(a, 'IPv6 routes through weft.vxlan on A', (find) =>
      [h('hb'), h('hc')].every((p) => {
        const x = find(p.block6);
        return x?.dev === 'weft.vxlan' && x.gateway?.startsWith('fe80::') === true;
      }),
    );
    const routes = await a.agent.cli<RouteView[]>('routes');
    expect(routes.find((r) => r.prefix === h('hb').block6)).toMatchObject({ nextHop: '::ffff:10.77.1.3', shape: 'vxlan', installed: true });
    await waitFor(async () => ((await lab.ip(a.ns, 'link', 'show', 'dev', 'weft.vxlan6').then(() => false, () => true)) ? true : undefined), {
      what: 'weft.vxlan6 removed',
      timeoutMs: 10_000,
    });
    await allPing();
  });
});
