// Route-reflector roles from the etcd registry (membership.etcd.role): one reflector and three
// clients, none of them with a mesh list, all on one bridge with a one-member etcd in its own
// namespace. Checked: each client peers only with the reflector, the reflector has the three as
// route-reflector clients, every kernel has every other host's block via that host's own address
// (RFC 4456: a reflected route keeps its next hop), and a client added later joins the same way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfig, startAgent, type WeftAgent } from '../helpers/agent.js';
import { etcdSkipReason, startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { run } from '../helpers/exec.js';
import { kernelRoutes } from '../helpers/kernel-routes.js';
import { Lab } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const skipReason = etcdSkipReason();
if (skipReason) console.warn(`etcd-reflectors skipped: ${skipReason}`);

interface Host {
  i: number;
  name: string;
  ns: string;
  agent: WeftAgent;
  block?: string;
}

const addr = (i: number) => `10.0.0.${i}`;

describe.skipIf(skipReason !== undefined)('membership.etcd: route-reflector roles from the registry', () => {
  let lab: Lab;
  let hub: string;
  let etcd: EtcdCluster;
  const hosts: Host[] = [];
  const diagnose = () => [...hosts.map((h) => h.agent.logTail(8)), etcd?.logTail(5)].join('\n');

  async function addHost(i: number, role: 'reflector' | 'client'): Promise<Host> {
    const ns = await lab.createNs(`r${i}`);
    await lab.veth(ns, 'eth0', `${addr(i)}/24`, hub, `v${i}`, undefined);
    await lab.ip(hub, 'link', 'set', 'dev', `v${i}`, 'master', 'br0', 'up');
    const name = `${role === 'reflector' ? 'rr' : 'client'}${i}`;
    const config = agentConfig(name, `${addr(i)}/24`, {
      blocks: 'auto',
      membership: { etcd: { endpoints: etcd.endpoints, leaseTtl: 5, role } },
      ...(role === 'reflector' ? { routeReflector: {} } : {}),
    });
    const agent = await startAgent(lab, ns, { name, config }, 30_000);
    const h: Host = { i, name, ns, agent };
    h.block = await waitFor(async () => (await agent.status()).blocks[0], { what: `${name} claimed a block`, timeoutMs: 20_000, intervalMs: 100, diagnose });
    return h;
  }

  async function weftRoutes(h: Host): Promise<string[]> {
    return (await kernelRoutes(lab, h.ns, 'weft')).map((r) => `${r.dst} ${r.type === 'blackhole' ? 'blackhole' : (r.gateway ?? '')}`).sort();
  }

  /** The reflector has every client as rr-client, each client only the reflector; every kernel every block via its origin. */
  async function converged(): Promise<void> {
    const [rr, ...clients] = hosts;
    await waitFor(
      async () => {
        const rp = (await rr.agent.status()).peers;
        if (rp.length !== clients.length || rp.some((p) => p.kind !== 'reflector-client' || p.state !== 'Established')) return false;
        for (const c of clients) {
          const cp = (await c.agent.status()).peers;
          if (cp.length !== 1 || cp[0].id !== rr.name || cp[0].kind !== 'mesh' || cp[0].state !== 'Established') return false;
        }
        for (const h of hosts) {
          const want = [...hosts.filter((o) => o !== h).map((o) => `${o.block} ${addr(o.i)}`), `${h.block} blackhole`].sort();
          if (JSON.stringify(await weftRoutes(h)) !== JSON.stringify(want)) return false;
        }
        return true;
      },
      { what: `reflector ${rr.name} and ${clients.length} clients converged`, timeoutMs: 40_000, intervalMs: 250, diagnose },
    );
  }

  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
    lab = Lab.create();
    hub = await lab.createNs('hub');
    await lab.bridge(hub, 'br0');
    const etcdNs = await lab.createNs('etcd');
    await lab.veth(etcdNs, 'eth0', '10.0.0.250/24', hub, 'vetcd', undefined);
    await lab.ip(hub, 'link', 'set', 'dev', 'vetcd', 'master', 'br0', 'up');
    etcd = await startEtcd(lab, { ns: etcdNs, host: '10.0.0.250' });
    hosts.push(await addHost(1, 'reflector'));
    hosts.push(...(await Promise.all([2, 3, 4].map((i) => addHost(i, 'client')))));
  }, 120_000);

  afterAll(async () => {
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it('clients peer only with the reflector; every kernel has every block via the host that owns it', async () => {
    expect(new Set(hosts.map((h) => h.block)).size).toBe(hosts.length);
    await converged();
    const rec = JSON.parse((await etcd.ctl(['get', '/weft/nodes/client2', '--print-value-only'])).stdout) as { role?: string };
    expect(rec.role).toBe('client');
  }, 60_000);

  it('a client added later peers with the reflector only, and its block reaches every kernel', async () => {
    hosts.push(await addHost(5, 'client'));
    await converged();
  }, 60_000);
});
