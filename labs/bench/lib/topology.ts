// Who peers with whom on the benchmark LAN (host i at 10.0.0.i, block 10.244.i.0/26), for the weft
// agents (mesh-hosts.ts) and the Calico-style BIRD baseline (mesh-bird.ts) alike:
// - `mesh`: every host with every other (weft: one shared nodes file; BIRD: Calico's node-to-node mesh);
// - `rr`: hosts 1..R are route reflectors, the others their clients. A reflector peers with every
//   other host: plain iBGP with the other reflectors, as a reflector towards the clients; a client
//   peers with the reflectors only. No mesh. This is Calico's route-reflector setup: node-to-node
//   mesh off, one BGPPeer `nodeSelector: all()`, `peerSelector: route-reflector == 'true'`, and the
//   reflector nodes labelled and given a routeReflectorClusterID. Reflectors are ordinary nodes
//   too (their own block, routes in their kernel), as Calico's in-cluster reflectors are.

export const hostAddress = (i: number) => `10.0.0.${i}`;
export const hostBlock = (i: number) => `10.244.${i}.0/26`;
export const POOL = '10.244.0.0/16';
/**
 * The block run r of the change scenario adds on host i: a /26 of the host's own /24 that no host
 * holds (every host's block is its .0/26). It was 10.244.<128+r>.0/26 until 2026-12-06: from
 * N=128 on that is another host's block, and the 2+200 run timed a second path to h128's block.
 */
export const changeBlock = (i: number, r: number) => `10.244.${i}.${64 * (1 + (r % 3))}/26`;

export type Role = 'mesh' | 'reflector' | 'client';

export interface Topology {
  kind: 'mesh' | 'rr';
  /** Hosts on the LAN, reflectors included. */
  n: number;
  /** Hosts 1..reflectors reflect (0 in a mesh). */
  reflectors: number;
}

/**
 * One cluster id shared by every reflector, as Calico's documentation has it (the same
 * routeReflectorClusterID, 244.0.0.1, on each reflector node): a reflector then drops what the
 * other one reflects from a client (CLUSTER_LIST loop, RFC 4456 8), since it has that route from
 * the client itself; the clients still get every route twice, once from each reflector. Both
 * daemons are given the same value, so the two runs reflect the same way.
 */
export const RR_CLUSTER_ID = '244.0.0.1';

/** A peer of a host in the `rr` topology; `client`: the host reflects for it. */
export interface TopologyPeer {
  i: number;
  address: string;
  client: boolean;
}

export function roleOf(t: Topology, i: number): Role {
  if (t.kind === 'mesh') return 'mesh';
  return i <= t.reflectors ? 'reflector' : 'client';
}

/** The configured peers of host i in `rr` (empty in a mesh: the membership does it there). */
export function peersOf(t: Topology, i: number): TopologyPeer[] {
  if (t.kind === 'mesh') return [];
  const reflector = roleOf(t, i) === 'reflector';
  const out: TopologyPeer[] = [];
  for (let j = 1; j <= (reflector ? t.n : t.reflectors); j++) {
    if (j !== i) out.push({ i: j, address: hostAddress(j), client: reflector && roleOf(t, j) === 'client' });
  }
  return out;
}

/** The hosts whose blocks change (or that freeze, or leave) in the scenarios: every host of a mesh, the clients with reflectors. */
export function movers<H extends { i: number }>(t: Topology, hosts: readonly H[]): H[] {
  return t.kind === 'mesh' ? [...hosts] : hosts.filter((h) => roleOf(t, h.i) === 'client');
}

/** Established sessions host i has once all is up: N-1 in a mesh and on a reflector, R on a client. */
export function expectedPeers(t: Topology, i: number): number {
  return roleOf(t, i) === 'client' ? t.reflectors : t.n - 1;
}

/** "N=30" or "RR 2+200" (reflectors + clients): the label of a run in logs and tables. */
export function topologyLabel(t: Topology): string {
  return t.kind === 'mesh' ? `N=${t.n}` : `RR ${t.reflectors}+${t.n - t.reflectors}`;
}

const int = (name: string, v: string, min: number) => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new Error(`--${name}: bad value ${v} (an integer >= ${min})`);
  return x;
};

/** The options both mesh benchmarks take. */
export const TOPOLOGY_OPTIONS = {
  topology: { type: 'string', default: 'mesh' },
  reflectors: { type: 'string', default: '2' },
  clients: { type: 'string', default: '200' },
} as const;

/** The runs asked for: one per `--n` in a mesh, one per `--clients` with route reflectors. */
export function parseTopologies(v: { n: string; topology: string; reflectors: string; clients: string }): Topology[] {
  if (v.topology === 'mesh') return v.n.split(',').map((s) => ({ kind: 'mesh', n: int('n', s.trim(), 2), reflectors: 0 }));
  if (v.topology !== 'rr') throw new Error(`--topology: mesh or rr (got ${v.topology})`);
  const r = int('reflectors', v.reflectors, 1);
  return v.clients.split(',').map((s) => {
    const n = r + int('clients', s.trim(), 1);
    if (n > 250) throw new Error(`--reflectors + --clients: at most 250 hosts on the LAN (got ${n})`);
    return { kind: 'rr', n, reflectors: r };
  });
}
