/**
 * Import and export policy, compiled once from configuration into a `check(prefix, attrs)` that
 * allocates nothing per prefix: verdicts are objects made at compile time.
 *
 * Import, mesh peers (the iBGP full mesh of weft nodes):
 *   1. never a default route;
 *   2. never a prefix covering (containing) this node's own underlay subnet (it would pull the
 *      traffic to our own peers away from the connected route);
 *   3. only prefixes inside the configured pools;
 *   4. then the configured rules (first match wins), else accept.
 * Import, external peers (ToRs, route reflectors): the configured rules first (first match
 * wins); when none matches, the mesh guards 1-3 apply ("accept nothing outside pools unless
 * configured").
 * Export: the configured rules (first match wins), else accept.
 *
 * Rules look like FRR route-maps over prefix-lists: a rule matches when every condition it has
 * holds (a prefix list that permits the prefix, communities present), and then accepts or
 * rejects, optionally setting LOCAL_PREF or adding communities.
 */
import { parsePrefix, prefixContains, prefixLength, type Prefix } from '../lib/prefix.js';
import type { AttrInterner, InternedAttrs } from './attrs.js';

/** FRR-like prefix-list entry: exact match unless ge/le widen the length range. */
export interface PrefixListEntry {
  readonly action: 'permit' | 'deny';
  readonly prefix: Prefix | string;
  readonly ge?: number;
  readonly le?: number;
}

export interface PolicyRule {
  readonly name?: string;
  /** Matches when the list permits the prefix (entries in order, first match, no match = deny). */
  readonly prefixList?: readonly PrefixListEntry[];
  /** RFC 1997 communities (32-bit values): present any of / all of. */
  readonly community?: { readonly any?: readonly number[]; readonly all?: readonly number[] };
  readonly action: 'accept' | 'reject';
  readonly setLocalPref?: number;
  readonly addCommunities?: readonly number[];
}

export interface ImportPolicyConfig {
  readonly kind: 'mesh' | 'external';
  readonly pools: readonly (Prefix | string)[];
  /** This node's underlay subnet (node.address with its prefix length). */
  readonly underlay?: Prefix | string;
  /** Per family: more accepted prefixes than this asks for Cease/1 (RFC 4486). */
  readonly maxPrefix?: number;
  readonly rules?: readonly PolicyRule[];
}

export const REFUSALS = [
  'default-route',
  'covers-underlay',
  'outside-pools',
  'rejected-by-rule',
  'as-loop',
  'originator-loop',
  'cluster-loop',
  'invalid-next-hop',
] as const;
export type RefusalReason = (typeof REFUSALS)[number];

/** The refusals an import policy decides (the others are the RIB's loop checks, policy-independent). */
export const POLICY_REFUSALS: ReadonlySet<RefusalReason> = new Set<RefusalReason>(['default-route', 'covers-underlay', 'outside-pools', 'rejected-by-rule']);

export interface Accept {
  readonly accept: true;
  /** The rule that matched (-1: the default). */
  readonly rule: number;
  readonly setLocalPref?: number;
  readonly addCommunities?: readonly number[];
}
export interface Refuse {
  readonly accept: false;
  readonly reason: RefusalReason;
  readonly rule: number;
}
export type Verdict = Accept | Refuse;

export interface Policy {
  check(prefix: Prefix, attrs: InternedAttrs): Verdict;
  readonly maxPrefix?: number;
  /** The configuration an import policy was compiled from (compileImportPolicy sets it). */
  readonly config?: ImportPolicyConfig;
}

const ACCEPT_DEFAULT: Accept = Object.freeze({ accept: true, rule: -1 });
const refuse = (reason: RefusalReason, rule = -1): Refuse => Object.freeze({ accept: false, reason, rule });
const REFUSE = Object.fromEntries(REFUSALS.map((r) => [r, refuse(r)])) as Record<RefusalReason, Refuse>;

export const toPrefix = (p: Prefix | string): Prefix => (typeof p === 'number' ? p : parsePrefix(p));

export interface CompiledEntry {
  permit: boolean;
  prefix: Prefix;
  min: number;
  max: number;
}

export function compileList(list: readonly PrefixListEntry[]): CompiledEntry[] {
  return list.map((e) => {
    const prefix = toPrefix(e.prefix);
    const len = prefixLength(prefix);
    const full = typeof prefix === 'number' ? 32 : 128;
    // FRR prefix-list semantics: no ge/le = exact length; ge alone = ge..full; le alone = len..le.
    const min = e.ge ?? len;
    const max = e.le ?? (e.ge !== undefined ? full : len);
    if (min < len || max < min || max > full) throw new Error(`prefix-list entry ${JSON.stringify(e)}: need len <= ge <= le <= ${full}`);
    return { permit: e.action === 'permit', prefix, min, max };
  });
}

export function prefixListPermits(list: readonly CompiledEntry[], p: Prefix): boolean {
  const len = prefixLength(p);
  for (const e of list) {
    if (len >= e.min && len <= e.max && prefixContains(e.prefix, p)) return e.permit;
  }
  return false;
}

interface CompiledRule {
  list?: CompiledEntry[];
  any?: ReadonlySet<number>;
  all?: readonly number[];
  verdict: Verdict;
  // A one-entry memo: rules are checked for every prefix of an UPDATE with the same attributes.
  memoAttrs?: InternedAttrs;
  memoMatch: boolean;
}

function communitiesMatch(r: CompiledRule, attrs: InternedAttrs): boolean {
  if (r.any === undefined && r.all === undefined) return true;
  if (r.memoAttrs === attrs) return r.memoMatch;
  let ok = true;
  if (r.any !== undefined) ok = attrs.communities.some((c) => r.any?.has(c));
  if (ok && r.all !== undefined) ok = r.all.every((c) => attrs.communities.includes(c));
  r.memoAttrs = attrs;
  r.memoMatch = ok;
  return ok;
}

function compileRules(rules: readonly PolicyRule[]): CompiledRule[] {
  return rules.map((r, i) => ({
    list: r.prefixList === undefined ? undefined : compileList(r.prefixList),
    any: r.community?.any === undefined ? undefined : new Set(r.community.any),
    all: r.community?.all,
    verdict:
      r.action === 'accept'
        ? Object.freeze({ accept: true as const, rule: i, setLocalPref: r.setLocalPref, addCommunities: r.addCommunities })
        : refuse('rejected-by-rule', i),
    memoMatch: false,
  }));
}

function firstMatch(rules: CompiledRule[], p: Prefix, attrs: InternedAttrs): Verdict | undefined {
  for (const r of rules) {
    if (r.list !== undefined && !prefixListPermits(r.list, p)) continue;
    if (!communitiesMatch(r, attrs)) continue;
    return r.verdict;
  }
  return undefined;
}

export function compileImportPolicy(cfg: ImportPolicyConfig): Policy {
  const pools = cfg.pools.map(toPrefix);
  const underlay = cfg.underlay === undefined ? undefined : toPrefix(cfg.underlay);
  const rules = compileRules(cfg.rules ?? []);
  const guards = (p: Prefix): Refuse | undefined => {
    if (prefixLength(p) === 0) return REFUSE['default-route'];
    if (underlay !== undefined && prefixContains(p, underlay)) return REFUSE['covers-underlay'];
    for (const pool of pools) if (prefixContains(pool, p)) return undefined;
    return REFUSE['outside-pools'];
  };
  const check =
    cfg.kind === 'mesh'
      ? (p: Prefix, attrs: InternedAttrs): Verdict => guards(p) ?? firstMatch(rules, p, attrs) ?? ACCEPT_DEFAULT
      : (p: Prefix, attrs: InternedAttrs): Verdict => firstMatch(rules, p, attrs) ?? guards(p) ?? ACCEPT_DEFAULT;
  return { check, maxPrefix: cfg.maxPrefix, config: cfg };
}

export function compileExportPolicy(rules: readonly PolicyRule[] = []): Policy {
  const compiled = compileRules(rules);
  return { check: (p, attrs) => firstMatch(compiled, p, attrs) ?? ACCEPT_DEFAULT };
}

/** Accepts everything (the default when no policy is given). */
export const ACCEPT_ALL: Policy = { check: () => ACCEPT_DEFAULT };

/** The attribute set after an accepting verdict's actions (the same set when it has none). */
export function applyVerdict(interner: AttrInterner, attrs: InternedAttrs, v: Accept): InternedAttrs {
  if (v.setLocalPref === undefined && (v.addCommunities === undefined || v.addCommunities.length === 0)) return attrs;
  const communities =
    v.addCommunities === undefined ? attrs.communities : [...attrs.communities, ...v.addCommunities.filter((c) => !attrs.communities.includes(c))];
  return interner.derive(attrs, { localPref: v.setLocalPref ?? attrs.localPref, communities });
}
