// containerlab compatibility of `weft lab`, live: the labs in labs/clab come up on namespaces and
// work (FRR from startup-config and from binds with a daemons file form an OSPF adjacency and one
// learns the other's network; BIRD from startup-config establishes eBGP with FRR from an embedded
// startup-config, routes both ways; a plain lab with cmd, a bridge and addressed links passes
// `weft lab test`), and go down leaving no namespace and no process; `weft lab status` exits 1
// once a daemon is dead or a config is gone, `weft lab test` exits 1 when it tested nothing; and a
// SIGINT during `weft lab up` rolls everything back and exits non-zero.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/output.js';
import { isGone, procStat } from '../../src/lab/processes.js';
import type { DaemonRecord, LabState } from '../../src/lab/state.js';
import { run } from '../helpers/exec.js';
import { LABS, liveLab, type LiveLab } from '../helpers/lab.js';
import { missingPrereq } from '../helpers/prereq.js';
import { NotRecoverable, waitFor } from '../helpers/wait.js';

const ROOT = join(import.meta.dirname, '..', '..');
// The CLI from source (tsx): these labs run no weft agent, so no build is needed (it costs ~40 s
// on a loaded machine).
const CLI = join(ROOT, 'src', 'cli', 'main.ts');
const skipReason = missingPrereq(['vtysh', 'bird', 'birdc', '/usr/lib/frr/ospfd', 'ping']);
if (skipReason) console.warn(`lab-clab-compat skipped: ${skipReason}`);

function io(): CliIo & { text: { out: string; err: string } } {
  const text = { out: '', err: '' };
  return { text, out: (t) => void (text.out += t), err: (t) => void (text.err += t), readStdin: async () => new Uint8Array(), stdinIsTty: () => true };
}

const daemon = (s: LabState, node: string, type: DaemonRecord['type']): DaemonRecord => {
  const d = s.daemons?.find((x) => x.node === node && x.type === type);
  if (d === undefined) throw new Error(`no ${type} on ${node} in the lab state`);
  return d;
};
const vtysh = async (s: LabState, node: string, cmd: string): Promise<any> => JSON.parse((await run('vtysh', ['--vty_socket', daemon(s, node, 'frr').control, '-c', cmd])).stdout);
const birdc = async (s: LabState, node: string, ...cmd: string[]) => (await run('birdc', ['-s', daemon(s, node, 'bird').control, ...cmd])).stdout;
const labNamespaces = async (id: string) => (await run('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(`wl-${id}-`));

/** Brings the lab down and checks nothing of it is left: namespaces, recorded processes. */
async function downClean(lab: LiveLab): Promise<void> {
  expect(await lab.down()).toEqual([]);
  expect(await labNamespaces(lab.state.id)).toEqual([]);
  for (const p of lab.state.processes) expect(isGone(p), `${p.label} ${p.pid}`).toBe(true);
}

describe.skipIf(skipReason !== undefined)('weft lab: containerlab topologies', () => {
  describe('frr-ospf: FRR from startup-config, from binds (daemons file), and of kind frr', () => {
    let lab: LiveLab | undefined;
    beforeAll(async () => {
      lab = await liveLab('clab/frr-ospf', { build: false });
    }, 60_000);
    afterAll(async () => {
      if (lab) await downClean(lab);
    }, 60_000);

    it('daemons from the daemons file and from the config; links with MAC and MTU', async () => {
      const s = (lab as LiveLab).state;
      const labels = (node: string) => s.processes.filter((p) => p.node === node).map((p) => p.label.split('@')[0]);
      expect(labels('r1')).toEqual(['zebra', 'staticd', 'ospfd']); // from the sections of its startup-config
      expect(labels('r2')).toEqual(['zebra', 'staticd', 'ospfd']); // from its bound daemons file
      expect(labels('r3')).toEqual(['zebra', 'staticd', 'ospfd']); // kind frr: extras.frr.daemons of its group
      expect(daemon(s, 'r2', 'frr').source).toMatch(/frr-ospf\/r2\/frr\.conf$/);
      const link = JSON.parse((await run('ip', ['-n', (lab as LiveLab).ns('r1'), '-j', 'link', 'show', 'eth1'])).stdout)[0];
      expect({ mtu: link.mtu, mac: link.address }).toEqual({ mtu: 9000, mac: '02:00:0a:00:0c:01' });
    });

    it('the OSPF adjacency is Full; r2 and r3 learn r1 network 10.10.1.0/24; h1 reaches r2 through r1', async () => {
      const l = lab as LiveLab;
      await waitFor(async () => (await vtysh(l.state, 'r2', 'show ip ospf neighbor json')).neighbors?.['10.0.0.1']?.[0]?.converged === 'Full', { what: 'r2 OSPF neighbour r1 Full', timeoutMs: 20_000, intervalMs: 200 });
      const route = await waitFor(async () => (await vtysh(l.state, 'r2', 'show ip route 10.10.1.0/24 json'))['10.10.1.0/24']?.find((r: { protocol: string; selected?: boolean }) => r.protocol === 'ospf' && r.selected), { what: 'r2 route to 10.10.1.0/24 from OSPF', timeoutMs: 20_000, intervalMs: 200 });
      expect(route.nexthops[0].ip).toBe('10.0.12.1');
      // r3 (kind frr) two hops away learns it too.
      await waitFor(async () => (await vtysh(l.state, 'r3', 'show ip route 10.10.1.0/24 json'))['10.10.1.0/24']?.some((r: { protocol: string; selected?: boolean }) => r.protocol === 'ospf' && r.selected), { what: 'r3 route to 10.10.1.0/24 from OSPF', timeoutMs: 20_000, intervalMs: 200 });
      expect((await run('ip', ['-n', l.ns('r2'), 'route', 'show', '10.10.1.0/24'])).stdout).toMatch(/via 10\.0\.12\.1 dev eth1 proto ospf/);
      const ping = await run('ip', ['netns', 'exec', l.ns('h1'), 'ping', '-c', '1', '-W', '2', '10.0.12.2'], { okCodes: [0, 1] });
      expect(ping.code, ping.stdout).toBe(0);
    }, 45_000);

    it('weft lab status: 0 while healthy, 1 once r1 lost its OSPF config or a daemon died', async () => {
      const l = lab as LiveLab;
      const status = async () => {
        const out = io();
        const code = await main(['lab', 'status', l.file, '--state-dir', l.stateDir], out);
        return { code, out: out.text.out };
      };
      const ok = await status();
      expect(ok.code, ok.out).toBe(0);
      expect(ok.out).toContain('r1: frr running, config applied');
      await run('vtysh', ['--vty_socket', daemon(l.state, 'r1', 'frr').control, '-c', 'configure terminal', '-c', 'no router ospf']);
      const unconfigured = await status();
      expect(unconfigured.code).toBe(1);
      expect(unconfigured.out).toMatch(/r1: config not applied: "router ospf" is not in the running config/);
      const ospfd = l.state.processes.find((p) => p.node === 'r2' && p.label.startsWith('ospfd@'));
      process.kill((ospfd as { pid: number }).pid, 'SIGKILL'); // a process of this lab, by PID
      await waitFor(() => isGone(ospfd as { pid: number; startTime: string; label: string }), { what: 'ospfd of r2 gone', timeoutMs: 5000 });
      const dead = await status();
      expect(dead.code).toBe(1);
      expect(dead.out).toMatch(/ospfd@wl-\w+-r2 \(pid \d+\) is not running/);
    }, 30_000);
  });

  describe('bird-bgp: BIRD and FRR from startup-config, host: and mgmt-net: ends', () => {
    let lab: LiveLab | undefined;
    beforeAll(async () => {
      lab = await liveLab('clab/bird-bgp', { build: false });
    }, 60_000);
    afterAll(async () => {
      if (lab) await downClean(lab);
    }, 60_000);

    it('BIRD establishes eBGP with FRR; each learns the other route', async () => {
      const l = lab as LiveLab;
      await waitFor(async () => /frr1\s+BGP\s+\S+\s+up\s+\S+\s+Established/.test(await birdc(l.state, 'bird1', 'show', 'protocols')), { what: 'BIRD session to frr1 Established', timeoutMs: 20_000, intervalMs: 200 });
      const peer = await waitFor(async () => (await vtysh(l.state, 'frr1', 'show bgp summary json')).ipv4Unicast?.peers?.['10.0.0.1'], { what: 'FRR peer 10.0.0.1', timeoutMs: 10_000 });
      expect(peer.state).toBe('Established');
      await waitFor(async () => (await vtysh(l.state, 'frr1', 'show ip route 10.99.0.0/24 json'))['10.99.0.0/24']?.some((r: { protocol: string }) => r.protocol === 'bgp'), { what: 'FRR route 10.99.0.0/24 from BIRD', timeoutMs: 15_000, intervalMs: 200 });
      await waitFor(async () => /10\.98\.0\.0\/24\s+unicast \[frr1 /.test(await birdc(l.state, 'bird1', 'show', 'route', 'for', '10.98.0.0/24')), { what: 'BIRD route 10.98.0.0/24 from FRR', timeoutMs: 15_000, intervalMs: 200 });
    }, 45_000);

    it('the lab host is a namespace of its own (its exec ran there); mgmt-net is a bridge with both ends', async () => {
      const l = lab as LiveLab;
      expect((await run('ip', ['-n', l.ns('lab-host'), 'route', 'show', '10.99.0.0/16'])).stdout).toMatch(/via 192\.168\.50\.2 dev frr1-uplink/);
      const ports = JSON.parse((await run('ip', ['-n', l.ns('mgmt-net'), '-j', 'link', 'show', 'master', 'mgmt-net'])).stdout).map((x: { ifname: string }) => x.ifname).sort();
      expect(ports).toEqual(['bird1', 'frr1']);
      // Nothing of the lab in the root namespace.
      expect((await run('ip', ['-j', 'link', 'show'])).stdout).not.toMatch(/"frr1-uplink"/);
    });

    it('weft lab test checks the sessions: 0 while BGP is Established, 1 once FRR shuts its neighbour (the lab stays up)', async () => {
      const l = lab as LiveLab;
      const test = async (timeout: string) => {
        const out = io();
        const code = await main(['lab', 'test', l.file, '--state-dir', l.stateDir, '--timeout', timeout, '--ping-window', '2'], out);
        return { code, out: out.text.out };
      };
      const good = await test('20');
      expect(good.code, good.out).toBe(0);
      expect(good.out).toContain('ok   bird1: bird running, config applied, BGP Established 1/1');
      expect(good.out).toContain('ok   frr1: frr running, config applied, BGP Established 1/1');
      await run('vtysh', ['--vty_socket', daemon(l.state, 'frr1', 'frr').control, '-c', 'configure terminal', '-c', 'router bgp 65002', '-c', 'neighbor 10.0.0.1 shutdown']);
      const bad = await test('2');
      expect(bad.code).toBe(1);
      expect(bad.out).toMatch(/FAIL frr1: frr: BGP Established 0\/1 \(not: 10\.0\.0\.1\)/);
      expect(await labNamespaces(l.state.id)).toHaveLength(4); // an already-up lab stays up
    }, 45_000);
  });

  it('plain: weft lab test passes (cmd running, link pings over IPv4 and IPv6) and leaves nothing', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'weft-clab-plain-'));
    try {
      const out = io();
      const code = await main(['lab', 'test', join(LABS, 'clab', 'plain.clab.yml'), '--state-dir', stateDir], out);
      expect(code, `${out.text.out}\n${out.text.err}`).toBe(0);
      expect(out.text.out).toContain('ok   n1: cmd running');
      expect(out.text.out).toContain('ok   topology.links[2]: n2 -> n1 fd00:1::1');
      expect(out.text.err).toContain('topology.defaults.image-pull-policy: accepted, no effect');
      const id = /namespaces wl-(\w+)-\*/.exec(out.text.err)?.[1] as string;
      expect(await labNamespaces(id)).toEqual([]);
      expect(existsSync(join(stateDir, 'clab-plain.json'))).toBe(false);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('weft lab test exits 1 when it tested nothing', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'weft-clab-empty-'));
    const file = join(stateDir, 'lonely.clab.yml');
    writeFileSync(file, `name: clab-lonely-${process.pid}\ntopology:\n  nodes:\n    n1: { kind: linux, image: alpine }\n`);
    try {
      const out = io();
      const code = await main(['lab', 'test', file, '--state-dir', stateDir], out);
      expect(code).toBe(1);
      expect(out.text.out).toContain('nothing tested');
      expect(existsSync(join(stateDir, `clab-lonely-${process.pid}.json`))).toBe(false);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 30_000);

  it('a node whose cmd ends at once is not reported up: weft lab up exits 1 naming node and cmd, and removes the lab', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'weft-clab-cmd-'));
    const file = join(stateDir, 'cmd.clab.yml');
    writeFileSync(file, `name: clab-cmd-${process.pid}\ntopology:\n  nodes:\n    l1: { kind: linux, image: alpine:3, cmd: 'no-such-shell -c "sleep 9999"' }\n`);
    try {
      const out = io();
      expect(await main(['lab', 'up', file, '--state-dir', stateDir], out)).toBe(1);
      expect(out.text.err).toMatch(/topology\.nodes\.l1\.cmd: no-such-shell -c "sleep 9999" ended right after it started, so the node would be down; its output:\n.*no-such-shell: not found/);
      const id = /namespaces wl-(\w+)-\*/.exec(out.text.err)?.[1] as string;
      expect(await labNamespaces(id)).toEqual([]);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 30_000);

  it('SIGINT during weft lab up rolls back everything made so far and exits non-zero', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'weft-clab-sigint-'));
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'lab', 'up', join(LABS, 'clab', 'frr-ospf.clab.yml'), '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout.resume();
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let id: string | undefined;
    try {
      // Mid-way: r1's FRR daemons run, r2's may be starting, the exec lines have not run.
      await waitFor(
        () => {
          if (child.exitCode !== null) throw new NotRecoverable(`weft lab up exited (${child.exitCode}) before r1 was started:\n${err}`);
          return /frr: r1: /.test(err);
        },
        { what: 'weft lab up to have started r1', timeoutMs: 30_000, intervalMs: 10 },
      );
      id = /namespaces wl-(\w+)-\*/.exec(err)?.[1];
      const pids = [...err.matchAll(/(?:zebra|staticd|ospfd) (\d+)/g)].map((m) => Number(m[1]));
      expect(pids.length).toBeGreaterThanOrEqual(3);
      child.kill('SIGINT');
      const code = await exited;
      expect(code, err).toBe(1);
      expect(err).toMatch(/interrupted; removed what was made \(4 namespaces, \d+ processes\)/);
      expect(await labNamespaces(id as string)).toEqual([]);
      for (const pid of pids) expect(procStat(pid)?.state ?? 'gone', `pid ${pid}`).toMatch(/gone|Z|X/);
      expect(existsSync(join(stateDir, 'clab-frr-ospf.json'))).toBe(false);
    } finally {
      if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
      await exited;
      // Whatever happened, nothing of this lab stays: `weft lab down` from its state, if any is left.
      if (existsSync(join(stateDir, 'clab-frr-ospf.json'))) await main(['lab', 'down', 'clab-frr-ospf', '--state-dir', stateDir], io());
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 60_000);
});
