/**
 * What an import policy change means for the routes of a peer.
 *
 * RFC 2918 1: "When the inbound routing policy for a peer changes, all prefixes from that peer
 * must be somehow made available and then re-examined against the new policy." The Loc-RIB keeps
 * each accepted path's attributes as received (Path.input), so the routes it holds are re-examined
 * in place (Rib.setPolicy): a policy that refuses more takes effect at once. The routes the old
 * policy refused are not held anywhere: if the new policy may accept some of them, only the peer
 * can send them again (a route refresh, RFC 2918 / RFC 7313, or a new session when it supports
 * neither). `importPolicyWidens` tells which case a change is, from the two configurations.
 *
 * The answer is sound, not complete: `false` only when every route the new policy accepts was
 * accepted by the old one too; `true` whenever that cannot be shown from the configurations.
 */
import { prefixContains, type Prefix } from '../lib/prefix.js';
import { compileList, toPrefix, type ImportPolicyConfig, type PolicyRule } from './policy.js';

/**
 * Whether `next` may accept a route `prev` refused. Shown not to when the kind is the same and
 *  - the underlay guard refuses at least what it did (no underlay before, or the new one inside the old one),
 *  - every new pool lies inside an old pool,
 *  - the rules match and decide the same (what they set, LOCAL_PREF or communities, may change:
 *    that is a change to routes held, not to which routes are accepted), or only reject rules were
 *    put in front of them.
 */
export function importPolicyWidens(prev: ImportPolicyConfig, next: ImportPolicyConfig): boolean {
  if (prev.kind !== next.kind) return true;
  if (!underlayNarrows(prev.underlay, next.underlay)) return true;
  const before = prev.pools.map(toPrefix);
  for (const p of next.pools.map(toPrefix)) if (!before.some((q) => prefixContains(q, p))) return true;
  return !rulesNarrow(prev.rules ?? [], next.rules ?? []);
}

/**
 * The guard refuses prefixes covering the underlay subnet. Every prefix covering the old subnet
 * also covers the new one when the new one lies inside it; with no old underlay nothing was
 * refused by this guard.
 */
function underlayNarrows(prev: Prefix | string | undefined, next: Prefix | string | undefined): boolean {
  if (prev === undefined) return true;
  if (next === undefined) return false;
  return prefixContains(toPrefix(prev), toPrefix(next));
}

function rulesNarrow(prev: readonly PolicyRule[], next: readonly PolicyRule[]): boolean {
  if (next.length < prev.length) return false;
  const extra = next.length - prev.length;
  for (let i = 0; i < extra; i++) if (next[i].action !== 'reject') return false;
  for (let i = 0; i < prev.length; i++) if (matchKey(prev[i]) !== matchKey(next[extra + i])) return false;
  return true;
}

/** What decides whether a rule matches and whether it accepts, in a canonical text. */
function matchKey(r: PolicyRule): string {
  const list = r.prefixList === undefined ? '-' : compileList(r.prefixList).map((e) => `${e.permit ? '+' : '!'}${e.prefix}:${e.min}-${e.max}`).join(',');
  const sorted = (xs: readonly number[] | undefined) => (xs === undefined ? '-' : [...new Set(xs)].sort((a, b) => a - b).join(','));
  return `${r.action}|${list}|${sorted(r.community?.any)}|${sorted(r.community?.all)}`;
}
