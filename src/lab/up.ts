/**
 * `weft lab up`: realises a topology on network namespaces, in this order:
 *   1. one namespace per node, wl-<id>-<node> (id random per run), lo up, rp_filter off, IPv6
 *      duplicate address detection off (addresses are usable at once: no 1-2 s DAD wait); IPv4
 *      and IPv6 forwarding on hosts, routers and ToRs; on hosts also ignore_routes_with_linkdown
 *      (IPv4 and IPv6): a next hop whose link lost carrier is skipped by the kernel at once, so a
 *      dual-homed host stops sending flows into a dead uplink before BGP or BFD notices;
 *   2. a Linux bridge (named after the node) in each `kind: bridge` node;
 *   3. a veth pair per link (an end on a bridge node becomes a bridge port);
 *   4. each host's underlay addresses on its interfaces (IPv6 ones with nodad);
 *   5. pods: eth0 in the pod (address/32, default via 169.254.1.1), the other end in the host
 *      (169.254.1.1/32 on it, a /32 route to the pod): the Calico shape, so the host's block can
 *      be a blackhole route without hiding its pods; IPv6 alike (address6/128, default via
 *      POD_GATEWAY6, a /128 route to the pod);
 *   6. containerlab nodes' processes (clab-daemons.ts): cmd, and FRR or BIRD with its config for
 *      nodes with such an image;
 *   7. every node's `exec` lines (sh -c, with the node's env and labels as CLAB_LABEL_*);
 *   8. FRR (zebra + bgpd, and bfdd when the ToR's config uses BFD) on each ToR;
 *   9. one `weft agent` per host, detached, its control socket in the lab directory.
 * Links get the MAC and MTU the file gives (at creation) and their ipv4/ipv6 addresses; nodes
 * their sysctls. Every namespace and PID is written to the state file as soon as it exists. On
 * any failure, and on SIGINT / SIGTERM (Ctrl-C), what was made is torn down again (processes by
 * PID, then the namespaces, which take their veths and bridges with them) before the error is
 * reported.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest } from '../agent/control/control-client.js';
import { nodeEnv, startNodeProcesses } from './clab-daemons.js';
import { vethEndArgs } from './clab-links.js';
import { teardown, nsExists } from './down.js';
import { firstLine, inNs, run, tail } from './exec.js';
import { startFrr } from './frr.js';
import { agentConfigs, loadTopology, selectVariant, type SelectOptions, type Selection } from './plan.js';
import { isGone, track } from './processes.js';
import { DEFAULT_STATE_DIR, LabError, readState, removeState, writeState, type LabState } from './state.js';
import { hostUplinks, podHostInterface, roleOf, splitEndpoint, topologyNotes, torNeedsBfdd, type Topology } from './topology.js';
import { NotRecoverable, waitFor } from './wait.js';

export interface UpOptions extends SelectOptions {
  stateDir?: string;
  /** One line per step, for stderr. */
  progress?: (line: string) => void;
  /** The weft program the agents run (default: dist/cli/main.js of this installation). */
  weftMain?: string;
  agentStartTimeoutMs?: number;
}

export interface UpResult {
  state: LabState;
  topology: Topology;
  selection: Selection;
}

/** The gateway address every pod uses (on the host end of each pod veth). */
export const POD_GATEWAY = '169.254.1.1';

/**
 * The IPv6 gateway of every pod, on the host end of each pod veth: Calico's. Calico gives the host
 * end the MAC ee:ee:ee:ee:ee:ee, whose EUI-64 link-local address is this one, and routes pods via
 * it. The lab puts the address on explicitly instead (addrgenmode none, nodad), so it exists the
 * moment the link is up and no DAD delays the first ping. The host reaches the pod through a /128
 * route on the veth, as with the /32 of IPv4 (the block itself can then be a blackhole without
 * hiding the pods). No proxy NDP is needed: the host answers neighbour solicitations for its own
 * link-local address and solicits the pod's address on the veth like any on-link neighbour.
 */
export const POD_GATEWAY6 = 'fe80::ecee:eeff:feee:eeee';

/** dist/cli/main.js next to this module (or, when running from src under tsx, the built one). */
export function defaultWeftMain(): string {
  const here = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
}

/** Whether lab `key` is up: a state file naming at least one namespace that exists. */
export function liveState(stateDir: string, key: string): LabState | undefined {
  const s = readState(stateDir, key);
  if (s === undefined) return undefined;
  if (s.namespaces.some((n) => nsExists(n.ns)) || s.processes.some((p) => !isGone(p))) return s;
  removeState(stateDir, key); // stale (the machine restarted, say)
  return undefined;
}

export async function labUp(file: string, o: UpOptions = {}): Promise<UpResult> {
  const stateDir = o.stateDir ?? DEFAULT_STATE_DIR;
  const say = o.progress ?? (() => undefined);
  const t = loadTopology(file);
  for (const n of topologyNotes(t)) say(n);
  const sel = selectVariant(t, o, file);
  const weftMain = o.weftMain ?? defaultWeftMain();
  if (Object.keys(t['x-weft'].hosts).length > 0 && !existsSync(weftMain)) {
    throw new LabError(`the weft program ${weftMain} is missing: build it first (npm run build)`);
  }
  const running = liveState(stateDir, sel.key);
  if (running !== undefined) {
    throw new LabError(`lab ${sel.key} is already up (state ${join(stateDir, `${sel.key}.json`)}, namespaces wl-${running.id}-*): weft lab down ${file} first`);
  }
  const id = randomBytes(3).toString('hex');
  const dir = join(stateDir, sel.key);
  mkdirSync(dir, { recursive: true });
  // FRR drops to user frr and must reach its directory inside this one (and this one in stateDir).
  chmodSync(dir, 0o755);
  const sdMode = statSync(stateDir).mode;
  const runsFrr = Object.keys(t['x-weft'].tors).length > 0 || Object.keys(t.topology.nodes).some((n) => roleOf(t, n) === 'frr');
  if (runsFrr && (sdMode & 0o001) === 0) {
    chmodSync(stateDir, (sdMode & 0o777) | 0o001);
    say(`made ${stateDir} searchable by others (o+x) so that FRR, running as user frr, reaches its directory`);
  }
  const configs = agentConfigs(t, sel, (h) => join(dir, `${h}.sock`), file);
  const state: LabState = {
    version: 1,
    name: t.name,
    key: sel.key,
    file,
    ...(sel.variant ? { variant: sel.variant } : {}),
    ...(sel.encapsulation ? { encapsulation: sel.encapsulation } : {}),
    id,
    dir,
    status: 'starting',
    createdAt: new Date().toISOString(),
    namespaces: [],
    processes: [],
    agents: [],
    pods: [],
  };
  // Ctrl-C (or a SIGTERM) from here on rolls back: the step under way ends, then teardown.
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (abort.signal.aborted) return;
    say(`${sig}: stopping; removing what was made`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  writeState(stateDir, state);
  const what = [sel.variant && `variant ${sel.variant}`, sel.encapsulation && `encapsulation ${sel.encapsulation}`].filter(Boolean).join(', ');
  say(`lab ${t.name}${what ? ` (${what})` : ''}: ${Object.keys(t.topology.nodes).length} nodes, ${t.topology.links.length} links, namespaces wl-${id}-*`);
  try {
    await realise(t, state, stateDir, dir, configs, weftMain, o.agentStartTimeoutMs ?? 15_000, say, abort.signal);
    if (abort.signal.aborted) throw interrupted();
  } catch (e) {
    const stopped = abort.signal.aborted;
    say(`${stopped ? 'interrupted' : `failed: ${firstLine(e)}`}; removing what was made`);
    const r = await teardown(state, stateDir, { keepDir: !stopped });
    const left = r.problems.length ? `\nleft behind:\n${r.problems.map((p) => `  - ${p}`).join('\n')}` : '';
    if (stopped) throw new LabError(`lab ${sel.key}: interrupted; ${r.problems.length ? 'NOT everything was removed' : `removed what was made (${r.deleted.length} namespaces, ${r.stopped} processes)`}${left}`);
    if (e instanceof LabError) throw new LabError(`${e.message}\n(logs and configs kept in ${dir})${left}`);
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  state.status = 'up';
  writeState(stateDir, state);
  say(`lab ${sel.key} is up (state ${join(stateDir, `${sel.key}.json`)})`);
  return { state, topology: t, selection: sel };
}

const interrupted = () => new LabError('interrupted');

/** Set while `up` runs: every step first checks whether Ctrl-C asked to stop. */
let currentSignal: AbortSignal | undefined;

async function step(what: string, fn: () => Promise<unknown>): Promise<void> {
  if (currentSignal?.aborted) throw interrupted();
  try {
    await fn();
  } catch (e) {
    if (e instanceof LabError) throw e;
    throw new LabError(`${what}: ${(e as Error).message}`);
  }
}

async function realise(
  t: Topology,
  state: LabState,
  stateDir: string,
  dir: string,
  configs: Map<string, Record<string, unknown>>,
  weftMain: string,
  agentTimeoutMs: number,
  say: (l: string) => void,
  signal: AbortSignal,
): Promise<void> {
  currentSignal = signal;
  const check = () => {
    if (signal.aborted) throw interrupted();
  };
  const x = t['x-weft'];
  const nodes = Object.keys(t.topology.nodes);
  const nsOf = (node: string) => `wl-${state.id}-${node}`;
  const ip = (node: string, ...args: string[]) => run('ip', ['-n', nsOf(node), ...args]);
  const sysctl = (node: string, ...kv: string[]) => inNs(nsOf(node), 'sysctl', ['-qw', ...kv]);

  // 1. namespaces
  for (const node of nodes) {
    const role = roleOf(t, node);
    await step(`node ${node}: creating namespace ${nsOf(node)}`, async () => {
      await run('ip', ['netns', 'add', nsOf(node)]);
      state.namespaces.push({ node, ns: nsOf(node), role });
      writeState(stateDir, state);
      await ip(node, 'link', 'set', 'dev', 'lo', 'up');
      await sysctl(node, 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0');
      if (role === 'host' || role === 'router' || role === 'tor' || role === 'frr' || role === 'bird') await sysctl(node, 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
      if (role === 'host') await sysctl(node, 'net.ipv4.conf.all.ignore_routes_with_linkdown=1', 'net.ipv6.conf.all.ignore_routes_with_linkdown=1');
      const own = Object.entries(t.topology.nodes[node].sysctls).map(([k, v]) => `${k}=${v}`);
      if (own.length > 0) await sysctl(node, ...own);
    });
  }
  say(`namespaces: ${nodes.length} created`);

  // 2. bridges, 3. links
  for (const node of nodes.filter((n) => t.topology.nodes[n].kind === 'bridge')) {
    await step(`bridge ${node}`, async () => {
      await ip(node, 'link', 'add', 'name', node, 'type', 'bridge');
      await ip(node, 'link', 'set', 'dev', node, 'up');
    });
  }
  for (const [i, l] of t.topology.links.entries()) {
    const [a, b] = l.endpoints.map(splitEndpoint);
    await step(`topology.links[${i}] ${l.endpoints.join(' <-> ')}`, async () => {
      await run('ip', ['link', 'add', ...vethEndArgs(a.iface, l.mac?.[0], l.mtu), 'netns', nsOf(a.node), 'type', 'veth', 'peer', ...vethEndArgs(b.iface, l.mac?.[1], l.mtu), 'netns', nsOf(b.node)]);
      for (const [j, e] of [a, b].entries()) {
        if (t.topology.nodes[e.node].kind === 'bridge') await ip(e.node, 'link', 'set', 'dev', e.iface, 'master', e.node);
        await ip(e.node, 'link', 'set', 'dev', e.iface, 'up');
        const v4 = l.ipv4?.[j];
        const v6 = l.ipv6?.[j];
        if (v4) await ip(e.node, 'addr', 'add', v4, 'dev', e.iface);
        if (v6) await ip(e.node, 'addr', 'add', v6, 'dev', e.iface, 'nodad');
      }
    });
  }
  if (t.topology.links.length > 0) say(`links: ${t.topology.links.length} veth pairs`);

  // 4. host addresses
  for (const [h, spec] of Object.entries(x.hosts)) {
    for (const u of hostUplinks(spec)) {
      if (u.address !== undefined) await step(`host ${h}: address ${u.address} on ${u.name}`, () => ip(h, 'addr', 'add', u.address as string, 'dev', u.name));
      if (u.address6 !== undefined) await step(`host ${h}: address ${u.address6} on ${u.name}`, () => ip(h, 'addr', 'add', u.address6 as string, 'dev', u.name, 'nodad'));
    }
  }

  // 5. pods
  for (const [p, spec] of Object.entries(x.pods)) {
    const hif = podHostInterface(p, spec);
    await step(`pod ${p} on ${spec.host}`, async () => {
      await run('ip', ['link', 'add', 'name', 'eth0', 'netns', nsOf(p), 'type', 'veth', 'peer', 'name', hif, 'netns', nsOf(spec.host)]);
      if (spec.mtu !== undefined) await ip(p, 'link', 'set', 'dev', 'eth0', 'mtu', String(spec.mtu));
      if (spec.address6 !== undefined) await ip(spec.host, 'link', 'set', 'dev', hif, 'addrgenmode', 'none');
      await ip(p, 'link', 'set', 'dev', 'eth0', 'up');
      await ip(spec.host, 'link', 'set', 'dev', hif, 'up');
      if (spec.address !== undefined) {
        await ip(p, 'addr', 'add', `${spec.address}/32`, 'dev', 'eth0');
        await ip(p, 'route', 'add', POD_GATEWAY, 'dev', 'eth0', 'scope', 'link');
        await ip(p, 'route', 'add', 'default', 'via', POD_GATEWAY, 'dev', 'eth0');
        await ip(spec.host, 'addr', 'add', `${POD_GATEWAY}/32`, 'dev', hif, 'scope', 'link');
        await ip(spec.host, 'route', 'add', `${spec.address}/32`, 'dev', hif, 'scope', 'link');
      }
      if (spec.address6 !== undefined) {
        await ip(p, 'addr', 'add', `${spec.address6}/128`, 'dev', 'eth0', 'nodad');
        await ip(spec.host, 'addr', 'add', `${POD_GATEWAY6}/64`, 'dev', hif, 'nodad');
        await ip(p, '-6', 'route', 'add', 'default', 'via', POD_GATEWAY6, 'dev', 'eth0');
        await ip(spec.host, '-6', 'route', 'add', `${spec.address6}/128`, 'dev', hif);
      }
    });
    state.pods.push({ name: p, ns: nsOf(p), host: spec.host, ...(spec.address !== undefined ? { address: spec.address } : {}), ...(spec.address6 !== undefined ? { address6: spec.address6 } : {}) });
  }
  if (state.pods.length > 0) {
    writeState(stateDir, state);
    say(`pods: ${state.pods.map((p) => `${p.name} ${[p.address, p.address6].filter(Boolean).join(' ')} on ${p.host}`).join(', ')}`);
  }

  // 6. containerlab nodes' cmd and FRR / BIRD daemons
  let lastCmdAt: number | undefined;
  for (const node of nodes) {
    check();
    const n = t.topology.nodes[node];
    const record = (tr: { pid: number; startTime: string; label: string }, log: string) => {
      state.processes.push({ pid: tr.pid, startTime: tr.startTime, label: tr.label, node, log });
      writeState(stateDir, state);
    };
    // A ToR of x-weft.tors runs the FRR its x-weft section configures (step 8), whatever its image.
    const role = roleOf(t, node);
    const started = await startNodeProcesses(node, n, { ns: nsOf(node), dir, env: nodeEnv(n), record, say, daemons: role === 'frr' || role === 'bird' });
    if (started.some((d) => d.type === 'cmd')) lastCmdAt = Date.now();
    if (started.length > 0) {
      (state.daemons ??= []).push(...started);
      writeState(stateDir, state);
    }
  }

  // 7. exec lines
  for (const node of nodes) {
    check();
    const n = t.topology.nodes[node];
    for (const [i, line] of n.exec.entries()) {
      try {
        await inNs(nsOf(node), 'sh', ['-c', line], { env: nodeEnv(n), timeoutMs: 30_000 });
      } catch (e) {
        const msg = (e as Error).message.split('\n').slice(1).join('\n') || firstLine(e);
        throw new LabError(`topology.nodes.${node}.exec[${i}] failed: ${line}\n${msg}`);
      }
    }
    if (n.exec.length > 0) say(`exec: ${node}: ${n.exec.length} line${n.exec.length === 1 ? '' : 's'}`);
  }

  // 8. FRR
  for (const [tor, spec] of Object.entries(x.tors)) {
    check();
    const conf = { bgpd: spec.frr, zebra: spec.zebra, ...(torNeedsBfdd(spec) ? { bfdd: spec.bfdd ?? '' } : {}) };
    const started = await startFrr(nsOf(tor), join(dir, `frr-${tor}`), conf, (tr, log) => {
      state.processes.push({ pid: tr.pid, startTime: tr.startTime, label: tr.label, node: tor, log });
      writeState(stateDir, state);
    });
    say(`frr: ${tor}: ${started.procs.map((p) => `${p.tracked.label.split('@')[0]} ${p.tracked.pid}`).join(', ')}`);
  }

  // 9. agents
  for (const [h, cfg] of configs) {
    check();
    const conf = join(dir, `${h}.yaml`);
    const log = join(dir, `${h}.log`);
    const socket = join(dir, `${h}.sock`);
    writeFileSync(conf, `${JSON.stringify(cfg, null, 2)}\n`);
    const fd = openSync(log, 'a');
    // `ip netns exec` execs the command, so the PID is the agent's. Detached: it outlives `lab up`.
    const child = spawn('ip', ['netns', 'exec', nsOf(h), process.execPath, weftMain, 'agent', '-c', conf], { stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    child.on('error', () => undefined);
    child.unref();
    const tr = child.pid === undefined ? undefined : track(child.pid, `weft-agent@${h}`);
    if (tr === undefined) throw new LabError(`host ${h}: weft agent did not start\n${tail(log, 20)}`);
    state.processes.push({ pid: tr.pid, startTime: tr.startTime, label: tr.label, node: h, log });
    state.agents.push({ host: h, ns: nsOf(h), socket, config: conf, log, pid: tr.pid });
    writeState(stateDir, state);
  }
  for (const a of state.agents) {
    const tr = state.processes.find((p) => p.pid === a.pid);
    await waitFor(
      async () => {
        if (signal.aborted) throw new NotRecoverable('interrupted');
        if (tr && isGone(tr)) throw new NotRecoverable(`host ${a.host}: weft agent exited (config ${a.config})\n${tail(a.log, 20)}`);
        const r = await controlRequest(a.socket, { op: 'status' }, 2000);
        return r.ok;
      },
      { what: `weft agent on ${a.host} answering on ${a.socket}`, timeoutMs: agentTimeoutMs, intervalMs: 50, diagnose: () => tail(a.log, 20) },
    ).catch((e: Error) => {
      throw new LabError(e.message);
    });
  }
  if (state.agents.length > 0) say(`agents: ${state.agents.map((a) => `${a.host} (pid ${a.pid})`).join(', ')}`);

  // A node whose main process (cmd) ended within CMD_GRACE_MS of its start is down, as a container
  // whose command exited would be (a shell that does not exist here, say: alpine's ash): not
  // reported up. Waits only for what is left of the window after the later steps.
  const cmds = (state.daemons ?? []).filter((x) => x.type === 'cmd').flatMap((d) => state.processes.filter((p) => p.pid === d.pids[0]).map((p) => ({ d, p })));
  if (lastCmdAt !== undefined && cmds.length > 0) {
    const left = CMD_GRACE_MS - (Date.now() - lastCmdAt);
    const dead = left <= 0 ? cmds.find(({ p }) => isGone(p)) : await waitFor(() => cmds.find(({ p }) => isGone(p)), { what: 'a cmd to end', timeoutMs: left, intervalMs: 20 }).catch(() => undefined);
    if (dead !== undefined) throw new LabError(`topology.nodes.${dead.d.node}.cmd: ${dead.d.control} ended right after it started, so the node would be down; its output:\n${tail(dead.p.log, 10) || '(none)'}`);
  }
}

/** How long a node's cmd must keep running after its start for the node to count as up. */
const CMD_GRACE_MS = 500;
