// BFD in the mesh benchmark (`--bfd 300x3`): every mesh session gets a BFD session, and the
// benchmark reads back from every agent's status how well the event loops kept BFD's time: false
// positives (Up -> Down by detection timeout while nobody was frozen), how late the timers fired
// (a histogram per session, merged), and the largest gap between two packets seen while Up.
import { loadavg } from 'node:os';
import { LATENESS_BOUNDS_MS } from '../../../src/agent/bfd/bfd-session.js';
import { waitFor } from '../../../test/helpers/wait.js';
import type { Mesh } from './mesh-hosts.js';

export interface BfdSetting {
  interval: number;
  multiplier: number;
}

/** "300x3" -> { interval: 300, multiplier: 3 }. */
export function parseBfd(v: string | undefined): BfdSetting | undefined {
  if (v === undefined || v === '' || v === 'off') return undefined;
  const m = /^(\d+)x(\d+)$/.exec(v);
  if (!m) throw new Error(`--bfd: expected INTERVALxMULTIPLIER in ms, like 300x3 (got ${v})`);
  return { interval: Number(m[1]), multiplier: Number(m[2]) };
}

export interface BfdSnapshot {
  sessions: number;
  up: number;
  /** Sum over every session of Up -> Down by detection timeout. */
  detectionTimeouts: number;
  upTransitions: number;
  /** Merged lateness histogram (LATENESS_BOUNDS_MS, then above). */
  lateness: number[];
  lateMaxMs: number;
  rxGapMaxMs: number;
  rxNearMisses: number;
  load: number[];
}

export async function bfdSnapshot(mesh: Mesh): Promise<BfdSnapshot> {
  const out: BfdSnapshot = { sessions: 0, up: 0, detectionTimeouts: 0, upTransitions: 0, lateness: LATENESS_BOUNDS_MS.map(() => 0).concat(0), lateMaxMs: 0, rxGapMaxMs: 0, rxNearMisses: 0, load: loadavg() };
  const sts = await Promise.all(mesh.hosts.map((h) => h.agent.status()));
  for (const st of sts) {
    for (const p of st.peers) {
      const b = p.bfd;
      if (!b) continue;
      out.sessions++;
      if (b.state === 'Up') out.up++;
      out.detectionTimeouts += b.detectionTimeouts;
      out.upTransitions += b.upTransitions;
      b.timing.lateness.forEach((n, i) => (out.lateness[i] = (out.lateness[i] ?? 0) + n));
      out.lateMaxMs = Math.max(out.lateMaxMs, b.timing.lateMaxMs);
      out.rxGapMaxMs = Math.max(out.rxGapMaxMs, b.timing.rxGapMaxMs);
      out.rxNearMisses += b.timing.rxNearMisses;
    }
  }
  return out;
}

/** The difference of two snapshots (counters), the later one's gauges. */
export function bfdDelta(a: BfdSnapshot, b: BfdSnapshot): BfdSnapshot {
  return {
    ...b,
    detectionTimeouts: b.detectionTimeouts - a.detectionTimeouts,
    upTransitions: b.upTransitions - a.upTransitions,
    lateness: b.lateness.map((n, i) => n - (a.lateness[i] ?? 0)),
    rxNearMisses: b.rxNearMisses - a.rxNearMisses,
  };
}

/** The bucket bound under which fraction q of the timer firings fell ("<= 5 ms", "> 500 ms"). */
export function latenessQuantile(hist: readonly number[], q: number): string {
  const total = hist.reduce((x, y) => x + y, 0);
  if (total === 0) return 'n/a';
  let acc = 0;
  for (let i = 0; i < hist.length; i++) {
    acc += hist[i]!;
    if (acc >= q * total) return i < LATENESS_BOUNDS_MS.length ? `<= ${LATENESS_BOUNDS_MS[i]} ms` : `> ${LATENESS_BOUNDS_MS.at(-1)} ms`;
  }
  return 'n/a';
}

export function describeSnapshot(s: BfdSnapshot): string {
  const total = s.lateness.reduce((x, y) => x + y, 0);
  return (
    `${s.up}/${s.sessions} Up, ${s.detectionTimeouts} detection timeouts, ${s.upTransitions} Up transitions; ` +
    `${total} timer firings late p50 ${latenessQuantile(s.lateness, 0.5)}, p99 ${latenessQuantile(s.lateness, 0.99)}, p99.9 ${latenessQuantile(s.lateness, 0.999)}, max ${s.lateMaxMs} ms; ` +
    `largest gap between packets while Up ${s.rxGapMaxMs} ms, ${s.rxNearMisses} gaps > 2/3 of the detection time; load ${s.load.map((x) => x.toFixed(1)).join(' ')}`
  );
}

/**
 * Until every BFD session is Up at its configured rate (past the Poll Sequence: detection time =
 * interval x multiplier). A frozen host's sessions come back in slow start (1 s, RFC 5880 6.8.3):
 * freezing the next host before they are through would time a 3 s detection, or none at all
 * (BFD not Up yet: only the hold timer is left).
 */
export async function waitBfdUp(mesh: Mesh, bfd: BfdSetting, timeoutMs: number): Promise<void> {
  const want = bfd.interval * bfd.multiplier;
  let last = '';
  await waitFor(
    async () => {
      const sts = await Promise.all(mesh.hosts.map((h) => h.agent.status()));
      const bad = sts.flatMap((st) => st.peers.filter((p) => !(p.bfd?.state === 'Up' && p.bfd.detectTimeMs === want)).map((p) => `${st.node.name}-${p.id}:${p.bfd?.state ?? 'none'}/${p.bfd?.detectTimeMs ?? '-'}`));
      last = bad.slice(0, 5).join(' ');
      return bad.length === 0;
    },
    { what: `every BFD session Up at ${bfd.interval} ms x ${bfd.multiplier}`, timeoutMs, intervalMs: 250, diagnose: () => `not yet: ${last}` },
  );
}
