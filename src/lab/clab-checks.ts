/**
 * What `weft lab test` checks in a containerlab lab besides weft's pods: every FRR / BIRD node's
 * daemons run and carry their config (daemonHealth, waited for up to the convergence timeout, since
 * FRR applies some sections a moment after vtysh returns), every cmd still runs, and across every
 * link whose two ends have addresses of a family (link ipv4 / ipv6), each end pings the other.
 */
import { daemonHealth, type DaemonHealth } from './clab-daemons.js';
import { run } from './exec.js';
import type { LabState } from './state.js';
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

export interface ClabChecks {
  daemons: DaemonHealth[];
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
  const daemons: DaemonHealth[] = [];
  for (const d of state.daemons ?? []) {
    for (;;) {
      const h = await daemonHealth(state, d);
      // A dead daemon stays dead: no point waiting for it.
      if (h.ok || Date.now() >= deadline || h.problems.some((p) => p.endsWith('is not running'))) {
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

/** The report lines of the checks. */
export function clabCheckLines(c: ClabChecks): string[] {
  const out: string[] = [];
  for (const d of c.daemons) out.push(`${d.ok ? 'ok  ' : 'FAIL'} ${d.node}: ${d.type}${d.ok ? (d.type === 'cmd' ? ' running' : ' running, config applied') : `: ${d.problems.join('; ')}`}`);
  for (const l of c.links) out.push(`${l.ok ? 'ok  ' : 'FAIL'} topology.links[${l.link}]: ${l.from} -> ${l.to} ${l.address}${l.ok ? '' : ` no answer within ${(l.ms / 1000).toFixed(1)} s`}`);
  return out;
}
