// What BIRD, FRR and GoBGP hold for one prefix from one neighbour, in one shape for assertions:
// the next hops as the daemon shows them, whether it considers the path usable, the AS path, and
// the raw text or JSON for failure messages.
import type { Bird } from './bird.js';
import type { Frr } from './frr.js';
import type { Gobgp } from './gobgp.js';

export interface DaemonPath {
  /** Next hops as the daemon shows them (an IPv6 global address first, a link-local one after it). */
  nextHops: string[];
  /** BIRD: the next hop resolved onto `dev` ("via X on DEV"); FRR: `valid`; GoBGP: always true (it shows no such flag). */
  valid: boolean;
  /** AS numbers separated by spaces ('' when empty). */
  asPath: string;
  raw: string;
}

/** BIRD's route for `prefix` from protocol `protocol` (`show route PREFIX all protocol P`), undefined when it has none. */
export async function birdPath(bird: Bird, prefix: string, protocol: string, dev = 'eth0'): Promise<DaemonPath | undefined> {
  let raw: string;
  try {
    raw = await bird.birdc('show', 'route', prefix, 'all', 'protocol', protocol);
  } catch (e) {
    // birdc exits 1 with "Network not found".
    if (/Network not found/.test((e as Error).message)) return undefined;
    throw e;
  }
  if (!raw.includes(prefix)) return undefined;
  const nextHops = /BGP\.next_hop: ([^\n]+)/.exec(raw)?.[1]?.trim().split(/\s+/) ?? [];
  const valid = new RegExp(`\\n\\s+via \\S+ on ${dev.replace(/\./g, '\\.')}\\b`).test(raw) && !/unreachable|\(unresolved\)/.test(raw);
  return { nextHops, valid, asPath: /BGP\.as_path: ?([^\n]*)/.exec(raw)?.[1]?.trim() ?? '', raw };
}

/** FRR's path for `prefix` from neighbour `from` (`show bgp AFI unicast PREFIX json`), undefined when it has none. */
export async function frrPath(frr: Frr, afi: 'ipv4' | 'ipv6', prefix: string, from: string): Promise<DaemonPath | undefined> {
  type P = { valid?: boolean; aspath?: { string?: string }; peer?: { peerId?: string }; nexthops?: { ip?: string }[] };
  const j = await frr.vtyshJson<{ paths?: P[] }>(`show bgp ${afi} unicast ${prefix} json`);
  const p = j.paths?.find((x) => x.peer?.peerId === from);
  if (!p) return undefined;
  return { nextHops: (p.nexthops ?? []).map((n) => n.ip ?? ''), valid: p.valid === true, asPath: p.aspath?.string ?? '', raw: JSON.stringify(p) };
}

/** GoBGP's path for `prefix` from neighbour `from` (`gobgp global rib -a AFI PREFIX -j`), undefined when it has none. */
export async function gobgpPath(gobgp: Gobgp, afi: 'ipv4' | 'ipv6', prefix: string, from: string): Promise<DaemonPath | undefined> {
  type G = { 'neighbor-ip'?: string; attrs?: { type: number; [k: string]: unknown }[] };
  const j = (await gobgp.gobgp('global', 'rib', '-a', afi, prefix, '-j')) as Record<string, G[]> | null;
  const p = Object.values(j ?? {})
    .flat()
    .find((x) => x['neighbor-ip'] === from);
  if (!p) return undefined;
  const attr = (t: number) => p.attrs?.find((a) => a.type === t);
  // BGP attribute type codes: 2 AS_PATH, 3 NEXT_HOP, 14 MP_REACH_NLRI.
  const mp = attr(14) as { nexthop?: string; linklocal_nexthop?: string } | undefined;
  const nextHops = [(attr(3) as { nexthop?: string } | undefined)?.nexthop, mp?.nexthop, mp?.linklocal_nexthop].filter((x): x is string => typeof x === 'string' && x !== '');
  const asns = ((attr(2) as { as_paths?: { asns?: number[] }[] } | undefined)?.as_paths ?? []).flatMap((s) => s.asns ?? []);
  return { nextHops, valid: true, asPath: asns.join(' '), raw: JSON.stringify(p) };
}
