// A lab of labs/ brought up for a live test, in a state directory of its own, and taken down
// again in afterAll (also when the test failed): the agents and FRR daemons are ended by PID and
// every namespace is deleted; `down` returns what could not be removed.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { waitConverged } from '../../src/lab/converge.js';
import { nsExists, teardown } from '../../src/lab/down.js';
import { loadTopology } from '../../src/lab/plan.js';
import { isGone } from '../../src/lab/processes.js';
import { readState, type LabState } from '../../src/lab/state.js';
import type { Topology } from '../../src/lab/topology.js';
import { labUp } from '../../src/lab/up.js';
import { run } from './exec.js';

export const LABS = join(import.meta.dirname, '..', '..', 'labs');

export interface LiveLab {
  file: string;
  topology: Topology;
  state: LabState;
  stateDir: string;
  /** The namespace of a node. */
  ns(node: string): string;
  /** Stops the lab's processes, deletes its namespaces and the state dir; returns what is left. */
  down(): Promise<string[]>;
}

/** Builds weft (the agents run dist/) and brings labs/<name>.clab.yml up. */
export async function liveLab(name: string, o: { build?: boolean } = {}): Promise<LiveLab> {
  if (o.build !== false) await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
  const file = join(LABS, `${name}.clab.yml`);
  // name may be a path below labs/ (clab/frr-ospf).
  const stateDir = mkdtempSync(join(tmpdir(), `weft-${name.replace(/\//g, '-')}-`));
  chmodSync(stateDir, 0o755); // FRR runs as user frr and must reach its directory
  let state: LabState;
  try {
    ({ state } = await labUp(file, { stateDir }));
  } catch (e) {
    rmSync(stateDir, { recursive: true, force: true }); // labUp removed what it made
    throw e;
  }
  const nsOf = new Map(state.namespaces.map((n) => [n.node, n.ns]));
  return {
    file,
    topology: loadTopology(file),
    state,
    stateDir,
    ns: (node) => {
      const ns = nsOf.get(node);
      if (ns === undefined) throw new Error(`no node ${node} in lab ${name}`);
      return ns;
    },
    async down() {
      const s = readState(stateDir, state.key) ?? state;
      const r = await teardown(s, stateDir);
      const left = [
        ...r.problems,
        ...state.namespaces.filter((n) => nsExists(n.ns)).map((n) => `namespace ${n.ns} still exists`),
        ...state.processes.filter((p) => !isGone(p)).map((p) => `process ${p.pid} (${p.label}) still runs`),
      ];
      rmSync(stateDir, { recursive: true, force: true });
      return left;
    },
  };
}

/**
 * For a describe block: brings labs/<name> up in beforeAll and down in afterAll (expecting nothing
 * left behind, also after a failed test); returns the lab (throws before it is up).
 */
export function useLiveLab(name: string): () => LiveLab {
  let lab: LiveLab | undefined;
  beforeAll(async () => {
    lab = await liveLab(name);
  }, 150_000);
  afterAll(async () => {
    if (lab) expect(await lab.down()).toEqual([]);
  }, 60_000);
  return () => {
    if (lab === undefined) throw new Error(`lab ${name} is not up`);
    return lab;
  };
}

/** Once every agent converged: [host, sessions Established, sessions, blocks missing] each. */
export async function convergedHosts(lab: LiveLab, timeoutMs = 60_000): Promise<[string, number, number, string[]][]> {
  const conv = await waitConverged(lab.topology, lab.state, { timeoutMs });
  return conv.map((c) => [c.host, c.established, c.peers, c.missing]);
}
