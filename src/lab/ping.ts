/**
 * The pod-to-pod ping matrix: `ping -c 1 -W 1` (`ping -6` for the IPv6 pairs) from every pod's
 * namespace to every other pod, each pair retried until it answers or its window (default 5 s) is
 * over, pairs run a few at a time. A pair is "as expected" when its outcome matches the topology's
 * expectation for its family and relation (sameHost / sameSubnet / crossSubnet).
 */
import { run } from './exec.js';
// Types only: the CLI loads this module for its report without the topology schema (zod).
import type { FamilyName, PodPair } from './plan.js';
import type { LabState } from './state.js';
import type { Outcome } from './topology.js';

export interface PingResult extends PodPair {
  result: Outcome;
  /** result === expected. */
  ok: boolean;
  attempts: number;
  ms: number;
}

export interface MatrixOptions {
  /** How long each pair is retried before it counts as failed. */
  windowMs?: number;
  concurrency?: number;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function pingPair(ns: string, pair: PodPair, windowMs: number): Promise<PingResult> {
  const start = Date.now();
  let attempts = 0;
  for (;;) {
    attempts++;
    const t0 = Date.now();
    // Exit 1: no reply; 2: another error (no route, say): both are "no answer yet".
    const r = await run('ip', ['netns', 'exec', ns, 'ping', `-${pair.family}`, '-n', '-q', '-c', '1', '-W', '1', pair.address], { okCodes: [0, 1, 2], timeoutMs: 5000 });
    const elapsed = Date.now() - start;
    if (r.code === 0 || elapsed >= windowMs) {
      const result: Outcome = r.code === 0 ? 'pass' : 'fail';
      return { ...pair, result, ok: result === pair.expected, attempts, ms: elapsed };
    }
    // An immediate failure (no route) is retried after a short pause, not in a busy loop.
    const spent = Date.now() - t0;
    if (spent < 200) await pause(200 - spent);
  }
}

export async function pingMatrix(state: LabState, pairs: readonly PodPair[], o: MatrixOptions = {}): Promise<PingResult[]> {
  const windowMs = o.windowMs ?? 5000;
  const nsOf = new Map(state.pods.map((p) => [p.name, p.ns]));
  const results: PingResult[] = new Array(pairs.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= pairs.length) return;
      const ns = nsOf.get(pairs[i].from);
      if (ns === undefined) throw new Error(`pod ${pairs[i].from} is not in the lab's state`);
      results[i] = await pingPair(ns, pairs[i], windowMs);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 8, pairs.length)) }, worker));
  return results;
}

export interface MatrixSummary {
  pairs: number;
  passed: number;
  failed: number;
  /** Pairs whose outcome differs from the expectation. */
  unexpected: number;
  expectedFailures: number;
  allAsExpected: boolean;
}

/** The summary of each family's pairs (a family without pairs is left out). */
export function summariseByFamily(results: readonly PingResult[]): Partial<Record<FamilyName, MatrixSummary>> {
  const out: Partial<Record<FamilyName, MatrixSummary>> = {};
  for (const f of [4, 6] as const) {
    const mine = results.filter((r) => r.family === f);
    if (mine.length > 0) out[`ipv${f}` satisfies FamilyName] = summarise(mine);
  }
  return out;
}

export function summarise(results: readonly PingResult[]): MatrixSummary {
  const passed = results.filter((r) => r.result === 'pass').length;
  const unexpected = results.filter((r) => !r.ok).length;
  return {
    pairs: results.length,
    passed,
    failed: results.length - passed,
    unexpected,
    expectedFailures: results.filter((r) => r.expected === 'fail').length,
    allAsExpected: unexpected === 0,
  };
}
