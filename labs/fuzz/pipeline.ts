/**
 * The whole receive-to-send path of a node, as the agent runs it, without sockets: a message from
 * a peer is decoded with that session's options, turned into RIB input (ribInput), passed through
 * the peer's import policy into the Loc-RIB, and every peer's Adj-RIB-Out change is packed into
 * UPDATEs (batchMessages through AdjRibOut.messages) and checked (check-export.ts). Sessions flap
 * (a WireError resets the sender's session, max-prefix sends Cease), peers ask for route refresh,
 * import policies change (Rib.setPolicy). Anything thrown that is not a WireError while decoding
 * peer input is a Failure, and so is every broken check.
 */
import type { Prefix } from '../../src/lib/prefix.js';
import { parsePrefix } from '../../src/lib/prefix.js';
import { AdjRibOut } from '../../src/rib/export.js';
import { Rib, type Change } from '../../src/rib/loc-rib.js';
import { compileExportPolicy, compileImportPolicy } from '../../src/rib/policy.js';
import { attr, vxlanTunnelAttribute } from '../../src/wire/attr-build.js';
import { isWireError } from '../../src/wire/errors.js';
import { decodeMessage } from '../../src/wire/message.js';
import type { BgpMessage, UpdateMessage } from '../../src/wire/types.js';
import { updateSeverity } from '../../src/wire/update.js';
import type { TooLarge } from '../../src/wire/update-pack.js';
import { ribInput } from '../../src/agent/peers/update-input.js';
import { Failure, checkBatch, receivedKey } from './check-export.js';
import type { Rng } from './rng.js';
import type { FuzzPeer, World } from './worlds.js';

const LOCAL_BLOCKS = ['10.244.250.0/26', '10.244.250.64/26', 'fd00:244:0:fa00::/64'].map((p) => parsePrefix(p));

export class Pipeline {
  readonly rib: Rib;
  readonly out: AdjRibOut;
  readonly peers: readonly FuzzPeer[];
  /** Outcome -> count. */
  readonly counts = new Map<string, number>();
  /** What each peer holds, as it decoded our messages (prefix -> attributes key). */
  private readonly held: Map<Prefix, string>[];
  /** Routes reported too large per peer, not sent since. */
  private readonly unsent: Set<Prefix>[];
  private readonly needFull = new Set<number>();
  private readonly policyIndex: number[];

  constructor(
    readonly world: World,
    private readonly rng: Rng,
  ) {
    this.peers = world.peers;
    this.rib = new Rib({ local: world.local, maxPaths: 2 });
    this.out = new AdjRibOut(this.rib, { local: world.local });
    this.held = this.peers.map(() => new Map());
    this.unsent = this.peers.map(() => new Set());
    this.policyIndex = this.peers.map(() => 0);
    this.peers.forEach((p, i) => {
      this.rib.addPeer(p.info, compileImportPolicy(p.imports[0]));
      const policy = p.info.id === 'e2' ? compileExportPolicy([{ prefixList: [{ action: 'permit', prefix: '10.244.0.0/16', ge: 32 }], action: 'reject' }]) : undefined;
      this.out.addPeer({ info: p.info, ...p.export, policy });
      this.needFull.add(i);
    });
    for (const b of LOCAL_BLOCKS) this.local(b);
  }

  count(outcome: string, n = 1): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + n);
  }

  private changes(cs: readonly Change[]): void {
    if (cs.length > 0) this.count('rib: best path changes', cs.filter((c) => c.best !== c.previous).length);
    this.out.onChanges(cs);
  }

  /** An own block, as the agent originates it (RFC 9012 encapsulation community and attribute, router MAC). */
  private local(p: Prefix): void {
    this.changes(
      this.rib.localAdd(p, [
        attr.origin(0),
        attr.extCommunities([{ type: 'encapsulation', tunnelType: 8 }, { type: 'router-mac', mac: '02:00:0a:00:01:09' }]),
        vxlanTunnelAttribute(4096, '02:00:0a:00:01:09'),
      ]),
    );
  }

  /** One message from peer `from`, through decode, policy and the Loc-RIB. */
  receive(from: number, bytes: Uint8Array): void {
    const peer = this.peers[from];
    let m: BgpMessage;
    try {
      m = decodeMessage(bytes, peer.opts);
    } catch (e) {
      if (!isWireError(e)) throw new Failure('decode', `${peer.info.id}: ${(e as Error).stack}`, bytes);
      this.count(`decode: WireError ${e.code}`);
      // RFC 4271 6: the session ends with a NOTIFICATION; not always, to keep tables filled.
      if (this.rng.chance(1 / 64)) this.flap(from, 'after a WireError');
      return;
    }
    if (m.type !== 'update') {
      this.count(`decode: ${m.type}`);
      return;
    }
    this.count(`decode: UPDATE ${updateSeverity(m) ?? 'clean'}`);
    this.apply(from, m, bytes);
  }

  private apply(from: number, u: UpdateMessage, bytes: Uint8Array): void {
    const peer = this.peers[from];
    try {
      const input = ribInput(u, { ipv4ExtendedNextHop: peer.ipv4ExtendedNextHop });
      for (const r of Object.keys(input.refused)) this.count(`input: refused ${r}`);
      for (const r of input.updates) this.changes(this.rib.applyUpdate(peer.info.id, r));
      if (this.rib.checkMaxPrefix(peer.info.id) !== undefined) this.flap(from, 'max-prefix (Cease/1)');
    } catch (e) {
      if (e instanceof Failure) throw e;
      throw new Failure('rib', `${peer.info.id}: ${(e as Error).stack}`, bytes);
    }
  }

  /** The session with peer `i` ends (and comes back: the full table goes out again). */
  flap(i: number, why: string): void {
    const id = this.peers[i].info.id;
    this.count(`session: reset ${why}`);
    this.changes(this.rib.peerDown(id));
    this.out.peerDown(id);
    this.held[i].clear();
    this.unsent[i].clear();
    this.needFull.add(i);
  }

  /** Route refresh from peer `i` (RFC 2918): the full table again. */
  refresh(i: number): void {
    this.count('session: route refresh');
    this.needFull.add(i);
  }

  /** The next import policy configuration for peer `i`; a widening one resets the session (no refresh here). */
  changePolicy(i: number): void {
    const p = this.peers[i];
    this.policyIndex[i] = (this.policyIndex[i] + 1) % p.imports.length;
    const next = compileImportPolicy(p.imports[this.policyIndex[i]]);
    const again = this.rib.needsRoutesAgain(p.info.id, next);
    this.changes(this.rib.setPolicy(p.info.id, next));
    this.count(`policy: changed${again ? ', routes needed again' : ''}`);
    if (again) this.flap(i, 'policy widened');
  }

  /** Our own block withdrawn or announced again. */
  toggleLocal(k: number): void {
    const p = LOCAL_BLOCKS[k % LOCAL_BLOCKS.length];
    if (this.rib.best(p)?.source === 'local') this.changes(this.rib.localRemove(p));
    else this.local(p);
  }

  /** What every peer is to be sent now, packed, checked, and applied to its mirror. */
  exportAll(): void {
    this.peers.forEach((peer, i) => {
      const full = this.needFull.delete(i);
      const id = peer.info.id;
      const batch = full ? this.out.fullTable(id) : this.out.pendingFor(id);
      if (batch.announce.length === 0 && batch.withdraw.length === 0) return;
      const tooLarge: TooLarge[] = [];
      let msgs: Uint8Array[];
      try {
        msgs = this.out.messages(batch, peer.opts, (t) => tooLarge.push(t));
      } catch (e) {
        throw new Failure('export', `${id}: ${(e as Error).stack}`);
      }
      // RFC 4271 9.2 / RFC 4456 8: never back to the peer the best path came from.
      for (const g of batch.announce) {
        for (const p of g.prefixes) if (this.rib.best(p)?.peer === peer.info) throw new Failure('export-rules', `${String(p)} sent back to ${id}, where it came from`);
      }
      const r = checkBatch(peer, batch, msgs, tooLarge, this.held[i]);
      for (const g of batch.announce) for (const p of g.prefixes) this.unsent[i].delete(p);
      for (const p of batch.withdraw) this.unsent[i].delete(p);
      for (const t of tooLarge) {
        for (const p of t.prefixes) this.unsent[i].add(p);
        this.count(`export: too large for ${peer.opts.extendedMessage ? 65535 : 4096}, not sent (routes)`, t.prefixes.length);
      }
      this.count('export: UPDATEs', r.messages);
      this.count('export: routes announced', r.announced);
      this.count('export: routes withdrawn', r.withdrawn);
    });
  }

  /**
   * The slow checks: each peer holds exactly what the Adj-RIB-Out says it sent, with the same
   * attributes, and that is what it should have (desired), but for the routes too large for it.
   */
  checkConsistency(): void {
    this.peers.forEach((peer, i) => {
      const id = peer.info.id;
      const sent = this.out.sentTo(id);
      const held = this.held[i];
      if (sent.size !== held.size) throw new Failure('consistency', `${id} holds ${held.size} routes, Adj-RIB-Out says ${sent.size} were sent`);
      for (const [p, a] of sent) if (held.get(p) !== receivedKey(a)) throw new Failure('consistency', `${id}: ${String(p)} held as ${held.get(p)}, sent as ${a.key}`);
      for (const e of this.rib.entries()) {
        const want = this.out.desired(id, e.prefix);
        const have = sent.get(e.prefix);
        if (want !== have && !(have === undefined && this.unsent[i].has(e.prefix))) {
          throw new Failure('consistency', `${id}: ${String(e.prefix)} should be ${want?.key ?? 'absent'}, was sent ${have?.key ?? 'nothing'}`);
        }
      }
    });
    this.rib.interner.sweep(); // desired() interns sets nobody retains
  }

  /** The Loc-RIB's refusals so far (loop checks, next hops, policy), as outcomes. */
  countRefusals(): void {
    for (const p of this.peers) for (const [reason, n] of Object.entries(this.rib.refusals(p.info.id))) this.count(`rib: refused ${reason}`, n ?? 0);
  }

  /** Every session down and every own block withdrawn: nothing may be left interned (no leak). */
  drain(): void {
    this.peers.forEach((_, i) => this.flap(i, 'drain'));
    this.exportAll();
    for (const b of LOCAL_BLOCKS) this.changes(this.rib.localRemove(b));
    this.exportAll();
    this.peers.forEach((p) => this.out.peerDown(p.info.id));
    this.rib.interner.sweep();
    if (this.rib.size() !== 0 || this.rib.interner.size() !== 0) {
      throw new Failure('drain', `${this.rib.size()} routes and ${this.rib.interner.size()} attribute sets left after every session ended`);
    }
  }
}
