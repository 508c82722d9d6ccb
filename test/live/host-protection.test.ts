// Host protection (issue 13), end to end: hosts A and B run weft agents with hostProtection on, a
// VXLAN pool (encapsulation always) and mesh BFD, on one L2 segment (a bridge in the router
// namespace) with two more namespaces that are not members: X (an attacker) and C (a node that is
// later added to A's nodes file). One pod behind each agent host.
// - members work: the session is Established, BFD Up, pods ping A<->B over VXLAN;
// - from X: a TCP connect to port 179 of A gets no SYN-ACK (timeout) while a closed port answers
//   with a RST (weft drops only what it owns); VXLAN to A carrying an ICMP echo to A's pod, spoofed
//   as a pod of B, and one from X's own address, never reach the pod (a counter in the pod);
// - the same hand-made packet from member B reaches the pod (the packet is valid), and with a VNI
//   weft does not use it does not;
// - C added to A's nodes file: in A's kernel set within 1 s, its VXLAN then reaches the pod;
//   removed: dropped again;
// - the table flushed or deleted by hand is repaired (timed); kill -9 of A's agent leaves the
//   table in the kernel all the while, and the new agent adopts it without writing.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfig, startAgent, type AgentStatus, type WeftAgent } from '../helpers/agent.js';
import { inNs, run } from '../helpers/exec.js';
import { WEFT_MAIN } from '../helpers/weft.js';
import { Lab } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';
import { CRAFTED_ICMP_ID, sendUdp, tcpConnect, vxlanEcho } from '../helpers/vxlan-craft.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : undefined;
if (skip) console.warn(`host-protection skipped: ${skip}`);

const A = { name: 'ha', address: '10.77.1.2', i: 1 };
const B = { name: 'hb', address: '10.77.1.3', i: 2 };
const C = { name: 'hc', address: '10.77.1.4' };
const X = { name: 'hx', address: '10.77.1.9' };
const VNI = 4096;
/** A pod address in B's block that no pod holds: what a spoofer claims to be. */
const SPOOFED = '10.244.2.77';

interface NftRule {
  comment?: string;
  expr?: { counter?: { packets: number } }[];
}

describe.skipIf(skip !== undefined)('host protection: weft\'s nftables table', () => {
  let lab: Lab;
  let router: string;
  const ns: Record<string, string> = {};
  const agents: Record<string, WeftAgent> = {};
  const nodesFile: Record<string, string> = {};
  const measured: Record<string, number> = {};

  const config = (x: typeof A) =>
    agentConfig(x.name, `${x.address}/24`, {
      mesh: { nodesFile: nodesFile[x.name], bfd: true },
      pools: [{ cidr: '10.244.0.0/16', blockSize: 26, encapsulation: 'always', tunnel: 'vxlan' }],
      blocks: [`10.244.${x.i}.0/26`],
      hostProtection: { enabled: true },
    });

  const writeNodes = (x: typeof A, nodes: { name: string; address: string }[]) => writeFileSync(nodesFile[x.name], JSON.stringify(nodes));
  const diagnose = () => Object.values(agents).map((a) => a.logTail(15)).join('\n');

  const nftJson = async (where: string, ...what: string[]) => JSON.parse((await lab.exec(where, 'nft', ['-j', 'list', ...what])).stdout) as { nftables: Record<string, unknown>[] };
  const tablePresent = async (where: string) => (await lab.exec(where, 'nft', ['list', 'table', 'inet', 'weft'], { okCodes: [0, 1] })).code === 0;
  /** weft's rules in A's table by name ("bgp-v4"), with their drop counters. */
  async function weftRules(where: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (!(await tablePresent(where))) return out;
    for (const item of (await nftJson(where, 'table', 'inet', 'weft')).nftables) {
      const r = item.rule as NftRule | undefined;
      if (r?.comment) out.set(r.comment.split(' ')[1], r.expr?.find((e) => e.counter)?.counter?.packets ?? 0);
    }
    return out;
  }
  const drops = async (rule: string) => (await weftRules(ns.ha)).get(rule) ?? -1;
  async function setElements(where: string, set: string): Promise<string[]> {
    const j = await nftJson(where, 'set', 'inet', 'weft', set);
    const s = j.nftables.find((x) => x.set)?.set as { elem?: string | string[] } | undefined;
    return s?.elem === undefined ? [] : Array.isArray(s.elem) ? s.elem : [s.elem];
  }
  /** Echo requests of the hand-made packets that reached A's pod. */
  async function podArrivals(): Promise<number> {
    for (const item of (await nftJson(ns.podA, 'chain', 'inet', 'probe', 'c')).nftables) {
      const r = item.rule as NftRule | undefined;
      if (r?.comment === 'crafted') return r.expr?.find((e) => e.counter)?.counter?.packets ?? 0;
    }
    throw new Error('probe counter missing');
  }

  let vtepMac = '';
  const echo = (src: string, vni = VNI) => vxlanEcho({ vni, dstMac: vtepMac, src, dst: '10.244.1.5' });

  /** Sends hand-made VXLAN to A from `from` and waits until `rule` in A's table counted them: none reached the pod. */
  async function expectDropped(from: string, payload: Buffer, rule: string): Promise<void> {
    const pod = await podArrivals();
    const before = await drops(rule);
    await sendUdp(from, A.address, 4789, payload, 5);
    await waitFor(async () => (await drops(rule)) >= before + 5, { what: `A's ${rule} rule counting 5 drops`, timeoutMs: 5000, intervalMs: 50 });
    expect(await podArrivals()).toBe(pod);
  }

  async function expectDelivered(from: string, payload: Buffer): Promise<void> {
    const pod = await podArrivals();
    await sendUdp(from, A.address, 4789, payload, 5);
    await waitFor(async () => (await podArrivals()) >= pod + 5, { what: 'the hand-made echo requests in A\'s pod', timeoutMs: 5000, intervalMs: 50 });
  }

  /** Waits until A's table has all its rules again; returns how long that took from `since`. */
  async function waitRepaired(since: number, what: string): Promise<number> {
    await waitFor(async () => (await weftRules(ns.ha)).size === 8 && (await setElements(ns.ha, 'vxlan4')).includes(B.address), { what, timeoutMs: 5000, intervalMs: 10 });
    return Math.round(performance.now() - since);
  }

  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
    lab = Lab.create();
    router = await lab.createNs('router');
    const ports: string[] = [];
    for (const [k, x] of [['ha', A], ['hb', B], ['hc', C], ['hx', X]] as const) {
      ns[k] = await lab.createNs(x.name);
      // IPv6 on A and X too: the bgp-v6 rule is checked from X.
      const v6 = k === 'ha' ? ['fd00:77::2/64'] : k === 'hx' ? ['fd00:77::9/64'] : [];
      await lab.veth(router, `r-${k}`, undefined, ns[k], 'eth0', [`${x.address}/24`, ...v6]);
      ports.push(`r-${k}`);
    }
    await lab.bridge(router, 'br1', ports, '10.77.1.1/24');
    for (const [k, x] of [['podA', A], ['podB', B]] as const) {
      const host = ns[x.name];
      ns[k] = await lab.createNs(`${x.name}-pod`);
      await lab.sysctl(host, 'net.ipv4.ip_forward', '1');
      await lab.veth(host, 'pod0', `10.244.${x.i}.1/32`, ns[k], 'eth0', undefined);
      await lab.ip(host, 'route', 'add', `10.244.${x.i}.5/32`, 'dev', 'pod0');
      await lab.ip(ns[k], 'addr', 'add', `10.244.${x.i}.5/32`, 'dev', 'eth0');
      await lab.ip(ns[k], 'link', 'set', 'dev', 'eth0', 'mtu', '1450');
      await lab.ip(ns[k], 'route', 'add', `10.244.${x.i}.1`, 'dev', 'eth0');
      await lab.ip(ns[k], 'route', 'add', 'default', 'via', `10.244.${x.i}.1`);
    }
    // A's pod counts the hand-made echo requests (ICMP id and sequence 0xbeef) that reach it.
    const probe = `table inet probe {\n  chain c {\n    type filter hook input priority 0; policy accept;\n    icmp type echo-request icmp id ${CRAFTED_ICMP_ID} icmp sequence ${CRAFTED_ICMP_ID} counter comment "crafted"\n  }\n}`;
    writeFileSync(lab.path('probe.nft'), `${probe}\n`);
    await lab.exec(ns.podA, 'nft', ['-f', lab.path('probe.nft')]);
    for (const x of [A, B]) {
      nodesFile[x.name] = lab.path(`${x.name}-nodes.json`);
      writeNodes(x, [A, B].map((n) => ({ name: n.name, address: n.address })));
    }
    for (const x of [A, B]) agents[x.name] = await startAgent(lab, ns[x.name], { name: x.name, config: config(x) });
    const link = JSON.parse((await lab.ip(ns.ha, '-json', 'link', 'show', 'dev', 'weft.vxlan').catch(async () => {
      await waitFor(async () => (await lab.ip(ns.ha, 'link', 'show', 'dev', 'weft.vxlan').then(() => true, () => false)) || undefined, { what: 'weft.vxlan on A', timeoutMs: 10_000 });
      return lab.ip(ns.ha, '-json', 'link', 'show', 'dev', 'weft.vxlan');
    })).stdout) as { address: string }[];
    vtepMac = link[0].address;
  }, 180_000);

  afterAll(async () => {
    if (Object.keys(measured).length) console.log(`host protection, measured: ${JSON.stringify(measured)}`);
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it('without nft the agent refuses to start, naming what to install; nothing listens', async () => {
    const conf = lab.path('no-nft.json');
    writeFileSync(conf, JSON.stringify({ ...config(A), mesh: { nodes: [] }, node: { name: 'hx', asn: 64512, address: `${X.address}/24` }, listen: { address: X.address, port: 179 }, blocks: [], dataplane: { enabled: false }, control: { socket: lab.path('no-nft.sock') } }));
    // nft lives in /usr/sbin: a PATH without it is a host without the nftables package.
    const r = await inNs(ns.hx, 'env', ['PATH=/usr/bin:/bin', process.execPath, WEFT_MAIN, 'agent', '-c', conf], { okCodes: [0, 1, 2], timeoutMs: 20_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('hostProtection.enabled is true but nft not found: install the nftables package (Debian: apt-get install nftables); or set hostProtection.enabled: false');
    expect(await tablePresent(ns.hx)).toBe(false);
    expect(await tcpConnect(ns.hb, X.address, 179, 1000)).toBe('refused');
  });

  it('members work: session Established with BFD Up, pods ping A<->B over VXLAN', async () => {
    for (const [x, peer] of [[A, B], [B, A]] as const) {
      await agents[x.name].waitPeer(peer.name, (p) => p.state === 'Established' && p.bfd?.state === 'Up', 'Established with BFD Up');
    }
    for (const [from, to] of [['podA', '10.244.2.5'], ['podB', '10.244.1.5']] as const) {
      await waitFor(async () => (await lab.exec(ns[from], 'ping', ['-c', '1', '-W', '1', '-q', to], { okCodes: [0, 1] })).code === 0, { what: `${from} -> ${to}`, timeoutMs: 20_000, intervalMs: 200, diagnose });
    }
    expect((await lab.ip(ns.ha, 'route', 'show', '10.244.2.0/26')).stdout).toContain('dev weft.vxlan');
  });

  it('weft status shows the table, its set sizes and a recent check', async () => {
    const st = await agents.ha.cli<AgentStatus>('status');
    expect(st.hostProtection).toMatchObject({ enabled: true, table: 'inet weft', sets: { bgp4: 1, bgp6: 0, vxlan4: 1, vxlan6: 0, bfd4: 1, bfd6: 0, vnis: 1 }, writes: 1, repairs: 0 });
    expect(st.hostProtection?.lastError).toBeUndefined();
    expect(Date.now() - Date.parse(st.hostProtection!.lastReconcile!)).toBeLessThan(3000);
    expect((await agents.ha.cliRun(['status'])).stdout).toMatch(/host protection: table inet weft; sets: bgp4 1, .*vxlan4 1/);
    expect(agents.ha.logEvents('firewall.written')[0]).toMatchObject({ why: 'start', found: 'table inet weft is missing' });
    expect(await setElements(ns.ha, 'bgp4')).toEqual([B.address]);
  });

  it('a non-member gets no SYN-ACK from port 179 (a closed port still answers: weft drops only its own)', async () => {
    const before = await drops('bgp-v4');
    expect(await tcpConnect(ns.hx, A.address, 179, 1000)).toBe('timeout');
    expect(await tcpConnect(ns.hx, A.address, 180, 1000)).toBe('refused');
    expect(await drops('bgp-v4')).toBeGreaterThan(before);
    // Over IPv6 as well (nothing listens there: without the table the SYN would get a RST).
    const before6 = await drops('bgp-v6');
    expect(await tcpConnect(ns.hx, 'fd00:77::2', 179, 1000)).toBe('timeout');
    expect(await tcpConnect(ns.hx, 'fd00:77::2', 180, 1000)).toBe('refused');
    expect(await drops('bgp-v6')).toBeGreaterThan(before6);
    // ICMP is untouched too.
    expect((await lab.exec(ns.hx, 'ping', ['-c', '1', '-W', '2', '-q', A.address])).code).toBe(0);
  });

  it('VXLAN from a non-member never reaches a pod: spoofed as a pod of B, or from its own address', async () => {
    await expectDropped(ns.hx, echo(SPOOFED), 'vxlan-v4');
    await expectDropped(ns.hx, echo(X.address), 'vxlan-v4');
  });

  it('the same packet from member B reaches the pod; with a VNI weft does not use it does not', async () => {
    await expectDelivered(ns.hb, echo(SPOOFED));
    await expectDropped(ns.hb, echo(SPOOFED, 4097), 'vxlan-vni');
  });

  it('a node added to the nodes file may send VXLAN within 1 s; removed, it may not', async () => {
    await expectDropped(ns.hc, echo(SPOOFED), 'vxlan-v4');
    const t0 = performance.now();
    const wall0 = Date.now();
    writeNodes(A, [A, B, C].map((n) => ({ name: n.name, address: n.address })));
    await waitFor(async () => (await setElements(ns.ha, 'vxlan4')).includes(C.address) || undefined, { what: 'C in A\'s vxlan4 set', timeoutMs: 5000, intervalMs: 10, diagnose });
    measured.nodeAddedMs = Math.round(performance.now() - t0);
    // Where the time went: the agent reading the nodes file (agent.nodes-file: the YAML is parsed in
    // a child process, config-load.ts), then host protection's read-back and nft transaction. The
    // log line of the write comes after nft exits, a little after the set is in the kernel.
    const at = (l: { time: string }) => Date.parse(l.time);
    const [read, written] = await waitFor(
      () => {
        const r = agents.ha.logEvents('agent.nodes-file').filter((l) => at(l) >= wall0 - 5).at(-1);
        const w = agents.ha.logEvents('firewall.written').filter((l) => r && at(l) >= at(r)).at(0);
        return r && w ? ([r, w] as const) : undefined;
      },
      { what: 'A logged the nodes file and the firewall write', timeoutMs: 3000 },
    );
    measured.nodesFileReadMs = at(read) - wall0;
    measured.firewallAfterReadMs = at(written) - at(read);
    measured.nftTransactionMs = written.ms as number;
    // Host protection's share: the sets follow a membership change well within 1 s.
    expect(measured.firewallAfterReadMs).toBeLessThan(1000);
    // End to end (file written -> set in the kernel) is dominated by reading the nodes file: 0.4-1 s
    // measured on a loaded 2-vCPU machine; bounded here at 2 s (see the report of issue 13).
    expect(measured.nodeAddedMs).toBeLessThan(2000);
    expect(await setElements(ns.ha, 'bgp4')).toEqual([B.address, C.address]);
    await expectDelivered(ns.hc, echo(SPOOFED));
    const t1 = performance.now();
    writeNodes(A, [A, B].map((n) => ({ name: n.name, address: n.address })));
    await waitFor(async () => !(await setElements(ns.ha, 'vxlan4')).includes(C.address) || undefined, { what: 'C gone from A\'s vxlan4 set', timeoutMs: 5000, intervalMs: 10, diagnose });
    measured.nodeRemovedMs = Math.round(performance.now() - t1);
    expect(measured.nodeRemovedMs).toBeLessThan(2000);
    await expectDropped(ns.hc, echo(SPOOFED), 'vxlan-v4');
  });

  it('a table flushed or deleted by hand is repaired within the check interval', async () => {
    const repairsBefore = (await agents.ha.status()).hostProtection!.repairs;
    let t = performance.now();
    await lab.exec(ns.ha, 'nft', ['flush', 'table', 'inet', 'weft']);
    measured.flushRepairedMs = await waitRepaired(t, 'A\'s flushed table repaired');
    t = performance.now();
    await lab.exec(ns.ha, 'nft', ['delete', 'table', 'inet', 'weft']);
    measured.deleteRepairedMs = await waitRepaired(t, 'A\'s deleted table repaired');
    // The check runs every second (hostProtection.checkInterval): a repair takes up to that plus one
    // read-back and one transaction (0.1-0.3 s each on a loaded machine).
    expect(measured.flushRepairedMs).toBeLessThan(2000);
    expect(measured.deleteRepairedMs).toBeLessThan(2000);
    await waitFor(async () => (await agents.ha.status()).hostProtection!.repairs >= repairsBefore + 2 || undefined, { what: 'two repairs counted', timeoutMs: 3000 });
    expect(agents.ha.logEvents('firewall.repaired').map((e) => e.found)).toEqual(expect.arrayContaining(['table inet weft is missing', expect.stringMatching(/^rules differ/)]));
    await expectDropped(ns.hx, echo(SPOOFED), 'vxlan-v4');
  });

  it('kill -9 and a new agent: the table stays in the kernel all the while, adopted without a write', async () => {
    const rules = await weftRules(ns.ha);
    expect(rules.size).toBe(8);
    // A continuous ping pod B -> pod A (over VXLAN, through A's table) across the kill and the start.
    const pinger = lab.spawnIn(ns.podB, 'ping', ['-n', '-i', '0.05', '10.244.1.5'], { label: 'ping-restart' });
    await waitFor(() => /icmp_seq=\d+ ttl/.test(pinger.logTail(5)) || undefined, { what: 'the continuous ping answered', timeoutMs: 5000 });
    const lastSeq = () => Math.max(0, ...[...pinger.logTail(20).matchAll(/icmp_seq=(\d+) ttl/g)].map((m) => Number(m[1])));
    const seqAtKill = lastSeq();
    agents.ha.proc.signal('SIGKILL');
    await agents.ha.proc.exited;
    expect((await weftRules(ns.ha)).size).toBe(8);
    let checks = 0;
    let gap = false;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        if ((await weftRules(ns.ha)).size !== 8) gap = true;
        checks++;
      }
    })();
    try {
      agents.ha = await startAgent(lab, ns.ha, { name: 'ha-restarted', config: config(A) });
      await agents.ha.waitPeer(B.name, (p) => p.state === 'Established', 'Established again');
      // The restart can take under a second: keep pinging until at least 20 pings (1 s) have gone
      // out since the kill, so a loss around the restart cannot fall outside the window.
      await waitFor(() => lastSeq() >= seqAtKill + 20 || undefined, { what: '20 pings after the kill', timeoutMs: 10_000 });
    } finally {
      watching = false;
      await watch;
    }
    pinger.signal('SIGINT');
    await pinger.exited;
    const stats = /(\d+) packets transmitted, (\d+) received/.exec(pinger.logTail(5));
    expect(stats, pinger.logTail(5)).not.toBeNull();
    measured.restartPingsSent = Number(stats![1]);
    measured.restartPingsLost = Number(stats![1]) - Number(stats![2]);
    expect(gap).toBe(false);
    expect(checks).toBeGreaterThan(3);
    expect(measured.restartPingsSent).toBeGreaterThan(20);
    expect(measured.restartPingsLost).toBe(0);
    expect(agents.ha.logEvents('firewall.adopted')).toHaveLength(1);
    expect(agents.ha.logEvents('firewall.written')).toEqual([]);
    expect((await agents.ha.status()).hostProtection).toMatchObject({ writes: 0, repairs: 0 });
    await expectDropped(ns.hx, echo(SPOOFED), 'vxlan-v4');
    expect(await tcpConnect(ns.hx, A.address, 179, 1000)).toBe('timeout');
  });
});
