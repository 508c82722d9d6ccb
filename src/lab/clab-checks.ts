/**
 * What `weft lab test` checks in a containerlab lab besides weft's pods: every FRR / BIRD node's
 * daemons run and carry their config (daemonHealth), and its routing sessions are up: every BGP
 * neighbour Established (FRR and BIRD), and for FRR's OSPF at least one neighbour and every one
 * Full; every cmd still runs; and across every link whose two ends have addresses of a family
 * (vars.ipv4 / vars.ipv6), each end pings the other. Daemons and sessions are waited for up to the
 * convergence timeout (FRR applies some sections a moment after vtysh returns; sessions take a
 * few seconds).
 */
import { daemonHealth, type DaemonHealth } from './clab-daemons.js';
import { firstLine, run } from './exec.js';
import type { DaemonRecord, LabState } from './state.js';
// Types only: the CLI loads this module for its report without the topology schema (zod).
import type { Topology } from './topology.js';

export interface LinkPing {
  link: number;
  from: string;
  to: string;
  address: string;
  ok: boolean;
  ms: number;
}

export interface NodeCheck extends DaemonHealth {
  /** Routing sessions, e.g. "BGP 1/1 Established, OSPF 2/2 Full" (FRR / BIRD nodes). */
  sessions?: string;
}

export interface ClabChecks {
  daemons: NodeCheck[];
  links: LinkPing[];
  /** Every check passed (and there was at least one). */
  ok: boolean;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function pingFrom(ns: string, address: string, windowMs: number): Promise<{ ok: boolean; ms: number }> {
  const start = Date.now();
  for (;;) {
    const r = await run('ip', ['netns', 'exec', ns, 'ping', address.includes(':') ? '-6' : '-4', '-n', '-q', '-c', '1', '-W', '1', address], { okCodes: [0, 1, 2], timeoutMs: 5000 });
    const ms = Date.now() - start;
    if (r.code === 0 || ms >= windowMs) return { ok: r.code === 0, ms };
    await pause(200);
  }
}

/** Links with addresses on both ends of a family: one ping each way per family. */
export function linkPairs(t: Topology): { link: number; from: string; to: string; address: string }[] {
  const out: { link: number; from: string; to: string; address: string }[] = [];
  t.topology.links.forEach((l, i) => {
    const [a, b] = l.endpoints.map((e) => e.slice(0, e.indexOf(':')));
    for (const addrs of [l.ipv4, l.ipv6]) {
      if (!addrs?.[0] || !addrs[1]) continue;
      out.push({ link: i, from: a, to: b, address: addrs[1].split('/')[0] }, { link: i, from: b, to: a, address: addrs[0].split('/')[0] });
    }
  });
  return out;
}

export async function clabChecks(t: Topology, state: LabState, o: { timeoutMs?: number; pingWindowMs?: number } = {}): Promise<ClabChecks> {
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  const nsOf = new Map(state.namespaces.map((n) => [n.node, n.ns]));
  const daemons: NodeCheck[] = [];
  for (const d of state.daemons ?? []) {
    for (;;) {
      const h: NodeCheck = await daemonHealth(state, d);
      const dead = h.problems.some((p) => p.endsWith('is not running'));
      if (h.ok && d.type !== 'cmd') {
        const sess = await routingSessions(d).catch((e: Error) => ({ ok: false, text: `sessions unreadable: ${firstLine(e)}` }));
        h.sessions = sess.text;
        if (!sess.ok) {
          h.ok = false;
          h.problems.push(sess.text);
        }
      }
      // A dead daemon stays dead: no point waiting for it.
      if (h.ok || Date.now() >= deadline || dead) {
        daemons.push(h);
        break;
      }
      await pause(250);
    }
  }
  const links: LinkPing[] = [];
  for (const p of linkPairs(t)) {
    const ns = nsOf.get(p.from);
    if (ns === undefined) continue;
    links.push({ ...p, ...(await pingFrom(ns, p.address, o.pingWindowMs ?? 5000)) });
  }
  const all = [...daemons.map((d) => d.ok), ...links.map((l) => l.ok)];
  return { daemons, links, ok: all.length > 0 && all.every(Boolean) };
}

interface Sessions {
  ok: boolean;
  text: string;
}

/** Routing sessions of an FRR or BIRD node, from what its config starts (BGP, OSPF). */
export async function routingSessions(d: DaemonRecord): Promise<Sessions> {
  const parts: string[] = [];
  let ok = true;
  const count = (what: string, up: string[], all: string[], need1 = false) => {
    const good = (all.length > 0 || !need1) && up.length === all.length;
    ok &&= good;
    const down = all.filter((x) => !up.includes(x));
    parts.push(`${what} ${up.length}/${all.length}${good ? '' : down.length > 0 ? ` (not: ${down.join(', ')})` : ' (no neighbour yet)'}`);
  };
  if (d.type === 'frr') {
    const vtysh = async (cmd: string) => JSON.parse((await run('vtysh', ['--vty_socket', d.control, '-c', cmd], { timeoutMs: 10_000 })).stdout) as Record<string, unknown>;
    if (d.expect.some((m) => m.startsWith('router bgp'))) {
      const sum = await vtysh('show bgp summary json');
      const peers = new Map<string, string>();
      for (const afi of Object.values(sum)) {
        const ps = (afi as { peers?: Record<string, { state?: string }> }).peers ?? {};
        for (const [addr, p] of Object.entries(ps)) if (peers.get(addr) !== 'Established') peers.set(addr, p.state ?? '?');
      }
      count('BGP Established', [...peers].filter(([, st]) => st === 'Established').map(([a]) => a), [...peers.keys()]);
    }
    if (d.expect.includes('router ospf')) {
      const nb = ((await vtysh('show ip ospf neighbor json')).neighbors ?? {}) as Record<string, { converged?: string; nbrState?: string }[]>;
      const all = Object.entries(nb).flatMap(([id, l]) => l.map((n) => ({ id, full: n.converged === 'Full' || (n.nbrState ?? '').startsWith('Full') })));
      count('OSPF Full', all.filter((n) => n.full).map((n) => n.id), all.map((n) => n.id), true);
    }
  } else if (d.type === 'bird') {
    const out = (await run('birdc', ['-s', d.control, 'show', 'protocols'], { timeoutMs: 10_000 })).stdout;
    const bgp = out.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[1] === 'BGP');
    count('BGP Established', bgp.filter((f) => f.includes('Established')).map((f) => f[0]), bgp.map((f) => f[0]));
  }
  return { ok, text: parts.join(', ') };
}

/** The report lines of the checks. */
export function clabCheckLines(c: ClabChecks): string[] {
  const out: string[] = [];
  for (const d of c.daemons) {
    const good = d.type === 'cmd' ? ' running' : ` running, config applied${d.sessions ? `, ${d.sessions}` : ''}`;
    out.push(`${d.ok ? 'ok  ' : 'FAIL'} ${d.node}: ${d.type}${d.ok ? good : `: ${d.problems.join('; ')}`}`);
  }
  for (const l of c.links) out.push(`${l.ok ? 'ok  ' : 'FAIL'} topology.links[${l.link}]: ${l.from} -> ${l.to} ${l.address}${l.ok ? '' : ` no answer within ${(l.ms / 1000).toFixed(1)} s`}`);
  return out;
}
