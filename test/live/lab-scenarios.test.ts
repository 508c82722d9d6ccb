// `weft lab test` on the scenarios of labs/: racks-tor (FRR ToRs), cross-subnet (VXLAN across a
// router that drops pod-sourced packets) and its `never` variant, where the cross-subnet pairs must
// fail, and the `never` variant of dual-stack (expectations and results per family). Each brings
// its lab up, pings every pod pair, and brings it down; exit 0 = as expected.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { TestReport } from '../../src/lab/scenario.js';
import { run } from '../helpers/exec.js';

const ROOT = join(import.meta.dirname, '..', '..');
const skipReason =
  process.getuid?.() !== 0 ? 'needs root (network namespaces)' : undefined;
if (skipReason) console.warn(`lab-scenarios skipped: ${skipReason}`);

async function labTest(args: string[], stateDir: string): Promise<{ status: number; report: TestReport; err: string }> {
  let out = '';
  let err = '';
  const status = await main(['lab', 'test', ...args, '--json', '--state-dir', stateDir], {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    readStdin: async () => new Uint8Array(),
    stdinIsTty: () => true,
  });
  return { status, report: JSON.parse(out || 'null') as TestReport, err };
}

describe.skipIf(skipReason !== undefined)('weft lab test: scenarios', () => {
  let stateDir: string;
  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
    stateDir = mkdtempSync(join(tmpdir(), 'weft-lab-scen-'));
  }, 150_000);
  afterAll(() => {
    // every lab went down by itself: no state file is left
    const left = existsSync(stateDir) ? readdirSync(stateDir).filter((f) => f.endsWith('.json')) : [];
    rmSync(stateDir, { recursive: true, force: true });
    expect(left).toEqual([]);
  });

  it('racks-tor: 4 pods in 2 racks behind eBGP FRR ToRs all reach each other', async () => {
    const { status, report, err } = await labTest([join(ROOT, 'labs', 'racks-tor.clab.yml')], stateDir);
    expect(status, err).toBe(0);
    expect(report.summary).toMatchObject({ pairs: 12, passed: 12, allAsExpected: true });
    expect(report.up).toBe(false);
  }, 120_000);

  it('cross-subnet (crossSubnet VXLAN): every pair passes through the anti-spoofing router', async () => {
    const { status, report, err } = await labTest([join(ROOT, 'labs', 'cross-subnet.clab.yml')], stateDir);
    expect(status, err).toBe(0);
    expect(report.summary).toMatchObject({ pairs: 12, passed: 12, allAsExpected: true });
  }, 120_000);

  it('cross-subnet --encapsulation never: the cross-subnet pairs fail, as the file expects', async () => {
    const { status, report, err } = await labTest([join(ROOT, 'labs', 'cross-subnet.clab.yml'), '--encapsulation', 'never', '--ping-window', '3'], stateDir);
    expect(status, err).toBe(0);
    expect(report.variant).toBe('never');
    const failed = report.results.filter((r) => r.result === 'fail');
    expect(failed).toHaveLength(8);
    expect(failed.every((r) => r.relation === 'crossSubnet')).toBe(true);
    expect(report.results.filter((r) => r.relation === 'sameSubnet').every((r) => r.result === 'pass')).toBe(true);
  }, 120_000);

  it('dual-stack --variant never: h3\'s pairs fail over both families, the others pass over both (report per family)', async () => {
    const { status, report, err } = await labTest([join(ROOT, 'labs', 'dual-stack.clab.yml'), '--variant', 'never', '--ping-window', '3'], stateDir);
    expect(status, err).toBe(0);
    expect(report.expect.ipv6.crossSubnet).toBe('fail');
    expect(report.byFamily.ipv4).toMatchObject({ pairs: 12, passed: 6, expectedFailures: 6, allAsExpected: true });
    expect(report.byFamily.ipv6).toMatchObject({ pairs: 12, passed: 6, expectedFailures: 6, allAsExpected: true });
    expect(report.results.filter((r) => r.result === 'fail').every((r) => r.relation === 'crossSubnet' && (r.fromHost === 'h3' || r.toHost === 'h3'))).toBe(true);
  }, 120_000);
});
