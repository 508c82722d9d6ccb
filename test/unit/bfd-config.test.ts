// The `bfd` setting of external peers and the mesh (src/agent/config/bfd-config.ts) and what the
// peer specs carry.
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../src/agent/config/agent-config.js';
import { desiredPeers } from '../../src/agent/peers/mesh.js';
import { agentConfigProblems } from '../helpers/config-problems.js';

const base = (extra: Record<string, unknown>) => ({
  node: { name: 'a', asn: 64512, address: '10.0.0.1/24' },
  mesh: { nodes: [{ name: 'b', address: '10.0.0.2' }] },
  ...extra,
});

const problems = agentConfigProblems;

describe('bfd config', () => {
  it('true means 300 ms x 3; an object overrides either; false or absent means none', () => {
    const c = parseAgentConfig(
      base({
        mesh: { nodes: [{ name: 'b', address: '10.0.0.2' }], bfd: true },
        peers: [
          { address: '10.0.0.254', asn: 65001, bfd: { interval: 100 } },
          { address: '10.0.0.253', asn: 65001, bfd: { multiplier: 5 } },
          { address: '10.0.0.252', asn: 65001, bfd: false },
          { address: '10.0.0.251', asn: 65001 },
          { address: '10.0.0.250', asn: 65001, bfd: { enabled: false, interval: 100 } },
        ],
      }),
      'test',
    ).config;
    const specs = Object.fromEntries(desiredPeers(c, []).map((s) => [s.address, s.bfd]));
    expect(specs).toEqual({
      '10.0.0.2': { intervalMs: 300, multiplier: 3 },
      '10.0.0.254': { intervalMs: 100, multiplier: 3 },
      '10.0.0.253': { intervalMs: 300, multiplier: 5 },
      '10.0.0.252': undefined,
      '10.0.0.251': undefined,
      '10.0.0.250': undefined,
    });
  });

  it('refuses bad values with the field path', () => {
    const p = problems(
      base({
        mesh: { nodes: [], bfd: { interval: 10 } },
        peers: [
          { address: '10.0.0.254', asn: 65001, bfd: { multiplier: 0 } },
          { address: '10.0.0.253', asn: 65001, bfd: 'yes' },
          { address: '10.0.0.252', asn: 65001, bfd: { interval: 300, minRx: 5 } },
        ],
      }),
    ).join('\n');
    expect(p).toMatch(/mesh\.bfd(\.interval)?: .*50/);
    expect(p).toMatch(/peers\[0\]\.bfd(\.multiplier)?: /);
    expect(p).toMatch(/peers\[1\]\.bfd: /);
    expect(p).toMatch(/peers\[2\]\.bfd/);
  });
});
