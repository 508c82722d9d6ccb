// Host protection (issue 13): the pure plan of weft's nftables table (src/dataplane/host-firewall.ts),
// its reading back from `nft -j`, the config, and the reconciler (src/agent/kernel/host-protection.ts)
// against a fake nft: adopt at start, write on change, repair, refuse to start without nft.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { parseAgentConfig, type AgentConfig } from '../../src/agent/config/agent-config.js';
import { HostProtection } from '../../src/agent/kernel/host-protection.js';
import { NftMissing, type NftRunner } from '../../src/agent/kernel/nft-runner.js';
import { droppedCounts, firewallDifference, planFirewall, summarizeNftJson, type FirewallInput, type FirewallSummary } from '../../src/dataplane/host-firewall.js';
import { agentConfigProblems } from '../helpers/config-problems.js';
import { ManualScheduler, settle } from '../helpers/manual-io.js';

const input = (over: Partial<FirewallInput> = {}): FirewallInput => ({
  bgpPort: 179,
  vxlanPort: 4789,
  vnis: [4096],
  bgp: ['10.0.1.12', '10.0.2.11', '10.0.1.1', 'fd00::12'],
  vxlan: ['10.0.1.12', '10.0.2.11', 'fd00::12'],
  bfd: undefined,
  ...over,
});

const ruleLines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(iifname|tcp|udp) /.test(l));

describe('host firewall plan', () => {
  it('replaces the whole table in one transaction: create if missing, delete, declare', () => {
    const text = planFirewall(input()).text;
    const lines = text.split('\n');
    expect(lines.slice(0, 3)).toEqual(['table inet weft {}', 'delete table inet weft', 'table inet weft {']);
    expect(text).toContain('type filter hook input priority filter; policy accept;');
    // Only one base chain, no other table named.
    expect(text.match(/hook /g)).toHaveLength(1);
    expect(text.match(/table inet \w+/g)!.every((t) => t === 'table inet weft')).toBe(true);
  });

  it('splits members by family into sets, sorted and without duplicates', () => {
    const p = planFirewall(input({ bgp: ['10.0.2.11', '10.0.1.12', '10.0.2.11', 'fd00::12'] }));
    expect(p.summary.sets).toEqual({ bgp4: ['10.0.1.12', '10.0.2.11'], bgp6: ['fd00::12'], vxlan4: ['10.0.1.12', '10.0.2.11'], vxlan6: ['fd00::12'] });
    expect(p.text).toContain('set bgp4 { type ipv4_addr; elements = { 10.0.1.12, 10.0.2.11 } }');
    expect(p.text).toContain('set bgp6 { type ipv6_addr; elements = { fd00::12 } }');
    expect(p.sizes).toEqual({ bgp4: 2, bgp6: 1, vxlan4: 2, vxlan6: 1, vnis: 1 });
  });

  it('an empty set is declared without elements (nft refuses "elements = { }")', () => {
    const p = planFirewall(input({ bgp: [], vxlan: [] }));
    expect(p.text).toContain('set bgp4 { type ipv4_addr; }');
    expect(p.text).not.toContain('{  }');
  });

  it('drops only what weft owns: BGP port from non-peers, VXLAN from non-members or a foreign VNI; loopback exempt', () => {
    expect(ruleLines(planFirewall(input()).text)).toEqual([
      expect.stringMatching(/^iifname "lo" return comment "weft loopback [0-9a-f]{8}"$/),
      'tcp dport 179 ip saddr != @bgp4 counter drop comment "weft bgp-v4"',
      'tcp dport 179 ip6 saddr != @bgp6 counter drop comment "weft bgp-v6"',
      'udp dport 4789 ip saddr != @vxlan4 counter drop comment "weft vxlan-v4"',
      'udp dport 4789 ip6 saddr != @vxlan6 counter drop comment "weft vxlan-v6"',
      'udp dport 4789 @th,96,24 != { 4096 } counter drop comment "weft vxlan-vni"',
    ]);
    // No accept anywhere: another table's drop always wins, weft never opens anything.
    expect(planFirewall(input()).text).not.toMatch(/\baccept\b(?!;)/);
  });

  it('follows the configured ports and every VNI weft uses', () => {
    const r = ruleLines(planFirewall(input({ bgpPort: 1179, vxlanPort: 8472, vnis: [5000, 4096, 5000] })).text);
    expect(r[1]).toContain('tcp dport 1179 ');
    expect(r[3]).toContain('udp dport 8472 ');
    expect(r[5]).toContain('@th,96,24 != { 4096, 5000 }');
    expect(planFirewall(input({ vnis: [5000, 4096] })).sizes.vnis).toBe(2);
  });

  it('BFD ports (3784 single hop, 4784 multihop) only when some session has BFD', () => {
    expect(planFirewall(input()).text).not.toContain('3784');
    const p = planFirewall(input({ bfd: ['10.0.1.1', 'fd00::1'] }));
    expect(ruleLines(p.text).slice(-2)).toEqual([
      'udp dport { 3784, 4784 } ip saddr != @bfd4 counter drop comment "weft bfd-v4"',
      'udp dport { 3784, 4784 } ip6 saddr != @bfd6 counter drop comment "weft bfd-v6"',
    ]);
    expect(p.summary.sets.bfd4).toEqual(['10.0.1.1']);
    expect(p.summary.sets.bfd6).toEqual(['fd00::1']);
  });

  it('isolated pools: a forward chain drops what the host would route between the pool and the other pools of its family, both ways', () => {
    const p = planFirewall(input({ isolation: [{ pool: '10.250.0.0/16', others: ['10.244.0.0/16', 'fd00:244::/48', '10.251.0.0/16'] }] }));
    expect(p.text).toContain('  chain forward {\n    type filter hook forward priority filter; policy accept;\n');
    expect(p.text).toContain('    ip saddr 10.250.0.0/16 ip daddr { 10.244.0.0/16, 10.251.0.0/16 } counter drop comment "weft isolate-out 10.250.0.0/16"');
    expect(p.text).toContain('    ip saddr { 10.244.0.0/16, 10.251.0.0/16 } ip daddr 10.250.0.0/16 counter drop comment "weft isolate-in 10.250.0.0/16"');
    expect(p.summary.chains).toEqual(['forward hook=forward prio=0 policy=accept', 'input hook=input prio=0 policy=accept']);
    expect(p.summary.rules.slice(-2)).toEqual(['weft isolate-out 10.250.0.0/16', 'weft isolate-in 10.250.0.0/16']);
    expect(p.sizes.isolated).toBe(1);
    // Without another pool of its family there is nothing to keep apart: no forward chain at all.
    expect(planFirewall(input({ isolation: [{ pool: 'fd00:250::/48', others: ['10.244.0.0/16'] }] })).text).not.toContain('chain forward');
  });

  it('the first rule carries a hash of the plan: another plan, another hash', () => {
    const a = planFirewall(input()).summary.rules[0];
    expect(planFirewall(input()).summary.rules[0]).toBe(a);
    expect(planFirewall(input({ vnis: [4097] })).summary.rules[0]).not.toBe(a);
    expect(planFirewall(input({ bgp: ['10.0.1.12'] })).summary.rules[0]).not.toBe(a);
  });
});

/** What `nft -j list table inet weft` prints for a plan (the shape nft 1.0.6 prints, handles and counters included). */
function nftJson(s: FirewallSummary, counters: Record<string, number> = {}): unknown {
  const base = { family: 'inet', table: 'weft' };
  return {
    nftables: [
      { metainfo: { version: '1.0.6', json_schema_version: 1 } },
      { table: { family: 'inet', name: 'weft', handle: 7 } },
      ...Object.entries(s.sets).map(([name, elem], i) => ({ set: { ...base, name, type: name.endsWith('6') ? 'ipv6_addr' : 'ipv4_addr', handle: i + 1, ...(elem.length === 0 ? {} : { elem: elem.length === 1 ? elem[0] : elem }) } })),
      { chain: { ...base, name: 'input', handle: 1, type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
      ...s.rules.map((comment, i) => ({ rule: { ...base, chain: 'input', handle: 10 + i, comment, expr: [{ counter: { packets: counters[comment.split(' ')[1]] ?? 0, bytes: 0 } }, { drop: null }] } })),
    ],
  };
}

describe('reading the table back', () => {
  const plan = planFirewall(input());

  it('the kernel table of the plan reads back equal (a single element prints as a string)', () => {
    const one = planFirewall(input({ bgp: ['10.0.1.12'], vxlan: [] }));
    expect(firewallDifference(one.summary, summarizeNftJson(nftJson(one.summary)))).toBeUndefined();
    expect(firewallDifference(plan.summary, summarizeNftJson(nftJson(plan.summary)))).toBeUndefined();
  });

  it('names what differs: missing, flushed (no rules, no elements), a member gone, the policy changed', () => {
    expect(firewallDifference(plan.summary, summarizeNftJson(undefined))).toBe('table inet weft is missing');
    const flushed = { ...plan.summary, rules: [], sets: Object.fromEntries(Object.keys(plan.summary.sets).map((k) => [k, []])) };
    expect(firewallDifference(plan.summary, summarizeNftJson(nftJson(flushed)))).toMatch(/^rules differ \(0 of 6/);
    const lost = { ...plan.summary, sets: { ...plan.summary.sets, vxlan4: ['10.0.1.12'] } };
    expect(firewallDifference(plan.summary, summarizeNftJson(nftJson(lost)))).toBe('set vxlan4 differs (1 elements, want 2)');
    const json = nftJson(plan.summary) as { nftables: { chain?: { policy: string } }[] };
    json.nftables.find((x) => x.chain)!.chain!.policy = 'drop';
    expect(firewallDifference(plan.summary, summarizeNftJson(json))).toMatch(/^chains differ/);
  });

  it('counts the packets each rule dropped', () => {
    expect(droppedCounts(nftJson(plan.summary, { 'bgp-v4': 3, 'vxlan-vni': 2 }))).toMatchObject({ 'bgp-v4': 3, 'vxlan-vni': 2, 'vxlan-v4': 0 });
  });
});

describe('hostProtection config', () => {
  const base = { node: { name: 'a', asn: 64512, address: '10.0.0.1/24' } };

  it('off by default, checked every second', () => {
    expect(parseAgentConfig(base, 't').config.hostProtection).toEqual({ enabled: false, checkInterval: 1 });
    expect(parseAgentConfig({ ...base, hostProtection: { enabled: true } }, 't').config.hostProtection).toEqual({ enabled: true, checkInterval: 1 });
  });

  it('bad input is named by its path', () => {
    expect(agentConfigProblems({ ...base, hostProtection: { enabled: 'yes' } })).toEqual([expect.stringMatching(/^hostProtection\.enabled: /)]);
    expect(agentConfigProblems({ ...base, hostProtection: { enabled: true, checkInterval: 0 } })).toEqual([expect.stringMatching(/^hostProtection\.checkInterval: /)]);
    expect(agentConfigProblems({ ...base, hostProtection: { enabled: true, ports: [1] } })).toEqual([expect.stringMatching(/^hostProtection: .*ports/)]);
  });
});

/** A fake nft: a kernel holding at most one table (as a summary), recording what was written. */
class FakeNft implements NftRunner {
  table: FirewallSummary | undefined;
  written: string[] = [];
  missing = false;
  async version(): Promise<string> {
    if (this.missing) throw new NftMissing('nft not found: install the nftables package (Debian: apt-get install nftables)');
    return 'nftables v1.0.6';
  }
  async list(): Promise<unknown> {
    return this.table ? nftJson(this.table) : undefined;
  }
  async apply(text: string): Promise<void> {
    this.written.push(text);
    if (text.startsWith('delete table')) this.table = undefined;
    else this.table = current.summary;
  }
}
let current = planFirewall(input());

describe('host protection reconciler', () => {
  const log = pino({ level: 'silent' });
  const cfg = (enabled: boolean): AgentConfig => parseAgentConfig({ node: { name: 'a', asn: 64512, address: '10.0.1.11/24' }, hostProtection: { enabled } }, 't').config;

  function make(enabled = true) {
    const nft = new FakeNft();
    const sched = new ManualScheduler();
    let config = cfg(enabled);
    let members = { bgp: input().bgp, vxlan: input().vxlan, bfd: undefined as string[] | undefined };
    const hp = new HostProtection({ config: () => config, members: () => members, runner: nft, scheduler: sched, log, removeWhenOff: true });
    const setMembers = (m: typeof members) => {
      members = m;
      current = planFirewall({ ...input(), ...m });
    };
    current = planFirewall(input());
    return { nft, sched, hp, setMembers, setEnabled: (on: boolean) => (config = cfg(on)) };
  }

  it('writes the table at start, and adopts one that already matches without writing', async () => {
    const a = make();
    await a.hp.start();
    expect(a.nft.written).toHaveLength(1);
    expect(a.hp.status()).toMatchObject({ enabled: true, table: 'inet weft', writes: 1, repairs: 0, sets: { bgp4: 3, vxlan4: 2, vnis: 1 } });
    const b = make();
    b.nft.table = current.summary;
    await b.hp.start();
    expect(b.nft.written).toEqual([]);
    expect(b.hp.status().lastReconcile).toBeDefined();
  });

  it('refuses to start without nft, naming what to install', async () => {
    const a = make();
    a.nft.missing = true;
    await expect(a.hp.start()).rejects.toThrow(/hostProtection\.enabled is true but nft not found: install the nftables package/);
    expect(a.nft.written).toEqual([]);
  });

  it('a membership change is written at once; the periodic check repairs a flushed or deleted table', async () => {
    const a = make();
    await a.hp.start();
    a.setMembers({ bgp: ['10.0.1.12'], vxlan: ['10.0.1.12'], bfd: undefined });
    a.hp.update('peers');
    await settle();
    expect(a.nft.written).toHaveLength(2);
    expect(a.nft.written[1]).toContain('set vxlan4 { type ipv4_addr; elements = { 10.0.1.12 } }');
    a.nft.table = undefined; // nft delete table inet weft
    await a.sched.advance(1000);
    await settle();
    expect(a.nft.written).toHaveLength(3);
    expect(a.hp.status().repairs).toBe(1);
    await a.sched.advance(1000);
    await settle();
    expect(a.nft.written).toHaveLength(3); // intact: nothing written
    a.hp.stop();
  });

  it('accepts vxlan.vni and every pool\'s own VNI (pools[].vni)', async () => {
    const nft = new FakeNft();
    const config = parseAgentConfig(
      { node: { name: 'a', asn: 64512, address: '10.0.1.11/24' }, pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }, { cidr: '10.245.0.0/16', blockSize: 26, vni: 5001 }], hostProtection: { enabled: true } },
      't',
    ).config;
    const hp = new HostProtection({ config: () => config, members: () => ({ bgp: [], vxlan: [], bfd: undefined }), runner: nft, scheduler: new ManualScheduler(), log, removeWhenOff: true });
    await hp.start();
    hp.stop();
    expect(nft.written[0]).toContain('@th,96,24 != { 4096, 5001 }');
    expect(hp.status().sets.vnis).toBe(2);
  });

  it('off: a table left from before is removed; stopping never removes it', async () => {
    const a = make(false);
    a.nft.table = current.summary;
    await a.hp.start();
    expect(a.nft.written).toEqual(['delete table inet weft\n']);
    const b = make();
    await b.hp.start();
    b.hp.stop();
    expect(b.nft.table).toBeDefined();
    const c = make();
    await c.hp.start();
    c.setEnabled(false);
    c.hp.update('reload');
    await settle();
    expect(c.nft.table).toBeUndefined();
  });
});
