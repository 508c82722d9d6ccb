// labs/dual-stack.clab.yml with the real agents: hosts with IPv4 and IPv6 underlay addresses, an
// IPv4 and an IPv6 pool (crossSubnet + VXLAN), pods with both families. The iBGP mesh over IPv4
// carries both families; every pod pair must answer `ping` and `ping -6` (direct inside a subnet,
// VXLAN across the router, which drops pod-sourced packets of both families). The lab is brought
// down in afterAll, also when a test failed.
import { describe, expect, it } from 'vitest';
import { pingMatrix, summarise } from '../../src/lab/ping.js';
import { podPairs, selectVariant } from '../../src/lab/plan.js';
import { run } from '../helpers/exec.js';
import { convergedHosts, useLiveLab } from '../helpers/lab.js';

const skipReason = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : undefined;
if (skipReason) console.warn(`lab-dual-stack skipped: ${skipReason}`);

describe.skipIf(skipReason !== undefined)('lab dual-stack: ping and ping -6 between every pod pair', () => {
  const lab = useLiveLab('dual-stack');
  const pairs = (family: 4 | 6) => podPairs(lab().topology, selectVariant(lab().topology, {})).filter((p) => p.family === family);

  it('every agent is Established with the other two and knows their IPv4 and IPv6 blocks', async () => {
    expect(await convergedHosts(lab())).toEqual(['h1', 'h2', 'h3'].map((h) => [h, 2, 2, []]));
  }, 90_000);

  it('IPv4: all 12 pairs answer (same host, direct in the subnet, VXLAN across the router)', async () => {
    const results = await pingMatrix(lab().state, pairs(4), { windowMs: 10_000 });
    expect(results.filter((r) => !r.ok).map((r) => `${r.from}->${r.to} ${r.address} ${r.relation}`)).toEqual([]);
    expect(summarise(results)).toMatchObject({ pairs: 12, passed: 12, allAsExpected: true });
  }, 120_000);

  it('IPv6: all 12 pairs answer ping -6', async () => {
    const results = await pingMatrix(lab().state, pairs(6), { windowMs: 10_000 });
    expect(results.filter((r) => !r.ok).map((r) => `${r.from}->${r.to} ${r.address} ${r.relation}`)).toEqual([]);
    expect(summarise(results)).toMatchObject({ pairs: 12, passed: 12, allAsExpected: true });
  }, 120_000);

  it("IPv6 kernel routes on h1: h2's block direct via its IPv6 underlay address, h3's through VXLAN", async () => {
    const show = async (prefix: string) => (await run('ip', ['-n', lab().ns('h1'), '-6', 'route', 'show', prefix])).stdout.trim();
    expect(await show('fd00:244:0:2::/122')).toMatch(/^fd00:244:0:2::\/122 (nhid \d+ )?via fd00:77:1::12 dev eth1 proto (weft|249)/);
    expect(await show('fd00:244:0:3::/122')).toMatch(/^fd00:244:0:3::\/122 .*dev weft\.\S+ proto (weft|249)/);
    expect(await show('fd00:244:0:1::/122')).toMatch(/^blackhole fd00:244:0:1::\/122 .*proto (weft|249)/);
  });

  it('the router never forwarded a pod-sourced packet of either family (cross-subnet traffic went inside VXLAN)', async () => {
    const rules = (await run('ip', ['netns', 'exec', lab().ns('r1'), 'nft', 'list', 'chain', 'inet', 'antispoof', 'forward_filter'])).stdout;
    const counters = [...rules.matchAll(/(ip6? saddr \S+) counter packets (\d+)/g)].map((m) => `${m[1]}: ${m[2]}`);
    expect(counters).toEqual(['ip saddr 10.244.0.0/16: 0', 'ip6 saddr fd00:244::/56: 0']);
  });
});
