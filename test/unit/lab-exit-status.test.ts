// weft lab's exit statuses without a live lab: each subcommand documents its own in --help; a
// refused containerlab file is a configuration error (2) naming the node and field; `weft lab
// status` on a recorded lab whose namespace is gone and whose process is dead exits 1 and says so.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/output.js';
import { writeState, type LabState } from '../../src/lab/state.js';

function io(): CliIo & { text: { out: string; err: string } } {
  const text = { out: '', err: '' };
  return { text, out: (t) => void (text.out += t), err: (t) => void (text.err += t), readStdin: async () => new Uint8Array(), stdinIsTty: () => true };
}

const dir = mkdtempSync(join(tmpdir(), 'weft-lab-exit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('weft lab exit statuses', () => {
  it('every subcommand lists its exit statuses in --help', async () => {
    for (const sub of ['up', 'down', 'test', 'status']) {
      const out = io();
      expect(await main(['lab', sub, '--help'], out)).toBe(0);
      const help = out.text.out;
      expect(help, sub).toMatch(/Exit status:\n {2}0 {2}\S.*\n {2}1 {2}\S.*\n {2}2 {2}\S.*\n {2}3 {2}internal error/);
    }
    const out = io();
    await main(['lab', 'test', '--help'], out);
    expect(out.text.out).toContain('nothing was tested');
  });

  it('a refused containerlab file: status 2 (on every subcommand that reads it), the node and field named', async () => {
    const file = join(dir, 'srl.clab.yml');
    writeFileSync(file, 'name: srl\ntopology:\n  nodes:\n    leaf1: { kind: nokia_srlinux, image: ghcr.io/nokia/srlinux }\n');
    const out = io();
    expect(await main(['lab', 'status', file, '--state-dir', dir], out)).toBe(2);
    expect(out.text.err).toContain(`${file}`);
    expect(out.text.err).toMatch(/topology\.nodes\.leaf1\.kind: must be one of linux, bridge, host, frr: node leaf1 is of kind nokia_srlinux, which weft lab cannot run/);
  });

  it('status exits 1 when the recorded namespace is gone and the process is dead, 1 when no such lab is up', async () => {
    const state: LabState = {
      version: 1,
      name: 'ghost',
      key: 'ghost',
      file: join(dir, 'ghost.clab.yml'),
      id: '000000',
      dir: join(dir, 'ghost'),
      status: 'up',
      createdAt: new Date().toISOString(),
      namespaces: [{ node: 'n1', ns: 'wl-000000-n1', role: 'plain' }],
      // PID 1's real start time is not 1: this record is a process that is gone.
      processes: [{ pid: 1, startTime: '1', label: 'cmd@n1', node: 'n1', log: '/dev/null' }],
      agents: [],
      pods: [],
      daemons: [{ node: 'n1', type: 'cmd', control: 'sleep 1', pids: [1], source: 'topology.nodes.n1.cmd', expect: [] }],
    };
    writeState(dir, state);
    const out = io();
    expect(await main(['lab', 'status', 'ghost', '--state-dir', dir], out)).toBe(1);
    expect(out.text.out).toContain('UNHEALTHY:');
    expect(out.text.out).toContain('namespace wl-000000-n1 (n1) is missing');
    expect(out.text.out).toContain('cmd@n1 (pid 1) is not running');
    const json = io();
    expect(await main(['lab', 'status', 'ghost', '--state-dir', dir, '--json'], json)).toBe(1);
    expect(JSON.parse(json.text.out)).toMatchObject({ healthy: false, daemons: [{ node: 'n1', ok: false }] });
    const none = io();
    expect(await main(['lab', 'status', 'nothing-here', '--state-dir', dir], none)).toBe(1);
    expect(none.text.err).toContain('no lab of that name is up');
  });
});
