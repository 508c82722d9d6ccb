// `weft agent` at a larger scale, on real sessions in namespaces on one bridge:
//  - a full mesh of 8 (28 sessions): every agent learns the 7 other blocks;
//  - route reflection (RFC 4456): 2 reflectors (each other's non-client iBGP peer) and 6 clients
//    peering with both, no mesh: every client learns every other node's block, reflected routes
//    carry ORIGINATOR_ID and CLUSTER_LIST.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRequest } from '../../src/agent/control-client.js';
import type { AgentStatus, RouteView } from '../../src/agent/control-server.js';
import { run } from '../helpers/exec.js';
import { Lab, type ProcHandle } from '../helpers/netns.js';
import { DaemonError } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { WEFT_MAIN } from '../helpers/weft.js';

const skipReason = process.getuid?.() === 0 ? undefined : 'needs root (network namespaces)';
if (skipReason) console.warn(`agent-topologies skipped: ${skipReason}`);

const addr = (i: number) => `10.0.0.${i}`;
const block = (i: number) => `10.244.${i}.0/26`;

interface Agent {
  i: number;
  name: string;
  socket: string;
  proc: ProcHandle;
}

class Topology {
  readonly agents: Agent[] = [];
  private hub = '';
  constructor(readonly lab: Lab) {}

  async init(): Promise<void> {
    this.hub = await this.lab.createNs('hub');
    await this.lab.bridge(this.hub, 'br0');
  }

  /** One host on the bridge running `weft agent` with `extra` merged into its config. */
  async host(i: number, extra: Record<string, unknown>): Promise<Agent> {
    const ns = await this.lab.createNs(`n${i}`);
    await this.lab.veth(ns, 'eth0', `${addr(i)}/24`, this.hub, `v${i}`, undefined);
    await this.lab.ip(this.hub, 'link', 'set', 'dev', `v${i}`, 'master', 'br0', 'up');
    const socket = this.lab.path(`node${i}.sock`);
    const conf = this.lab.path(`node${i}.yaml`);
    writeFileSync(
      conf,
      JSON.stringify({
        node: { name: `node${i}`, asn: 64512, address: `${addr(i)}/24` },
        listen: { address: addr(i), port: 179 },
        pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }],
        blocks: [block(i)],
        control: { socket },
        timers: { holdTime: 9, keepalive: 3, connectRetry: 1 },
        ...extra,
      }),
    );
    const a: Agent = { i, name: `node${i}`, socket, proc: this.lab.spawnIn(ns, 'node', [WEFT_MAIN, 'agent', '-c', conf], { label: `node${i}` }) };
    this.agents.push(a);
    return a;
  }

  async ask<T>(a: Agent, op: 'status' | 'routes'): Promise<T> {
    if (!a.proc.alive()) throw new DaemonError(`agent ${a.name} died`, [a.proc.logPath]);
    const r = await controlRequest(a.socket, { op }, 3000);
    if (!r.ok) throw new Error(r.error);
    return (op === 'status' ? r.status : r.routes) as T;
  }

  /** Every agent: `established(a)` sessions up and every other agent's block learned from a peer. */
  async converged(established: (a: Agent) => number): Promise<void> {
    await waitFor(
      async () => {
        for (const a of this.agents) {
          const st = await this.ask<AgentStatus>(a, 'status');
          if (st.peers.filter((p) => p.state === 'Established').length !== established(a)) return false;
          const got = (await this.ask<RouteView[]>(a, 'routes')).filter((r) => r.source === 'peer').map((r) => r.prefix).sort();
          const want = this.agents.filter((b) => b !== a).map((b) => block(b.i)).sort();
          if (JSON.stringify(got) !== JSON.stringify(want)) return false;
        }
        return true;
      },
      {
        what: `${this.agents.length} agents converged`,
        timeoutMs: 60_000,
        intervalMs: 300,
        diagnose: () => this.agents.map((a) => `--- ${a.name}\n${a.proc.logTail(8)}`).join('\n'),
      },
    );
  }
}

describe.skipIf(skipReason !== undefined)('weft agent: full mesh of 8', () => {
  let lab: Lab;
  let topo: Topology;
  const N = 8;

  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
    lab = Lab.create();
    topo = new Topology(lab);
    await topo.init();
    // One shared node list, inline this time: each agent skips itself.
    const nodes = Array.from({ length: N }, (_, k) => ({ name: `node${k + 1}`, address: addr(k + 1) }));
    for (let i = 1; i <= N; i++) await topo.host(i, { mesh: { nodes } });
  });

  afterAll(async () => {
    expect((await lab?.cleanup()) ?? []).toEqual([]);
  });

  it('every agent has 7 Established mesh sessions and the 7 other blocks', async () => {
    await topo.converged(() => N - 1);
    for (const a of topo.agents) {
      const st = await topo.ask<AgentStatus>(a, 'status');
      expect(st.peers.every((p) => p.kind === 'mesh' && p.establishedTransitions === 1)).toBe(true);
      // The lower address dials: node1 dials everyone, node8 dials no one.
      expect(st.peers.filter((p) => !p.passive).length).toBe(N - a.i);
    }
  });
});

describe.skipIf(skipReason !== undefined)('weft agent: 2 route reflectors, 6 clients', () => {
  let lab: Lab;
  let topo: Topology;
  const RR = [1, 2];
  const CLIENTS = [3, 4, 5, 6, 7, 8];

  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
    lab = Lab.create();
    topo = new Topology(lab);
    await topo.init();
    for (const r of RR) {
      const other = RR.find((x) => x !== r)!;
      await topo.host(r, {
        mesh: { enabled: false },
        routeReflector: {},
        peers: [
          { name: `node${other}`, address: addr(other), asn: 'internal', holdTime: 9, passive: r > other },
          ...CLIENTS.map((c) => ({ name: `node${c}`, address: addr(c), asn: 'internal', holdTime: 9, routeReflectorClient: true, passive: true })),
        ],
      });
    }
    for (const c of CLIENTS) {
      await topo.host(c, { mesh: { enabled: false }, peers: RR.map((r) => ({ name: `node${r}`, address: addr(r), asn: 'internal', holdTime: 9 })) });
    }
  });

  afterAll(async () => {
    expect((await lab?.cleanup()) ?? []).toEqual([]);
  });

  it('every client learns every block through the reflectors', async () => {
    await topo.converged((a) => (RR.includes(a.i) ? 7 : 2));
    const rr1 = topo.agents.find((a) => a.i === 1)!;
    const st = await topo.ask<AgentStatus>(rr1, 'status');
    expect(st.routeReflector).toBe(true);
    expect(st.peers.filter((p) => p.kind === 'reflector-client').map((p) => p.id)).toEqual(CLIENTS.map((c) => `node${c}`));
    // A client's block at another client: two candidate paths (one per reflector), reflected with
    // ORIGINATOR_ID = the originating client and one cluster id, NEXT_HOP unchanged (RFC 4456 10).
    const c3 = topo.agents.find((a) => a.i === 3)!;
    const r = (await topo.ask<RouteView[]>(c3, 'routes')).find((x) => x.prefix === block(4));
    expect(r).toMatchObject({ source: 'peer', nextHop: addr(4), originatorId: addr(4), candidates: 2 });
    expect(r?.clusterList).toHaveLength(1);
    expect(RR.map(addr)).toContain(r?.clusterList[0]);
  });
});
