// The registry with no etcd at all (an endpoint where nothing listens): starting does not wait
// for etcd, the failure is logged once as membership.store-unavailable and counted, no member or
// block is ever handed to the agent, and stopping returns at once.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdRegistry } from '../../src/agent/membership/registry.js';
import { readRegistryCache, writeRegistryCache } from '../../src/agent/membership/registry-cache.js';
import { formatPrefix, parsePrefix } from '../../src/lib/prefix.js';
import { waitFor } from '../helpers/wait.js';

describe('etcd registry without etcd', () => {
  it('starts at once, logs the store as unavailable (once), applies nothing, stops at once', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk)) as Record<string, unknown>), done()) });
    const log = pino({ level: 'info' }, sink);
    const seen: string[] = [];
    const registry = new EtcdRegistry(
      { endpoints: ['http://127.0.0.1:1'], prefix: '/weft', leaseTtl: 5, role: 'mesh' },
      { name: 'a', asn: 64512, address: '10.0.0.1', pools: [], autoBlocks: 1, staticBlocks: () => [], role: 'mesh' },
      { nodes: (n) => seen.push(`nodes ${n.length}`), blocks: (b) => seen.push(`blocks ${b.length}`) },
      log,
    );
    const t0 = Date.now();
    await registry.start();
    expect(Date.now() - t0).toBeLessThan(1000);
    await waitFor(() => registry.stats.storeErrors >= 3, { what: 'three failed attempts', timeoutMs: 15_000, intervalMs: 100 });
    const unavailable = lines.filter((l) => l.event === 'membership.store-unavailable');
    expect(unavailable.length).toBe(1);
    expect(unavailable[0]).toMatchObject({ during: 'register', endpoints: ['http://127.0.0.1:1'] });
    expect(registry.stats.up).toBe(false);
    expect(seen).toEqual([]);
    const t1 = Date.now();
    await registry.stop();
    expect(Date.now() - t1).toBeLessThan(1500);
  }, 30_000);

  // An agent restarted while etcd is away: the cache file gives the last members and claimed
  // blocks at once (as Calico's BIRD restarts from the last bird.conf), checked like registry data.
  const pools = [{ cidr: parsePrefix('10.244.0.0/16'), blockSize: 26 }];
  const b = { version: 1, name: 'b', address: '10.0.0.2', asn: 64512, blocks: ['10.244.2.0/26'] };

  it('starts from the cache file: members and blocks at once, bad entries refused and logged, the file left alone while etcd is away', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-cache-'));
    try {
      const path = join(dir, 'a.registry.json');
      writeRegistryCache(path, 'a', [b as never], [parsePrefix('10.244.1.0/26')]);
      const good = JSON.parse(readFileSync(path, 'utf8')) as { members: unknown[]; blocks: string[] };
      // Another writer's damage: a record that does not validate, a block outside the pools.
      good.members.push({ version: 1, name: 'c', address: 'not-an-address', asn: 64512, blocks: [] });
      good.blocks.push('192.0.2.0/26');
      writeFileSync(path, JSON.stringify({ ...good, version: 1, node: 'a' }));
      const before = readFileSync(path, 'utf8');
      const lines: Record<string, unknown>[] = [];
      const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk)) as Record<string, unknown>), done()) });
      const seen: string[] = [];
      const registry = new EtcdRegistry(
        { endpoints: ['http://127.0.0.1:1'], prefix: '/weft', leaseTtl: 5, role: 'mesh' },
        { name: 'a', asn: 64512, address: '10.0.0.1', pools, autoBlocks: 1, staticBlocks: () => [], role: 'mesh', cachePath: path },
        { nodes: (n) => seen.push(`nodes ${n.map((x) => `${x.name}@${x.address}`).join(',')}`), blocks: (bl) => seen.push(`blocks ${bl.map(formatPrefix).join(',')}`) },
        pino({ level: 'info' }, sink),
      );
      await registry.start();
      expect(seen).toEqual(['nodes b@10.0.0.2', 'blocks 10.244.1.0/26']);
      const refused = lines.filter((l) => l.event === 'membership.cache-refused').map((l) => l.what);
      expect(refused).toEqual([`${path}: members[1]`, `${path}: blocks[1]`]);
      expect(registry.stats.refused).toBe(2);
      expect(lines.find((l) => l.event === 'membership.cache-loaded')).toMatchObject({ path, members: 1, blocks: ['10.244.1.0/26'] });
      await waitFor(() => registry.stats.storeErrors >= 2, { what: 'two failed attempts', timeoutMs: 15_000, intervalMs: 100 });
      await registry.stop();
      // Nothing from etcd yet: the cache is not rewritten (an empty block list would lose the claims).
      expect(readFileSync(path, 'utf8')).toBe(before);
      expect(seen).toEqual(['nodes b@10.0.0.2', 'blocks 10.244.1.0/26']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it("refuses a cache written for another node, and reads no cache that is not there", () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-cache-'));
    try {
      const path = join(dir, 'x.json');
      const why: string[] = [];
      const self = { name: 'a', asn: 64512, pools };
      expect(readRegistryCache(path, self, (w, r) => why.push(`${w}: ${r}`))).toBeUndefined();
      expect(why).toEqual([]);
      writeRegistryCache(path, 'other', [b as never], []);
      expect(readRegistryCache(path, self, (w, r) => why.push(`${w}: ${r}`))).toBeUndefined();
      expect(why).toEqual([`${path}: written for node "other", this node is "a"`]);
      writeFileSync(path, '{"version":1');
      expect(readRegistryCache(path, self, (w, r) => why.push(`${w}: ${r}`))).toBeUndefined();
      expect(why[1]).toBe(`${path}: not JSON`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
