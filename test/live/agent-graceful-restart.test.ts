// Rolling restarts lose no traffic (issue 11's proof, graceful restart RFC 4724 + N bit RFC 8538):
// 4 hosts running `weft agent` and 1 running BIRD 2 configured as calico-node's confd does (started
// with -R, as calico-node starts it), a full iBGP mesh on one LAN, a pod behind each host. A ping
// every 10 ms runs from every pod to every other pod for the whole test. Then:
//   1. every weft agent in turn is stopped with SIGTERM and started again (graceful stop);
//   2. every weft agent in turn is killed with SIGKILL and started again;
//   3. BIRD is killed with SIGKILL and started again (with -R);
// each time the next restart waits until the mesh is whole again (every session Established, no
// stale route left, no table deferred). No ping may be lost: every icmp_seq up to the last second
// of each pinger has its reply. Then, pings again: all four wefts killed together and started
// together, and one restarted twice in a row without waiting (calico#7144, felix#1592): no loss.
// Then `weft agent --withdraw`: a host whose agent runs with it and gets SIGTERM has its block
// removed from every other host at once (Cease / Hard Reset), not kept stale.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfig, startAgent, type WeftAgent } from '../helpers/agent.js';
import { startBird, type Bird } from '../helpers/bird.js';
import { calicoBirdConfig, calicoMeshProtocol } from '../helpers/calico-bird.js';
import { run } from '../helpers/exec.js';
import { lan24 } from '../helpers/interop.js';
import { kernelRoutes } from '../helpers/kernel-routes.js';
import { Lab, type ProcHandle } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';
import { interopSkipReason } from '../helpers/weft.js';

const skipReason = interopSkipReason(['ip', 'ping', 'bird', 'birdc']);
if (skipReason) console.warn(`agent-graceful-restart skipped: ${skipReason}`);

const ASN = 64512;
const POOL = '10.244.0.0/16';
const WEFTS = [1, 2, 3, 4];
const BIRD_I = 5;

interface Host {
  i: number;
  name: string;
  address: string;
  ns: string;
  pod: string;
  block: string;
  podAddr: string;
  agent?: WeftAgent;
  bird?: Bird;
  args: string[];
}

const address = (i: number) => `10.0.0.${i}`;

describe.skipIf(skipReason !== undefined)('rolling restarts with graceful restart: zero lost pings (4 wefts + a Calico BIRD)', () => {
  let lab: Lab;
  const hosts: Host[] = [];
  const pingers: { from: Host; to: Host; proc: ProcHandle }[] = [];
  let stopAwake: () => void = () => undefined;
  const all = () => hosts.map((h) => h.address);

  const weftConfig = (h: Host) =>
    agentConfig(h.name, `${h.address}/24`, {
      mesh: { nodes: hosts.map((x) => ({ name: x.name, address: x.address })) },
      pools: [{ cidr: POOL, blockSize: 26 }],
      blocks: [h.block],
      timers: { holdTime: 9, keepalive: 3, connectRetry: 1 },
    });

  const diagnose = async () => {
    const parts: string[] = [];
    for (const h of hosts) {
      if (h.agent) parts.push(h.agent.logTail(12));
      if (h.bird) parts.push(`--- ${h.name}\n${await h.bird.birdc('show', 'protocols').catch((e: Error) => e.message)}`);
    }
    return parts.join('\n');
  };

  async function startWeft(h: Host): Promise<void> {
    h.agent = await startAgent(lab, h.ns, { name: h.name, config: weftConfig(h), args: h.args }, 30_000);
  }

  async function startBirdHost(h: Host): Promise<void> {
    h.bird = await startBird(lab, h.ns, { routerId: h.address, config: calicoBirdConfig({ address: h.address, asn: ASN, blocks: [h.block], pools: [POOL], mesh: all() }), args: ['-R'] });
    stopAwake();
    stopAwake = h.bird.keepAwake(200);
  }

  /** Every session up at both ends, no stale route, no deferred table, every block in every kernel. */
  async function whole(what: string, live: readonly Host[] = hosts): Promise<void> {
    let last = '';
    await waitFor(
      async () => {
        for (const h of live) {
          if (h.agent) {
            const st = await h.agent.status();
            for (const p of st.peers.filter((x) => live.some((y) => y.name === x.id))) {
              last = `${h.name} -> ${p.id}: ${p.state} ${JSON.stringify(p.gracefulRestart)}`;
              if (p.state !== 'Established' || p.gracefulRestart?.stale !== 0 || p.gracefulRestart.state !== undefined) return false;
            }
          } else if (h.bird) {
            for (const o of live.filter((x) => x !== h)) {
              const s = await h.bird.protocolState(calicoMeshProtocol(o.address));
              last = `${h.name} -> ${o.name}: ${String(s)}`;
              if (s !== 'Established') return false;
            }
          }
          const routes = await kernelRoutes(lab, h.ns);
          for (const o of live.filter((x) => x !== h)) {
            if (!routes.some((r) => r.dst === o.block && r.gateway === o.address)) {
              last = `${h.name}: no kernel route ${o.block} via ${o.address}`;
              return false;
            }
          }
        }
        return true;
      },
      { what, timeoutMs: 90_000, intervalMs: 250, diagnose: async () => `${last}\n${await diagnose()}` },
    );
  }

  /** icmp_seq numbers answered, from a `ping -n` log. */
  function answered(p: ProcHandle): Set<number> {
    const seqs = new Set<number>();
    for (const m of readFileSync(p.logPath, 'utf8').matchAll(/icmp_seq=(\d+) /g)) seqs.add(Number(m[1]));
    return seqs;
  }

  /** A ping every 10 ms from every pod to every other pod; resolves once each pair answers. */
  async function startPings(tag: string): Promise<void> {
    pingers.length = 0;
    for (const from of hosts) for (const to of hosts) if (from !== to) pingers.push({ from, to, proc: lab.spawnIn(from.pod, 'ping', ['-n', '-i', '0.01', to.podAddr], { label: `ping-${tag}-${from.name}-${to.name}` }) });
    await waitFor(() => pingers.every((p) => answered(p.proc).size >= 20), { what: 'every pod pair answering pings', timeoutMs: 30_000, intervalMs: 100, diagnose });
  }

  /** One more second of pings, then the pairs that lost any (all but the last second checked); stops the pings. */
  async function stopPings(): Promise<{ sent: number; lost: string[] }> {
    const marks = new Map(pingers.map((p) => [p, Math.max(0, ...answered(p.proc))]));
    await waitFor(() => pingers.every((p) => Math.max(0, ...answered(p.proc)) >= marks.get(p)! + 100), { what: 'one more second of pings', timeoutMs: 30_000, intervalMs: 100 });
    let sent = 0;
    const lost: string[] = [];
    for (const p of pingers) {
      const seqs = answered(p.proc);
      // Everything up to one second before the last reply must have been answered (the tail may be in flight).
      const upTo = Math.max(...seqs) - 100;
      sent += upTo;
      const missing: number[] = [];
      for (let s = 1; s <= upTo; s++) if (!seqs.has(s)) missing.push(s);
      if (missing.length > 0) lost.push(`${p.from.name} -> ${p.to.name}: ${missing.length} lost (icmp_seq ${missing.slice(0, 10).join(',')}${missing.length > 10 ? ',...' : ''})`);
    }
    for (const p of pingers) p.proc.signal('SIGINT');
    return { sent, lost };
  }

  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
    lab = Lab.create();
    const ids = [...WEFTS, BIRD_I];
    const ns = await lan24(lab, Object.fromEntries(ids.map((i) => [`h${i}`, address(i)])));
    for (const i of ids) {
      const h: Host = { i, name: `h${i}`, address: address(i), ns: ns[`h${i}`]!, pod: await lab.createNs(`h${i}-pod`), block: `10.244.${i}.0/26`, podAddr: `10.244.${i}.5`, args: [] };
      // The pod: its /32 behind a veth, default route via the host side.
      await lab.sysctl(h.ns, 'net.ipv4.ip_forward', '1');
      await lab.veth(h.ns, 'pod0', `10.244.${i}.1/32`, h.pod, 'eth0', undefined);
      await lab.ip(h.ns, 'route', 'add', `${h.podAddr}/32`, 'dev', 'pod0');
      await lab.ip(h.pod, 'addr', 'add', `${h.podAddr}/32`, 'dev', 'eth0');
      await lab.ip(h.pod, 'route', 'add', `10.244.${i}.1`, 'dev', 'eth0');
      await lab.ip(h.pod, 'route', 'add', 'default', 'via', `10.244.${i}.1`);
      hosts.push(h);
    }
    await startBirdHost(hosts.find((h) => h.i === BIRD_I)!);
    for (const h of hosts.filter((x) => x.i !== BIRD_I)) await startWeft(h);
    await whole('the mesh whole at start');
  }, 180_000);

  afterAll(async () => {
    stopAwake();
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it('SIGTERM + start of each weft, SIGKILL + start of each weft, SIGKILL + start of BIRD: no ping lost', async () => {
    await startPings('rolling');

    const timings: string[] = [];
    for (const how of ['SIGTERM', 'SIGKILL'] as const) {
      for (const h of hosts.filter((x) => x.agent)) {
        const t0 = Date.now();
        h.agent!.proc.signal(how);
        await h.agent!.proc.exited;
        await startWeft(h);
        await whole(`mesh whole after ${h.name} ${how} + start`);
        timings.push(`${h.name} ${how} ${Date.now() - t0} ms`);
      }
    }
    const b = hosts.find((x) => x.bird)!;
    const t0 = Date.now();
    process.kill(b.bird!.pid, 'SIGKILL');
    stopAwake();
    await waitFor(() => !b.bird!.alive(), { what: 'BIRD gone', timeoutMs: 10_000, intervalMs: 20 });
    await startBirdHost(b);
    await whole('mesh whole after BIRD SIGKILL + start -R');
    timings.push(`${b.name} (BIRD) SIGKILL ${Date.now() - t0} ms`);
    const { sent, lost } = await stopPings();
    console.log(`[rolling restart] ${timings.join('; ')}; ${pingers.length} pod pairs, ${sent} pings checked, ${lost.length} pairs with losses`);
    expect(lost).toEqual([]);
  }, 600_000);

  it('all four wefts killed together and started together, then one restarted twice in a row (calico#7144, felix#1592): no ping lost', async () => {
    await startPings('together');
    const wefts = hosts.filter((x) => x.agent);
    const t0 = Date.now();
    for (const h of wefts) h.agent!.proc.signal('SIGKILL');
    await Promise.all(wefts.map((h) => h.agent!.proc.exited));
    await Promise.all(wefts.map((h) => startWeft(h)));
    await whole('mesh whole after every weft was killed and started together');
    const together = Date.now() - t0;
    // Twice in a row: the second stop comes before the first restart is over (no waiting for the mesh).
    const h = wefts[0]!;
    const t1 = Date.now();
    for (const how of ['SIGKILL', 'SIGTERM'] as const) {
      h.agent!.proc.signal(how);
      await h.agent!.proc.exited;
      await startWeft(h);
    }
    await whole(`mesh whole after ${h.name} restarted twice in a row`);
    const twice = Date.now() - t1;
    const { sent, lost } = await stopPings();
    console.log(`[rolling restart] all wefts together ${together} ms; ${h.name} twice in a row ${twice} ms; ${sent} pings checked, ${lost.length} pairs with losses`);
    expect(lost).toEqual([]);
  }, 300_000);

  it('weft agent --withdraw: SIGTERM makes every peer drop the block at once (Hard Reset), BIRD included', async () => {
    const h = hosts.find((x) => x.i === 4)!;
    h.agent!.proc.signal('SIGTERM');
    await h.agent!.proc.exited;
    h.args = ['--withdraw'];
    await startWeft(h);
    await whole(`mesh whole after ${h.name} restarted with --withdraw`);
    h.agent!.proc.signal('SIGTERM');
    expect(await h.agent!.proc.exited).toEqual({ code: 0, signal: null });
    const live = hosts.filter((x) => x !== h);
    await waitFor(
      async () => {
        for (const o of live) {
          if ((await kernelRoutes(lab, o.ns)).some((r) => r.dst === h.block)) return false;
          if (o.agent && (await o.agent.routes()).some((r) => r.prefix === h.block)) return false;
        }
        return true;
      },
      { what: `${h.name}'s block gone from every other host (RIB and kernel)`, timeoutMs: 20_000, intervalMs: 200, diagnose },
    );
    const p = await live[0]!.agent!.peer(h.name);
    expect(p?.lastError).toMatch(/Cease \/ Hard Reset/);
    expect(p?.gracefulRestart?.stale).toBe(0);
  }, 120_000);
});
