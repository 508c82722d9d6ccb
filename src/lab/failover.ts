/**
 * A node goes away under traffic: the scenario check of a dual-homed rack (labs/dual-tor.clab.yml).
 *
 *   1. a continuous ping (`ping -i 0.05`, one process per pair, each ended by its PID) between
 *      every pair of pods on different hosts, once every pair has answered;
 *   2. each host's routes to the other hosts' blocks, read with `ip -json route show PREFIX`;
 *   3. every link between the node and a host set down on the node's side, as when a ToR loses
 *      power: the hosts see their uplink lose carrier, and nothing tells BGP: the sessions through
 *      the node end when their hold timer fires (the detection time);
 *   4. wait (with a deadline) until no host has a route to a remote block through the node;
 *   5. pinging on until every pair has answered a few times more (with a deadline), then every
 *      ping is stopped with SIGINT and its replies counted: per pair, packets lost and the
 *      longest run of them (in ms: run x interval);
 *   6. the links come up again (unless `restore: false`).
 *
 * The check passes when every pair answered again and no pair's longest gap exceeds the detection
 * time (the hosts' hold time) plus one second for the kernel update and the ping interval.
 */
import { spawn } from 'node:child_process';
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
  /** Ping interval (default 50 ms). */
  intervalMs?: number;
  /** Replies every pair must have after the routes moved, before the pings stop (default 10). */
  repliesAfter?: number;
  /** The detection time the loss is held to (default: the largest hold time of the hosts' peers). */
  detectionMs?: number;
  /** Bring the links up again afterwards (default true). */
  restore?: boolean;
  progress?: (line: string) => void;
}

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

/** The largest hold time of the hosts' peers (their own, else the lab's timers), in ms. */
function holdTimeMs(t: Topology): number {
  const d = t['x-weft'].defaults.timers.holdTime ?? 90;
  const all = Object.values(t['x-weft'].hosts).flatMap((h) => h.peers.map((p) => (typeof p.holdTime === 'number' ? p.holdTime : d)));
  return Math.max(d, ...all) * 1000;
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
  const detectionMs = o.detectionMs ?? holdTimeMs(t);
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
  try {
    for (const p of pairs) pingers.push(startPing(nsOf.get(p.from) as string, p, intervalMs));
    await waitFor(() => pingers.every((p) => p.replies.length > 0), { what: 'a first reply on every pair', timeoutMs: 10_000, intervalMs: 50 }).catch((e: Error) => {
      const silent = pingers.filter((p) => p.replies.length === 0).map((p) => `${p.pair.from}->${p.pair.to}`);
      throw new LabError(`before the failure: ${silent.join(', ')} never answered (${e.message.split(';')[0]})`);
    });
    const before = await remoteRoutes(t, state);
    say(`failover: ${pingers.length} pings every ${intervalMs} ms; taking ${o.node} down (${links.map((l) => l.iface).join(', ')})`);
    const t0 = Date.now();
    for (const p of pingers) p.lastBefore = Math.max(...p.replies);
    for (const l of links) await run('ip', ['-n', nodeNs, 'link', 'set', 'dev', l.iface, 'down']);
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
    return { node: o.node, links: links.map((l) => `${o.node}:${l.iface} (to ${l.host}:${l.hostIface})`), intervalMs, detectionMs, before, after, convergedMs, pairs: lost, maxGapMs, ok: problems.length === 0, problems };
  } finally {
    await terminate(pingers.map((p) => p.proc), 1000);
    if (o.restore !== false) {
      for (const l of links) await run('ip', ['-n', nodeNs, 'link', 'set', 'dev', l.iface, 'up']).catch(() => undefined);
    }
  }
}
