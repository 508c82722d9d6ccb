// The registry with no etcd at all (an endpoint where nothing listens): starting does not wait
// for etcd, the failure is logged once as membership.store-unavailable and counted, no member or
// block is ever handed to the agent, and stopping returns at once.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EtcdRegistry } from '../../src/agent/membership/registry.js';
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
});
