// The block allocator against a real etcd (Debian's 3.4 on the host's loopback, free ports, a
// temp data dir): many clients claim at once through their own connections and compare-and-set
// transactions. Checked: no block is ever held twice (in the store and in what each client
// believes), a full pool says so, released blocks are claimed again, a restart finds its blocks.
import { writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { main } from '../../src/cli/main.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPrefix, parsePrefix, type Prefix } from '../../src/lib/prefix.js';
import { connectEtcd, type Etcd3 } from '../../src/agent/membership/etcd-client.js';
import { readClaims, RegistryBlocks } from '../../src/agent/membership/registry-blocks.js';
import { EtcdRegistry } from '../../src/agent/membership/registry.js';
import { waitFor } from '../helpers/wait.js';
import { Lab } from '../helpers/netns.js';
import { etcdSkipReason, makeTls, startEtcd, type EtcdCluster } from '../helpers/etcd.js';

const skipReason = etcdSkipReason();
if (skipReason) console.warn(`etcd-allocator skipped: ${skipReason}`);

const log = pino({ level: 'silent' });
const ROOT = '/weft-test';

describe.skipIf(skipReason !== undefined)('block allocator on a real etcd', () => {
  let lab: Lab;
  let etcd: EtcdCluster;
  const clients: Etcd3[] = [];

  beforeAll(async () => {
    lab = Lab.create();
    etcd = await startEtcd(lab);
    // Ten connections, as ten hosts' agents would have; the 100 claimers share them round robin.
    for (let i = 0; i < 10; i++) clients.push(await connectEtcd({ endpoints: etcd.endpoints, prefix: ROOT, leaseTtl: 10, role: 'mesh' }));
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  const stats = () => ({ claims: 0, claimConflicts: 0 });
  const owner = (name: string, pools: { cidr: Prefix; blockSize: number }[], refused: string[] = []) => ({
    name,
    pools,
    log,
    stats: stats(),
    refused: (key: string, why: string) => refused.push(`${key}: ${why}`),
  });

  it('100 hosts claiming at once in a pool of 64 blocks: 64 distinct owners, 36 told the pool is full; released blocks are reused', async () => {
    const pool = { cidr: parsePrefix('10.250.0.0/20'), blockSize: 26 };
    const root = `${ROOT}/full`;
    const hosts = Array.from({ length: 100 }, (_, i) => new RegistryBlocks(clients[i % clients.length], root, owner(`host-${i}`, [pool])));
    const results = await Promise.allSettled(hosts.map((h) => h.claimOne()));
    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [formatPrefix(r.value)] : []));
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    expect(won.length).toBe(64);
    expect(new Set(won).size).toBe(64);
    expect(lost.length).toBe(36);
    for (const m of lost) expect(m).toMatch(/^every pool is full: no free block in 10\.250\.0\.0\/20/);
    // The store agrees: 64 keys, each block's owner is the host that believes it holds it.
    const claims = await readClaims(clients[0], root);
    expect(claims.size).toBe(64);
    hosts.forEach((h, i) => {
      for (const b of h.owned()) expect(claims.get(b)).toBe(`host-${i}`);
    });

    // Ten holders give their block back; ten of the hosts that lost claim again and get exactly those.
    const holders = hosts.filter((h) => h.owned().length === 1).slice(0, 10);
    const released = holders.map((h) => formatPrefix(h.owned()[0])).sort();
    await Promise.all(holders.map((h) => h.release(h.owned()[0])));
    const losers = hosts.filter((h) => h.owned().length === 0).slice(0, 10);
    const again = await Promise.all(losers.map((h) => h.claimOne()));
    expect(again.map(formatPrefix).sort()).toEqual(released);
    const after = await readClaims(clients[0], root);
    expect(after.size).toBe(64);
    expect(new Set(after.values()).size).toBe(64);
  }, 60_000);

  it('30 hosts claiming 3 blocks each at once in a /16: 90 distinct blocks; a restarted host finds its own', async () => {
    const pool = { cidr: parsePrefix('10.251.0.0/16'), blockSize: 26 };
    const root = `${ROOT}/many`;
    const hosts = Array.from({ length: 30 }, (_, i) => new RegistryBlocks(clients[i % clients.length], root, owner(`node-${i}`, [pool])));
    await Promise.all(hosts.map((h) => h.initial(3)));
    const all = hosts.flatMap((h) => h.owned().map(formatPrefix));
    expect(all.length).toBe(90);
    expect(new Set(all).size).toBe(90);
    const claims = await readClaims(clients[0], root);
    expect(claims.size).toBe(90);
    // A restart: a new instance for node-7 claims nothing new and holds the same three blocks.
    const again = new RegistryBlocks(clients[3], root, owner('node-7', [pool]));
    expect(await again.initial(3)).toBe(false);
    expect(again.owned().map(formatPrefix)).toEqual(hosts[7].owned().map(formatPrefix));
    expect((await readClaims(clients[0], root)).size).toBe(90);
  }, 60_000);

  it('a bad block key or owner is refused with its key, and its block is never handed out', async () => {
    const pool = { cidr: parsePrefix('10.252.0.0/24'), blockSize: 26 };
    const root = `${ROOT}/bad`;
    await etcd.ctl(['put', `${root}/blocks/10.252.0.0-24/10.252.0.0-26`, '']);
    await etcd.ctl(['put', `${root}/blocks/garbage`, 'x']);
    const refused: string[] = [];
    const h = new RegistryBlocks(clients[0], root, owner('solo', [pool], refused));
    await h.initial(3);
    expect(h.owned().map(formatPrefix).sort()).toEqual(['10.252.0.128/26', '10.252.0.192/26', '10.252.0.64/26']);
    expect(refused).toEqual([
      `${root}/blocks/10.252.0.0-24/10.252.0.0-26: owner "" is not a node name`,
      `${root}/blocks/garbage: not a block key (${root}/blocks/<pool>/<block>)`,
    ]);
  }, 30_000);

  /** `weft ARGS` in-process: exit status and what it printed. */
  async function weft(args: string[]): Promise<{ status: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const io = { out: (t: string) => (out += t), err: (t: string) => (err += t), readStdin: async () => new Uint8Array(), stdinIsTty: () => true, stdoutIsTty: () => false };
    const status = await main(args, io);
    return { status, out, err };
  }

  it("weft node list / delete: a gone host's claims go back to the pool; a registered host is refused unless --force", async () => {
    const root = `${ROOT}/admin`;
    const pool = { cidr: parsePrefix('10.253.0.0/24'), blockSize: 26 };
    const a = new RegistryBlocks(clients[0], root, owner('gone', [pool]));
    const b = new RegistryBlocks(clients[1], root, owner('alive', [pool]));
    await a.initial(2);
    await b.initial(1);
    await etcd.ctl(['put', `${root}/nodes/alive`, JSON.stringify({ version: 1, name: 'alive', address: '10.9.0.2', asn: 64512, blocks: b.ownedText() })]);
    const conf = lab.path('admin.yaml');
    writeFileSync(conf, JSON.stringify({ node: { name: 'x', asn: 64512, address: '10.9.0.1/24' }, pools: [{ cidr: '10.253.0.0/24', blockSize: 26 }], membership: { etcd: { endpoints: etcd.endpoints, prefix: root } } }));

    const list = await weft(['node', 'list', '-c', conf, '--json']);
    expect(list.err).toBe('');
    expect(list.status).toBe(0);
    expect(JSON.parse(list.out)).toEqual([
      { name: 'alive', registered: true, address: '10.9.0.2', blocks: b.ownedText() },
      { name: 'gone', registered: false, blocks: a.ownedText() },
    ]);

    const refused = await weft(['node', 'delete', 'alive', '-c', conf]);
    expect(refused.status).toBe(1);
    expect(refused.err).toContain(`alive is still registered (${root}/nodes/alive exists`);

    const del = await weft(['node', 'delete', 'gone', '-c', conf, '--json']);
    expect(del.status).toBe(0);
    expect(JSON.parse(del.out)).toMatchObject({ name: 'gone', recordDeleted: false, released: a.ownedText().map((t) => `10.253.0.0-24/${t.replace('/', '-')}`) });
    const claims = await readClaims(clients[0], root);
    expect([...claims.values()]).toEqual(['alive']);
    // The released blocks are handed out again.
    const c = new RegistryBlocks(clients[2], root, owner('new', [pool]));
    await c.initial(3);
    const all = ['10.253.0.0/26', '10.253.0.64/26', '10.253.0.128/26', '10.253.0.192/26'];
    expect(c.ownedText().sort()).toEqual(all.filter((t) => t !== b.ownedText()[0]).sort());
    for (const t of a.ownedText()) expect(c.ownedText()).toContain(t);

    const forced = await weft(['node', 'delete', 'alive', '-c', conf, '--force']);
    expect(forced.status).toBe(0);
    expect(forced.out).toBe(`alive: record deleted; 1 block claim(s) released: 10.253.0.0-24/${b.ownedText()[0].replace('/', '-')}\n`);
    expect(await weft(['node', 'list', '-c', conf, '--json']).then((r) => JSON.parse(r.out).map((n: { name: string }) => n.name))).toEqual(['new']);
  }, 30_000);

  it('user/password: an agent with the right password registers and claims under a role limited to its prefix; a wrong one is logged, never applied', async () => {
    const secured = await startEtcd(lab);
    try {
      const root = ['--user', 'root:rootpw'];
      await secured.ctl(['user', 'add', 'root:rootpw']);
      await secured.ctl(['user', 'add', 'weft:weftpw']);
      await secured.ctl(['role', 'add', 'weft']);
      await secured.ctl(['role', 'grant-permission', 'weft', '--prefix=true', 'readwrite', '/secure/']);
      await secured.ctl(['user', 'grant-role', 'weft', 'weft']);
      await secured.ctl(['auth', 'enable']);
      const pool = { cidr: parsePrefix('10.254.0.0/24'), blockSize: 26 };
      const run = (password: string, lines: string[]) => {
        const got: string[] = [];
        const reg = new EtcdRegistry(
          { endpoints: secured.endpoints, prefix: '/secure', leaseTtl: 5, role: 'mesh', username: 'weft', password },
          { name: 'sec-a', asn: 64512, address: '10.9.0.1', pools: [pool], autoBlocks: 1, staticBlocks: () => [], role: 'mesh' },
          { nodes: () => undefined, blocks: (b) => got.push(...b.map(formatPrefix)) },
          pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }),
        );
        return { reg, got };
      };
      const goodLines: string[] = [];
      const good = run('weftpw', goodLines);
      await good.reg.start();
      await waitFor(() => good.got.length === 1, { what: 'a block claimed with user/password', timeoutMs: 15_000, intervalMs: 100, diagnose: () => goodLines.join('') });
      expect((await secured.ctl([...root, 'get', '/secure/nodes/sec-a', '--print-value-only'])).stdout).toContain('"name":"sec-a"');
      expect((await secured.ctl([...root, 'get', `/secure/blocks/10.254.0.0-24/${good.got[0].replace('/', '-')}`, '--print-value-only'])).stdout.trim()).toBe('sec-a');
      await good.reg.stop();

      const badLines: string[] = [];
      const bad = run('wrong', badLines);
      await bad.reg.start();
      await waitFor(() => bad.reg.stats.storeErrors >= 2, { what: 'failed attempts with a wrong password', timeoutMs: 15_000, intervalMs: 100 });
      const unavailable = badLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'membership.store-unavailable');
      expect(unavailable.length).toBe(1);
      expect(String(unavailable[0].error)).toMatch(/authentication failed|invalid auth|password/i);
      expect(bad.got).toEqual([]);
      await bad.reg.stop();
    } finally {
      await secured.stopAll();
    }
  }, 60_000);

  it('TLS with client certificates: an agent with the CA and its certificate registers and claims; without a client certificate it is refused and logged', async () => {
    const tls = await makeTls(lab.dir);
    const secured = await startEtcd(lab, { tls });
    try {
      const pool = { cidr: parsePrefix('10.254.1.0/24'), blockSize: 26 };
      const run = (withCert: boolean, lines: string[]) => {
        const got: string[] = [];
        const reg = new EtcdRegistry(
          { endpoints: secured.endpoints, prefix: '/tls', leaseTtl: 5, role: 'mesh', tls: { ca: tls.ca, ...(withCert ? { cert: tls.clientCert, key: tls.clientKey } : {}) } },
          { name: 'tls-a', asn: 64512, address: '10.9.0.1', pools: [pool], autoBlocks: 1, staticBlocks: () => [], role: 'mesh' },
          { nodes: () => undefined, blocks: (b) => got.push(...b.map(formatPrefix)) },
          pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }),
        );
        return { reg, got };
      };
      const goodLines: string[] = [];
      const good = run(true, goodLines);
      await good.reg.start();
      await waitFor(() => good.got.length === 1, { what: 'a block claimed over TLS', timeoutMs: 15_000, intervalMs: 100, diagnose: () => goodLines.join('') });
      expect((await secured.ctl(['get', '/tls/nodes/tls-a', '--print-value-only'])).stdout).toContain('"name":"tls-a"');
      await good.reg.stop();

      const badLines: string[] = [];
      const bad = run(false, badLines);
      await bad.reg.start();
      await waitFor(() => bad.reg.stats.storeErrors >= 2, { what: 'failed attempts without a client certificate', timeoutMs: 20_000, intervalMs: 100 });
      expect(badLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'membership.store-unavailable').length).toBe(1);
      expect(bad.got).toEqual([]);
      await bad.reg.stop();
    } finally {
      await secured.stopAll();
    }
  }, 60_000);
});
