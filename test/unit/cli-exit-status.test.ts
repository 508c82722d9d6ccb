// The exit statuses weft's commands document in --help (cli-exit-help.test.ts checks the blocks),
// each produced through main(argv, io) in-process. What other unit tests already cover is not
// repeated: decode 0/1/2 (cli-decode), status/routes/neighbor 0/1/2 and explain 2 (cli-neighbor),
// install 0/1/2 and config check 0 (cli-install), completion 0/2 (cli-man-completion), lab status
// 1/2 (lab-exit-status). Here: an unknown option and a missing argument on every command, the
// internal error, peer / agent / config check / node / lab files, and advertise / withdraw /
// reload / explain against an in-process agent (in-memory BGP and kernel, real control socket).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { parseAgentConfig, type LoadedConfig } from '../../src/agent/config/agent-config.js';
import { ConfigError } from '../../src/agent/config/config-error.js';
import { buildProgram, main } from '../../src/cli/main.js';
import { MemoryKernel } from '../../src/dataplane/memory-kernel.js';
import { captureIo, type CapturedIo } from '../helpers/cli-io.js';
import { ManualScheduler, MemoryTransport } from '../helpers/manual-io.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-cli-exit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function weft(args: string[], io: CapturedIo = captureIo()): Promise<{ status: number; out: string; err: string }> {
  const status = await main(args, io);
  return { status, out: io.text.out, err: io.text.err };
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** A valid agent configuration that starts nothing outside the process (no data plane, metrics or kernel names). */
const AGENT_YAML = `
node: { name: a, asn: 64512, address: 10.0.0.1/24 }
listen: { address: 127.0.0.1, port: 1179 }
pools: [ { cidr: 10.244.0.0/16, blockSize: 26 } ]
dataplane: { enabled: false }
metrics: { listen: false }
`;

describe('usage errors on every command', () => {
  const paths: string[][] = [];
  const walk = (c: Command, path: string[]) => {
    paths.push(path);
    for (const s of c.commands) walk(s, [...path, s.name()]);
  };
  walk(buildProgram({ io: captureIo(), exitStatus: 0 }), []);

  it.each(paths.map((p) => [p.join(' ') || '(the program)', p] as const))('weft %s --no-such-option: 2, the option named', async (_n, path) => {
    // peer checks its required -c before unknown options.
    const r = await weft([...path, ...(path.join(' ') === 'peer' ? ['-c', 'x.yaml'] : []), '--no-such-option']);
    expect(r.status).toBe(2);
    expect(r.err).toContain("unknown option '--no-such-option'");
    expect(r.out).toBe('');
  });

  it('a missing argument or subcommand is 2 (with the usage on standard error)', async () => {
    for (const args of [['withdraw'], ['explain'], ['node', 'delete'], ['lab', 'up'], ['completion'], ['config'], ['node'], ['lab'], ['peer']]) {
      const r = await weft(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(/missing required|required option|Usage: weft/);
    }
  });
});

describe('internal error', () => {
  it('an exception that is not about the input is 3, with the hint to WEFT_DEBUG=1 and no stack trace', async () => {
    const io = captureIo();
    // A stand-in for a bug: the output stream itself throws a TypeError in the middle of a command.
    io.out = () => {
      throw new TypeError('a bug');
    };
    const saved = process.env.WEFT_DEBUG;
    delete process.env.WEFT_DEBUG;
    try {
      expect(await main(['completion', 'bash'], io)).toBe(3);
    } finally {
      if (saved !== undefined) process.env.WEFT_DEBUG = saved;
    }
    expect(io.text.err).toBe('weft: internal error: a bug\nweft: (this is a bug; run with WEFT_DEBUG=1 for the stack trace)\n');
  });
});

describe('configuration files: peer, agent, config check, node', () => {
  const missing = join(dir, 'no-such.yaml');

  it('config check: invalid is 2 with the field path, unreadable is 2 with the file named', async () => {
    const bad = file('bad-agent.yaml', AGENT_YAML.replace('asn: 64512', 'asn: -1'));
    const r = await weft(['config', 'check', bad]);
    expect(r.status).toBe(2);
    expect(r.err).toContain(bad);
    expect(r.err).toMatch(/node\.asn/);
    const m = await weft(['config', 'check', missing]);
    expect(m.status).toBe(2);
    expect(m.err).toContain(missing);
    const d = await weft(['config', 'check', dir]);
    expect(d.status).toBe(2);
    expect(d.err).toContain(dir);
  });

  it('peer: --check of a valid file is 0, an invalid or missing file 2 naming file and field', async () => {
    const good = file('peer.yaml', 'asn: 65001\nrouterId: 10.0.0.1\nlisten: false\npeers: [ { address: 10.0.0.2, asn: 65002 } ]\n');
    const ok = await weft(['peer', '-c', good, '--check']);
    expect(ok.status, ok.err).toBe(0);
    expect(ok.out).toBe(`${good}: valid (1 peer(s), 0 route(s))\n`);
    const bad = file('peer-bad.yaml', 'asn: 65001\nrouterId: 10.0.0.1\nlisten: false\npeers: [ { address: 10.0.0.2, asn: 65002, holdTime: 2 } ]\n');
    const r = await weft(['peer', '-c', bad, '--check']);
    expect(r.status).toBe(2);
    expect(r.err).toContain(bad);
    expect(r.err).toMatch(/peers\[0\]\.holdTime/);
    const m = await weft(['peer', '-c', missing, '--check']);
    expect(m.status).toBe(2);
    expect(m.err).toContain(missing);
  });

  it('agent: an invalid or missing file is 2 and nothing starts', async () => {
    const bad = file('agent-bad.yaml', AGENT_YAML.replace('blockSize: 26', 'blockSize: 99'));
    const r = await weft(['agent', '-c', bad, '--log-level', 'silent']);
    expect(r.status).toBe(2);
    expect(r.err).toContain(bad);
    expect(r.err).toMatch(/pools\[0\]\.blockSize/);
    const m = await weft(['agent', '-c', missing, '--log-level', 'silent']);
    expect(m.status).toBe(2);
    expect(m.err).toContain(missing);
  });

  // node delete's 1 (refused while registered) is in test/live/etcd-allocator.test.ts, with a real etcd.
  it('node list / delete: no membership.etcd is 2; node list with etcd not answering is 1', async () => {
    const plain = file('plain.yaml', AGENT_YAML);
    for (const args of [['node', 'list'], ['node', 'delete', 'gone']]) {
      const r = await weft([...args, '-c', plain]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.err).toContain(`${plain}: no membership.etcd`);
    }
    // Port 9 on loopback: nothing listens there, the connection is refused at once.
    const etcd = file('etcd.yaml', `${AGENT_YAML}membership: { etcd: { endpoints: [ "http://127.0.0.1:9" ] } }\n`);
    const r = await weft(['node', 'list', '-c', etcd]);
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/^weft: .*127\.0\.0\.1:9/);
    const j = await weft(['node', 'list', '-c', etcd, '--json']);
    expect(j.status).toBe(1);
    expect(JSON.parse(j.out).error.message).toMatch(/127\.0\.0\.1:9/);
  });

  it('lab up / down / test: a refused topology is 2, naming the node and field, before anything is made', async () => {
    const topo = file('srl.clab.yml', 'name: srl\ntopology:\n  nodes:\n    leaf1: { kind: nokia_srlinux, image: ghcr.io/nokia/srlinux }\n');
    const stateDir = join(dir, 'lab-state');
    mkdirSync(stateDir);
    for (const sub of ['up', 'down', 'test']) {
      const r = await weft(['lab', sub, topo, '--state-dir', stateDir]);
      expect(r.status, sub).toBe(2);
      // Not root: refused before the file is read (also 2).
      if (process.getuid?.() === 0) expect(r.err, sub).toMatch(/topology\.nodes\.leaf1\.kind: .*nokia_srlinux/);
      else expect(r.err, sub).toContain('needs root');
    }
  });
});

describe('advertise / withdraw / reload / explain against an in-process agent', () => {
  const sock = join(dir, 'weft.sock');
  const none = join(dir, 'none.sock');
  const loadedConfig = (): LoadedConfig =>
    parseAgentConfig(
      {
        node: { name: 'a', asn: 64512, address: '10.0.0.1/24' },
        pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }],
        blocks: ['10.244.3.0/26'],
        metrics: { listen: false },
      },
      'test.yaml',
    );
  let reloadWith: () => LoadedConfig = loadedConfig;
  let agent: Agent;
  let scheduler: ManualScheduler;
  /** Start and stop wait on the data plane's first pass, which runs on the manual clock: move it. */
  const pump = async (p: Promise<void>) => {
    let done = false;
    const q = p.finally(() => void (done = true));
    for (let i = 0; i < 1000 && !done; i++) await scheduler.advance(10);
    return q;
  };

  beforeAll(async () => {
    scheduler = new ManualScheduler();
    const kernel = new MemoryKernel();
    kernel.addLink({ name: 'eth0', mtu: 1500, addrs: ['10.0.0.1/24'] });
    agent = new Agent(loadedConfig(), pino({ level: 'silent' }), {
      controlSocket: sock,
      scheduler,
      transport: new MemoryTransport(scheduler, '10.0.0.1'),
      ipDriver: kernel,
      loadConfig: () => reloadWith(),
    });
    await pump(agent.start());
  });
  afterAll(async () => {
    if (agent) await pump(agent.shutdown());
  });

  it('advertise: 0 done and 0 nothing to do; 1 refused with the reason, 1 unreachable', async () => {
    const a = await weft(['advertise', '10.244.5.0/26', '-s', sock]);
    expect(a.status, a.err).toBe(0);
    expect(a.out).toBe('10.244.5.0/26: advertised\n');
    const again = await weft(['advertise', '10.244.5.0/26', '-s', sock]);
    expect(again.status).toBe(0);
    expect(again.out).toBe('10.244.5.0/26: already advertised\n');
    const outside = await weft(['advertise', '10.9.0.0/26', '-s', sock]);
    expect(outside.status).toBe(1);
    expect(outside.err).toMatch(/^weft: the agent refused: .*10\.9\.0\.0\/26/);
    // Without a block and without membership.etcd there is nothing to claim from.
    const auto = await weft(['advertise', '-s', sock]);
    expect(auto.status).toBe(1);
    expect(auto.err).toMatch(/^weft: the agent refused: /);
    const gone = await weft(['advertise', '10.244.5.0/26', '-s', none]);
    expect(gone.status).toBe(1);
    expect(gone.err).toMatch(/is the agent running\?/);
  });

  it('advertise / withdraw: a malformed CIDR is 2 and never reaches the agent; under --json every error is one JSON object', async () => {
    for (const op of ['advertise', 'withdraw']) {
      const bad = await weft([op, '10.244.5.1/26x', '-s', sock]);
      expect(bad.status, op).toBe(2);
      expect(bad.err).toMatch(/^weft: CIDR '10\.244\.5\.1\/26x': /);
      const badJson = await weft([op, 'garbage', '-s', sock, '--json']);
      expect(badJson.status, op).toBe(2);
      expect(JSON.parse(badJson.out).error).toMatchObject({ code: 'usage' });
      const gone = await weft([op, '10.244.5.0/26', '-s', none, '--json']);
      expect(gone.status, op).toBe(1);
      expect(JSON.parse(gone.out).error.code).toBe('unreachable');
    }
    const refused = await weft(['advertise', '10.9.0.0/26', '-s', sock, '--json']);
    expect(refused.status).toBe(1);
    expect(JSON.parse(refused.out).error.message).toMatch(/10\.9\.0\.0\/26/);
    const reloadGone = await weft(['reload', '-s', none, '--json']);
    expect(reloadGone.status).toBe(1);
    expect(JSON.parse(reloadGone.out).error.code).toBe('unreachable');
    const unknownOption = await weft(['reload', '--json', '--bogus']);
    expect(unknownOption.status).toBe(2);
    expect(JSON.parse(unknownOption.out).error.code).toBe('usage');
  });

  it('withdraw: 0 done and 0 nothing to do, 1 unreachable', async () => {
    const w = await weft(['withdraw', '10.244.5.0/26', '-s', sock]);
    expect(w.status, w.err).toBe(0);
    expect(w.out).toBe('10.244.5.0/26: withdrawn\n');
    const again = await weft(['withdraw', '10.244.5.0/26', '-s', sock, '--json']);
    expect(again.status).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ prefix: '10.244.5.0/26', changed: false });
    expect((await weft(['withdraw', '10.244.5.0/26', '-s', none])).status).toBe(1);
  });

  it('reload: 0 reloaded, 1 when the file is invalid (the problems printed), 1 unreachable', async () => {
    reloadWith = loadedConfig;
    const ok = await weft(['reload', '-s', sock]);
    expect(ok.status, ok.err).toBe(0);
    expect(ok.out).toContain('added: none\n');
    reloadWith = () => {
      throw new ConfigError('test.yaml', ['peers[0].holdTime: must be 0 or 3..65535']);
    };
    const bad = await weft(['reload', '-s', sock]);
    expect(bad.status).toBe(1);
    expect(bad.err).toMatch(/^weft: the agent refused: .*peers\[0\]\.holdTime/);
    expect((await weft(['reload', '-s', none])).status).toBe(1);
  });

  it('explain: 0 the agent answered, 1 unreachable', async () => {
    const r = await weft(['explain', '10.244.3.9', '-s', sock, '--json']);
    expect(r.status, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ address: '10.244.3.9', route: { prefix: '10.244.3.0/26', source: 'local' }, pool: '10.244.0.0/16' });
    const gone = await weft(['explain', '10.244.3.9', '-s', none, '--json']);
    expect(gone.status).toBe(1);
    expect(JSON.parse(gone.out).error.code).toBe('unreachable');
  });

  it('agent: another agent answering on the control socket is 2 (nothing else is started)', async () => {
    const conf = file('second.yaml', `${AGENT_YAML}control: { socket: ${sock} }\n`);
    const r = await weft(['agent', '-c', conf, '--log-level', 'silent']);
    expect(r.status).toBe(2);
    expect(r.err).toContain(`cannot start: another agent is answering on the control socket ${sock}`);
    // The first agent still answers.
    expect((await weft(['status', '-s', sock])).status).toBe(0);
  });
});
