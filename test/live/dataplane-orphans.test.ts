// No helper process outlives the process that owns the data plane (issue 10, item 9). A small
// script builds a real Dataplane inside a fresh namespace (as `weft lab` runs an agent there: `ip
// netns exec`), with a VXLAN route so that every kind of helper runs: `ip monitor`, `bridge monitor
// fdb`, the `ip -batch` streams and the `bridge -batch` stream. Its children are read from
// /proc/PID/task/*/children; then the owner is killed with SIGKILL and every child must be gone
// (missing or a zombie) within a deadline. Second: with the parent-death signal switched off (an
// old agent, or no setpriv), `weft lab down`'s teardown ends the helpers a dead agent left behind
// and says so.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teardown } from '../../src/lab/down.js';
import { cmdlineOf, descendants, isGone, track, type Tracked } from '../../src/lab/processes.js';
import type { LabState } from '../../src/lab/state.js';
import { Lab, type ProcHandle } from '../helpers/netns.js';
import { NotRecoverable, waitFor } from '../helpers/wait.js';

const skip = process.getuid?.() !== 0 ? 'not root' : undefined;
if (skip) console.warn(`dataplane-orphans skipped: ${skip}`);

const ROOT = join(import.meta.dirname, '..', '..');
const src = (p: string) => JSON.stringify(pathToFileURL(join(ROOT, 'src', p)).href);

/** Builds a Dataplane in the namespace it runs in, applies a state with a VXLAN route, says "ready". */
const OWNER = `
import { Dataplane, vxlanDevice } from ${src('dataplane/index.js')};
import { parsePrefix } from ${src('lib/prefix.js')};
const blocks = [parsePrefix('10.244.1.0/26')];
const node = (n) => ({ name: 'h' + n, underlayAddress: '10.0.1.' + n });
const dp = new Dataplane({ resyncIntervalMs: 0 });
dp.on('error', (e) => console.error('dataplane error:', e.message));
dp.setDesired({
  localBlocks: blocks,
  underlayDevice: 'eth0',
  vxlan: vxlanDevice({ underlayDevice: 'eth0', localAddress: '10.0.1.11', underlayMtu: 1500, localBlocks: blocks }),
  routes: [
    { prefix: parsePrefix('10.244.2.0/26'), node: node(12), shape: 'vxlan', reason: 'test' },
    ...Array.from({ length: 16 }, (_, i) => ({ prefix: parsePrefix('10.245.' + i + '.0/24'), node: node(12), shape: 'direct', reason: 'test' })),
  ],
});
await dp.start();
console.log('ready', JSON.stringify(dp.stats));
setInterval(() => undefined, 1 << 30);
`;

interface Child {
  tracked: Tracked;
  cmd: string;
}

describe.skipIf(skip !== undefined)('data plane helpers end with their owner', () => {
  let lab: Lab;
  let script: string;

  /** A fresh host namespace (eth0 10.0.1.11/24 towards a neighbour) with an owner running in it. */
  async function startOwner(name: string, env: string[] = []): Promise<{ ns: string; owner: ProcHandle; children: Child[] }> {
    const ns = await lab.createNs(name);
    const nb = await lab.createNs(`${name}-nb`);
    await lab.veth(ns, 'eth0', '10.0.1.11/24', nb, 'eth0', '10.0.1.12/24');
    // `env` execs node, so the PID is the owner's (as `ip netns exec` execs env).
    const owner = lab.spawnIn(ns, 'env', [...env, process.execPath, '--import', 'tsx', script], { label: `${name}-owner` });
    await waitFor(
      () => {
        if (!owner.alive()) throw new NotRecoverable(`the data plane owner exited:\n${owner.logTail(30)}`);
        return owner.logTail(50).includes('ready');
      },
      {
      what: `the data plane owner in ${ns} ready`,
      timeoutMs: 30_000,
        diagnose: () => owner.logTail(30),
      },
    );
    // Every helper kind is running: the monitors, and the batch streams the start wrote through.
    const children = await waitFor(
      () => {
        const kids = descendants(owner.pid).flatMap((pid): Child[] => {
          const tracked = track(pid, `child of ${owner.pid}`);
          return tracked ? [{ tracked, cmd: cmdlineOf(pid).join(' ') }] : [];
        });
        const has = (re: RegExp) => kids.some((k) => re.test(k.cmd));
        return has(/^ip monitor/) && has(/^bridge monitor fdb/) && has(/^ip -force -batch -/) && has(/^bridge -force -batch -/) ? kids : undefined;
      },
      { what: `the helpers of ${owner.pid}`, timeoutMs: 10_000, diagnose: () => descendants(owner.pid).map((p) => `${p}: ${cmdlineOf(p).join(' ')}`).join('\n') },
    );
    return { ns, owner, children };
  }

  const describeLeft = (kids: readonly Child[]) =>
    kids
      .filter((k) => !isGone(k.tracked))
      .map((k) => `${k.tracked.pid} ${k.cmd}`)
      .join('; ');

  beforeAll(() => {
    lab = Lab.create();
    // .mts: an ES module wherever it is (top-level await), loaded through tsx.
    script = lab.path('owner.mts');
    writeFileSync(script, OWNER);
  });

  afterAll(async () => {
    // Whatever happened above: everything still running in the namespaces goes, then they do.
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it('after kill -9 of the owner, every ip / bridge helper it started is gone', async () => {
    const { owner, children } = await startOwner('pd');
    expect(children.length).toBeGreaterThanOrEqual(4);
    process.kill(owner.pid, 'SIGKILL');
    await waitFor(() => children.every((k) => isGone(k.tracked)), {
      what: 'every helper of the killed owner gone',
      timeoutMs: 5000,
      diagnose: () => `still running: ${describeLeft(children)}`,
    });
  });

  it('weft lab down ends the helpers a dead agent left behind (parent-death signal off) and says so', async () => {
    const { ns, owner, children } = await startOwner('ld', ['WEFT_HELPERS_PDEATHSIG=off']);
    const ownerTracked = track(owner.pid, 'weft-agent@h1')!;
    process.kill(owner.pid, 'SIGKILL');
    await waitFor(() => isGone(ownerTracked), { what: 'the owner gone', timeoutMs: 5000 });
    // The agent is dead; its monitors are not (nothing told them).
    expect(describeLeft(children)).toMatch(/ip monitor/);
    const stateDir = lab.path('labs');
    const dir = join(stateDir, 'orphans');
    mkdirSync(dir, { recursive: true });
    const state: LabState = {
      version: 1,
      name: 'orphans',
      key: 'orphans',
      file: 'orphans.clab.yml',
      id: lab.id,
      dir,
      status: 'up',
      createdAt: new Date().toISOString(),
      namespaces: [{ node: 'h1', ns, role: 'host' }],
      processes: [{ pid: ownerTracked.pid, startTime: ownerTracked.startTime, label: 'weft-agent@h1', node: 'h1', log: owner.logPath }],
      agents: [{ host: 'h1', ns, socket: join(dir, 'h1.sock'), config: join(dir, 'h1.yaml'), log: owner.logPath, pid: ownerTracked.pid }],
      pods: [],
    };
    const said: string[] = [];
    const r = await teardown(state, stateDir, { progress: (l) => said.push(l) });
    expect(r.problems).toEqual([]);
    expect(describeLeft(children)).toBe('');
    expect(said.join('\n')).toMatch(/ended \d+ processes? weft-agent@h1 \(pid \d+\) left behind: .*ip monitor/);
    expect(r.deleted).toEqual([ns]);
  });
});
