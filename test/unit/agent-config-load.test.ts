// The agent loads its configuration in a child process (config-load.ts), so that zod and yaml are
// never resident in it: the values must be exactly what the in-process parse gives, and the
// errors the same ConfigError.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as inProcess from '../../src/agent/config/agent-config.js';
import { ConfigError } from '../../src/agent/config/config-error.js';
import * as isolated from '../../src/agent/config/config-load.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-config-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const GOOD = `
node: { name: h1, asn: 64512, address: 10.0.1.11/32 }
mesh: { nodes: [{ name: h2, address: 10.0.1.12 }] }
peers:
  - { name: tor, address: 10.0.1.1, asn: 65001, import: [{ name: r, prefixList: [{ action: permit, prefix: 10.244.0.0/16, le: 26 }], action: accept, addCommunities: ['65000:1'] }] }
pools: [{ cidr: 10.244.0.0/16, blockSize: 26, encapsulation: crossSubnet }, { cidr: 'fd00:244::/48', blockSize: 122 }]
blocks: [10.244.3.0/26]
metrics: { listen: '127.0.0.1:9179' }
`;

describe('config-load: the configuration parsed in a child process', () => {
  it('gives exactly the in-process value, warnings included', () => {
    const f = file('good.yaml', GOOD);
    const mine = isolated.loadAgentConfig(f);
    expect(mine).toEqual(inProcess.loadAgentConfig(f));
    expect(mine.warnings.length).toBeGreaterThan(0); // the /32 node address
  });

  it('a nodes file too', () => {
    const f = file('nodes.yaml', '- { name: h2, address: 10.0.1.12 }\n- { name: h3, address: 10.0.2.13 }\n');
    expect(isolated.loadNodesFile(f)).toEqual(inProcess.loadNodesFile(f));
  });

  it('an invalid file, bad YAML or a missing file: the same ConfigError, every problem with its path', () => {
    for (const [name, text] of [
      ['bad.yaml', 'node: { name: h1, asn: 99999999999, address: 10.0.1.11/24 }\npeers: [{ address: nope }]\n'],
      ['yaml.yaml', 'node: [unclosed\n'],
    ] as const) {
      const f = file(name, text);
      const want = (() => {
        try {
          inProcess.loadAgentConfig(f);
        } catch (e) {
          return e as ConfigError;
        }
        throw new Error('expected a ConfigError');
      })();
      expect(() => isolated.loadAgentConfig(f)).toThrow(ConfigError);
      try {
        isolated.loadAgentConfig(f);
      } catch (e) {
        expect((e as ConfigError).problems).toEqual(want.problems);
        expect((e as ConfigError).message).toBe(want.message);
      }
    }
    expect(() => isolated.loadAgentConfig(join(dir, 'missing.yaml'))).toThrow(/cannot read the file/);
  });
});
