// The hosts under test: N namespaces (wt-<id>-h1..hN) on one bridge (in its own namespace
// wt-<id>-hub), host i at 10.0.0.i/24 (N <= 250). One `weft agent` per host, data plane on, pool
// 10.244.0.0/16 with encapsulation never (direct routes via the peer), hold time and keepalive low
// for the failure test. Who peers with whom is the topology's (topology.ts): a full iBGP mesh from
// one shared nodes file, or route reflectors with static `peers:`. One `ip -ts monitor route` per
// host, started before the agents, so even the first routes are seen.
import { writeFileSync } from 'node:fs';
import { controlRequest } from '../../../src/agent/control/control-client.js';
import { agentConfig, startAgent, type WeftAgent } from '../../../test/helpers/agent.js';
import { Lab } from '../../../test/helpers/netns.js';
import { waitFor } from '../../../src/lab/wait.js';
import { RouteMonitor } from './mesh-monitor.js';
import { expectedPeers, hostAddress, hostBlock, movers, peersOf, POOL, roleOf, RR_CLUSTER_ID, topologyLabel, type Role, type Topology } from './topology.js';

export { hostAddress, hostBlock, POOL } from './topology.js';

export interface MeshHost {
  i: number;
  name: string;
  ns: string;
  address: string;
  /** The block from its config file (10.244.<i>.0/26). */
  block: string;
  role: Role;
  /** Its agent's configuration (a restart starts it again with this). */
  config: Record<string, unknown>;
  /** The agent; a new one after a restart (Mesh.restart). */
  agent: WeftAgent;
  monitor: RouteMonitor;
}

export interface MeshOptions {
  topology: Topology;
  holdTime: number;
  keepalive: number;
  startTimeoutMs: number;
  logLevel: string;
  /** mesh.bfd of every agent (milliseconds); none when absent. */
  bfd?: { interval: number; multiplier: number };
  /**
   * Graceful restart between the agents (weft's default). Off in the benchmark unless asked for:
   * with it, a host whose hold timer expires keeps its routes as stale for the restart time by
   * design (RFC 4724 / 8538), so the silent-host scenario would measure the restart time, not
   * failure detection; with BFD a frozen host is dropped at once either way.
   */
  gracefulRestart?: boolean;
  /**
   * ConnectRetry of every agent, seconds (default 1: a thawed host is back fast). While a mesh
   * starts, every agent that is up redials every peer that is not yet, once per ConnectRetry:
   * O(N^2) refused dials per second, ~0.3-0.45 ms of CPU each, so large N runs use weft's default, 5.
   */
  connectRetry?: number;
}

export class Mesh {
  constructor(
    readonly lab: Lab,
    readonly hosts: MeshHost[],
    readonly opts: MeshOptions,
  ) {}

  others(h: MeshHost): MeshHost[] {
    return this.hosts.filter((x) => x !== h);
  }

  /** The hosts whose blocks change, freeze or leave in the scenarios: every host of a mesh, the clients with route reflectors. */
  movers(): MeshHost[] {
    return movers(this.opts.topology, this.hosts);
  }

  /** Starts host h's agent again from its config (after it stopped); h.agent becomes the new one. */
  async restart(h: MeshHost): Promise<void> {
    if (h.agent.alive()) throw new Error(`${h.name}: agent still running`);
    h.agent = await startAgent(this.lab, h.ns, { name: h.name, config: h.config }, this.opts.startTimeoutMs);
  }

  /** The control request `weft advertise|withdraw CIDR -s SOCK` sends, without spawning a CLI. */
  async change(h: MeshHost, op: 'advertise' | 'withdraw', prefix: string): Promise<void> {
    const r = await controlRequest(h.agent.socket, { op, prefix }, 10_000);
    if (!r.ok) throw new Error(`${h.name} ${op} ${prefix}: ${r.error}`);
  }

  /** Until every agent has all its peers Established (topology.ts expectedPeers). */
  async waitEstablished(timeoutMs: number): Promise<void> {
    const t = this.opts.topology;
    const what = t.kind === 'mesh' ? `${t.n - 1} each` : `${t.n - 1} per reflector, ${t.reflectors} per client`;
    let last = '';
    await waitFor(
      async () => {
        const sts = await Promise.all(this.hosts.map((h) => h.agent.status()));
        const counts = sts.map((st) => st.peers.filter((p) => p.state === 'Established').length);
        last = counts.join(',');
        return counts.every((c, k) => c === expectedPeers(t, this.hosts[k]!.i));
      },
      { what: `${this.hosts.length} agents with all their peers Established (${what})`, timeoutMs, intervalMs: 250, diagnose: () => `Established per host: ${last}` },
    );
  }

  diagnose(): string {
    return this.hosts
      .filter((h) => !h.agent.alive() || h.monitor.problem)
      .map((h) => `${h.name}: agent ${h.agent.alive() ? 'alive' : 'DEAD'}${h.monitor.problem ? `, monitor ${h.monitor.problem}` : ''}\n${h.agent.logTail(10)}`)
      .join('\n');
  }
}

/** One host's namespace on the LAN, with its route monitor already running. */
export interface LanHost {
  i: number;
  ns: string;
  monitor: RouteMonitor;
}

/**
 * N namespaces on one bridge (host i at 10.0.0.i/24), each with `ip -ts monitor route` running
 * before any daemon starts; the caller cleans up the lab. Shared by the weft and BIRD meshes.
 */
export async function buildLan(lab: Lab, n: number): Promise<LanHost[]> {
  if (n < 2 || n > 250) throw new Error(`N must be 2..250 (got ${n})`);
  const hub = await lab.createNs('hub');
  await lab.bridge(hub, 'br0');
  const made: LanHost[] = [];
  for (let i = 1; i <= n; i++) {
    const ns = await lab.createNs(`h${i}`);
    await lab.veth(ns, 'eth0', `${hostAddress(i)}/24`, hub, `v${i}`, undefined);
    await lab.ip(hub, 'link', 'set', 'dev', `v${i}`, 'master', 'br0', 'up');
    made.push({ i, ns, monitor: RouteMonitor.start(lab, ns) });
  }
  return made;
}

/** The part of host i's agent config that says whom it peers with. */
function peering(o: MeshOptions, i: number, nodesFile: string): Record<string, unknown> {
  const t = o.topology;
  if (t.kind === 'mesh') return { mesh: { nodesFile, pollInterval: 2, ...(o.bfd ? { bfd: o.bfd } : {}) } };
  const peers = peersOf(t, i).map((p) => ({
    name: `h${p.i}`,
    address: p.address,
    asn: 'internal',
    holdTime: o.holdTime,
    keepalive: o.keepalive,
    ...(p.client ? { routeReflectorClient: true } : {}),
    ...(o.bfd ? { bfd: o.bfd } : {}),
  }));
  return { mesh: { enabled: false }, peers, ...(roleOf(t, i) === 'reflector' ? { routeReflector: { clusterId: RR_CLUSTER_ID } } : {}) };
}

/** Builds the namespaces, bridge, monitors and agents; the caller cleans up `mesh.lab` (also on failure). */
export async function buildMesh(lab: Lab, o: MeshOptions, log: (s: string) => void): Promise<Mesh> {
  const n = o.topology.n;
  const made = await buildLan(lab, n);
  const nodesFile = lab.path('nodes.yaml');
  if (o.topology.kind === 'mesh') writeFileSync(nodesFile, JSON.stringify(Array.from({ length: n }, (_, k) => ({ name: `h${k + 1}`, address: hostAddress(k + 1) }))));
  log(`${topologyLabel(o.topology)}: ${n} namespaces on one bridge; starting the agents`);
  const hosts = await Promise.all(
    made.map(async ({ i, ns, monitor }): Promise<MeshHost> => {
      const name = `h${i}`;
      const config = agentConfig(name, `${hostAddress(i)}/24`, {
        ...peering(o, i, nodesFile),
        gracefulRestart: { enabled: o.gracefulRestart ?? false },
        pools: [{ cidr: POOL, blockSize: 26, encapsulation: 'never' }],
        blocks: [hostBlock(i)],
        timers: { holdTime: o.holdTime, keepalive: o.keepalive, connectRetry: o.connectRetry ?? 1 },
        dataplane: { enabled: true },
        logLevel: o.logLevel,
      });
      const agent = await startAgent(lab, ns, { name, config }, o.startTimeoutMs);
      return { i, name, ns, address: hostAddress(i), block: hostBlock(i), role: roleOf(o.topology, i), config, agent, monitor };
    }),
  );
  return new Mesh(lab, hosts, o);
}
