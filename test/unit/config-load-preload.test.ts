// An agent starting reads its config and then its mesh nodes file, each through a config child
// (a node start with zod and yaml, ~0.2 s of CPU): at 100 hosts starting at once that is 200 node
// starts. The config child now brings the nodes file along, so a start costs one child; the
// preloaded list is used once, and only while the file is unchanged.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';

const spawned = vi.hoisted(() => ({ files: [] as string[] }));
vi.mock('node:child_process', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:child_process')>();
  const execFileSync = ((cmd: string, args: readonly string[], opts: object) => {
    spawned.files.push(String(args.at(-1)));
    return real.execFileSync(cmd, args, opts);
  }) as typeof real.execFileSync;
  return { ...real, execFileSync };
});

const { loadAgentConfig, loadNodesFile } = await import('../../src/agent/config/config-load.js');
const { ConfigError } = await import('../../src/agent/config/config-error.js');

const dir = mkdtempSync(join(tmpdir(), 'weft-config-preload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const agentWith = (name: string, nodesFile: string) => file(name, `node: { name: h1, asn: 64512, address: 10.0.1.11/24 }\nmesh: { nodesFile: ${JSON.stringify(nodesFile)} }\n`);
const NODES = '- { name: h1, address: 10.0.1.11 }\n- { name: h2, address: 10.0.1.12 }\n';
const TWO = [
  { name: 'h1', address: '10.0.1.11' },
  { name: 'h2', address: '10.0.1.12' },
];

beforeEach(() => {
  spawned.files = [];
});

describe('config-load: the nodes file comes with the agent config', () => {
  it('a start (config, then its nodes file) runs one child, not two', () => {
    const nodes = file('n1.yaml', NODES);
    const conf = agentWith('a1.yaml', nodes);
    expect(loadAgentConfig(conf).config.mesh.nodesFile).toBe(nodes);
    expect(loadNodesFile(nodes)).toEqual(TWO);
    expect(spawned.files).toEqual([conf]);
  });

  it('the preloaded list is used once: a later check reads the file again', () => {
    const nodes = file('n2.yaml', NODES);
    loadAgentConfig(agentWith('a2.yaml', nodes));
    loadNodesFile(nodes);
    expect(loadNodesFile(nodes)).toEqual(TWO);
    expect(spawned.files.filter((f) => f === nodes)).toHaveLength(1);
  });

  it('a nodes file changed after the config was read is read again, with its new content', () => {
    const nodes = file('n3.yaml', NODES);
    loadAgentConfig(agentWith('a3.yaml', nodes));
    writeFileSync(nodes, `${NODES}- { name: h3, address: 10.0.1.13 }\n`);
    expect(loadNodesFile(nodes)).toHaveLength(3);
    expect(spawned.files.at(-1)).toBe(nodes);
  });

  it('a broken nodes file does not fail the config; reading it gives its own ConfigError', () => {
    const nodes = file('n4.yaml', '- { name: h1 }\n');
    const conf = agentWith('a4.yaml', nodes);
    expect(() => loadAgentConfig(conf)).not.toThrow();
    let err: unknown;
    try {
      loadNodesFile(nodes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as InstanceType<typeof ConfigError>).source).toBe(nodes);
  });

  it('a missing nodes file: the config still loads, the read fails as before', () => {
    const nodes = join(dir, 'absent.yaml');
    expect(() => loadAgentConfig(agentWith('a5.yaml', nodes))).not.toThrow();
    expect(() => loadNodesFile(nodes)).toThrow();
  });
});
