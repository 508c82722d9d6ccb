/**
 * The host firewall as data (issue 13): weft's own nftables table `inet weft`, planned from who
 * may talk to this host, and the reading of that table back from `nft -j list table inet weft`.
 * Pure: the driver (agent/kernel/host-protection.ts) writes `plan.text` through `nft -f -` and
 * compares `summarizeNftJson(kernel)` with `plan.summary` to adopt or repair it.
 *
 * The table only drops what weft owns (Felix's approach for host endpoints, narrowed): one base
 * chain at hook input, priority filter, policy accept; packets to the BGP port from an address
 * that is no peer or mesh member, VXLAN from a non-member or with a VNI weft does not use, and BFD
 * from an address without a BFD session are dropped (counted). Everything else returns untouched:
 * an accept in a base chain does not override another table's drop, so weft's chain never lets in
 * what the host's own firewall refuses, and a drop here is final.
 *
 * Atomic replace: `table inet weft {}` (create when missing), `delete table inet weft`, then the
 * whole table, in one nft transaction: the kernel swaps in the new table at once, never a moment
 * without rules (nft -f applies a file as one netlink batch).
 */

export const FIREWALL_TABLE = 'weft';
export const FIREWALL_FAMILY = 'inet';
/** RFC 5881 4 single-hop BFD control, RFC 5883 multihop. */
export const BFD_PORTS = [3784, 4784] as const;

export interface FirewallInput {
  /** TCP port weft listens on for BGP (listen.port). */
  bgpPort: number;
  /** UDP port of weft's VXLAN device (vxlan.port). */
  vxlanPort: number;
  /** VNIs weft's VXLAN devices use (RFC 7348 5: 24 bits). */
  vnis: readonly number[];
  /** Addresses that may open BGP sessions: mesh members and external peers (either family). */
  bgp: readonly string[];
  /** Addresses that may send VXLAN: mesh members (remote VTEPs). */
  vxlan: readonly string[];
  /** Addresses with a BFD session; undefined: BFD is off (its ports stay untouched). */
  bfd: readonly string[] | undefined;
  /**
   * Isolated pools (pools[].isolated): traffic this host forwards between the pool and any other
   * pool of its family is dropped, both ways. CIDR texts.
   */
  isolation?: readonly { pool: string; others: readonly string[] }[];
}

/** What the kernel's table must look like, in the terms summarizeNftJson reads back. */
export interface FirewallSummary {
  /** Set name -> sorted elements. */
  sets: Record<string, string[]>;
  /** "input hook=input prio=0 policy=accept" per base chain, sorted. */
  chains: string[];
  /** The rules' comments in order (each rule carries one; the first also the plan's hash). */
  rules: string[];
}

export interface FirewallPlan {
  text: string;
  summary: FirewallSummary;
  /** Elements per set (status). */
  sizes: Record<string, number>;
}

const isV6 = (a: string) => a.includes(':');

function uniqueSorted(xs: readonly string[]): string[] {
  return [...new Set(xs)].sort();
}

/** FNV-1a over the text, as 8 hex digits: marks which plan the kernel's table came from. */
export function planHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

interface RuleLine {
  comment: string;
  text: string;
}

/** The whole ruleset for `nft -f -`: create-if-missing, delete, declare, in one transaction. */
export function planFirewall(input: FirewallInput): FirewallPlan {
  const sets: Record<string, string[]> = {};
  const rules: RuleLine[] = [];
  const addrSets = (name: string, addrs: readonly string[]) => {
    sets[`${name}4`] = uniqueSorted(addrs.filter((a) => !isV6(a)));
    sets[`${name}6`] = uniqueSorted(addrs.filter(isV6));
  };
  addrSets('bgp', input.bgp);
  addrSets('vxlan', input.vxlan);
  if (input.bfd) addrSets('bfd', input.bfd);

  // Loopback: the host talking to itself (weft peer, local tools) is never weft's business.
  rules.push({ comment: 'loopback', text: 'iifname "lo" return' });
  rules.push({ comment: 'bgp-v4', text: `tcp dport ${input.bgpPort} ip saddr != @bgp4 counter drop` });
  rules.push({ comment: 'bgp-v6', text: `tcp dport ${input.bgpPort} ip6 saddr != @bgp6 counter drop` });
  rules.push({ comment: 'vxlan-v4', text: `udp dport ${input.vxlanPort} ip saddr != @vxlan4 counter drop` });
  rules.push({ comment: 'vxlan-v6', text: `udp dport ${input.vxlanPort} ip6 saddr != @vxlan6 counter drop` });
  // RFC 7348 5: the VNI is bits 32-55 of the 8-octet VXLAN header that follows the UDP header
  // (transport header offset 64 + 32 = 96 bits). A packet too short to hold it never reaches a
  // device's VNI either; a member's packet with a VNI weft does not use is dropped.
  const vnis = [...new Set(input.vnis)].sort((a, b) => a - b);
  rules.push({ comment: 'vxlan-vni', text: `udp dport ${input.vxlanPort} @th,96,24 != { ${vnis.join(', ')} } counter drop` });
  if (input.bfd) {
    const ports = `{ ${BFD_PORTS.join(', ')} }`;
    rules.push({ comment: 'bfd-v4', text: `udp dport ${ports} ip saddr != @bfd4 counter drop` });
    rules.push({ comment: 'bfd-v6', text: `udp dport ${ports} ip6 saddr != @bfd6 counter drop` });
  }

  // Isolated pools: a forward chain (hook forward) drops what this host would route between an
  // isolated pool and the other pools of its family, both ways: pods of one overlay never reach
  // another's, whichever host they are on.
  const forward: RuleLine[] = [];
  for (const iso of input.isolation ?? []) {
    const v6 = isV6(iso.pool);
    const others = uniqueSorted(iso.others.filter((o) => isV6(o) === v6));
    if (others.length === 0) continue;
    const ip = v6 ? 'ip6' : 'ip';
    const set = `{ ${others.join(', ')} }`;
    forward.push({ comment: `isolate-out ${iso.pool}`, text: `${ip} saddr ${iso.pool} ${ip} daddr ${set} counter drop` });
    forward.push({ comment: `isolate-in ${iso.pool}`, text: `${ip} saddr ${set} ${ip} daddr ${iso.pool} counter drop` });
  }

  const body = (hash: string) => {
    const lines: string[] = [];
    for (const [name, elems] of Object.entries(sets)) {
      const type = name.endsWith('6') ? 'ipv6_addr' : 'ipv4_addr';
      const el = elems.length ? ` elements = { ${elems.join(', ')} }` : '';
      lines.push(`  set ${name} { type ${type};${el} }`);
    }
    lines.push('  chain input {');
    lines.push('    type filter hook input priority filter; policy accept;');
    for (const [i, r] of rules.entries()) lines.push(`    ${r.text} comment "${ruleComment(r.comment, i, hash)}"`);
    lines.push('  }');
    if (forward.length > 0) {
      lines.push('  chain forward {');
      lines.push('    type filter hook forward priority filter; policy accept;');
      for (const r of forward) lines.push(`    ${r.text} comment "weft ${r.comment}"`);
      lines.push('  }');
    }
    return lines.join('\n');
  };
  if (vnis.length === 0) throw new Error('host firewall: no VNI to accept');
  const hash = planHash(body(''));
  const table = `${FIREWALL_FAMILY} ${FIREWALL_TABLE}`;
  const text = `table ${table} {}\ndelete table ${table}\ntable ${table} {\n${body(hash)}\n}\n`;
  const sizes: Record<string, number> = {};
  for (const [k, v] of Object.entries(sets)) sizes[k] = v.length;
  sizes.vnis = vnis.length;
  if (forward.length > 0) sizes.isolated = forward.length / 2;
  return {
    text,
    sizes,
    summary: {
      sets,
      chains: ['input hook=input prio=0 policy=accept', ...(forward.length > 0 ? ['forward hook=forward prio=0 policy=accept'] : [])].sort(),
      rules: [...rules.map((r, i) => ruleComment(r.comment, i, hash)), ...forward.map((r) => `weft ${r.comment}`)],
    },
  };
}

/** "weft bgp-v4"; the first rule also carries the plan's hash ("weft loopback 1a2b3c4d"). */
function ruleComment(name: string, index: number, hash: string): string {
  return index === 0 && hash ? `weft ${name} ${hash}` : `weft ${name}`;
}

/** What `nft -j list table inet weft` shows, in FirewallSummary terms; undefined: not weft's shape. */
export function summarizeNftJson(json: unknown): FirewallSummary | undefined {
  const items = (json as { nftables?: unknown[] } | null)?.nftables;
  if (!Array.isArray(items)) return undefined;
  const out: FirewallSummary = { sets: {}, chains: [], rules: [] };
  let table = false;
  for (const item of items as Record<string, Record<string, unknown>>[]) {
    if (item.table) table = true;
    const set = item.set;
    if (set) {
      const elem = set.elem === undefined ? [] : Array.isArray(set.elem) ? set.elem : [set.elem];
      out.sets[String(set.name)] = elem.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).sort();
    }
    const chain = item.chain;
    if (chain) out.chains.push(`${String(chain.name)} hook=${String(chain.hook)} prio=${String(chain.prio)} policy=${String(chain.policy)}`);
    const rule = item.rule;
    if (rule) out.rules.push(typeof rule.comment === 'string' ? rule.comment : '(no comment)');
  }
  out.chains.sort();
  return table ? out : undefined;
}

/** Whether the kernel's table is the planned one; the first difference found, else undefined. */
export function firewallDifference(want: FirewallSummary, have: FirewallSummary | undefined): string | undefined {
  if (!have) return 'table inet weft is missing';
  if (JSON.stringify(have.chains) !== JSON.stringify(want.chains)) return `chains differ (${have.chains.join('; ') || 'none'})`;
  if (JSON.stringify(have.rules) !== JSON.stringify(want.rules)) return `rules differ (${have.rules.length} of ${want.rules.length} present)`;
  const names = new Set([...Object.keys(want.sets), ...Object.keys(have.sets)]);
  for (const n of names) {
    if (JSON.stringify(have.sets[n]) !== JSON.stringify(want.sets[n])) return `set ${n} differs (${have.sets[n]?.length ?? 'no'} elements, want ${want.sets[n]?.length ?? 'none'})`;
  }
  return undefined;
}

/** Dropped packets per rule (from the counters in the JSON listing), by rule name ("bgp-v4"). */
export function droppedCounts(json: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  const items = (json as { nftables?: unknown[] } | null)?.nftables;
  if (!Array.isArray(items)) return out;
  for (const item of items as { rule?: { comment?: string; expr?: Record<string, { packets?: number }>[] } }[]) {
    const r = item.rule;
    if (!r || typeof r.comment !== 'string') continue;
    const c = r.expr?.find((e) => e.counter)?.counter;
    if (c && typeof c.packets === 'number') out[r.comment.split(' ')[1] ?? r.comment] = c.packets;
  }
  return out;
}
