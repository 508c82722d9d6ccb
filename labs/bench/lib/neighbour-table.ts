import { readFileSync, writeFileSync } from 'node:fs';

/**
 * The kernel's neighbour (ARP) table is one table for all namespaces, capped at gc_thresh3 entries
 * (1024 by default): N hosts on one bridge need N(N-1) entries, 9900 at N=100, so past N=32 most
 * hosts could never resolve their peers ("neighbor table overflow" in dmesg) and their SYNs never
 * left. A real host has one kernel per host; here the thresholds are raised for the run and put
 * back afterwards.
 */
const NEIGH = '/proc/sys/net/ipv4/neigh/default';
export function raiseNeighbourTable(n: number, log: (line: string) => void): () => void {
  const names = ['gc_thresh1', 'gc_thresh2', 'gc_thresh3'];
  const old = names.map((f) => readFileSync(`${NEIGH}/${f}`, 'utf8').trim());
  const need = n * (n - 1) + 1024;
  if (Number(old[2]) >= need) return () => undefined;
  const want = [Math.max(Number(old[0]), need / 4), Math.max(Number(old[1]), need / 2), need].map((x) => String(Math.ceil(x)));
  names.forEach((f, i) => writeFileSync(`${NEIGH}/${f}`, want[i]!));
  log(`kernel neighbour table: gc_thresh1..3 ${old.join('/')} -> ${want.join('/')} for N=${n} (put back after)`);
  return () => names.forEach((f, i) => writeFileSync(`${NEIGH}/${f}`, old[i]!));
}
