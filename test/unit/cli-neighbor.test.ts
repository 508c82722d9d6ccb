// weft neighbor / routes / status against an in-process agent (manual scheduler, in-memory BGP
// transport) whose control socket is a real unix socket: every exit status of the commands, the
// detail of one neighbour (capabilities, counters, last NOTIFICATION), candidate paths, Adj-RIB-In
// and Adj-RIB-Out, --json errors, the stable peer order and watch mode.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { parseAgentConfig } from '../../src/agent/config/agent-config.js';
import type { NeighborView, PathView, RouteView } from '../../src/agent/control/protocol.js';
import { main } from '../../src/cli/main.js';
import { ManualScheduler, MemoryTransport } from '../helpers/manual-io.js';
import { ScriptedPeer } from '../helpers/scripted-peer.js';
import { captureIo } from '../helpers/cli-io.js';

const silent = pino({ level: 'silent' });

const io = captureIo;

let dir: string;
let sock: string;
let agent: Agent;
let scheduler: ManualScheduler;
let transport: MemoryTransport;
const peers: Record<string, ScriptedPeer> = {};

async function weft(...args: string[]): Promise<{ status: number; out: string; err: string }> {
  const o = io();
  const status = await main([...args, '-s', sock], o);
  return { status, out: o.text.out, err: o.text.err };
}

async function connect(name: string, address: string): Promise<ScriptedPeer> {
  const p = new ScriptedPeer(transport.connectFrom(address)!, { asn: 64512, id: address, holdTime: 30 });
  await scheduler.runDue();
  p.send({ open: {}, keepalive: true });
  await scheduler.runDue();
  peers[name] = p;
  return p;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-cli-neighbor-'));
  sock = join(dir, 'weft.sock');
  scheduler = new ManualScheduler();
  transport = new MemoryTransport(scheduler, '10.0.0.1');
  const cfg = parseAgentConfig(
    {
      node: { name: 'a', asn: 64512, address: '10.0.0.1/24' },
      // Configuration order c, b: the tables list b first all the same.
      mesh: { nodes: [{ name: 'c', address: '10.0.0.3' }, { name: 'b', address: '10.0.0.2' }] },
      pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }],
      blocks: ['10.244.3.0/26'],
      dataplane: { enabled: false },
      metrics: { listen: false },
    },
    'test',
  );
  agent = new Agent(cfg, silent, { controlSocket: sock, scheduler, transport });
  await agent.start();
  await scheduler.runDue();
});

afterAll(async () => {
  for (const p of Object.values(peers)) p.close();
  await agent?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('weft status / neighbor / routes against an in-process agent', () => {
  it('status: exit 1 while a configured peer is not Established, 0 once all are; peers by name', async () => {
    await connect('b', '10.0.0.2');
    const r = await weft('status', '--json');
    expect(r.status).toBe(1);
    const st = JSON.parse(r.out) as { peers: { id: string; state: string }[] };
    expect(st.peers.map((p) => p.id)).toEqual(['b', 'c']);
    expect(st.peers[0].state).toBe('Established');
    expect((await weft('neighbor')).status).toBe(1);
    expect((await weft('neighbor', 'b')).status).toBe(0);
    expect((await weft('neighbor', 'c')).status).toBe(1);
    await connect('c', '10.0.0.3');
    const ok = await weft('status');
    expect(ok.status).toBe(0);
    expect(ok.out).toMatch(/^b\s+10\.0\.0\.2\s.*Established/m);
    expect(ok.out.indexOf('\nb ')).toBeLessThan(ok.out.indexOf('\nc '));
    expect((await weft('neighbor')).status).toBe(0);
  });

  it('routes: a prefix exactly, an address by longest match, every candidate with the best marked and why', async () => {
    peers.b.send({ update: { announce: ['10.244.1.0/26', '10.244.10.0/26', '10.244.2.0/26'], nextHop: '10.0.0.2', localPref: 200 } });
    peers.c.send({ update: { announce: ['10.244.1.0/26'], nextHop: '10.0.0.3', localPref: 100 } });
    await scheduler.runDue();
    const all = await weft('routes', '--json');
    expect(all.status).toBe(0);
    // Numeric prefix order: 10.244.2.0 before 10.244.10.0.
    expect((JSON.parse(all.out) as RouteView[]).map((r) => r.prefix)).toEqual(['10.244.1.0/26', '10.244.2.0/26', '10.244.3.0/26', '10.244.10.0/26']);
    const one = await weft('routes', '10.244.1.0/26', '--json');
    expect(one.status).toBe(0);
    expect((JSON.parse(one.out) as RouteView[]).map((r) => [r.prefix, r.peer, r.candidates])).toEqual([['10.244.1.0/26', 'b', 2]]);
    const lm = await weft('routes', '10.244.1.7');
    expect(lm.status).toBe(0);
    expect(lm.out).toMatch(/^10\.244\.1\.0\/26\s+b\s/m);
    expect(lm.out).not.toMatch(/10\.244\.2\.0/);
    const paths = await weft('routes', '10.244.1.0/26', '--all-paths', '--json');
    const pv = JSON.parse(paths.out) as PathView[];
    expect(pv.map((p) => [p.peer, p.rank])).toEqual([['b', 'best'], ['c', 'lost']]);
    expect(pv[0].reason).toMatch(/LOCAL_PREF|local.?pref/i);
    const table = (await weft('routes', '10.244.1.0/26', '--all-paths')).out;
    expect(table).toMatch(/^PREFIX\s+BEST\s+FROM/m);
    expect(table).toMatch(/^10\.244\.1\.0\/26\s+\*\s+b\s/m);
    expect(table).toMatch(/^10\.244\.1\.0\/26\s+c\s/m);
  });

  it('routes: not found is exit 1, with --json one error object; --peer filters', async () => {
    const nf = await weft('routes', '10.244.9.0/26');
    expect(nf.status).toBe(1);
    expect(nf.err).toMatch(/no route for 10\.244\.9\.0\/26 in the Loc-RIB/);
    const nfj = await weft('routes', '10.244.9.0/26', '--json');
    expect(nfj.status).toBe(1);
    expect(JSON.parse(nfj.out)).toEqual({ error: { code: 'not-found', message: expect.stringMatching(/no route for 10\.244\.9\.0\/26/) } });
    expect((await weft('routes', '192.168.1.1')).status).toBe(1);
    const byC = JSON.parse((await weft('routes', '--peer', 'c', '--json')).out) as RouteView[];
    expect(byC).toEqual([]); // c's path is not best anywhere
    const cAll = JSON.parse((await weft('routes', '--peer', '10.0.0.3', '--all-paths', '--json')).out) as PathView[];
    expect(cAll.map((p) => [p.prefix, p.peer, p.rank])).toEqual([['10.244.1.0/26', 'c', 'lost']]);
  });

  it('routes --received / --advertised: one peer Adj-RIB-In and Adj-RIB-Out', async () => {
    const rin = await weft('routes', '--peer', 'c', '--received', '--json');
    expect(rin.status).toBe(0);
    expect((JSON.parse(rin.out) as PathView[]).map((p) => [p.prefix, p.nextHop, p.localPref])).toEqual([['10.244.1.0/26', '10.0.0.3', 100]]);
    const out = await weft('routes', '--peer', 'b', '--advertised');
    expect(out.status).toBe(0);
    expect(out.out).toMatch(/^PREFIX\s+TO\s+NEXT HOP/m);
    expect(out.out).toMatch(/^10\.244\.3\.0\/26\s+b\s+10\.0\.0\.1/m);
    expect(out.out).not.toMatch(/10\.244\.1\.0/); // iBGP-learned routes are not sent to iBGP peers
    expect((await weft('routes', '10.244.1.0/26', '--peer', 'b', '--advertised')).status).toBe(1);
  });

  it('usage errors are exit 2, with --json as one error object', async () => {
    const e1 = await weft('routes', '--received');
    expect(e1.status).toBe(2);
    expect(e1.err).toMatch(/--received needs --peer NAME/);
    expect((await weft('routes', '--peer', 'b', '--received', '--advertised')).status).toBe(2);
    const up = await weft('routes', '--peer', 'zz', '--json');
    expect(up.status).toBe(2);
    expect(JSON.parse(up.out).error).toEqual({ code: 'unknown-peer', message: 'unknown peer "zz"; known peers: b (10.0.0.2), c (10.0.0.3)' });
    const bad = await weft('routes', '10.244.1.1/26', '--json');
    expect(bad.status).toBe(2);
    expect(JSON.parse(bad.out).error.code).toBe('usage');
    const many = await weft('routes', '10.244.1.0/26', 'extra', '--json');
    expect(many.status).toBe(2);
    expect(JSON.parse(many.out).error).toEqual({ code: 'usage', message: expect.stringMatching(/too many arguments/) });
    expect(many.err).toBe('');
    const unknownOpt = await weft('status', '--bogus', '--json');
    expect([unknownOpt.status, unknownOpt.err, JSON.parse(unknownOpt.out)]).toEqual([2, '', { error: { code: 'usage', message: "unknown option '--bogus'" } }]);
    const nb = await weft('neighbor', 'nobody');
    expect(nb.status).toBe(2);
    expect(nb.err).toMatch(/unknown peer "nobody"; known peers: b \(10\.0\.0\.2\), c \(10\.0\.0\.3\)/);
    expect((await weft('explain', 'not-an-address')).status).toBe(2);
  });

  it('neighbor NAME --json: capabilities, timers, counters and prefixes per family', async () => {
    const r = await weft('neighbour', 'b', '--json');
    expect(r.status).toBe(0);
    const n = JSON.parse(r.out) as NeighborView;
    expect(n).toMatchObject({ id: 'b', address: '10.0.0.2', state: 'Established', localAs: 64512, routerId: '10.0.0.1', peerRouterId: '10.0.0.2' });
    expect(n.connection).toMatchObject({ direction: 'inbound', remoteAddress: '10.0.0.2', localAddress: '10.0.0.1' });
    expect(n.timers).toMatchObject({ negotiatedHoldTime: 30, negotiatedKeepaliveTime: 10 });
    expect(n.capabilities.sent).toContain('multiprotocol ipv4-unicast');
    expect(n.capabilities.received).toEqual(expect.arrayContaining(['multiprotocol ipv4-unicast', 'route-refresh', '4-octet AS 64512']));
    expect(n.capabilities.negotiated).toMatchObject({ families: ['ipv4-unicast'], fourOctetAs: true, routeRefresh: true, extendedMessage: false });
    expect(n.messages.in).toMatchObject({ OPEN: 1, UPDATE: 1, NOTIFICATION: 0 });
    expect(n.messages.in.KEEPALIVE).toBeGreaterThanOrEqual(1);
    expect(n.messages.out.OPEN).toBe(1);
    expect(n.messages.out.UPDATE).toBeGreaterThanOrEqual(1);
    expect(n.prefixes['ipv4-unicast']).toEqual({ received: 3, accepted: 3, best: 3, advertised: 1 });
    expect(n.prefixes['ipv6-unicast']).toEqual({ received: 0, accepted: 0, best: 0, advertised: 0 });
    expect(n.flaps).toBe(0);
    expect(n.messages.queuedBytes).toBe(0);
    const text = (await weft('neighbor', 'b')).out;
    expect(text).toMatch(/^ {2}state: +Established since /m);
    expect(text).toMatch(/^ {2}hold time: +\d+s configured, 30s negotiated/m);
    expect(text).toMatch(/^ +received +1 +1 +0 +\d+ +0 +\d+$/m);
  });

  it('a NOTIFICATION from the peer is its last NOTIFICATION received, with code, name and text', async () => {
    peers.c.send({ notification: [6, 2, 'maintenance'] });
    await scheduler.runDue();
    const r = await weft('neighbor', 'c', '--json');
    expect(r.status).toBe(1);
    const n = JSON.parse(r.out) as NeighborView;
    expect(n.state).not.toBe('Established');
    expect(n.lastNotificationReceived).toMatchObject({ code: 6, subcode: 2, name: 'Cease / Administrative Shutdown', shutdownMessage: 'maintenance' });
    expect(n.messages.in.NOTIFICATION).toBe(1);
    expect(n.flaps).toBe(1);
    expect((await weft('neighbor', 'c')).out).toMatch(/last NOTIFICATION received: +6\/2 Cease \/ Administrative Shutdown "maintenance" at 20/);
    expect((await weft('status')).status).toBe(1);
  });

  it('watch: one JSON document per frame, --count bounds it, Ctrl-C ends it with 0', async () => {
    const r = await weft('status', '--watch', '0.01', '--count', '3', '--json');
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect((JSON.parse(l) as { peers: unknown[] }).peers).toHaveLength(2);
    expect(r.status).toBe(1); // c is down: the status of the last frame
    const o = io();
    const running = main(['routes', '--watch', '0.02', '-s', sock], o);
    for (let i = 0; i < 200 && !o.text.out.includes('10.244.1.0/26'); i++) await new Promise((res) => setTimeout(res, 5));
    process.emit('SIGINT');
    expect(await running).toBe(0);
    expect(o.text.out).toMatch(/^weft routes, every 0\.02s: /m);
    // On a terminal each frame clears the screen first.
    const t = io();
    t.stdoutIsTty = () => true;
    expect(await main(['status', '--watch', '0.01', '--count', '2', '-s', sock], t)).toBe(1);
    expect(t.text.out.split('\x1b[H\x1b[2J')).toHaveLength(3);
    expect(t.text.out).toMatch(/^\x1b\[H\x1b\[2Jweft status, every 0\.01s: .*\(Ctrl-C ends\)\n\nnode a {2}AS 64512/);
  });

  it('--watch takes its value only when it is a number: a prefix after it is the route to watch', async () => {
    // The prefix is the positional argument; the interval is the default (2 s).
    const p = await weft('routes', '--watch', '10.244.1.0/26', '--count', '1', '--json');
    expect([p.status, p.err]).toEqual([0, '']);
    expect((JSON.parse(p.out) as RouteView[]).map((r) => r.prefix)).toEqual(['10.244.1.0/26']);
    const a = await weft('routes', '-w', '10.244.1.7', '--count', '1');
    expect(a.status).toBe(0);
    expect(a.out).toMatch(/^weft routes 10\.244\.1\.7, every 2s: /);
    expect(a.out).toMatch(/^10\.244\.1\.0\/26 /m);
    expect(a.out).not.toMatch(/10\.244\.2\.0\/26/);
    // A number stays the interval, the prefix after it is the argument.
    const n = await weft('routes', '--watch', '0.01', '10.244.1.0/26', '--count', '2', '--json');
    expect(n.status).toBe(0);
    expect(n.out.trim().split('\n').map((l) => (JSON.parse(l) as RouteView[]).map((r) => r.prefix))).toEqual([['10.244.1.0/26'], ['10.244.1.0/26']]);
    const s = await weft('status', '--watch', '2', '--count', '1');
    expect(s.out).toMatch(/^weft status, every 2s: /);
    expect(s.status).toBe(1); // c is down since the NOTIFICATION above
    // A malformed prefix after --watch is still read as a prefix, and refused as one.
    const hb = await weft('routes', '--watch', '10.244.1.1/26');
    expect([hb.status, hb.err]).toEqual([2, expect.stringMatching(/^weft: bad prefix: .*10\.244\.1\.1\/26/)]);
  });

  it('a bad --watch interval is exit 2 naming --watch: 0, negative, text that is not a prefix either', async () => {
    const cases: string[][] = [
      ['status', '--watch', '0'],
      ['status', '--watch', '-1'],
      ['status', '--watch=-0.5'],
      ['status', '--watch', 'soon'],
      ['status', '--watch', '0x10'],
      // status has no PREFIX to give the word to.
      ['status', '--watch', '10.244.1.0/26'],
      ['routes', '--watch', 'soon'],
      ['routes', '--watch', '-3'],
      // PREFIX already given: the word after --watch can only be the interval.
      ['routes', '10.244.1.0/26', '--watch', '10.244.2.0/26'],
    ];
    for (const args of cases) {
      const r = await weft(...args);
      expect([args.join(' '), r.status, r.out]).toEqual([args.join(' '), 2, '']);
      expect(r.err).toMatch(/^weft: --watch takes a number of seconds > 0 \(like 2 or 0\.5\), got "/);
    }
    const j = await weft('routes', '--watch', 'soon', '--json');
    expect(j.status).toBe(2);
    expect(JSON.parse(j.out)).toEqual({ error: { code: 'usage', message: '--watch takes a number of seconds > 0 (like 2 or 0.5), got "soon"' } });
  });

  it('a NOTIFICATION weft sends (a header error from the peer) is its last NOTIFICATION sent', async () => {
    peers.b.send({ hex: `${'ff'.repeat(16)}000504` }); // length 5: RFC 4271 6.1 Bad Message Length
    await scheduler.runDue();
    const r = await weft('neighbor', 'b', '--json');
    expect(r.status).toBe(1);
    const n = JSON.parse(r.out) as NeighborView;
    expect(n.lastNotificationSent).toMatchObject({ code: 1, subcode: 2, name: 'Message Header Error / Bad Message Length', data: '0005' });
    expect(n.messages.out.NOTIFICATION).toBe(1);
    expect(peers.b.take().some((m) => m.type === 'notification' && m.code === 1 && m.subcode === 2)).toBe(true);
  });

  it('an agent that does not answer is exit 1 (code unreachable under --json)', async () => {
    const o = io();
    expect(await main(['status', '-s', join(dir, 'none.sock')], o)).toBe(1);
    expect(o.text.err).toMatch(/is the agent running\?/);
    const j = io();
    expect(await main(['neighbor', 'b', '--json', '-s', join(dir, 'none.sock')], j)).toBe(1);
    expect(JSON.parse(j.text.out).error.code).toBe('unreachable');
  });

  it('every command touched documents its exit statuses', async () => {
    for (const cmd of ['status', 'routes', 'neighbor', 'explain']) {
      const o = io();
      expect(await main([cmd, '--help'], o)).toBe(0);
      expect(o.text.out).toMatch(/\nExit status:\n {2}0 {2}(.|\n)* {2}1 {2}(.|\n)* {2}2 {2}(.|\n)* {2}3 {2}internal error/);
    }
  });
});

describe('peer order across a reload', () => {
  it('a peer the reload re-creates keeps its place (by name), it does not move to the bottom', async () => {
    const sched = new ManualScheduler();
    const tr = new MemoryTransport(sched, '10.0.0.1');
    const conf = (externalHold: number) =>
      parseAgentConfig(
        {
          node: { name: 'a', asn: 64512, address: '10.0.0.1/24' },
          mesh: { nodes: [{ name: 'm2', address: '10.0.0.2' }] },
          peers: [
            { name: 'alpha', address: '10.0.0.9', asn: 65001, holdTime: externalHold },
            { name: 'node10', address: '10.0.0.10', asn: 65002 },
          ],
          pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }],
          dataplane: { enabled: false },
          metrics: { listen: false },
        },
        'test',
      );
    let next = conf(30);
    const a = new Agent(next, silent, { controlSocket: false, scheduler: sched, transport: tr, loadConfig: () => next });
    await a.start();
    await sched.runDue();
    // Names with numbers in numeric order: m2 before node10.
    const before = a.status().peers.map((p) => p.id);
    expect(before).toEqual(['alpha', 'm2', 'node10']);
    next = conf(60); // alpha's session settings change: the reload closes it and opens a new one
    expect(a.reload().changed).toEqual(['alpha']);
    await sched.runDue();
    expect([...a.entries.values()].map((e) => e.spec.id).at(-1)).toBe('alpha'); // last in the agent's map now
    expect(a.status().peers.map((p) => p.id)).toEqual(before);
    await a.shutdown();
  });
});
