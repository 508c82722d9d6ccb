// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per file, from the
// samples and their time deltas, so the top of a profile can be printed next to the tables.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileRow {
  name: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  file: string;
  /** Only samples inside this CLOCK_MONOTONIC µs window were counted (the measurement). */
  windowUs?: [number, number];
  totalMs: number;
  functions: ProfileRow[];
  files: ProfileRow[];
}

function where(url: string, root: string): string {
  const path = url.startsWith('file://') ? url.slice('file://'.length) : url;
  if (path === '') return '(native)';
  return path.startsWith(root) ? relative(root, path) : path.replace(/^.*\/node_modules\//, 'node_modules/');
}

export function summariseProfile(file: string, root: string, windowUs?: [number, number], top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // Sample i is taken at startTime + the sum of timeDeltas[0..i] (µs, CLOCK_MONOTONIC).
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const d = p.timeDeltas[i] ?? 0;
    t += d;
    if (windowUs && (t < windowUs[0] || t > windowUs[1])) continue;
    selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + d);
  }
  const fn = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)?.callFrame;
    if (!cf) continue;
    total += us;
    const w = where(cf.url, root);
    const key = cf.url ? `${cf.functionName || '(anonymous)'} ${w}:${cf.lineNumber + 1}` : cf.functionName || '(anonymous)';
    fn.set(key, (fn.get(key) ?? 0) + us);
    files.set(w, (files.get(w) ?? 0) + us);
  }
  const rows = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: total > 0 ? us / total : 0 }));
  return { file, windowUs, totalMs: total / 1000, functions: rows(fn), files: rows(files) };
}

/** The .cpuprofile files in a directory (node names them CPU.<date>.<pid>...). */
export function profilesIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

export function formatProfile(s: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const scope = s.windowUs ? `${((s.windowUs[1] - s.windowUs[0]) / 1e6).toFixed(2)} s from enabling the session to the end of the measurement` : 'the whole process';
  const lines = [`profile ${s.file}: ${(s.totalMs / 1000).toFixed(2)} s of samples in ${scope}, self time`, '', '| self | share | function |', '|---|---|---|'];
  for (const r of s.functions) lines.push(`| ${r.selfMs.toFixed(0)} ms | ${pct(r.share)} | ${r.name} |`);
  lines.push('', '| self | share | file |', '|---|---|---|');
  for (const r of s.files.slice(0, 15)) lines.push(`| ${r.selfMs.toFixed(0)} ms | ${pct(r.share)} | ${r.name} |`);
  return lines.join('\n');
}
