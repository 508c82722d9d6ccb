/**
 * `weft lab test` and `weft lab down` as functions: up (unless already up), wait for the agents,
 * the ping matrix, the failover check when asked (failover.ts), down (unless kept, or it was up
 * before). The CLI prints what these return.
 */
import { readdirSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { clabChecks, type ClabChecks } from './clab-checks.js';
import { waitConverged, type HostConvergence } from './converge.js';
import { teardown, type DownResult } from './down.js';
import { firstLine } from './exec.js';
import { failover, type FailMode, type FailoverReport } from './failover.js';
import { pingMatrix, summarise, summariseByFamily, type MatrixSummary, type PingResult } from './ping.js';
import { loadTopology, podPairs, selectVariant, type FamilyName, type SelectOptions, type Selection } from './plan.js';
import { DEFAULT_STATE_DIR, LabError, readState, type LabState } from './state.js';
import type { Topology } from './topology.js';
import { labUp, liveState, type UpOptions } from './up.js';

export interface TestOptions extends UpOptions {
  /** Leave the lab up afterwards. */
  keep?: boolean;
  convergeTimeoutMs?: number;
  pingWindowMs?: number;
  /** After the matrix, take this node (a ToR) down under a continuous ping and measure the loss. */
  fail?: string;
  /** How `fail` goes down: its links (default) or silent with its links up (failover.ts). */
  failMode?: FailMode;
}

export interface TestReport {
  lab: string;
  key: string;
  variant: string | undefined;
  encapsulation: string | undefined;
  expect: Selection['expect'];
  /** false when the lab was already up (then it is left up). */
  broughtUp: boolean;
  convergence: HostConvergence[];
  /** The agents did not converge (the matrix still runs, to show what works), or the matrix failed. */
  error?: string;
  results: PingResult[];
  summary: MatrixSummary;
  /** The summary of each family's pairs. */
  byFamily: Partial<Record<FamilyName, MatrixSummary>>;
  /** The failover check (--fail NODE). */
  failover?: FailoverReport;
  /** containerlab nodes' daemons and addressed links (clab-checks.ts), when the lab has any. */
  checks?: ClabChecks;
  /** Nothing was tested: no pod pairs, no daemons, no addressed links (ok is then false). */
  nothingTested?: boolean;
  /** Still up after the run. */
  up: boolean;
  down?: DownResult;
  ok: boolean;
}

export async function labTest(file: string, o: TestOptions = {}): Promise<TestReport> {
  const stateDir = o.stateDir ?? DEFAULT_STATE_DIR;
  const say = o.progress ?? (() => undefined);
  const t = loadTopology(file);
  const sel = selectVariant(t, o, file);
  let state = liveState(stateDir, sel.key);
  const broughtUp = state === undefined;
  if (state === undefined) state = (await labUp(file, o)).state;
  else say(`lab ${sel.key} is already up (namespaces wl-${state.id}-*): testing it as it is, and leaving it up`);
  let convergence: HostConvergence[] = [];
  let results: PingResult[] = [];
  let error: string | undefined;
  const note = (m: string) => (error = error === undefined ? m : `${error}\n${m}`);
  try {
    if (state.agents.length > 0) {
      say(`waiting for ${state.agents.length} agents: sessions Established and every block known`);
      convergence = await waitConverged(t, state, { timeoutMs: o.convergeTimeoutMs, progress: say });
    }
  } catch (e) {
    if (!(e instanceof LabError)) throw e;
    note(e.message);
    say(`${firstLine(e)}: running the ping matrix anyway, to show what works`);
  }
  try {
    const pairs = podPairs(t, sel);
    if (pairs.length > 0) {
      const fams = [...new Set(pairs.map((p) => `IPv${p.family}`))].join(' and ');
      say(`ping matrix: ${pairs.length} pairs of ${state.pods.length} pods over ${fams} (each retried for ${((o.pingWindowMs ?? 5000) / 1000).toFixed(0)} s)`);
      results = await pingMatrix(state, pairs, { windowMs: o.pingWindowMs });
    }
  } catch (e) {
    if (!(e instanceof LabError)) throw e;
    note(e.message);
  }
  let fo: FailoverReport | undefined;
  if (o.fail !== undefined) {
    try {
      fo = await failover(t, state, { node: o.fail, ...(o.failMode ? { mode: o.failMode } : {}), progress: say });
    } catch (e) {
      if (!(e instanceof LabError)) throw e;
      note(e.message);
    }
  }
  let checks: ClabChecks | undefined;
  if ((state.daemons?.length ?? 0) > 0 || t.topology.links.some((l) => l.ipv4 || l.ipv6)) {
    say('checking daemons (running, config applied) and addressed links (ping each end)');
    checks = await clabChecks(t, state, { timeoutMs: o.convergeTimeoutMs, pingWindowMs: o.pingWindowMs });
  }
  const nothingTested = results.length === 0 && checks === undefined && fo === undefined;
  if (nothingTested) note('nothing tested: the lab has no pod pairs, no FRR or BIRD nodes and no link with addresses on both ends');
  const summary = summarise(results);
  let down: DownResult | undefined;
  if (broughtUp && !o.keep) {
    say(`bringing lab ${sel.key} down`);
    down = await teardown(state, stateDir, { progress: say, keepDir: error !== undefined || !summary.allAsExpected || fo?.ok === false || checks?.ok === false });
  }
  return {
    lab: t.name,
    key: sel.key,
    variant: sel.variant,
    encapsulation: sel.encapsulation,
    expect: sel.expect,
    broughtUp,
    convergence,
    ...(error !== undefined ? { error } : {}),
    results,
    summary,
    byFamily: summariseByFamily(results),
    ...(fo ? { failover: fo } : {}),
    ...(checks ? { checks } : {}),
    ...(nothingTested ? { nothingTested } : {}),
    up: down === undefined,
    ...(down ? { down } : {}),
    ok: error === undefined && summary.allAsExpected && (fo?.ok ?? true) && (checks?.ok ?? true) && (down?.problems.length ?? 0) === 0,
  };
}

/** The state of the lab that FILE (or a lab key) names; with no variant given, the only one up. */
export function findState(target: string, o: SelectOptions & { stateDir?: string }): { state: LabState; topology?: Topology } {
  const stateDir = o.stateDir ?? DEFAULT_STATE_DIR;
  if (!existsSync(target)) {
    const s = readState(stateDir, target);
    if (s === undefined) throw new LabError(`${target}: no such file, and no lab of that name is up (in ${stateDir})`);
    return { state: s };
  }
  const t = loadTopology(target);
  const sel = selectVariant(t, o, target);
  const s = readState(stateDir, sel.key);
  if (s !== undefined) return { state: s, topology: t };
  if (o.variant === undefined && o.encapsulation === undefined) {
    const same = listStates(stateDir).filter((x) => x.name === t.name);
    if (same.length === 1) return { state: same[0], topology: t };
    if (same.length > 1) throw new LabError(`several labs of ${t.name} are up (${same.map((x) => x.key).join(', ')}): say which with --variant or --encapsulation`);
  }
  throw new LabError(`lab ${sel.key} is not up (no ${stateDir}/${sel.key}.json)`);
}

export function listStates(stateDir: string): LabState[] {
  let names: string[];
  try {
    names = readdirSync(stateDir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: LabState[] = [];
  for (const n of names) {
    try {
      const s = readState(stateDir, n.slice(0, -5));
      if (s) out.push(s);
    } catch (e) {
      void firstLine(e); // a damaged file is reported by `down` of that lab, not here
    }
  }
  return out;
}

export async function labDown(target: string, o: SelectOptions & { stateDir?: string; keepLogs?: boolean; progress?: (l: string) => void }): Promise<{ state: LabState; result: DownResult }> {
  const { state } = findState(target, o);
  const result = await teardown(state, o.stateDir ?? DEFAULT_STATE_DIR, { keepDir: o.keepLogs, progress: o.progress });
  return { state, result };
}
