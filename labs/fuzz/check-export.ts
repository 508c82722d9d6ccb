/**
 * What the fuzzer checks on every batch of messages it would send to a peer: each message fits
 * the peer's negotiated maximum size and decodes again with the peer's options, without a single
 * RFC 7606 problem; it announces exactly the batch's routes (less those reported too large) with
 * exactly the attributes the Adj-RIB-Out meant (AS_TRANS / AS4_PATH merged back for 2-octet-AS
 * peers), withdraws exactly the batch's withdrawals plus the routes too large; and what it
 * announces obeys the export rules for the peer's kind. A broken check is a Failure.
 */
import type { Prefix } from '../../src/lib/prefix.js';
import { formatPrefix } from '../../src/lib/prefix.js';
import { keyOf, partsFromAttributes, type AttrParts, type InternedAttrs } from '../../src/rib/attrs.js';
import type { OutBatch } from '../../src/rib/export.js';
import { AttrFlag, WellKnownCommunity } from '../../src/wire/iana.js';
import type { UpdateMessage } from '../../src/wire/types.js';
import { decodeUpdate } from '../../src/wire/update.js';
import type { TooLarge } from '../../src/wire/update-pack.js';
import type { FuzzPeer } from './worlds.js';

export class Failure extends Error {
  constructor(
    readonly stage: string,
    message: string,
    readonly bytes?: Uint8Array,
  ) {
    super(`${stage}: ${message}`);
  }
}

const UNKNOWN_MASK = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE | AttrFlag.PARTIAL;

const keys = new WeakMap<AttrParts, string>();

/** The key of a set as the receiver sees it: unknown attributes arrive with the Partial bit (RFC 4271 5). */
export function receivedKey(p: AttrParts): string {
  let k = keys.get(p);
  if (k === undefined) {
    k = keyOf({ ...p, unknown: p.unknown.map((u) => ({ ...u, flags: (u.flags | AttrFlag.PARTIAL) & UNKNOWN_MASK })) });
    keys.set(p, k);
  }
  return k;
}

function announcedIn(u: UpdateMessage): { prefixes: Prefix[]; nextHop?: string } {
  const prefixes: Prefix[] = [...u.nlri];
  let nextHop: string | undefined;
  for (const a of u.attributes) {
    if (a.type === 'mp-reach') {
      prefixes.push(...a.reach.nlri);
      nextHop = a.reach.nextHop[0];
    }
  }
  return { prefixes, nextHop };
}

function withdrawnIn(u: UpdateMessage): Prefix[] {
  const out: Prefix[] = [...u.withdrawn];
  for (const a of u.attributes) if (a.type === 'mp-unreach') out.push(...a.unreach.withdrawn);
  return out;
}

/** The export rules, checked on an attribute set going to `peer`. */
function checkRules(peer: FuzzPeer, a: InternedAttrs, p: Prefix): void {
  const fail = (why: string) => {
    throw new Failure('export-rules', `${formatPrefix(p)} to ${peer.info.id}: ${why} (${a.key})`);
  };
  if (a.communities.includes(WellKnownCommunity.NO_ADVERTISE)) fail('NO_ADVERTISE sent');
  if (peer.info.type === 'ebgp') {
    if (a.communities.includes(WellKnownCommunity.NO_EXPORT)) fail('NO_EXPORT sent to eBGP');
    if (a.localPref !== undefined) fail('LOCAL_PREF sent to eBGP');
    if (a.originatorId !== undefined || a.clusterList.length > 0) fail('ORIGINATOR_ID / CLUSTER_LIST sent to eBGP');
    if (a.tunnelEncap !== undefined) fail('TUNNEL_ENCAPSULATION sent to eBGP (RFC 9012 11)');
    const first = a.asPath[0];
    if (first === undefined || first.kind !== 'sequence' || first.asns[0] !== peer.info.localAsn) fail('our AS is not first');
    const self = typeof p === 'number' ? peer.export.nextHopSelf.ipv4 : peer.export.nextHopSelf.ipv6;
    if (a.nextHop !== self) fail(`NEXT_HOP ${a.nextHop} is not self`);
  } else if (a.localPref === undefined) fail('no LOCAL_PREF to iBGP');
  if ((typeof p === 'number') === a.nextHop.includes(':')) fail(`next hop ${a.nextHop} of the other family`);
}

export interface BatchResult {
  messages: number;
  announced: number;
  withdrawn: number;
}

/**
 * Checks the messages of one batch and applies them to `held` (what the peer holds: prefix ->
 * attributes key as it decodes them).
 */
export function checkBatch(peer: FuzzPeer, batch: OutBatch, msgs: readonly Uint8Array[], tooLarge: readonly TooLarge[], held: Map<Prefix, string>): BatchResult {
  const max = peer.opts.extendedMessage ? 65_535 : 4096;
  const dropped = new Set<Prefix>();
  for (const t of tooLarge) {
    if (t.maxOctets !== max) throw new Failure('export-too-large', `reported against ${t.maxOctets}, the peer's maximum is ${max}`);
    for (const p of t.prefixes) dropped.add(p);
  }
  const expectAnnounce = new Map<Prefix, InternedAttrs>();
  for (const g of batch.announce) for (const p of g.prefixes) if (!dropped.has(p)) expectAnnounce.set(p, g.attrs);
  const expectWithdraw = new Set<Prefix>([...batch.withdraw, ...dropped]);
  let announced = 0;
  let withdrawn = 0;
  for (const m of msgs) {
    if (m.length > max) throw new Failure('export-size', `a ${m.length}-octet UPDATE for ${peer.info.id} (maximum ${max})`, m);
    let u: UpdateMessage;
    try {
      u = decodeUpdate(m, peer.opts);
    } catch (e) {
      throw new Failure('export-decode', `${peer.info.id} cannot decode our UPDATE: ${(e as Error).message}`, m);
    }
    if (u.problems !== undefined) throw new Failure('export-decode', `${peer.info.id} finds problems in our UPDATE: ${u.problems.map((x) => x.message).join('; ')}`, m);
    for (const p of withdrawnIn(u)) {
      if (!expectWithdraw.delete(p)) throw new Failure('export-withdraw', `${formatPrefix(p)} withdrawn from ${peer.info.id} unasked or twice`, m);
      held.delete(p);
      withdrawn++;
    }
    const { prefixes, nextHop } = announcedIn(u);
    if (prefixes.length === 0) continue;
    const key = receivedKey(partsFromAttributes(u.attributes, nextHop));
    for (const p of prefixes) {
      const want = expectAnnounce.get(p);
      if (want === undefined) throw new Failure('export-announce', `${formatPrefix(p)} announced to ${peer.info.id} unasked or twice`, m);
      expectAnnounce.delete(p);
      if (receivedKey(want) !== key) throw new Failure('export-attributes', `${formatPrefix(p)} to ${peer.info.id}: sent ${want.key}, decoded ${key}`, m);
      checkRules(peer, want, p);
      held.set(p, key);
      announced++;
    }
  }
  if (expectAnnounce.size > 0) throw new Failure('export-announce', `${expectAnnounce.size} route(s) for ${peer.info.id} never announced nor reported, e.g. ${formatPrefix([...expectAnnounce.keys()][0])}`);
  if (expectWithdraw.size > 0) throw new Failure('export-withdraw', `${expectWithdraw.size} withdrawal(s) for ${peer.info.id} never sent`);
  return { messages: msgs.length, announced, withdrawn };
}
