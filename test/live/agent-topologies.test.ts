// `weft agent` at a larger scale, on real sessions in namespaces on one bridge (shared helpers:
// test/helpers/agent.ts):
//  - a full mesh of 8 (28 sessions) from one shared nodes file (mesh.nodesFile): every agent learns
//    the 7 other blocks, into its RIB and its kernel (proto 249); a ninth host added to the nodes
//    file joins without resetting any session among the 8 (Established-transition counters per peer
//    from `weft status --json`, before and after); an agent run with --withdraw and stopped with
//    SIGTERM (by PID) exits 0 and its block leaves every other agent's routes and kernel;
//  - route reflection (RFC 4456): 2 reflectors (each other's non-client iBGP peer) and 6 clients
//    peering with both, no mesh: every client learns every other node's block, reflected routes
//    carry ORIGINATOR_ID and CLUSTER_LIST.
// Every wait is a condition with a deadline; agents start in parallel (CI has 2 cores).
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfig, startAgent, type AgentStatus, type PeerStatusView, type WeftAgent } from '../helpers/agent.js';
import { run } from '../helpers/exec.js';
import { Lab } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const skipReason = process.getuid?.() === 0 ? undefined : 'needs root (network namespaces)';
if (skipReason) console.warn(`agent-topologies skipped: ${skipReason}`);

const addr = (i: number) => `10.0.0.${i}`;
const block = (i: number) => `10.244.${i}.0/26`;

interface Host {
  i: number;
  name: string;
  ns: string;
  agent: WeftAgent;
}

class Topology {
  readonly hosts: Host[] = [];
  private hub = '';
  /** Hosts whose agent runs with `--withdraw` (a stop makes the peers drop its routes at once). */
  readonly withdrawOnStop = new Set<number>();
  constructor(readonly lab: Lab) {}

  async init(): Promise<void> {
    this.hub = await this.lab.createNs('hub');
    await this.lab.bridge(this.hub, 'br0');
  }

  /** Hosts `ids` on the bridge, each running `weft agent` with `extra(i)` merged into its config; started in parallel. */
  async add(ids: readonly number[], extra: (i: number) => Record<string, unknown>): Promise<Host[]> {
    const nss: string[] = [];
    for (const i of ids) {
      const ns = await this.lab.createNs(`n${i}`);
      await this.lab.veth(ns, 'eth0', `${addr(i)}/24`, this.hub, `v${i}`, undefined);
      await this.lab.ip(this.hub, 'link', 'set', 'dev', `v${i}`, 'master', 'br0', 'up');
      nss.push(ns);
    }
    const added = await Promise.all(
      ids.map(async (i, k) => {
        const config = agentConfig(`node${i}`, `${addr(i)}/24`, { blocks: [block(i)], ...extra(i) });
        const args = this.withdrawOnStop.has(i) ? ['--withdraw'] : [];
        const agent = await startAgent(this.lab, nss[k], { name: `node${i}`, config, args }, 30_000);
        return { i, name: `node${i}`, ns: nss[k], agent };
      }),
    );
    this.hosts.push(...added);
    this.hosts.sort((a, b) => a.i - b.i);
    return added;
  }

  host(i: number): Host {
    const h = this.hosts.find((x) => x.i === i);
    if (!h) throw new Error(`no host ${i}`);
    return h;
  }

  diagnose(hosts: readonly Host[] = this.hosts): string {
    return hosts.map((h) => h.agent.logTail(8)).join('\n');
  }

  /** The prefixes weft put into the host's kernel (main table, proto 249), sorted. */
  async kernelBlocks(h: Host): Promise<string[]> {
    const routes = JSON.parse((await this.lab.ip(h.ns, '-json', 'route', 'show', 'proto', '249')).stdout) as { dst: string }[];
    return routes.map((r) => r.dst).sort();
  }

  /**
   * Every host in `live`: `established(h)` sessions up, every other live host's block learned from a
   * peer, and (with `kernel`) every block (its own as a blackhole) in its kernel.
   */
  async converged(live: readonly Host[], established: (h: Host) => number, kernel = false): Promise<void> {
    const others = (h: Host) => live.filter((x) => x !== h).map((x) => block(x.i)).sort();
    const ok = async (h: Host): Promise<boolean> => {
      const st = await h.agent.status();
      if (st.peers.filter((p) => p.state === 'Established').length !== established(h)) return false;
      if (JSON.stringify(await h.agent.learned()) !== JSON.stringify(others(h))) return false;
      return !kernel || JSON.stringify(await this.kernelBlocks(h)) === JSON.stringify([...others(h), block(h.i)].sort());
    };
    await waitFor(async () => (await Promise.all(live.map(ok))).every(Boolean), {
      what: `${live.length} agents converged${kernel ? ' (RIB and kernel)' : ''}`,
      timeoutMs: 60_000,
      intervalMs: 200,
      diagnose: () => this.diagnose(live),
    });
  }
}

/** `weft status --json` of every host, run side by side: host -> peer id -> its status row. */
async function cliPeers(hosts: readonly Host[]): Promise<Map<string, Map<string, PeerStatusView>>> {
  const all = await Promise.all(hosts.map(async (h) => [h.name, await h.agent.cli<AgentStatus>('status')] as const));
  return new Map(all.map(([name, st]) => [name, new Map(st.peers.map((p) => [p.id, p]))]));
}

beforeAll(async () => {
  if (skipReason === undefined) await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
}, 130_000);

describe.skipIf(skipReason !== undefined)('weft agent: full mesh of 8 from a nodes file, a ninth joins, one stops', () => {
  let lab: Lab;
  let topo: Topology;
  const N = 8;
  const nodesFile = () => lab.path('nodes.yaml');
  const writeNodes = (n: number) => writeFileSync(nodesFile(), JSON.stringify(Array.from({ length: n }, (_, k) => ({ name: `node${k + 1}`, address: addr(k + 1) }))));
  const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);
  // One shared node list, itself included: each agent skips itself.
  const meshConfig = () => ({ mesh: { nodesFile: nodesFile(), pollInterval: 0.5 } });

  beforeAll(async () => {
    lab = Lab.create();
    topo = new Topology(lab);
    await topo.init();
    writeNodes(N);
    topo.withdrawOnStop.add(5); // stopped below: with graceful restart (the default) its peers would keep its block
    await topo.add(ids(1, N), meshConfig);
  }, 60_000);

  afterAll(async () => {
    expect((await lab?.cleanup()) ?? []).toEqual([]);
  });

  it('every agent has 7 Established mesh sessions and the 7 other blocks, in the RIB and the kernel', async () => {
    await topo.converged(topo.hosts, () => N - 1, true);
    for (const h of topo.hosts) {
      const st = await h.agent.status();
      expect(st.peers.every((p) => p.kind === 'mesh' && p.establishedTransitions === 1)).toBe(true);
      // The address whose text sorts higher dials (calico-node's rule; single digits here, so the
      // same as numeric order): node8 dials everyone, node1 dials no one.
      expect(st.peers.filter((p) => !p.passive).length).toBe(h.i - 1);
    }
  });

  it('a ninth host added to the nodes file joins; no session among the 8 is reset', async () => {
    const eight = [...topo.hosts];
    const before = await cliPeers(eight);
    for (const h of eight) expect([...before.get(h.name)!.keys()].sort(), h.name).toEqual(eight.filter((x) => x !== h).map((x) => x.name).sort());
    writeNodes(N + 1);
    await topo.add([N + 1], meshConfig);
    await topo.converged(topo.hosts, () => N, true);
    const after = await cliPeers(eight);
    for (const h of eight) {
      const was = before.get(h.name)!;
      const now = after.get(h.name)!;
      expect(now.get(`node${N + 1}`)?.state, `${h.name} -> node${N + 1}`).toBe('Established');
      for (const [id, p] of was) {
        expect(now.get(id)?.state, `${h.name} -> ${id}`).toBe('Established');
        expect(now.get(id)?.establishedTransitions, `${h.name} -> ${id} establishedTransitions`).toBe(p.establishedTransitions);
      }
      // The nodes file added the ninth peer and removed none.
      expect(h.agent.logEvents('agent.peer-removed')).toEqual([]);
      expect(h.agent.logEvents('agent.peer-added', `node${N + 1}`).map((l) => l.why)).toEqual(['nodes file']);
    }
  });

  it('an agent run with --withdraw and stopped with SIGTERM exits 0; its block leaves every other agent, RIB and kernel', async () => {
    const gone = topo.host(5);
    const live = topo.hosts.filter((h) => h !== gone);
    // Before: everyone has the block in the kernel (so "gone from the kernel" below means something).
    for (const h of live) expect(await topo.kernelBlocks(h), h.name).toContain(block(gone.i));
    process.kill(gone.agent.proc.pid, 'SIGTERM');
    expect(await gone.agent.proc.exited).toEqual({ code: 0, signal: null });
    const stillThere = async (h: Host): Promise<boolean> => {
      const rib = (await h.agent.routes()).some((r) => r.prefix === block(gone.i));
      const p = await h.agent.peer(gone.name);
      return rib || (await topo.kernelBlocks(h)).includes(block(gone.i)) || p === undefined || p.state === 'Established';
    };
    await waitFor(async () => !(await Promise.all(live.map(stillThere))).some(Boolean), {
      what: `${gone.name}'s block gone from every other agent's routes and kernel`,
      timeoutMs: 20_000,
      intervalMs: 200,
      diagnose: () => topo.diagnose(live),
    });
    // The rest of the mesh is untouched: every other block still everywhere, N-1 sessions each.
    await topo.converged(live, () => N - 1, true);
    const p = await live[0].agent.peer(gone.name);
    // The wefts negotiated the N bit: --withdraw sends Cease / Hard Reset (RFC 8538 3), which ends
    // graceful restart, wrapping the Administrative Shutdown it stands for.
    expect(p?.lastError).toMatch(/Cease \/ Hard Reset/);
  });
});

describe.skipIf(skipReason !== undefined)('weft agent: 2 route reflectors, 6 clients', () => {
  let lab: Lab;
  let topo: Topology;
  const RR = [1, 2];
  const CLIENTS = [3, 4, 5, 6, 7, 8];

  beforeAll(async () => {
    lab = Lab.create();
    topo = new Topology(lab);
    await topo.init();
    await topo.add([...RR, ...CLIENTS], (i) => {
      if (!RR.includes(i)) return { mesh: { enabled: false }, peers: RR.map((r) => ({ name: `node${r}`, address: addr(r), asn: 'internal', holdTime: 9 })) };
      const other = RR.find((x) => x !== i)!;
      return {
        mesh: { enabled: false },
        routeReflector: {},
        peers: [
          { name: `node${other}`, address: addr(other), asn: 'internal', holdTime: 9, passive: i > other },
          ...CLIENTS.map((c) => ({ name: `node${c}`, address: addr(c), asn: 'internal', holdTime: 9, routeReflectorClient: true, passive: true })),
        ],
      };
    });
  }, 60_000);

  afterAll(async () => {
    expect((await lab?.cleanup()) ?? []).toEqual([]);
  });

  it('every client learns every block through the reflectors', async () => {
    await topo.converged(topo.hosts, (h) => (RR.includes(h.i) ? 7 : 2));
    const st = await topo.host(1).agent.status();
    expect(st.routeReflector).toBe(true);
    expect(st.peers.filter((p) => p.kind === 'reflector-client').map((p) => p.id)).toEqual(CLIENTS.map((c) => `node${c}`));
    // A client's block at another client: two candidate paths (one per reflector), reflected with
    // ORIGINATOR_ID = the originating client and one cluster id, NEXT_HOP unchanged (RFC 4456 10).
    const r = (await topo.host(3).agent.routes()).find((x) => x.prefix === block(4));
    expect(r).toMatchObject({ source: 'peer', nextHop: addr(4), originatorId: addr(4), candidates: 2 });
    expect(r?.clusterList).toHaveLength(1);
    expect(RR.map(addr)).toContain(r?.clusterList[0]);
  });
});
