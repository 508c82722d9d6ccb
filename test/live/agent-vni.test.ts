// A VNI per pool with `weft agent` (issue 13): hosts A (10.77.1.2) and C (10.77.2.2) in two
// subnets behind a router with no route to the pods. Two pools: 10.244.0.0/16 on the default VNI
// (4096) and 10.250.0.0/16 with `vni: 5000`; each host has a block and a pod in each. Each pool's
// routes go through its own VXLAN device (weft.vxlan, weft-5000); on the wire the router sees
// UDP 4789 with the pool's VNI; pods of each pool ping across hosts. Dropping the pool's VNI
// removes weft-5000 and moves its routes to weft.vxlan (one overlay again).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfig, startAgent, type RouteView, type WeftAgent } from '../helpers/agent.js';
import { run } from '../helpers/exec.js';
import { Lab } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';
import { kernelRoutes } from '../helpers/kernel-routes.js';
import { readFileSync, writeFileSync } from 'node:fs';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : undefined;
if (skip) console.warn(`agent-vni skipped: ${skip}`);

const HOSTS = [
  { name: 'ha', v4: '10.77.1.2', gw: '10.77.1.1', i: 1 },
  { name: 'hc', v4: '10.77.2.2', gw: '10.77.2.1', i: 3 },
] as const;
type HostDef = (typeof HOSTS)[number];

interface Host {
  def: HostDef;
  ns: string;
  pods: { pool: 'a' | 'b'; ns: string; address: string }[];
  agent: WeftAgent;
}

describe.skipIf(skip !== undefined)('weft agent: a VNI per pool (separate overlays)', () => {
  let lab: Lab;
  let router: string;
  const hosts = new Map<string, Host>();
  const h = (name: string) => hosts.get(name)!;
  const nodes = HOSTS.map((x) => ({ name: x.name, address: x.v4 }));

  const config = (x: HostDef, vniB: number | undefined, isolated = false) =>
    agentConfig(x.name, `${x.v4}/24`, {
      mesh: { nodes },
      ...(isolated ? { hostProtection: { enabled: true } } : {}),
      pools: [
        { cidr: '10.244.0.0/16', blockSize: 26, encapsulation: 'crossSubnet', tunnel: 'vxlan' },
        { cidr: '10.250.0.0/16', blockSize: 26, encapsulation: 'crossSubnet', tunnel: 'vxlan', ...(vniB ? { vni: vniB } : {}), ...(isolated ? { isolated: true } : {}) },
      ],
      blocks: [`10.244.${x.i}.0/26`, `10.250.${x.i}.0/26`],
    });

  const diagnose = () => [...hosts.values()].map((n) => n.agent.logTail(15)).join('\n');

  const pod = (name: string, pool: 'a' | 'b') => h(name).pods.find((p) => p.pool === pool)!;
  const ping = (from: string, to: string, pool: 'a' | 'b', toPool: 'a' | 'b' = pool) =>
    lab.exec(pod(from, pool).ns, 'ping', ['-c', '1', '-W', '1', '-q', pod(to, toPool).address], { okCodes: [0, 1], timeoutMs: 10_000 });

  async function pingsWithinPools(): Promise<void> {
    for (const pool of ['a', 'b'] as const) {
      for (const [a, b] of [['ha', 'hc'], ['hc', 'ha']]) {
        await waitFor(async () => (await ping(a, b, pool)).code === 0, { what: `pool ${pool}: ${a} -> ${b} ping`, timeoutMs: 15_000, intervalMs: 200, diagnose });
      }
    }
  }

  /** The device carrying a host's route to the other host's block of a pool. */
  async function deviceOf(n: Host, block: string): Promise<string | undefined> {
    return (await kernelRoutes(lab, n.ns, 'weft')).find((r) => r.dst === block)?.dev;
  }

  /** The VNIs seen in UDP 4789 on the router's link to C while pods of both pools ping. */
  async function vnisOnTheWire(): Promise<Set<number>> {
    const cap = lab.spawnIn(router, 'tcpdump', ['-U', '-n', '-i', 'r3', '-c', '20', '-x', 'udp dst port 4789'], { label: `vni-capture-${Date.now()}` });
    const vnis = new Set<number>();
    await waitFor(
      async () => {
        await ping('ha', 'hc', 'a');
        await ping('ha', 'hc', 'b');
        const text = readFileSync(cap.logPath, 'utf8');
        // tcpdump -x prints the IP packet in hex: IPv4 header (20) + UDP (8) + VXLAN flags (4) then the VNI (3 bytes).
        for (const pkt of text.split(/\n(?=\S)/)) {
          const hex = pkt
            .split('\n')
            .filter((l) => /^\s+0x/.test(l))
            .map((l) => l.replace(/^\s+0x[0-9a-f]+:\s+/, '').replace(/\s+/g, ''))
            .join('');
          if (hex.length >= (32 + 3) * 2) vnis.add(parseInt(hex.slice(32 * 2, 35 * 2), 16));
        }
        return vnis.size >= 2 ? true : undefined;
      },
      { what: 'VXLAN packets of both pools on the router', timeoutMs: 15_000, intervalMs: 300 },
    );
    await cap.stop();
    return vnis;
  }

  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
    lab = Lab.create();
    router = await lab.createNs('router');
    await lab.sysctl(router, 'net.ipv4.ip_forward', '1');
    for (const x of HOSTS) {
      const ns = await lab.createNs(x.name);
      await lab.sysctl(ns, 'net.ipv4.ip_forward', '1');
      await lab.veth(router, `r${x.i}`, `${x.gw}/24`, ns, 'eth0', `${x.v4}/24`);
      await lab.ip(ns, 'route', 'add', 'default', 'via', x.gw);
      const pods: Host['pods'] = [];
      for (const [pool, net] of [['a', '10.244'], ['b', '10.250']] as const) {
        const p = await lab.createNs(`${x.name}-pod${pool}`);
        const address = `${net}.${x.i}.5`;
        const hostSide = `${net}.${x.i}.1`;
        await lab.veth(ns, `pod${pool}`, `${hostSide}/32`, p, 'eth0', undefined);
        await lab.ip(ns, 'route', 'add', `${address}/32`, 'dev', `pod${pool}`);
        await lab.ip(p, 'addr', 'add', `${address}/32`, 'dev', 'eth0');
        await lab.ip(p, 'link', 'set', 'dev', 'eth0', 'mtu', '1450');
        await lab.ip(p, 'route', 'add', hostSide, 'dev', 'eth0');
        await lab.ip(p, 'route', 'add', 'default', 'via', hostSide);
        pods.push({ pool, ns: p, address });
      }
      hosts.set(x.name, { def: x, ns, pods, agent: undefined as unknown as WeftAgent });
    }
    for (const x of HOSTS) h(x.name).agent = await startAgent(lab, h(x.name).ns, { name: x.name, config: config(x, 5000) });
  });

  afterAll(async () => {
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it("each pool's routes go through its own overlay's device; pods of each pool ping across hosts", async () => {
    const a = h('ha');
    await waitFor(async () => ((await deviceOf(a, '10.244.3.0/26')) === 'weft.vxlan' && (await deviceOf(a, '10.250.3.0/26')) === 'weft-5000' ? true : undefined), {
      what: 'routes on weft.vxlan and weft-5000',
      timeoutMs: 30_000,
      intervalMs: 200,
      diagnose,
    });
    const link = JSON.parse((await lab.ip(a.ns, '-d', '-json', 'link', 'show', 'dev', 'weft-5000')).stdout) as { mtu: number; linkinfo: { info_data: { id: number } } }[];
    expect(link[0]).toMatchObject({ mtu: 1450, linkinfo: { info_data: { id: 5000 } } });
    await pingsWithinPools();
    const routes = await a.agent.cli<RouteView[]>('routes');
    expect(routes.find((r) => r.prefix === '10.250.3.0/26')).toMatchObject({ shape: 'vxlan', installed: true, why: 'crossSubnet: 10.77.2.2 is outside 10.77.1.0/24 -> vxlan (VNI 5000, signalled by the node)' });
  });

  it('on the wire each pool has its VNI', async () => {
    expect([...(await vnisOnTheWire())].sort((x, y) => x - y)).toEqual([4096, 5000]);
  });

  async function reloadAll(vniB: number | undefined, isolated = false): Promise<void> {
    for (const x of HOSTS) {
      const n = h(x.name);
      writeFileSync(n.agent.confPath, JSON.stringify({ ...config(x, vniB, isolated), control: { socket: n.agent.socket } }));
      await n.agent.cliRun(['reload']);
    }
  }

  it('across pools, pods reach each other while no pool is isolated (routed between overlays by the hosts)', async () => {
    await waitFor(async () => ((await ping('ha', 'hc', 'a', 'b')).code === 0 ? true : undefined), { what: 'pool a pod on A -> pool b pod on C', timeoutMs: 15_000, intervalMs: 200, diagnose });
    await waitFor(async () => ((await ping('ha', 'ha', 'a', 'b')).code === 0 ? true : undefined), { what: 'pool a pod on A -> pool b pod on A', timeoutMs: 15_000, intervalMs: 200, diagnose });
  });

  it('pool b isolated (host protection on): pods within each pool still ping, across the pools nothing passes, and weft explain says why', async () => {
    await reloadAll(5000, true);
    const a = h('ha');
    await waitFor(async () => ((await lab.exec(a.ns, 'nft', ['list', 'chain', 'inet', 'weft', 'forward'], { okCodes: [0, 1] })).code === 0 ? true : undefined), {
      what: "weft's forward chain on A",
      timeoutMs: 10_000,
      intervalMs: 100,
      diagnose,
    });
    await waitFor(async () => ((await lab.exec(h('hc').ns, 'nft', ['list', 'chain', 'inet', 'weft', 'forward'], { okCodes: [0, 1] })).code === 0 ? true : undefined), {
      what: "weft's forward chain on C",
      timeoutMs: 10_000,
      intervalMs: 100,
      diagnose,
    });
    await pingsWithinPools();
    for (const [from, to, fromPool, toPool] of [
      ['ha', 'hc', 'a', 'b'],
      ['ha', 'hc', 'b', 'a'],
      ['hc', 'ha', 'a', 'b'],
      ['ha', 'ha', 'a', 'b'],
      ['ha', 'ha', 'b', 'a'],
    ] as const) {
      expect((await ping(from, to, fromPool, toPool)).code, `${from} pool ${fromPool} -> ${to} pool ${toPool}`).toBe(1);
    }
    const e = JSON.parse((await a.agent.cliRun(['explain', pod('hc', 'b').address, '--json'])).stdout) as { isolation?: string };
    expect(e.isolation).toBe('pool 10.250.0.0/16 is isolated: traffic between it and 10.244.0.0/16 is dropped; host protection drops it on every host (nftables table inet weft, chain forward)');
    const text = (await a.agent.cliRun(['explain', pod('hc', 'a').address])).stdout;
    expect(text).toMatch(/^isolated {2}isolated pool\(s\) 10\.250\.0\.0\/16 cannot reach this address, nor it them/m);
  });

  it("without the pool's VNI (reload): weft-5000 goes, its routes move to weft.vxlan, pods still ping", async () => {
    await reloadAll(undefined);
    const a = h('ha');
    await waitFor(async () => ((await deviceOf(a, '10.250.3.0/26')) === 'weft.vxlan' ? true : undefined), { what: '10.250.3.0/26 on weft.vxlan', timeoutMs: 20_000, intervalMs: 200, diagnose });
    await waitFor(async () => (await lab.ip(a.ns, 'link', 'show', 'dev', 'weft-5000').then(() => undefined, () => true)), { what: 'weft-5000 removed', timeoutMs: 10_000 });
    await pingsWithinPools();
  });
});
