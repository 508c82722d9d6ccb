// The metrics listener's endpoints on loopback (metrics-http.ts): /metrics, /healthz (200 "ok"),
// /readyz (200 when ready, 503 naming what is not), 404 for anything else; and the readiness
// rules themselves (readiness.ts).
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentMetrics, type MetricsSource } from '../../src/agent/observability/metrics.js';
import { peerAttempted, readiness, type Readiness } from '../../src/agent/observability/readiness.js';

const silent = pino({ level: 'silent' });

describe('metrics listener endpoints', () => {
  let metrics: AgentMetrics | undefined;
  afterEach(async () => {
    await metrics?.close();
    metrics = undefined;
  });

  async function serve(ready: () => Readiness): Promise<string> {
    const src: MetricsSource = { peerStats: () => [], ribSize: () => 0, startedAt: Date.now(), counters: { updatesReceived: 0, updatesSent: 0, bestPathChanges: 0, routesTooLarge: 0 }, ready };
    metrics = new AgentMetrics(src);
    const port = await metrics.listen('127.0.0.1', 0, silent);
    return `http://127.0.0.1:${port}`;
  }

  it('/healthz is 200 "ok"; /metrics is the text format; unknown paths and other methods are 404', async () => {
    const base = await serve(() => ({ ready: false, notReady: ['peer x: no connection attempted yet'] }));
    const h = await fetch(`${base}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.text()).toBe('ok\n');
    const m = await fetch(`${base}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await m.text()).toMatch(/^weft_ready 0$/m);
    for (const path of ['/', '/health', '/metrics/x', '/readyz/']) expect((await fetch(`${base}${path}`)).status, path).toBe(404);
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${base}/healthz?verbose=1`)).status).toBe(200);
  });

  it('/readyz: 503 with one line per reason while not ready, 200 "ready" once ready', async () => {
    let state: Readiness = readiness({ started: true, peers: [{ id: 'node2', attempted: false }, { id: 'tor', attempted: true }], dataplane: { inSync: false } });
    const base = await serve(() => state);
    const r = await fetch(`${base}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.text()).toBe('not ready:\n- peer node2: no connection attempted yet\n- dataplane: kernel not in sync yet (changes queued or being written)\n');
    state = readiness({ started: true, peers: [{ id: 'node2', attempted: true }, { id: 'tor', attempted: true }], dataplane: { inSync: true } });
    const ok = await fetch(`${base}/readyz`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('ready\n');
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^weft_ready 1$/m);
  });
});

describe('readiness', () => {
  it('not started, a peer not attempted, the data plane not in sync: each named; no data plane is no reason', () => {
    expect(readiness({ started: false, peers: [], dataplane: undefined })).toEqual({ ready: false, notReady: ['agent: still starting (the BGP listener is not open yet)'] });
    expect(readiness({ started: true, peers: [{ id: 'a', attempted: true }], dataplane: undefined })).toEqual({ ready: true, notReady: [] });
    expect(readiness({ started: true, peers: [], dataplane: { inSync: false } }).notReady).toEqual(['dataplane: kernel not in sync yet (changes queued or being written)']);
  });

  it('a peer counts as attempted once its FSM left Idle, or it was up, dialled in vain or heard from before', () => {
    const p = (name: string, c: Partial<{ establishedTransitions: number; dialTimeouts: number; messagesIn: number }> = {}) => ({
      state: { name },
      counters: { establishedTransitions: 0, dialTimeouts: 0, messagesIn: 0, ...c },
    });
    expect(peerAttempted(p('Idle'))).toBe(false);
    for (const s of ['Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established']) expect(peerAttempted(p(s)), s).toBe(true);
    expect(peerAttempted(p('Idle', { establishedTransitions: 1 }))).toBe(true);
    expect(peerAttempted(p('Idle', { dialTimeouts: 2 }))).toBe(true);
    expect(peerAttempted(p('Idle', { messagesIn: 1 }))).toBe(true);
  });
});
