// Pools as separate overlays in the agent configuration (issue 13): pools[].vni, pools[].isolated.
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../src/agent/config/agent-config.js';
import { agentConfigProblems as problems } from '../helpers/config-problems.js';

const base = (pools: unknown[], hostProtection = true) => ({ node: { name: 'a', asn: 64512, address: '10.0.1.11/24' }, pools, hostProtection: { enabled: hostProtection } });

describe('pools[].vni and pools[].isolated', () => {
  it('a pool VNI is optional; isolated defaults to false', () => {
    const c = parseAgentConfig(base([{ cidr: '10.244.0.0/16', blockSize: 26 }, { cidr: '10.250.0.0/16', blockSize: 26, vni: 5000, isolated: true }]), 't').config;
    expect(c.pools.map((p) => [p.vni, p.isolated])).toEqual([[undefined, false], [5000, true]]);
  });

  it('bad input names the field', () => {
    expect(problems(base([{ cidr: '10.250.0.0/16', blockSize: 26, vni: 0 }]))[0]).toMatch(/^pools\[0\]\.vni: /);
    expect(problems(base([{ cidr: '10.250.0.0/16', blockSize: 26, vni: 16777216 }]))[0]).toMatch(/^pools\[0\]\.vni: /);
    expect(problems(base([{ cidr: '10.250.0.0/16', blockSize: 26, tunnel: 'ipip', vni: 5000 }]))).toEqual(["pools[0].vni: is a VXLAN setting, but the pool's tunnel is ipip"]);
  });

  it('an isolated pool must not share its VNI with another pool (explicitly or through vxlan.vni)', () => {
    expect(problems(base([{ cidr: '10.244.0.0/16', blockSize: 26 }, { cidr: '10.250.0.0/16', blockSize: 26, isolated: true }]))).toEqual([
      'pools[1].vni: isolated pool 10.250.0.0/16 shares VNI 4096 with pools[0] 10.244.0.0/16: give it a VNI of its own',
    ]);
    expect(problems(base([{ cidr: '10.244.0.0/16', blockSize: 26, vni: 7 }, { cidr: '10.250.0.0/16', blockSize: 26, vni: 7, isolated: true }]))).toHaveLength(1);
    expect(problems(base([{ cidr: '10.244.0.0/16', blockSize: 26 }, { cidr: '10.250.0.0/16', blockSize: 26, vni: 5000, isolated: true }]))).toEqual([]);
  });

  it("isolation needs host protection (its rules live in weft's nftables table)", () => {
    expect(problems(base([{ cidr: '10.244.0.0/16', blockSize: 26 }, { cidr: '10.250.0.0/16', blockSize: 26, vni: 5000, isolated: true }], false))).toEqual([
      "pools[1].isolated: needs hostProtection.enabled: true (the rules that keep pools apart live in weft's nftables table)",
    ]);
  });
});
