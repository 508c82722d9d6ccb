/**
 * A node goes away under traffic: the scenario check of a dual-homed rack (labs/dual-tor.clab.yml).
 *
 *   1. a continuous ping (`ping -i 0.05`, one process per pair, each ended by its PID) between
 *      every pair of pods on different hosts, once every pair has answered;
 *   2. each host's routes to the other hosts' blocks, read with `ip -json route show PREFIX`;
 *   3. the node fails, one of two ways (`mode`):
 *      - 'link-down' (default): every link between the node and a host is set down on the node's
 *        side, as when a ToR loses power: the hosts see their uplink lose carrier (a host with
 *        ignore_routes_with_linkdown skips that next hop at once), and nothing tells BGP: the
 *        sessions through the node end when BFD or their hold timer says so;
 *      - 'silent': the links stay up but the node stops answering: an nftables table in its
 *        namespace drops every frame in and out of its host-facing interfaces (netdev ingress and
 *        egress hooks, ARP included), as a ToR whose forwarding hangs. No carrier changes: only
 *        BFD (or the hold timer) can detect it;
 *   4. wait (with a deadline) until no host has a route to a remote block through the node;
 *   5. pinging on until every pair has answered a few times more (with a deadline), then every
 *      ping is stopped with SIGINT and its replies counted: per pair, packets lost and the
 *      longest run of them (in ms: run x interval);
 *   6. the links come up again, or the nftables table goes (unless `restore: false`).
 *
 * The check passes when every pair answered again and no pair's longest gap exceeds the detection
 * time (per peer: BFD's interval x multiplier when the peer has BFD, else its hold time; the
 * largest of the hosts' peers) plus one second for the kernel update and the ping interval.
 */
import { spawn } from 'node:child_process';
import { bfdSchema } from '../agent/config/bfd-config.js';
import { formatPrefix } from '../lib/prefix.js';
import { run } from './exec.js';
import { podPairs, selectVariant, type PodPair } from './plan.js';
import { isGone, signalProcess, terminate, track, type Tracked } from './processes.js';
import { LabError, type LabState } from './state.js';
import { familyOf, splitEndpoint, type Topology } from './topology.js';
import { waitFor } from './wait.js';

export interface FailoverOptions {
  /** The node to take down (a ToR). */
  node: string;
  /** How it fails: its host-facing links go down (default), or they stay up and it goes silent. */
  mode?: FailMode;
  /** Ping interval (default 50 ms). */
  intervalMs?: number;
  /** Replies every pair must have after the routes moved, before the pings stop (default 10). */
  repliesAfter?: number;
  /** The detection time the loss is held to (default: detectionTimeMs of the topology). */
  detectionMs?: number;
  /** Bring the links up again afterwards (default true). */
  restore?: boolean;
  progress?: (line: string) => void;
}

export const FAIL_MODES = ['link-down', 'silent'] as const;
export type FailMode = (typeof FAIL_MODES)[number];

/** The nftables table (netdev family) that makes a node silent in mode 'silent'. */
export const SILENT_TABLE = 'weft-lab-silent';

export interface Nexthop {
  via: string;
  dev: string;
}

/** A host's route to a remote block: its next hops (none: no route). */
export interface HostRoute {
  host: string;
  block: string;
  nexthops: Nexthop[];
}

export interface PairLoss {
  from: string;
  to: string;
  family: 4 | 6;
  address: string;
  sent: number;
  received: number;
  lost: number;
  /** The longest run of lost packets, in ms (run x interval). */
  longestGapMs: number;
  /** Whether replies came again after the failure. */
  recovered: boolean;
}

export interface FailoverReport {
  node: string;
  mode: FailMode;
  /** The node's interfaces set down: "tor1:eth1 (to h1:eth1)". */
  links: string[];
  intervalMs: number;
  detectionMs: number;
  before: HostRoute[];
  after: HostRoute[];
  /** ms from the links going down until no host had a route through the node; undefined: never. */
  convergedMs: number | undefined;
  pairs: PairLoss[];
  maxGapMs: number;
  ok: boolean;
  /** Why not ok, in words. */
  problems: string[];
}

/** The next hops of `ip -json route show PREFIX` (one route; a multipath one has `nexthops`). */
export function parseNexthops(json: unknown): Nexthop[] {
  if (!Array.isArray(json) || json.length === 0) return [];
  const r = json[0] as { type?: string; gateway?: string; dev?: string; nexthops?: { gateway?: string; dev?: string }[] };
  if (r.type !== undefined && r.type !== 'unicast') return []; // blackhole, unreachable (IPv6 ones show dev lo)
  const list = Array.isArray(r.nexthops) ? r.nexthops : [r];
  return list.filter((n) => n.dev !== undefined).map((n) => ({ via: n.gateway ?? '', dev: n.dev as string }));
}

export async function routeNexthops(ns: string, prefix: string): Promise<Nexthop[]> {
  const fam = familyOf(prefix.split('/')[0]);
  const r = await run('ip', ['-n', ns, `-${fam}`, '-json', 'route', 'show', prefix], { timeoutMs: 5000 });
  return parseNexthops(JSON.parse(r.stdout || '[]'));
}

/** Every host's route to every other host's block. */
export async function remoteRoutes(t: Topology, state: LabState): Promise<HostRoute[]> {
  const hosts = t['x-weft'].hosts;
  const nsOf = new Map(state.namespaces.map((n) => [n.node, n.ns]));
  const out: HostRoute[] = [];
  for (const host of Object.keys(hosts)) {
    for (const [other, spec] of Object.entries(hosts)) {
      if (other === host) continue;
      for (const b of spec.blocks) out.push({ host, block: formatPrefix(b), nexthops: await routeNexthops(nsOf.get(host) as string, formatPrefix(b)) });
    }
  }
  return out;
}

/** The links between `node` and a host: the node's interface and the host's. */
export function hostLinks(t: Topology, node: string): { iface: string; host: string; hostIface: string }[] {
  const out: { iface: string; host: string; hostIface: string }[] = [];
  for (const l of t.topology.links) {
    const [a, b] = l.endpoints.map(splitEndpoint);
    for (const [mine, theirs] of [[a, b], [b, a]]) {
      if (mine.node === node && theirs.node in t['x-weft'].hosts) out.push({ iface: mine.iface, host: theirs.node, hostIface: theirs.iface });
    }
  }
  return out;
}

/**
 * How long the hosts take at most to notice a dead peer, in ms: per peer, BFD's detection time
 * (interval x multiplier, as the agent reads the peer's `bfd`) when it has BFD, else its hold time
 * (its own, else the lab's timers); the largest over every host's peers.
 */
export function detectionTimeMs(t: Topology): number {
  const d = t['x-weft'].defaults.timers.holdTime ?? 90;
  const all = Object.values(t['x-weft'].hosts).flatMap((h) =>
    h.peers.map((p) => {
      const bfd = bfdSchema.safeParse(p.bfd ?? false);
      if (bfd.success && bfd.data !== undefined) return bfd.data.intervalMs * bfd.data.multiplier;
      return (typeof p.holdTime === 'number' ? p.holdTime : d) * 1000;
    }),
  );
  return all.length > 0 ? Math.max(...all) : d * 1000;
}

/** The nftables ruleset of mode 'silent': every frame in and out of `ifaces` dropped. */
export function silentRuleset(ifaces: readonly string[]): string {
  const devs = `devices = { ${ifaces.join(', ')} }`;
  return [
    `table netdev ${SILENT_TABLE} {`,
    `  chain in { type filter hook ingress ${devs} priority -500; policy drop; }`,
    `  chain out { type filter hook egress ${devs} priority -500; policy drop; }`,
    '}',
    '',
  ].join('\n');
}

/** Every one of `ifaces` up or down in one `ip -batch` (all at once, as when a ToR loses power). */
async function setLinks(ns: string, ifaces: readonly string[], how: 'up' | 'down'): Promise<void> {
  await run('ip', ['-n', ns, '-batch', '-'], { timeoutMs: 5000, input: ifaces.map((i) => `link set dev ${i} ${how}\n`).join('') });
}

async function nftIn(ns: string, args: string[], input?: string): Promise<void> {
  await run('ip', ['netns', 'exec', ns, 'nft', ...args], { timeoutMs: 5000, ...(input === undefined ? {} : { input }) });
}

interface Pinger {
  pair: PodPair;
  proc: Tracked;
  replies: number[];
  sent: number | undefined;
  /** The last sequence number answered when the node went down. */
  lastBefore: number;
  exited: boolean;
}

function startPing(ns: string, pair: PodPair, intervalMs: number): Pinger {
  const child = spawn('ip', ['netns', 'exec', ns, 'ping', `-${pair.family}`, '-n', '-i', (intervalMs / 1000).toFixed(3), pair.address], { stdio: ['ignore', 'pipe', 'ignore'] });
  const tr = child.pid === undefined ? undefined : track(child.pid, `ping ${pair.from}->${pair.to}`);
  if (tr === undefined) throw new LabError(`ping from ${pair.from} to ${pair.address} did not start`);
  const p: Pinger = { pair, proc: tr, replies: [], sent: undefined, lastBefore: 0, exited: false };
  child.on('close', () => (p.exited = true));
  child.on('error', () => (p.exited = true));
  let buf = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      const seq = /bytes from .*icmp_seq=(\d+)/.exec(l);
      if (seq) p.replies.push(Number(seq[1]));
      const tx = /^(\d+) packets transmitted/.exec(l);
      if (tx) p.sent = Number(tx[1]);
    }
  });
  return p;
}

/** Lost packets and the longest run of them, from the sequence numbers that were answered. */
export function lossOf(replies: readonly number[], sent: number, intervalMs: number, since: number): Omit<PairLoss, 'from' | 'to' | 'family' | 'address'> {
  const got = [...new Set(replies)].sort((a, b) => a - b);
  let longest = 0;
  let prev = 0; // ping numbers from icmp_seq=1
  for (const s of [...got, sent + 1]) {
    longest = Math.max(longest, s - prev - 1);
    prev = s;
  }
  return { sent, received: got.length, lost: sent - got.length, longestGapMs: longest * intervalMs, recovered: got.some((s) => s > since) };
}

export async function failover(t: Topology, state: LabState, o: FailoverOptions): Promise<FailoverReport> {
  const say = o.progress ?? (() => undefined);
  const intervalMs = o.intervalMs ?? 50;
  const detectionMs = o.detectionMs ?? detectionTimeMs(t);
  const mode = o.mode ?? 'link-down';
  const nsOf = new Map(state.namespaces.map((n) => [n.node, n.ns]));
  const nodeNs = nsOf.get(o.node);
  if (nodeNs === undefined) throw new LabError(`--fail ${o.node}: no such node in lab ${state.key}`);
  const links = hostLinks(t, o.node);
  if (links.length === 0) throw new LabError(`--fail ${o.node}: ${o.node} has no link to a host`);
  const through = new Set(links.map((l) => `${l.host}:${l.hostIface}`));
  const pairs = podPairs(t, selectVariant(t, {})).filter((p) => p.fromHost !== p.toHost);
  if (pairs.length === 0) throw new LabError('no pods on different hosts: nothing to ping across the failure');

  const pingers: Pinger[] = [];
  const problems: string[] = [];
  let convergedMs: number | undefined;
  let silenced = false; // the silent table may be in place
  try {
    for (const p of pairs) pingers.push(startPing(nsOf.get(p.from) as string, p, intervalMs));
    await waitFor(() => pingers.every((p) => p.replies.length > 0), { what: 'a first reply on every pair', timeoutMs: 10_000, intervalMs: 50 }).catch((e: Error) => {
      const silent = pingers.filter((p) => p.replies.length === 0).map((p) => `${p.pair.from}->${p.pair.to}`);
      throw new LabError(`before the failure: ${silent.join(', ')} never answered (${e.message.split(';')[0]})`);
    });
    const before = await remoteRoutes(t, state);
    const ifaces = links.map((l) => l.iface);
    say(`failover: ${pingers.length} pings every ${intervalMs} ms; ${mode === 'silent' ? `making ${o.node} silent on` : `taking ${o.node} down:`} ${ifaces.join(', ')}`);
    const t0 = Date.now();
    for (const p of pingers) p.lastBefore = Math.max(...p.replies);
    if (mode === 'silent') {
      silenced = true;
      await nftIn(nodeNs, ['-f', '-'], silentRuleset(ifaces));
    } else {
      await setLinks(nodeNs, ifaces, 'down');
    }
    const timeoutMs = detectionMs + 15_000;
    await waitFor(
      async () => {
        const now = await remoteRoutes(t, state);
        return now.every((r) => r.nexthops.length > 0 && r.nexthops.every((n) => !through.has(`${r.host}:${n.dev}`)));
      },
      { what: `every host's routes to move off ${o.node}`, timeoutMs, intervalMs: 100 },
    ).then(
      () => {
        convergedMs = Date.now() - t0;
        say(`failover: no route through ${o.node} left after ${(convergedMs / 1000).toFixed(1)} s`);
      },
      () => problems.push(`routes through ${o.node} were still there ${timeoutMs / 1000} s after it went down`),
    );
    // Pinging on until every pair has answered `repliesAfter` times since (a pair that does not is
    // reported below as not recovered).
    const want = o.repliesAfter ?? 10;
    const mark = pingers.map((p) => p.replies.length);
    await waitFor(() => pingers.every((p, i) => p.replies.length >= mark[i] + want), { what: 'replies after the failure', timeoutMs: want * intervalMs + 5000, intervalMs: 50 }).catch(() => undefined);
    for (const p of pingers) signalProcess(p.proc, 'SIGINT');
    await waitFor(() => pingers.every((p) => p.exited || isGone(p.proc)), { what: 'every ping to exit', timeoutMs: 3000, intervalMs: 20 }).catch(() => undefined);
    const after = await remoteRoutes(t, state);
    const lost: PairLoss[] = pingers.map((p) => ({
      from: p.pair.from,
      to: p.pair.to,
      family: p.pair.family,
      address: p.pair.address,
      ...lossOf(p.replies, p.sent ?? Math.max(0, ...p.replies), intervalMs, p.lastBefore),
    }));
    if (!before.some((r) => r.nexthops.some((n) => through.has(`${r.host}:${n.dev}`)))) {
      problems.push(`before the failure no host had a route through ${o.node}: the failure tested nothing`);
    }
    const maxGapMs = Math.max(0, ...lost.map((l) => l.longestGapMs));
    const limit = detectionMs + 1000;
    for (const l of lost) {
      if (!l.recovered) problems.push(`${l.from} -> ${l.to} ${l.address}: no reply after ${o.node} went down`);
      else if (l.longestGapMs > limit) problems.push(`${l.from} -> ${l.to} ${l.address}: ${l.longestGapMs} ms without replies, more than the detection time ${detectionMs} ms + 1 s`);
    }
    return { node: o.node, mode, links: links.map((l) => `${o.node}:${l.iface} (to ${l.host}:${l.hostIface})`), intervalMs, detectionMs, before, after, convergedMs, pairs: lost, maxGapMs, ok: problems.length === 0, problems };
  } finally {
    await terminate(pingers.map((p) => p.proc), 1000);
    if (o.restore !== false) {
      if (silenced) await nftIn(nodeNs, ['delete', 'table', 'netdev', SILENT_TABLE]).catch(() => undefined);
      if (mode === 'link-down') await setLinks(nodeNs, links.map((l) => l.iface), 'up').catch(() => undefined);
    }
  }
}
