// Graceful restart (RFC 4724) against BIRD 2, both roles, on one LAN: BIRD 10.0.0.10 configured as
// calico-node's confd configures a mesh node (graceful restart, 120 s), weft 10.0.0.20 with BIRD
// as its mesh peer. BIRD exports its block plus 200 more /26 routes of the pool.
//
// Receiving speaker (weft): BIRD is killed with SIGKILL. weft keeps all 201 routes, marked stale in
// `weft routes` and `weft status`, and its kernel keeps them: `ip monitor route` in weft's
// namespace sees no change to a weft route from the kill until BIRD is back, has sent End-of-RIB
// and weft has no stale route left. BIRD frozen (SIGSTOP): weft's hold timer expires and the routes
// stay stale, in the kernel too, until BIRD is thawed and back.
//
// Restarting speaker (weft): weft is stopped with SIGTERM (graceful: no NOTIFICATION that ends GR)
// and, in a second round, with SIGKILL; while it is down BIRD keeps weft's block (its table and
// its kernel, polled every ~50 ms: never missing); weft starts again, finds its routes in the
// kernel, sets the R bit, and BIRD ends up with the block fresh.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { agentConfig, startAgent, type WeftAgent } from '../helpers/agent.js';
import { startBird, type Bird } from '../helpers/bird.js';
import { calicoBirdConfig, calicoMeshProtocol } from '../helpers/calico-bird.js';
import { lan24 } from '../helpers/interop.js';
import { kernelRoutes, MONITOR_PROBE, startRouteMonitor, stopRouteMonitor } from '../helpers/kernel-routes.js';
import { Lab } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';
import { interopSkipReason } from '../helpers/weft.js';

const skipReason = interopSkipReason(['ip', 'bird', 'birdc']);
if (skipReason) console.warn(`interop-graceful-restart skipped: ${skipReason}`);

const ASN = 64512;
const POOL = '10.244.0.0/16';
const BIRD_ADDR = '10.0.0.10';
const WEFT_ADDR = '10.0.0.20';
const BIRD_BLOCK = '10.244.10.0/26';
const WEFT_BLOCK = '10.244.20.0/26';
/** 200 more /26 routes of the pool exported by BIRD: 10.244.100.0/26 .. 10.244.149.192/26. */
const EXTRA = Array.from({ length: 200 }, (_, i) => `10.244.${100 + Math.floor(i / 4)}.${(i % 4) * 64}/26`);
const BIRD_ROUTES = [BIRD_BLOCK, ...EXTRA].sort();

function birdConfig(): string {
  const base = calicoBirdConfig({ address: BIRD_ADDR, asn: ASN, blocks: [BIRD_BLOCK], pools: [POOL], mesh: [BIRD_ADDR, WEFT_ADDR] });
  return `${base}\nprotocol static extra {\n  ipv4;\n${EXTRA.map((p) => `  route ${p} blackhole;`).join('\n')}\n}\n`;
}

describe.skipIf(skipReason !== undefined)('graceful restart with BIRD 2 (Calico mesh config)', () => {
  let lab: Lab;
  let ns: Record<string, string>;
  let bird: Bird;
  let weft: WeftAgent;
  let stopAwake: () => void = () => undefined;
  const weftConfig = () =>
    agentConfig('weft', `${WEFT_ADDR}/24`, {
      mesh: { nodes: [{ name: 'bird', address: BIRD_ADDR }, { name: 'weft', address: WEFT_ADDR }] },
      pools: [{ cidr: POOL, blockSize: 26, encapsulation: 'crossSubnet' }],
      blocks: [WEFT_BLOCK],
      timers: { holdTime: 9, keepalive: 3, connectRetry: 1 },
    });

  const diagnose = async () => `${weft?.logTail(30) ?? ''}\n--- bird\n${await bird?.birdc('show', 'protocols', 'all').catch((e: Error) => e.message)}`;

  /** calico-node runs `bird -R` (graceful restart recovery): a restarted BIRD sets R and keeps F. */
  async function startBirdNow(): Promise<void> {
    bird = await startBird(lab, ns.bird!, { routerId: BIRD_ADDR, config: birdConfig(), args: ['-R'] });
    stopAwake();
    stopAwake = bird.keepAwake(100);
  }

  async function weftKernelPeerRoutes(): Promise<string[]> {
    return (await kernelRoutes(lab, ns.weft!, 'weft')).filter((r) => r.gateway === BIRD_ADDR).map((r) => r.dst).sort();
  }

  async function bothEstablished(what: string): Promise<void> {
    await waitFor(
      async () => (await weft.peer('bird'))?.state === 'Established' && (await bird.protocolState(calicoMeshProtocol(WEFT_ADDR))) === 'Established',
      { what, timeoutMs: 60_000, intervalMs: 200, diagnose },
    );
  }

  beforeAll(async () => {
    lab = Lab.create();
    ns = await lan24(lab, { bird: BIRD_ADDR, weft: WEFT_ADDR });
    await startBirdNow();
    weft = await startAgent(lab, ns.weft!, { name: 'weft', config: weftConfig() });
    await bothEstablished('the session Established at both ends');
    await waitFor(async () => JSON.stringify(await weftKernelPeerRoutes()) === JSON.stringify(BIRD_ROUTES), {
      what: `weft's kernel has BIRD's ${BIRD_ROUTES.length} routes`,
      timeoutMs: 30_000,
      intervalMs: 200,
      diagnose,
    });
  }, 120_000);

  afterAll(async () => {
    stopAwake();
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it('BIRD killed (SIGKILL): weft keeps its 201 routes stale, kernel untouched; BIRD back + End-of-RIB: no kernel change', async () => {
    // The monitor is known to be listening before the kill (kernel-routes.ts startRouteMonitor).
    const monitor = await startRouteMonitor(lab, ns.weft!, 'weft-route-monitor');
    const startedAt = Date.now();
    process.kill(bird.pid, 'SIGKILL');
    stopAwake();
    await waitFor(() => !bird.alive(), { what: 'BIRD gone', timeoutMs: 10_000, intervalMs: 20 });

    const down = await weft.waitPeer('bird', (p) => p.state !== 'Established', 'leaves Established after the kill', 20_000);
    expect(down.gracefulRestart?.stale).toBe(BIRD_ROUTES.length);
    expect(down.gracefulRestart?.state).toBe('peer restarting');
    const routes = (await weft.routes()).filter((r) => r.source === 'peer');
    expect(routes.map((r) => r.prefix).sort()).toEqual(BIRD_ROUTES);
    expect(routes.every((r) => r.stale === true && r.installed === true)).toBe(true);
    expect(await weftKernelPeerRoutes()).toEqual(BIRD_ROUTES);

    await startBirdNow();
    await bothEstablished('the session back after BIRD restarted');
    const after = await weft.waitPeer('bird', (p) => p.gracefulRestart?.stale === 0 && p.accepted === BIRD_ROUTES.length, 'has no stale route left (End-of-RIB)', 60_000);
    const gapMs = Date.now() - startedAt;
    expect(after.gracefulRestart?.negotiated).toBe(true);
    expect((await weft.routes()).filter((r) => r.source === 'peer' && r.stale).length).toBe(0);
    expect(await weftKernelPeerRoutes()).toEqual(BIRD_ROUTES);
    // The re-announced routes replace the stale ones one by one, so "no stale route left" can come
    // before the End-of-RIB itself: wait for the sweep it triggers.
    const ended = await waitFor(() => weft.logEvents('gr.stale-removed').at(-1), { what: 'the End-of-RIB sweep logged', timeoutMs: 30_000, intervalMs: 50 });
    expect(ended).toMatchObject({ why: 'End-of-RIB', routes: 0 });

    // Every route event the monitor saw after the probe route: none of weft's routes changed.
    const lines = readFileSync(monitor.logPath, 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.includes(MONITOR_PROBE));
    const weftLines = lines.filter((l) => / proto (weft|249)\b/.test(l));
    console.log(`[graceful restart] BIRD killed and back in ${gapMs} ms: ${BIRD_ROUTES.length} routes kept stale, ${weftLines.length} kernel changes to weft routes`);
    expect(weftLines).toEqual([]);
    await stopRouteMonitor(lab, ns.weft!, monitor);
  }, 180_000);

  it('BIRD frozen (SIGSTOP): weft\'s hold timer expires, the routes stay stale and in the kernel; thawed, BIRD comes back and they are fresh', async () => {
    await bothEstablished('the session Established before the freeze');
    await waitFor(async () => (await weft.peer('bird'))?.gracefulRestart?.stale === 0, { what: 'no stale route before the freeze', timeoutMs: 30_000, intervalMs: 200, diagnose });
    stopAwake();
    process.kill(bird.pid, 'SIGSTOP');
    try {
      // Negotiated hold time 9 s (weft's); the session ends with Hold Timer Expired sent (RFC 4271 6.5).
      const down = await weft.waitPeer('bird', (p) => p.state !== 'Established', 'leaves Established (hold timer)', 20_000);
      expect(down.lastError).toMatch(/HoldTimer expired/);
      expect(down.gracefulRestart).toMatchObject({ stale: BIRD_ROUTES.length, reason: 'hold timer expired (RFC 4724 4.2)' });
      expect(await weftKernelPeerRoutes()).toEqual(BIRD_ROUTES);
    } finally {
      process.kill(bird.pid, 'SIGCONT');
      stopAwake = bird.keepAwake(100);
    }
    await bothEstablished('the session back after the thaw');
    await weft.waitPeer('bird', (p) => p.gracefulRestart?.stale === 0 && p.accepted === BIRD_ROUTES.length, 'has no stale route left', 60_000);
    expect(await weftKernelPeerRoutes()).toEqual(BIRD_ROUTES);
  }, 120_000);

  for (const how of ['SIGTERM', 'SIGKILL'] as const) {
    it(`weft stopped with ${how}: BIRD keeps weft's block (table and kernel) until weft is back`, async () => {
      await bothEstablished('the session Established before the stop');
      await waitFor(async () => (await kernelRoutes(lab, ns.bird!, 'bird')).some((r) => r.dst === WEFT_BLOCK && r.gateway === WEFT_ADDR), {
        what: `BIRD's kernel has ${WEFT_BLOCK} via weft`,
        timeoutMs: 20_000,
        intervalMs: 200,
        diagnose,
      });
      // Poll BIRD's kernel for weft's block from the stop until weft is back and BIRD's route is fresh.
      let polls = 0;
      let missing = 0;
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const has = (await kernelRoutes(lab, ns.bird!, 'bird')).some((r) => r.dst === WEFT_BLOCK);
          polls++;
          if (!has) missing++;
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const restartsBefore = weft.logEvents('gr.restarting').length;
      const t0 = Date.now();
      weft.proc.signal(how);
      await weft.proc.exited;
      // While weft is down: BIRD's session is not up, and it still has the route (stale).
      await waitFor(async () => (await bird.protocolState(calicoMeshProtocol(WEFT_ADDR))) !== 'Established', { what: 'BIRD sees the session down', timeoutMs: 20_000, intervalMs: 100, diagnose });
      const shown = await bird.birdc('show', 'route', 'all', WEFT_BLOCK);
      expect(shown, `BIRD's table for ${WEFT_BLOCK} while weft is down`).toContain(WEFT_BLOCK);
      expect(shown).toContain(`BGP.next_hop: ${WEFT_ADDR}`);

      weft = await startAgent(lab, ns.weft!, { name: 'weft', config: weftConfig() });
      await bothEstablished('the session back after weft restarted');
      await waitFor(
        async () => {
          const p = await weft.peer('bird');
          return p?.gracefulRestart !== undefined && p.gracefulRestart.state === undefined && p.advertised === 1;
        },
        { what: 'weft restart over (table and End-of-RIB sent)', timeoutMs: 90_000, intervalMs: 200, diagnose },
      );
      const gapMs = Date.now() - t0;
      polling = false;
      await poller;
      const restarted = weft.logEvents('gr.restarting');
      expect(restarted.length - restartsBefore, 'weft saw its own routes in the kernel and restarted gracefully (R bit)').toBe(1);
      expect(weft.logEvents('gr.selection-done').at(-1)).toMatchObject({ why: 'End-of-RIB from every peer' });
      console.log(`[graceful restart] weft ${how}: down and back in ${gapMs} ms; BIRD's kernel polled ${polls} times, ${WEFT_BLOCK} missing ${missing} times`);
      expect(polls).toBeGreaterThan(5);
      expect(missing).toBe(0);
      // BIRD's route is fresh again (its stale flag gone: no "stale" in the route's flags).
      await waitFor(async () => !/stale/i.test(await bird.birdc('show', 'route', 'all', WEFT_BLOCK)), { what: 'BIRD no longer marks the route stale', timeoutMs: 30_000, intervalMs: 200, diagnose });
      expect(await weftKernelPeerRoutes()).toEqual(BIRD_ROUTES);
    }, 240_000);
  }
});
