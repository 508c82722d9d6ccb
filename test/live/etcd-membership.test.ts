// membership.etcd and blocks: auto with real agents and a real 3-member etcd cluster (Debian's
// etcd 3.4), all in namespaces this test makes: the etcd members in namespace `etcd` on the lab
// bridge (10.0.0.250, reachable from the hosts' namespaces only), ten hosts 10.0.0.1..10 on the
// same bridge, each with a pod namespace behind a veth. Every agent has no mesh list at all: the
// registry is its only source of members, and its block comes from the allocator.
//
// Checked, in order (one topology, so the steps build on each other):
//  - 10 agents form a full mesh, get 10 distinct blocks, every kernel has the 9 others' routes,
//    and every pod pings every other pod (the full 90-pair matrix);
//  - `weft advertise` without a block claims a free one that every kernel gets, `weft withdraw`
//    releases the claim;
//  - a bad registry entry (another AS) is refused with its key in every agent's log and counted
//    in the metric, and never becomes a peer;
//  - one etcd member killed: no route changes anywhere, no session reset; a new host (node11)
//    registers through the two members left and every agent adds it within 1 s of its registration;
//  - node11 killed (SIGKILL): its lease expires and its block leaves every kernel within the
//    lease TTL (+ 2 s for the watch, the session removal and the kernel write);
//  - the whole etcd cluster stopped for 30 s: no route change on any host during it (polled every
//    second), store_up 0 in the metric; etcd back: the agents resync without a session reset or
//    a peer removed; then node11 started again rejoins with the block it held before.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfig, httpGetInNs, startAgent, type WeftAgent } from '../helpers/agent.js';
import { etcdSkipReason, startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { run } from '../helpers/exec.js';
import { kernelRoutes } from '../helpers/kernel-routes.js';
import { Lab } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const skipReason = etcdSkipReason();
if (skipReason) console.warn(`etcd-membership skipped: ${skipReason}`);

const N = 10;
const TTL = 5;
const ETCD_HOST = '10.0.0.250';

interface Host {
  i: number;
  name: string;
  ns: string;
  pod: string;
  agent: WeftAgent;
  block?: string;
  podAddr?: string;
}

const addr = (i: number) => `10.0.0.${i}`;
const timeOf = (t: unknown) => (typeof t === 'number' ? t : Date.parse(String(t)));

/** "10.244.5.64/26" -> its address + k. */
function plus(block: string, k: number): string {
  const [a] = block.split('/');
  const o = a.split('.').map(Number);
  const n = ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) + k;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

describe.skipIf(skipReason !== undefined)('membership.etcd: ten agents, blocks: auto, a 3-member etcd', () => {
  let lab: Lab;
  let hub: string;
  let etcd: EtcdCluster;
  const hosts: Host[] = [];
  const diagnose = () => [...hosts.map((h) => h.agent.logTail(8)), etcd?.logTail(5)].join('\n');

  async function addHost(i: number): Promise<Host> {
    const ns = await lab.createNs(`n${i}`);
    await lab.veth(ns, 'eth0', `${addr(i)}/24`, hub, `v${i}`, undefined);
    await lab.ip(hub, 'link', 'set', 'dev', `v${i}`, 'master', 'br0', 'up');
    await lab.sysctl(ns, 'net.ipv4.ip_forward', '1');
    const pod = await lab.createNs(`n${i}-pod`);
    const agent = await start(i, ns);
    return { i, name: `node${i}`, ns, pod, agent };
  }

  function start(i: number, ns: string): Promise<WeftAgent> {
    const config = agentConfig(`node${i}`, `${addr(i)}/24`, {
      blocks: 'auto',
      membership: { etcd: { endpoints: etcd.endpoints, leaseTtl: TTL } },
      metrics: { listen: '127.0.0.1:9179' },
    });
    // 10 agents start at once beside 3 etcd members: on a loaded 2-CPU machine one took over 30 s (CI, 2026-12-06).
    return startAgent(lab, ns, { name: `node${i}`, config }, 60_000);
  }

  /** A host's own block, once claimed. */
  async function blockOf(h: Host): Promise<string> {
    return waitFor(async () => (await h.agent.status()).blocks[0], { what: `${h.name} claimed a block`, timeoutMs: 20_000, intervalMs: 100, diagnose });
  }

  /** Pod namespace behind a veth: pod address = block + 5, host side = block + 1. */
  async function wirePod(h: Host): Promise<void> {
    const b = h.block!;
    h.podAddr = plus(b, 5);
    await lab.veth(h.ns, 'pod0', `${plus(b, 1)}/32`, h.pod, 'eth0', undefined);
    await lab.ip(h.ns, 'route', 'add', `${h.podAddr}/32`, 'dev', 'pod0');
    await lab.ip(h.pod, 'addr', 'add', `${h.podAddr}/32`, 'dev', 'eth0');
    await lab.ip(h.pod, 'route', 'add', plus(b, 1), 'dev', 'eth0');
    await lab.ip(h.pod, 'route', 'add', 'default', 'via', plus(b, 1));
  }

  /** weft's routes in a host's kernel, as sorted "dst gateway" lines. */
  async function weftRoutes(h: Host): Promise<string[]> {
    return (await kernelRoutes(lab, h.ns, 'weft')).map((r) => `${r.dst} ${r.type === 'blackhole' ? 'blackhole' : (r.gateway ?? r.nexthops?.map((n) => n.gateway).join(',') ?? '')}`).sort();
  }

  async function snapshot(list: Host[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const h of list) out.set(h.name, JSON.stringify(await weftRoutes(h)));
    return out;
  }

  /** Every host of `live` has exactly the others' blocks via their addresses, Established to each. */
  async function converged(live: Host[], timeoutMs = 40_000): Promise<void> {
    await waitFor(
      async () => {
        for (const h of live) {
          const st = await h.agent.status();
          if (st.peers.filter((p) => p.state === 'Established').length !== live.length - 1) return false;
          const want = [...live.filter((o) => o !== h).map((o) => `${o.block} ${addr(o.i)}`), `${h.block} blackhole`].sort();
          if (JSON.stringify(await weftRoutes(h)) !== JSON.stringify(want)) return false;
        }
        return true;
      },
      { what: `${live.length} agents converged (sessions and kernel routes)`, timeoutMs, intervalMs: 250, diagnose },
    );
  }

  /** Established transitions per peer of every host (a session reset would raise one). */
  async function transitions(list: Host[]): Promise<string> {
    const out: string[] = [];
    for (const h of list) for (const p of (await h.agent.status()).peers) out.push(`${h.name}>${p.id}:${p.state}:${p.establishedTransitions}`);
    return out.sort().join(' ');
  }

  /** Every session.down line of these hosts (peer and reason), for the failure message of a transitions check. */
  const downs = (list: Host[]) => list.flatMap((h) => h.agent.logEvents('session.down').map((l) => `${h.name}>${l.peer} ${String(l.time)} ${JSON.stringify(l.reason ?? l.msg)}`)).join('\n');

  const peerRemovals = (list: Host[]) => list.reduce((n, h) => n + h.agent.logEvents('agent.peer-removed').length, 0);

  async function metric(h: Host, name: string): Promise<number> {
    const body = (await httpGetInNs(h.ns, 'http://127.0.0.1:9179/metrics')).body;
    const line = body.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? NaN : Number(line.split(' ')[1]);
  }

  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
    lab = Lab.create();
    hub = await lab.createNs('hub');
    await lab.bridge(hub, 'br0');
    const etcdNs = await lab.createNs('etcd');
    await lab.veth(etcdNs, 'eth0', `${ETCD_HOST}/24`, hub, 'vetcd', undefined);
    await lab.ip(hub, 'link', 'set', 'dev', 'vetcd', 'master', 'br0', 'up');
    etcd = await startEtcd(lab, { members: 3, ns: etcdNs, host: ETCD_HOST });
    hosts.push(...(await Promise.all(Array.from({ length: N }, (_, k) => addHost(k + 1)))));
  }, 120_000);

  afterAll(async () => {
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it('ten agents: distinct blocks, a full mesh, every kernel has every route, every pod pings every pod', async () => {
    for (const h of hosts) h.block = await blockOf(h);
    expect(new Set(hosts.map((h) => h.block)).size).toBe(N);
    for (const h of hosts) expect(h.block).toMatch(/^10\.244\.\d+\.\d+\/26$/);
    await converged(hosts);
    await Promise.all(hosts.map((h) => wirePod(h)));
    // The full matrix, one source host at a time in parallel (90 pairs).
    const failed: string[] = [];
    await Promise.all(
      hosts.map(async (from) => {
        for (const to of hosts) {
          if (to === from) continue;
          const ok = await waitFor(async () => (await lab.exec(from.pod, 'ping', ['-c', '1', '-W', '1', '-q', to.podAddr!], { okCodes: [0, 1] })).code === 0, {
            what: `pod ${from.name} -> ${to.name}`,
            timeoutMs: 10_000,
            intervalMs: 200,
          }).catch(() => false);
          if (!ok) failed.push(`${from.name}->${to.name}`);
        }
      }),
    );
    expect(failed).toEqual([]);
  }, 120_000);

  it('a registry entry that does not validate is refused with its key, counted, never a peer', async () => {
    const key = '/weft/nodes/intruder';
    await etcd.ctl(['put', key, JSON.stringify({ version: 1, name: 'intruder', address: '10.0.0.99', asn: 65001, blocks: [] })]);
    await waitFor(() => hosts.every((h) => h.agent.logEvents('membership.record-refused').some((l) => l.key === key)), { what: 'every agent refused the intruder', timeoutMs: 10_000, intervalMs: 200, diagnose });
    const line = hosts[0].agent.logEvents('membership.record-refused').find((l) => l.key === key)!;
    expect(line.reason).toBe("AS 65001 is not this mesh's AS 64512 (the mesh is iBGP)");
    expect(await metric(hosts[0], 'weft_membership_refused_total')).toBeGreaterThanOrEqual(1);
    for (const h of hosts) expect((await h.agent.status()).peers.some((p) => p.address === '10.0.0.99')).toBe(false);
    await etcd.ctl(['del', key]);
  }, 30_000);

  it('weft advertise without a block claims a free one (every kernel gets it); weft withdraw gives the claim back', async () => {
    const h = hosts[0];
    const r = JSON.parse((await h.agent.cliRun(['advertise', '--json'])).stdout) as { prefix: string; changed: boolean };
    expect(r.changed).toBe(true);
    expect(r.prefix).toMatch(/^10\.244\.\d+\.\d+\/26$/);
    expect(hosts.map((x) => x.block)).not.toContain(r.prefix);
    const key = `/weft/blocks/10.244.0.0-16/${r.prefix.replace('/', '-')}`;
    expect((await etcd.ctl(['get', key, '--print-value-only'])).stdout.trim()).toBe('node1');
    const everywhere = (present: boolean) =>
      waitFor(
        async () => {
          for (const o of hosts.slice(1)) if ((await weftRoutes(o)).includes(`${r.prefix} ${addr(1)}`) !== present) return false;
          return true;
        },
        { what: `${r.prefix} ${present ? 'in' : 'gone from'} every kernel`, timeoutMs: 15_000, intervalMs: 200, diagnose },
      );
    await everywhere(true);
    await h.agent.cliRun(['withdraw', r.prefix]);
    await everywhere(false);
    expect((await etcd.ctl(['get', key, '--print-value-only'])).stdout.trim()).toBe('');
  }, 30_000);

  it('one etcd member killed: nothing changes; a new host joins within a second of registering', async () => {
    const before = await snapshot(hosts);
    const trans = await transitions(hosts);
    const removals = peerRemovals(hosts);
    await etcd.killMember(0);
    const h11 = await addHost(11);
    hosts.push(h11);
    h11.block = await blockOf(h11);
    expect(hosts.slice(0, N).map((h) => h.block)).not.toContain(h11.block);
    await converged(hosts);
    const registered = timeOf(h11.agent.logEvents('membership.registered')[0].time);
    const added = hosts.slice(0, N).map((h) => {
      const l = h.agent.logEvents('agent.peer-added', 'node11')[0];
      return timeOf(l.time) - registered;
    });
    console.log(`etcd-membership: node11 added by the ${N} others ${Math.min(...added)}..${Math.max(...added)} ms after its registration`);
    expect(Math.max(...added)).toBeLessThan(1000);
    // Only node11's block was added anywhere; no session was reset, no peer removed.
    for (const h of hosts.slice(0, N)) {
      const now = (await weftRoutes(h)).filter((r) => !r.startsWith(`${h11.block} `));
      expect(JSON.stringify(now)).toBe(before.get(h.name));
    }
    expect((await transitions(hosts.slice(0, N))).split(' ').filter((t) => !t.includes('node11')).join(' '), downs(hosts)).toBe(trans);
    expect(peerRemovals(hosts)).toBe(removals);
    etcd.startMember(0);
    await etcd.healthy();
  }, 60_000);

  it('a killed host leaves every kernel within the lease TTL', async () => {
    const h11 = hosts[N];
    const t0 = Date.now();
    h11.agent.proc.signal('SIGKILL');
    await waitFor(
      async () => {
        for (const h of hosts.slice(0, N)) if ((await weftRoutes(h)).some((r) => r.startsWith(`${h11.block} `))) return false;
        return true;
      },
      { what: `node11's block ${h11.block} gone from every kernel`, timeoutMs: (TTL + 10) * 1000, intervalMs: 100, diagnose },
    );
    const took = Date.now() - t0;
    console.log(`etcd-membership: killed host gone from ${N} kernels after ${took} ms (lease TTL ${TTL} s)`);
    expect(took).toBeLessThan((TTL + 2) * 1000);
    await h11.agent.proc.stop();
  }, 60_000);

  it('the whole etcd stopped for 30 s: no route change, then a resync without churn; a host that comes back rejoins with its block', async () => {
    const live = hosts.slice(0, N);
    const before = await snapshot(live);
    const trans = await transitions(live);
    const removals = peerRemovals(live);
    await etcd.stopAll();
    const downAt = Date.now();
    let polls = 0;
    while (Date.now() - downAt < 30_000) {
      const now = await snapshot(live);
      for (const h of live) expect(now.get(h.name), `${h.name} routes while etcd is down`).toBe(before.get(h.name));
      polls++;
      if (polls === 10) expect(await metric(live[0], 'weft_membership_store_up')).toBe(0);
      await new Promise((r) => setTimeout(r, 1000)); // the observation period: etcd stays down 30 s
    }
    const seen = live.map((h) => h.agent.logEvents('membership.store-available').length);
    etcd.startAll();
    await etcd.healthy(30_000);
    await waitFor(() => live.every((h, k) => h.agent.logEvents('membership.store-available').length > seen[k]), { what: 'every agent back on etcd', timeoutMs: 20_000, intervalMs: 200, diagnose });
    await waitFor(async () => (await metric(live[0], 'weft_membership_store_up')) === 1, { what: 'store_up 1 again', timeoutMs: 10_000, intervalMs: 200 });
    // Give the lease of every agent's old registration time to expire on the restarted etcd:
    // nobody may be removed by it (each re-registered in time).
    const after = Date.now() + (TTL + 2) * 1000;
    await waitFor(async () => Date.now() > after && (await snapshot(live)).size === N, { what: 'old leases expired', timeoutMs: (TTL + 5) * 1000, intervalMs: 500 });
    expect(await snapshot(live)).toEqual(before);
    expect(await transitions(live), downs(live)).toBe(trans);
    expect(peerRemovals(live)).toBe(removals);
    // A change after the return propagates: node11 starts again and rejoins with its old block.
    const h11 = hosts[N];
    const old = h11.block;
    h11.agent = await start(11, h11.ns);
    h11.block = await blockOf(h11);
    expect(h11.block).toBe(old);
    await converged(hosts);
  }, 120_000);

  it('an agent restarted while etcd is away starts from its cache file: its sessions and its block are back at once, no route changes', async () => {
    const h = hosts[1];
    const block = h.block!;
    const others = hosts.filter((o) => o !== h);
    // Written while etcd answered: every other member and the claimed block.
    const cachePath = join(dirname(h.agent.socket), `${h.name}.registry.json`);
    const cache = JSON.parse(readFileSync(cachePath, 'utf8')) as { node: string; members: { name: string }[]; blocks: string[] };
    expect(cache.node).toBe(h.name);
    expect(cache.members.map((m) => m.name).sort()).toEqual(others.map((o) => o.name).sort());
    expect(cache.blocks).toEqual([block]);
    const before = await snapshot(hosts);
    // The restarted agent logs to the same file: count what its new run adds.
    const loaded0 = h.agent.logEvents('membership.cache-loaded').length;
    const available0 = h.agent.logEvents('membership.store-available').length;
    await etcd.stopAll();
    try {
      await h.agent.proc.stop(); // SIGTERM: a graceful restart, the peers keep its routes
      h.agent = await start(h.i, h.ns);
      await waitFor(
        async () => {
          const st = await h.agent.status();
          return st.blocks.includes(block) && st.peers.filter((p) => p.state === 'Established').length === others.length;
        },
        { what: `${h.name} back with ${block} and ${others.length} Established sessions while etcd is down`, timeoutMs: 30_000, intervalMs: 200, diagnose },
      );
      expect(h.agent.logEvents('membership.cache-loaded').length).toBe(loaded0 + 1);
      expect(h.agent.logEvents('membership.store-available').length).toBe(available0);
      // Every kernel as before the restart: the block stayed everywhere, via the same host.
      await waitFor(async () => JSON.stringify([...(await snapshot(hosts))]) === JSON.stringify([...before]), { what: 'every kernel as before the restart', timeoutMs: 20_000, intervalMs: 250, diagnose });
    } finally {
      etcd.startAll();
      await etcd.healthy(30_000);
    }
    await waitFor(() => h.agent.logEvents('membership.store-available').length > available0, { what: `${h.name} on etcd again`, timeoutMs: 20_000, intervalMs: 200, diagnose });
    expect(await blockOf(h)).toBe(block);
    await converged(hosts);
  }, 120_000);
});
