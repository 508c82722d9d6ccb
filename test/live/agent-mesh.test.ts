// `weft agent` full mesh on real sessions: N namespaces on one bridge, one agent per namespace
// (the built CLI, started with spawnIn), each with its own control socket in the run's temp dir and
// one shared mesh nodes file that lists every node, itself included.
//
// Checked: every agent learns every other agent's block and shows N-1 Established peers; a
// withdrawn block disappears everywhere; a 4th host added through the nodes file joins without
// any other session being reset (the Established-transition counters stay at 1); an agent stopped
// with SIGTERM exits 0 and its peers keep its block, stale (graceful restart; `--withdraw` and
// rolling restarts: agent-graceful-restart.test.ts).
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfig, startAgent, type AgentStatus, type RouteView, type WeftAgent } from '../helpers/agent.js';
import { run } from '../helpers/exec.js';
import { Lab } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const isRoot = process.getuid?.() === 0;
const skipReason = !isRoot ? 'needs root (network namespaces)' : undefined;
if (skipReason) console.warn(`agent-mesh skipped: ${skipReason}`);

interface Node {
  i: number;
  name: string;
  ns: string;
  address: string;
  block: string;
  agent: WeftAgent;
}

const addr = (i: number) => `10.0.0.${i}`;
const block = (i: number) => `10.244.${i}.0/26`;

describe.skipIf(skipReason !== undefined)('weft agent: full mesh', () => {
  let lab: Lab;
  let hub: string;
  const nodes: Node[] = [];
  const nodesFile = () => lab.path('nodes.yaml');

  const writeNodes = (n: number) =>
    writeFileSync(nodesFile(), JSON.stringify(Array.from({ length: n }, (_, k) => ({ name: `node${k + 1}`, address: addr(k + 1) }))));

  async function addHost(i: number): Promise<Node> {
    const ns = await lab.createNs(`n${i}`);
    await lab.veth(ns, 'eth0', `${addr(i)}/24`, hub, `v${i}`, undefined);
    await lab.ip(hub, 'link', 'set', 'dev', `v${i}`, 'master', 'br0', 'up');
    const config = agentConfig(`node${i}`, `${addr(i)}/24`, {
      mesh: { nodesFile: nodesFile(), pollInterval: 0.5 },
      blocks: [block(i)],
      logLevel: 'debug',
    });
    const agent = await startAgent(lab, ns, { name: `node${i}`, config });
    const n: Node = { i, name: `node${i}`, ns, address: addr(i), block: block(i), agent };
    nodes.push(n);
    return n;
  }

  const learned = (n: Node) => n.agent.learned();
  const diagnose = () => nodes.map((n) => n.agent.logTail(15)).join('\n');

  /** Every live agent has exactly `expected` other blocks from peers, and the right number of Established peers. */
  async function converged(live: Node[], blocksOf: (n: Node) => string[]): Promise<void> {
    await waitFor(
      async () => {
        for (const n of live) {
          const st = await n.agent.status();
          if (st.peers.filter((p) => p.state === 'Established').length !== live.length - 1) return false;
          const want = live.filter((m) => m !== n).flatMap(blocksOf).sort();
          if (JSON.stringify(await learned(n)) !== JSON.stringify(want)) return false;
        }
        return true;
      },
      { what: `${live.length} agents converged`, timeoutMs: 30_000, intervalMs: 200, diagnose },
    );
  }

  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
    lab = Lab.create();
    hub = await lab.createNs('hub');
    await lab.bridge(hub, 'br0');
    writeNodes(3);
    for (let i = 1; i <= 3; i++) await addHost(i);
  });

  afterAll(async () => {
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it('three agents: every agent learns every other block; N-1 Established', async () => {
    await converged(nodes, (n) => [n.block]);
    for (const n of nodes) {
      const st = await n.agent.cli<AgentStatus>('status');
      expect(st.peers.map((p) => [p.id, p.kind, p.state, p.accepted, p.advertised])).toEqual(
        nodes.filter((m) => m !== n).map((m) => [m.name, 'mesh', 'Established', 1, 1]),
      );
      const routes = await n.agent.cli<RouteView[]>('routes');
      for (const m of nodes) {
        const r = routes.find((x) => x.prefix === m.block);
        expect(r, `${n.name} has ${m.block}`).toBeDefined();
        // The own block is local; the others come from their node with NEXT_HOP = that node's address.
        expect(r).toMatchObject(m === n ? { source: 'local' } : { source: 'peer', peer: m.name, nextHop: m.address, reason: 'only path' });
      }
    }
  });

  it('a withdrawn block disappears everywhere, and comes back when advertised again', async () => {
    const [a] = nodes;
    await a.agent.cliRun(['withdraw', a.block]);
    await converged(nodes, (n) => (n === a ? [] : [n.block]));
    const extra = '10.244.100.0/26';
    await a.agent.cliRun(['advertise', a.block]);
    await a.agent.cliRun(['advertise', extra]);
    await converged(nodes, (n) => (n === a ? [a.block, extra].sort() : [n.block]));
    // A block outside the pools is refused with the reason (exit 1), and changes nothing.
    const bad = await a.agent.cliRun(['advertise', '10.9.0.0/26'], [1]);
    expect(bad.stderr).toMatch(/outside every pool/);
    await a.agent.cliRun(['withdraw', extra]);
    await converged(nodes, (n) => [n.block]);
  });

  it('a 4th host added through the nodes file joins without resetting any other session', async () => {
    const before = new Map<string, number>();
    for (const n of nodes) for (const p of (await n.agent.status()).peers) before.set(`${n.name}>${p.id}`, p.establishedTransitions);
    expect([...before.values()].every((v) => v === 1)).toBe(true);
    writeNodes(4);
    await addHost(4);
    await converged(nodes, (n) => [n.block]);
    for (const n of nodes.slice(0, 3)) {
      for (const p of (await n.agent.status()).peers) {
        if (p.id === 'node4') continue;
        expect(p.establishedTransitions, `${n.name} -> ${p.id}`).toBe(before.get(`${n.name}>${p.id}`));
      }
    }
  });

  it('an agent stopped with SIGTERM exits 0; its peers keep its block, stale, through the restart it announced (graceful restart)', async () => {
    const gone = nodes[1];
    gone.agent.proc.signal('SIGTERM');
    const exit = await gone.agent.proc.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    const live = nodes.filter((n) => n !== gone);
    await waitFor(
      async () => {
        for (const n of live) {
          const p = (await n.agent.status()).peers.find((x) => x.id === gone.name);
          if (!p || p.state === 'Established') return false;
          const r = (await n.agent.routes()).find((x) => x.prefix === gone.block);
          if (!r || r.stale !== true) return false;
        }
        return true;
      },
      { what: `${gone.name}'s block kept stale everywhere`, timeoutMs: 20_000, intervalMs: 200, diagnose },
    );
    // The wefts negotiated the N bit (RFC 8538): the graceful stop says why with Cease /
    // Administrative Reset and the RFC 9003 text, which keeps graceful restart (a Hard Reset would not).
    const p = (await live[0].agent.status()).peers.find((x) => x.id === gone.name);
    expect(p?.lastError).toMatch(/Cease \/ Administrative Reset: "weft agent is restarting"/);
    expect(p?.gracefulRestart).toMatchObject({ stale: 1, state: 'peer restarting' });
  });
});
