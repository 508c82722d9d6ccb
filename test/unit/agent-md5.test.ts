// TCP MD5 in the agent, in-process (manual scheduler, in-memory transport): every dial carries its
// peer's password, the listening socket gets the keys before it listens and follows the peers on
// reload, and status shows md5 (never the key) with a diagnosis once a dial timed out.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { parseAgentConfig, type LoadedConfig } from '../../src/agent/config/agent-config.js';
import type { BoundServer, Transport } from '../../src/agent/io/transport.js';
import { ManualScheduler, MemoryTransport } from '../helpers/manual-io.js';

const silent = pino({ level: 'silent' });

/** Node 10.0.0.5: it dials mesh node b (10.0.0.2 sorts lower), c (10.0.0.7) dials it; one external peer. */
const config = (meshPassword: string, external: boolean): LoadedConfig =>
  parseAgentConfig(
    {
      node: { name: 'a', asn: 64512, address: '10.0.0.5/24' },
      mesh: { nodes: [{ name: 'b', address: '10.0.0.2' }, { name: 'c', address: '10.0.0.7' }], password: meshPassword },
      peers: external ? [{ name: 'tor', address: '10.0.0.9', asn: 65001, password: 'tor-key' }] : [],
      pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }],
      timers: { holdTime: 9, keepalive: 3, connectRetry: 5 },
      dataplane: { enabled: false },
      metrics: { listen: false },
    },
    'test',
  );

describe('TCP MD5 in the agent (in-process)', () => {
  it('dials carry the password; the listener keys follow the peers at start and on reload; status never shows a key', async () => {
    const scheduler = new ManualScheduler();
    const transport = new MemoryTransport(scheduler, '10.0.0.5');
    const keys: Record<string, string>[] = [];
    const listen = transport.listen.bind(transport);
    const seam: Transport = transport;
    seam.listen = async (host, port, onConnection, options): Promise<BoundServer> => {
      keys.push(Object.fromEntries(options?.passwords ?? []));
      const bound = await listen(host, port, onConnection);
      return { port: bound.port, close: () => bound.close(), setPasswords: (m) => void keys.push(Object.fromEntries(m)) };
    };
    let next = config('mesh-key', true);
    const agent = new Agent(next, silent, { controlSocket: false, scheduler, transport, loadConfig: () => next });
    await agent.start();
    await scheduler.runDue();

    // The keys were on the socket when it started listening (every peer already configured).
    expect(keys[0]).toEqual({ '10.0.0.2': 'mesh-key', '10.0.0.7': 'mesh-key', '10.0.0.9': 'tor-key' });
    const dialled = Object.fromEntries(transport.dials.map((d) => [d.options.host, d.options.password]));
    // c dials this node; its session still dials c once at start (issue 15, dialOnStart), with the key.
    expect(dialled).toEqual({ '10.0.0.2': 'mesh-key', '10.0.0.7': 'mesh-key', '10.0.0.9': 'tor-key' });

    // Nobody answers: the ConnectRetry timer gives up on the dials, and status says what it can.
    await scheduler.advance(5001);
    const st = await agent.request({ op: 'status' });
    if (!st.ok) throw new Error(st.error);
    const rows = Object.fromEntries(st.status.peers.map((p) => [p.id, p]));
    expect(rows.b!.md5).toBe(true);
    expect(rows.b!.md5Diagnosis).toMatch(/^no TCP connection completed \(1 dial attempt timed out\); MD5 configured: check the password at both ends/);
    expect(rows.c!.md5).toBe(true);
    // c's one dial at start timed out too (a wrong key looks the same), and status says so.
    expect(rows.c!.md5Diagnosis).toMatch(/^no TCP connection completed \(1 dial attempt timed out\) and none from the peer reached weft; MD5 configured/);
    expect(JSON.stringify(st)).not.toMatch(/mesh-key|tor-key/);

    // Reload: a new mesh key, the external peer gone. The socket's keys follow; new dials use the new key.
    next = config('new-key', false);
    const r = agent.reload();
    expect(r.removed).toEqual(['tor']);
    expect(r.changed.sort()).toEqual(['b', 'c']);
    expect(keys.at(-1)).toEqual({ '10.0.0.2': 'new-key', '10.0.0.7': 'new-key' });
    await scheduler.runDue();
    expect(transport.pendingDial('10.0.0.2')?.options.password).toBe('new-key');
    await agent.shutdown();
  });

  it('no password, no key asked for: the listening socket gets an empty key set, dials none', async () => {
    const scheduler = new ManualScheduler();
    const transport = new MemoryTransport(scheduler, '10.0.0.5');
    const seen: (ReadonlyMap<string, string> | undefined)[] = [];
    const listen = transport.listen.bind(transport);
    const seam: Transport = transport;
    seam.listen = (host, port, onConnection, options) => {
      seen.push(options?.passwords);
      return listen(host, port, onConnection);
    };
    const { config: c } = config('x', false);
    const loaded = { config: { ...c, mesh: { ...c.mesh, password: undefined } }, warnings: [], source: 'test' };
    const agent = new Agent(loaded, silent, { controlSocket: false, scheduler, transport });
    await agent.start();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.size).toBe(0);
    // b's dial, and the one dial at start towards c (which dials this node): no key on either.
    expect(transport.dials.map((d) => d.options.password)).toEqual([undefined, undefined]);
    await agent.shutdown();
  });
});
