// weft lab on the rack-l2 topology, through the CLI as a user runs it (with its own state dir):
// up -> namespaces and processes exist, every agent reaches Established with all blocks, the pod
// ping matrix passes (once the agent drives the data plane), down -> every namespace and
// process the state file named is gone, and so is the state file.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { waitConverged } from '../../src/lab/converge.js';
import { teardown } from '../../src/lab/down.js';
import { pingMatrix, summarise } from '../../src/lab/ping.js';
import { loadTopology, podPairs, selectVariant } from '../../src/lab/plan.js';
import { isGone } from '../../src/lab/processes.js';
import { readState, type LabState } from '../../src/lab/state.js';
import { captureIo } from '../helpers/cli-io.js';
import { run } from '../helpers/exec.js';

const skipReason = process.getuid?.() === 0 ? undefined : 'needs root (network namespaces)';
if (skipReason) console.warn(`lab-up-down skipped: ${skipReason}`);

const ROOT = join(import.meta.dirname, '..', '..');
const FILE = join(ROOT, 'labs', 'rack-l2.clab.yml');

const io = captureIo;

const nsList = async () => (await run('ip', ['netns', 'list'])).stdout;

describe.skipIf(skipReason !== undefined)('weft lab up / down: rack-l2', () => {
  let stateDir: string;
  let state: LabState | undefined;

  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
    stateDir = mkdtempSync(join(tmpdir(), 'weft-lab-test-'));
    const out = io();
    const status = await main(['lab', 'up', FILE, '--state-dir', stateDir], out);
    expect(status, out.text.err).toBe(0);
    state = readState(stateDir, 'rack-l2');
  }, 150_000);

  afterAll(async () => {
    // Whatever happened above, nothing of the lab stays behind.
    if (state && readState(stateDir, 'rack-l2')) expect((await teardown(state, stateDir)).problems).toEqual([]);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('made one namespace per node, a running agent per host, and refuses a second up', async () => {
    expect(state).toBeDefined();
    const s = state as LabState;
    expect(s.status).toBe('up');
    expect(s.namespaces.map((n) => n.node).sort()).toEqual(['h1', 'h2', 'h3', 'lan', 'pod1a', 'pod1b', 'pod2a', 'pod2b', 'pod3a', 'pod3b']);
    const listed = await nsList();
    for (const n of s.namespaces) expect(listed).toContain(n.ns);
    expect(s.agents.map((a) => a.host)).toEqual(['h1', 'h2', 'h3']);
    expect(s.processes.every((p) => !isGone(p))).toBe(true);
    const again = io();
    expect(await main(['lab', 'up', FILE, '--state-dir', stateDir], again)).toBe(1);
    expect(again.text.err).toContain('lab rack-l2 is already up');
  });

  it('every agent reaches Established with both other hosts and learns their blocks', async () => {
    const t = loadTopology(FILE);
    const conv = await waitConverged(t, state as LabState, { timeoutMs: 60_000 });
    expect(conv.map((c) => [c.host, c.established, c.peers, c.missing.length])).toEqual([
      ['h1', 2, 2, 0],
      ['h2', 2, 2, 0],
      ['h3', 2, 2, 0],
    ]);
    // What a user sees: weft status against one agent's control socket.
    const out = io();
    expect(await main(['status', '--json', '-s', (state as LabState).agents[0].socket], out)).toBe(0);
    const st = JSON.parse(out.text.out) as { peers: { id: string; state: string }[] };
    expect(st.peers.map((p) => `${p.id} ${p.state}`).sort()).toEqual(['h2 Established', 'h3 Established']);
  }, 90_000);

  it('every pod reaches every other pod (ping matrix)', async () => {
    const t = loadTopology(FILE);
    await waitConverged(t, state as LabState, { timeoutMs: 60_000 });
    const results = await pingMatrix(state as LabState, podPairs(t, selectVariant(t, {})), { windowMs: 10_000 });
    const bad = results.filter((r) => !r.ok).map((r) => `${r.from}->${r.to} ${r.result}`);
    expect(bad).toEqual([]);
    expect(summarise(results)).toMatchObject({ pairs: 30, passed: 30, allAsExpected: true });
  }, 120_000);

  it('down stops exactly the recorded processes and deletes exactly the namespaces', async () => {
    const s = state as LabState;
    const out = io();
    expect(await main(['lab', 'down', FILE, '--state-dir', stateDir], out), out.text.err).toBe(0);
    expect(out.text.err).toContain('lab rack-l2 is down');
    const listed = await nsList();
    for (const n of s.namespaces) expect(listed).not.toContain(n.ns);
    expect(s.processes.filter((p) => !isGone(p))).toEqual([]);
    expect(readState(stateDir, 'rack-l2')).toBeUndefined();
    expect(existsSync(s.dir)).toBe(false);
    // A second down says the lab is not up.
    const again = io();
    expect(await main(['lab', 'down', FILE, '--state-dir', stateDir], again)).toBe(1);
    expect(again.text.err).toContain('lab rack-l2 is not up');
  }, 60_000);
});
