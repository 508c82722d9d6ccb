/**
 * What runs in a containerlab node besides its exec lines, started by `weft lab up` in the node's
 * namespace and recorded by PID in the state file:
 *   - cmd: the node's main process (sh -c CMD, with the node's env), as a container's would be;
 *   - FRR images: the daemons the bound daemons file enables (zebra and staticd always, as FRR's
 *     own init does); without a daemons file, zebra, staticd and the daemons whose sections the
 *     config has (router bgp -> bgpd, router ospf -> ospfd, bfd -> bfdd, ...). Each starts with an
 *     empty config; then the config (startup-config, or the bind to /etc/frr/frr.conf) is applied
 *     with `vtysh -f` and the node fails to come up when any line is rejected;
 *   - BIRD images: bird with the config (startup-config, or the bind to /etc/bird/bird.conf or
 *     /etc/bird.conf), checked with `bird -p` first.
 * A node counts as configured only while its daemons run (by PID) and the daemons still show what
 * its config set up (FRR: every `router ...` line in the running config; BIRD: every named
 * protocol in `show protocols`): `weft lab status` re-checks that (daemonHealth).
 */
import { spawn } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstLine, inNs, run, tail } from './exec.js';
import { frrIds, readPid, startFrrDaemons } from './frr.js';
import { imageFlavour } from './clab-nodes.js';
import { isGone, track, type Tracked } from './processes.js';
import { LabError, type DaemonRecord, type LabState, type ProcRecord } from './state.js';
import type { ClabNode } from './topology.js';
import { waitFor } from './wait.js';

const FRR_LIB = '/usr/lib/frr';

/** FRR's daemons, zebra first (FRR's init order); staticd and zebra always run. */
const FRR_DAEMONS = ['zebra', 'staticd', 'bfdd', 'bgpd', 'ripd', 'ripngd', 'ospfd', 'ospf6d', 'isisd', 'babeld', 'pimd', 'ldpd', 'nhrpd', 'eigrpd', 'pbrd', 'fabricd', 'vrrpd', 'pathd'];

/** Sections of frr.conf and the daemon each needs, for a node without a daemons file. */
const SECTION_DAEMON: [RegExp, string][] = [
  [/^router bgp\b/m, 'bgpd'], [/^router ospf\b(?!6)/m, 'ospfd'], [/^router ospf6\b/m, 'ospf6d'], [/^router isis\b/m, 'isisd'],
  [/^router rip\b/m, 'ripd'], [/^router ripng\b/m, 'ripngd'], [/^router babel\b/m, 'babeld'], [/^router eigrp\b/m, 'eigrpd'],
  [/^router openfabric\b/m, 'fabricd'], [/^bfd\b|^\s*neighbor \S+ bfd\b/m, 'bfdd'], [/^mpls ldp\b/m, 'ldpd'],
];

export interface NodeConfig {
  text: string;
  from: string;
}

const bound = (n: ClabNode, target: string): string | undefined => n.binds.map((b) => b.split(':')).find(([, t]) => t === target)?.[0];

/** The config of an FRR or BIRD node: startup-config, a bind to the file, or the file in a bound directory. */
export function nodeConfig(name: string, n: ClabNode, files: string[], dirTarget: string): NodeConfig | undefined {
  const sc = n['startup-config'];
  const candidates: string[] = [];
  for (const f of files) {
    const b = bound(n, f);
    if (b !== undefined) candidates.push(b);
  }
  const d = bound(n, dirTarget);
  const inDir = d === undefined ? undefined : files.map((f) => join(d, f.split('/').pop() as string)).find((p) => existsSync(p));
  if (inDir !== undefined) candidates.push(inDir);
  if (sc !== undefined && candidates.length > 0) {
    throw new LabError(`topology.nodes.${name}: both startup-config and a bind (${candidates[0]}) give the config; keep one`);
  }
  if (sc !== undefined) return sc.includes('\n') ? { text: sc, from: `topology.nodes.${name}.startup-config (embedded)` } : { text: readFileSync(sc, 'utf8'), from: sc };
  if (candidates.length === 0) return undefined;
  return { text: readFileSync(candidates[0], 'utf8'), from: candidates[0] };
}

/**
 * The FRR daemons of a node. Kind frr: extras.frr.daemons, or every daemon installed here (as
 * containerlab starts them all). Kind linux: the bound daemons file, else the config's sections.
 */
export function frrDaemons(n: ClabNode, conf: string): { daemons: string[]; from: string } {
  if (n.kind === 'frr') {
    const want = new Set(['zebra', 'staticd', ...(n.daemons ?? FRR_DAEMONS)]);
    return { daemons: FRR_DAEMONS.filter((x) => want.has(x) && existsSync(join(FRR_LIB, x))), from: n.daemons ? 'extras.frr.daemons' : 'kind frr (every daemon)' };
  }
  const d = bound(n, '/etc/frr/daemons') ?? (bound(n, '/etc/frr') !== undefined ? join(bound(n, '/etc/frr') as string, 'daemons') : undefined);
  const on = new Set(['zebra', 'staticd']);
  if (d !== undefined && existsSync(d)) {
    for (const m of readFileSync(d, 'utf8').matchAll(/^\s*([a-z0-9]+)\s*=\s*"?yes"?\s*$/gm)) if (FRR_DAEMONS.includes(m[1])) on.add(m[1]);
    return { daemons: FRR_DAEMONS.filter((x) => on.has(x)), from: d };
  }
  for (const [re, daemon] of SECTION_DAEMON) if (re.test(conf)) on.add(daemon);
  return { daemons: FRR_DAEMONS.filter((x) => on.has(x)), from: 'the sections of its config' };
}

/** `router ...` lines (FRR) or named protocols (BIRD) that must show once the config is applied. */
export function expectedMarks(type: 'frr' | 'bird', conf: string): string[] {
  if (type === 'frr') return [...conf.matchAll(/^(router \S+(?: \S+)?)\s*$/gm)].map((m) => m[1].trim());
  return [...conf.matchAll(/^\s*protocol\s+\w+\s+([A-Za-z_][\w]*)\s*(?:from\s+\w+\s*)?\{/gm)].map((m) => m[1]);
}

export interface StartContext {
  ns: string;
  dir: string;
  env: NodeJS.ProcessEnv;
  record: (t: Tracked, log: string) => void;
  say: (line: string) => void;
  /** Start the node's FRR / BIRD (false for the ToRs of x-weft.tors, which get theirs from x-weft). */
  daemons: boolean;
}

async function startCmd(name: string, cmd: string, c: StartContext): Promise<DaemonRecord> {
  const log = join(c.dir, `${name}.cmd.log`);
  const fd = openSync(log, 'a');
  // Detached: the node's main process outlives `lab up`, like a container's; `ip netns exec` execs sh.
  const child = spawn('ip', ['netns', 'exec', c.ns, 'sh', '-c', cmd], { stdio: ['ignore', fd, fd], detached: true, env: c.env });
  closeSync(fd);
  child.on('error', () => undefined);
  child.unref();
  const t = child.pid === undefined ? undefined : track(child.pid, `cmd@${name}`);
  if (t === undefined) throw new LabError(`topology.nodes.${name}.cmd: ${cmd} did not start\n${tail(log, 10)}`);
  c.record(t, log);
  return { node: name, type: 'cmd', control: cmd, pids: [t.pid], source: `topology.nodes.${name}.cmd`, expect: [] };
}

async function startFrrNode(name: string, n: ClabNode, c: StartContext): Promise<DaemonRecord> {
  const conf = nodeConfig(name, n, ['/etc/frr/frr.conf'], '/etc/frr');
  const text = conf?.text ?? '';
  const { daemons, from } = frrDaemons(n, text);
  const dir = join(c.dir, `frr-${name}`);
  const started = await startFrrDaemons(c.ns, dir, daemons.map((d) => ({ name: d, conf: '' })), c.record, { ready: 'show version' }).catch((e: Error) => {
    throw new LabError(`topology.nodes.${name} (FRR, daemons from ${from}): ${e.message}`);
  });
  if (conf !== undefined) {
    const { uid, gid } = frrIds();
    const file = join(dir, 'frr.conf');
    writeFileSync(file, text);
    chownSync(file, uid, gid);
    try {
      const r = await run('vtysh', ['--vty_socket', dir, '-f', file], { timeoutMs: 30_000 });
      const bad = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /^line \d+:|Unknown command|% /i.test(l));
      if (bad.length > 0) throw new Error(bad.join('\n'));
    } catch (e) {
      const msg = (e as Error).message;
      throw new LabError(`topology.nodes.${name}: FRR rejected its config ${conf.from} (daemons ${daemons.join(', ')} from ${from}; is a daemon the config needs off in the daemons file?):\n${msg.split('\n').slice(0, 12).join('\n')}`);
    }
  }
  c.say(`frr: ${name}: ${started.procs.map((p) => `${p.tracked.label.split('@')[0]} ${p.tracked.pid}`).join(', ')}; config ${conf?.from ?? '(none)'}`);
  return { node: name, type: 'frr', control: dir, pids: started.procs.map((p) => p.tracked.pid), source: conf?.from ?? '(no config)', expect: expectedMarks('frr', text) };
}

async function startBirdNode(name: string, n: ClabNode, c: StartContext): Promise<DaemonRecord> {
  const conf = nodeConfig(name, n, ['/etc/bird/bird.conf', '/etc/bird.conf'], '/etc/bird');
  if (conf === undefined) throw new LabError(`topology.nodes.${name}: a BIRD image needs its config: startup-config, or a bind to /etc/bird/bird.conf`);
  const dir = join(c.dir, `bird-${name}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'bird.conf');
  writeFileSync(file, conf.text);
  try {
    await run('bird', ['-p', '-c', file], { timeoutMs: 10_000 });
  } catch (e) {
    throw new LabError(`topology.nodes.${name}: BIRD rejects its config ${conf.from}:\n${(e as Error).message.split('\n').slice(1).join('\n') || firstLine(e)}`);
  }
  const ctl = join(dir, 'bird.ctl');
  const pidFile = join(dir, 'bird.pid');
  const log = join(dir, 'bird.log');
  await inNs(c.ns, 'bird', ['-c', file, '-s', ctl, '-P', pidFile], { logFile: log, timeoutMs: 15_000 }).catch((e: Error) => {
    throw new LabError(`topology.nodes.${name}: bird did not start: ${e.message}`);
  });
  const pid = await waitFor(() => readPid(pidFile), { what: `bird pid file ${pidFile}`, timeoutMs: 10_000, intervalMs: 20 });
  const t = track(pid, `bird@${name}`);
  if (t === undefined) throw new LabError(`topology.nodes.${name}: bird exited right after starting\n${tail(log, 10)}`);
  c.record(t, log);
  await waitFor(() => run('birdc', ['-s', ctl, 'show', 'status'], { timeoutMs: 5000 }).then((r) => r.stdout.includes('up and running')), { what: `bird on ${name} answering on ${ctl}`, timeoutMs: 10_000 });
  c.say(`bird: ${name}: pid ${t.pid}; config ${conf.from}`);
  return { node: name, type: 'bird', control: ctl, pids: [t.pid], source: conf.from, expect: expectedMarks('bird', conf.text) };
}

/** Starts a node's cmd and its FRR or BIRD daemons; returns what to record. */
export async function startNodeProcesses(name: string, n: ClabNode, c: StartContext): Promise<DaemonRecord[]> {
  const out: DaemonRecord[] = [];
  if (n.kind !== 'linux' && n.kind !== 'frr') return out;
  const flavour = !c.daemons ? 'plain' : n.kind === 'frr' ? 'frr' : imageFlavour(n.image);
  if (flavour === 'frr') out.push(await startFrrNode(name, n, c));
  if (flavour === 'bird') out.push(await startBirdNode(name, n, c));
  if (n.cmd !== undefined) out.push(await startCmd(name, n.cmd, c));
  return out;
}

/** The environment of a node's cmd and exec lines: its env, and its labels as CLAB_LABEL_* (containerlab does the same). */
export function nodeEnv(n: ClabNode): NodeJS.ProcessEnv {
  const labels = Object.fromEntries(Object.entries(n.labels).map(([k, v]) => [`CLAB_LABEL_${k.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`, v]));
  return { ...process.env, ...labels, ...n.env };
}

export interface DaemonHealth {
  node: string;
  type: DaemonRecord['type'];
  ok: boolean;
  problems: string[];
}

/** Whether a node's daemons still run (by PID and start time) and still carry its config. */
export async function daemonHealth(state: LabState, d: DaemonRecord): Promise<DaemonHealth> {
  const problems: string[] = [];
  const byPid = new Map<number, ProcRecord>(state.processes.map((p) => [p.pid, p]));
  for (const pid of d.pids) {
    const p = byPid.get(pid);
    if (p === undefined || isGone(p)) problems.push(`${p?.label ?? `pid ${pid}`} is not running`);
  }
  if (problems.length === 0 && d.type !== 'cmd') {
    try {
      const shown = d.type === 'frr' ? (await run('vtysh', ['--vty_socket', d.control, '-c', 'show running-config'], { timeoutMs: 10_000 })).stdout : (await run('birdc', ['-s', d.control, 'show', 'protocols'], { timeoutMs: 10_000 })).stdout;
      const lines = shown.split('\n').map((l) => l.trim());
      for (const m of d.expect) {
        const there = d.type === 'frr' ? lines.includes(m) : lines.some((l) => l.split(/\s+/)[0] === m);
        if (!there) problems.push(`config not applied: ${d.type === 'frr' ? `"${m}" is not in the running config` : `protocol ${m} is not in show protocols`} (from ${d.source})`);
      }
    } catch (e) {
      problems.push(`${d.type} does not answer on ${d.control}: ${firstLine(e)}`);
    }
  }
  return { node: d.node, type: d.type, ok: problems.length === 0, problems };
}
