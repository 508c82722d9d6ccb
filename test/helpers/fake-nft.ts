// A fake nft for in-process tests of host protection (src/agent/kernel/nft-runner.ts NftRunner):
// it keeps the table the last transaction declared and lists it back in nft 1.0.6's JSON shape,
// read from the ruleset text (sets with their elements, the base chain, the rules' comments).
import { NftMissing, type NftRunner } from '../../src/agent/kernel/nft-runner.js';

export class FakeNft implements NftRunner {
  /** The ruleset texts applied, in order. */
  readonly written: string[] = [];
  /** The table's text as the kernel holds it; undefined: no table. */
  table: string | undefined;
  missing = false;

  async version(): Promise<string> {
    if (this.missing) throw new NftMissing('nft not found: install the nftables package (Debian: apt-get install nftables)');
    return 'nftables v1.0.6 (Lester Gooch #5)';
  }

  async apply(text: string): Promise<void> {
    if (this.missing) throw new NftMissing('nft not found');
    this.written.push(text);
    this.table = text.startsWith('delete table') ? undefined : text;
  }

  async list(): Promise<unknown> {
    if (this.table === undefined) return undefined;
    const base = { family: 'inet', table: 'weft' };
    const items: unknown[] = [{ metainfo: { version: '1.0.6', json_schema_version: 1 } }, { table: { family: 'inet', name: 'weft', handle: 1 } }];
    for (const m of this.table.matchAll(/set (\w+) \{ type (\w+);(?: elements = \{ ([^}]*) \})? \}/g)) {
      const elem = m[3] ? m[3].split(',').map((s) => s.trim()) : [];
      items.push({ set: { ...base, name: m[1], type: m[2], handle: items.length, ...(elem.length ? { elem: elem.length === 1 ? elem[0] : elem } : {}) } });
    }
    items.push({ chain: { ...base, name: 'input', handle: 99, type: 'filter', hook: 'input', prio: 0, policy: 'accept' } });
    for (const m of this.table.matchAll(/comment "([^"]*)"/g)) items.push({ rule: { ...base, chain: 'input', handle: items.length, comment: m[1], expr: [{ counter: { packets: 0, bytes: 0 } }, { drop: null }] } });
    return { nftables: items };
  }

  /** The elements of one set in the current table. */
  set(name: string): string[] {
    const m = new RegExp(`set ${name} \\{ type \\w+;(?: elements = \\{ ([^}]*) \\})? \\}`).exec(this.table ?? '');
    return m?.[1] ? m[1].split(',').map((s) => s.trim()) : [];
  }
}
