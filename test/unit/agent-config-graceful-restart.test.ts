// gracefulRestart in the agent configuration: defaults, overrides (mesh, per peer, true/false
// shorthand), and path-qualified problems.
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../src/agent/config/agent-config.js';
import { desiredPeers } from '../../src/agent/peers/mesh.js';
import { agentConfigProblems } from '../helpers/config-problems.js';

const BASE = {
  node: { name: 'host-a', asn: 64512, routerId: '10.0.1.11', address: '10.0.1.11/24' },
  mesh: { nodes: [{ name: 'host-b', address: '10.0.1.12' }] },
  peers: [{ address: '10.0.1.1', asn: 65001 }],
};
const cfg = (patch: Record<string, unknown> = {}) => ({ ...structuredClone(BASE), ...patch });

const problems = agentConfigProblems;

const specs = (value: unknown) => desiredPeers(parseAgentConfig(value, 'test.yaml').config, []);

describe('gracefulRestart config', () => {
  it('is on by default: restart time 120 s, stale time 360 s, for every session', () => {
    const c = parseAgentConfig(cfg(), 'test.yaml').config;
    expect(c.gracefulRestart).toEqual({ enabled: true, restartTime: 120, staleTime: 360 });
    for (const s of specs(cfg())) expect(s.gracefulRestart).toEqual({ enabled: true, restartTime: 120, staleTime: 360 });
  });

  it('the mesh and each peer override the top level, field by field; true/false are shorthands', () => {
    const s = specs(cfg({
      gracefulRestart: { restartTime: 90 },
      mesh: { ...BASE.mesh, gracefulRestart: false },
      peers: [{ address: '10.0.1.1', asn: 65001, gracefulRestart: { staleTime: 600 } }, { address: '10.0.1.2', asn: 65002, gracefulRestart: true }],
    }));
    const by = Object.fromEntries(s.map((x) => [x.id, x.gracefulRestart]));
    expect(by['10.0.1.1']).toEqual({ enabled: true, restartTime: 90, staleTime: 600 });
    expect(by['10.0.1.2']).toEqual({ enabled: true, restartTime: 90, staleTime: 360 });
    expect(by['host-b']).toEqual({ enabled: false, restartTime: 90, staleTime: 360 });
    expect(parseAgentConfig(cfg({ gracefulRestart: false }), 'test.yaml').config.gracefulRestart.enabled).toBe(false);
  });

  it.each([
    ['restart time over 12 bits (RFC 4724 3)', { gracefulRestart: { restartTime: 4096 } }, /^gracefulRestart\.restartTime: /],
    ['restart time 0', { gracefulRestart: { restartTime: 0 } }, /^gracefulRestart\.restartTime: /],
    ['unknown key', { gracefulRestart: { restart: 5 } }, /^gracefulRestart: Unrecognized key: "restart"/],
    ['stale time below restart time', { gracefulRestart: { restartTime: 300, staleTime: 100 } }, /^gracefulRestart\.staleTime: staleTime 100 s is less than restartTime 300 s/],
    ['a peer override below', { peers: [{ address: '10.0.1.1', asn: 65001, gracefulRestart: { staleTime: 60 } }] }, /^peers\[0\]\.gracefulRestart\.staleTime: staleTime 60 s is less than restartTime 120 s/],
    ['the mesh override of a wrong type', { mesh: { ...BASE.mesh, gracefulRestart: 'yes' } }, /^mesh\.gracefulRestart: /],
  ])('%s', (_name, patch, expected) => {
    const p = problems(cfg(patch));
    expect(p.some((x) => expected.test(x)), `problems: ${JSON.stringify(p)}`).toBe(true);
  });
});
