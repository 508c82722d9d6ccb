/**
 * Conformance scenarios for the agent layer, after holo-bgp's tests/conformance: a folder under
 * test/conformance/ holds `scenario.yaml` (an agent configuration, the scripted peers and a list of
 * input steps: dials answered, connections made, messages sent, time advanced, control requests,
 * reloads) and `expected.json` (the golden transcript: what weft did after each step: dials,
 * messages it sent, connections it closed, state changes, chosen log events, control replies,
 * and the Loc-RIB at the end). The whole Agent runs in-process on the manual scheduler and the
 * in-memory transport (manual-io.ts); nothing touches the network or the kernel.
 *
 * `WEFT_UPDATE_GOLDEN=1 npx vitest run test/unit/agent-conformance.test.ts` rewrites the golden
 * files; review the diff like code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parse } from 'yaml';
import { Agent } from '../../src/agent/agent.js';
import { parseAgentConfig, type LoadedConfig } from '../../src/agent/config/agent-config.js';
import { MemoryKernel } from '../../src/dataplane/memory-kernel.js';
import type { ControlRequest } from '../../src/agent/control/protocol.js';
import { ManualScheduler, MemoryTransport, type Dial } from './manual-io.js';
import { ScriptedPeer, summarise, type ScriptedPeerConfig, type SendSpec } from './scripted-peer.js';

export type Step =
  | { note: string }
  | { dial: string; answer: 'accept' | 'refuse' }
  | { connect: string }
  | { send: SendSpec & { peer: string } }
  | { close: string }
  | { advance: number }
  | { control: ControlRequest; pick?: string[] }
  | { reload: Record<string, unknown> }
  | { connectUnknown: string; times: number };

export interface Scenario {
  description: string;
  config: Record<string, unknown>;
  peers: Record<string, ScriptedPeerConfig>;
  /** weft routes already in the kernel at start (a restart), with the data plane on: MemRoute fields. */
  kernelRoutes?: { dst: string; gateway?: string; dev?: string; type?: string; protocol?: string }[];
  /** Log events (by name) that go into the transcript. */
  logEvents?: string[];
  steps: Step[];
}

export interface Observation {
  step: number;
  t: number;
  did: Step;
  observed: unknown[];
}

export interface Transcript {
  description: string;
  steps: Observation[];
  rib: unknown[];
}

const DEFAULT_LOG_EVENTS = ['session.internal-error', 'agent.route-too-large', 'listener.refused-summary', 'agent.policy-reapplied', 'session.promoted', 'session.collision'];

/** The agent configuration of a scenario, with the data plane, metrics and control socket off. */
function loaded(config: Record<string, unknown>): LoadedConfig {
  return parseAgentConfig({ dataplane: { enabled: false }, metrics: { listen: false }, ...config }, 'scenario.yaml');
}

export async function runScenario(dir: string): Promise<Transcript> {
  const sc = parse(readFileSync(join(dir, 'scenario.yaml'), 'utf8'), { merge: true }) as Scenario;
  const scheduler = new ManualScheduler();
  const node = (sc.config.node as { address: string }).address.split('/')[0];
  const transport = new MemoryTransport(scheduler, node);
  const logLines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const log = pino({ level: 'debug', base: null, timestamp: false }, sink);
  let nextConfig = loaded(sc.config);
  // With the data plane on, the kernel is a MemoryKernel holding the node's underlay interface;
  // the transcript then shows every ip/bridge line weft writes.
  const kernel = nextConfig.config.dataplane.enabled ? new MemoryKernel() : undefined;
  kernel?.addLink({ name: 'eth0', mtu: 1500, addrs: [String(sc.config.node && (sc.config.node as { address: string }).address)] });
  for (const r of sc.kernelRoutes ?? []) kernel?.addRoute({ protocol: 'weft', ...r });
  let linesSeen = 0;
  const agent = new Agent(nextConfig, log, { controlSocket: false, scheduler, transport, ipDriver: kernel, loadConfig: () => nextConfig });
  /** Lets the data plane's batch window pass, so what a step changed reaches the kernel. */
  const kernelTurn = async () => {
    if (kernel) await scheduler.advance(50);
  };

  const conns = new Map<string, ScriptedPeer>();
  const allConns: { addr: string; peer: ScriptedPeer; closedSeen: boolean }[] = [];
  const seenDials = new Set<Dial>();
  const states = new Map<string, string>();
  let logSeen = 0;
  const wanted = new Set([...DEFAULT_LOG_EVENTS, ...(sc.logEvents ?? [])]);
  const peerConfig = (addr: string): ScriptedPeerConfig => {
    const c = sc.peers[addr];
    if (!c) throw new Error(`scenario: no scripted peer ${addr} in peers:`);
    return c;
  };
  const attach = (addr: string, end: import('./manual-io.js').PipeEnd) => {
    const p = new ScriptedPeer(end, peerConfig(addr));
    conns.set(addr, p);
    allConns.push({ addr, peer: p, closedSeen: false });
  };

  const observe = (): unknown[] => {
    const out: unknown[] = [];
    for (const d of transport.dials) {
      if (!seenDials.has(d)) {
        seenDials.add(d);
        out.push({ dial: d.options.host });
      }
    }
    for (const c of allConns) {
      const msgs = c.peer.take();
      if (msgs.length) out.push({ sent: c.addr, messages: msgs.map(summarise) });
      if (c.peer.errors.length) out.push({ undecodable: c.addr, errors: c.peer.errors.splice(0) });
      if (c.peer.closed && !c.closedSeen) {
        c.closedSeen = true;
        out.push({ closed: c.addr });
      }
    }
    for (const e of agent.entries.values()) {
      const name = e.peer.state.name;
      if (states.get(e.spec.id) !== name) {
        out.push({ state: e.spec.id, to: name });
        states.set(e.spec.id, name);
      }
    }
    if (kernel && kernel.written.length > linesSeen) {
      out.push({ kernel: kernel.written.slice(linesSeen).map((w) => (w.tool === 'ip' ? w.line : `bridge ${w.line}`)) });
      linesSeen = kernel.written.length;
    }
    for (; logSeen < logLines.length; logSeen++) {
      const l = logLines[logSeen];
      if (!wanted.has(String(l.event))) continue;
      const { level: _l, msg: _m, err, ...rest } = l;
      out.push({ log: rest, ...(err ? { error: (err as { message?: string }).message ?? String(err) } : {}) });
    }
    return out;
  };

  const transcript: Transcript = { description: sc.description, steps: [], rib: [] };
  await pumpUntil(scheduler, agent.start());
  await kernelTurn();
  transcript.steps.push({ step: 0, t: scheduler.now(), did: { note: 'agent started' }, observed: observe() });
  try {
    for (const [i, step] of sc.steps.entries()) {
      const extra: unknown[] = [];
      if ('dial' in step) {
        const d = transport.pendingDial(step.dial);
        if (!d) throw new Error(`step ${i + 1}: weft has no pending dial to ${step.dial}`);
        if (step.answer === 'accept') attach(step.dial, transport.accept(d));
        else transport.refuse(d);
      } else if ('connect' in step) {
        const end = transport.connectFrom(step.connect);
        if (!end) extra.push({ refused: step.connect, why: 'nothing listens' });
        else attach(step.connect, end);
      } else if ('connectUnknown' in step) {
        for (let k = 0; k < step.times; k++) transport.connectFrom(step.connectUnknown)?.on('error', () => undefined);
      } else if ('send' in step) {
        const { peer, ...spec } = step.send;
        const c = conns.get(peer);
        if (!c || c.closed) throw new Error(`step ${i + 1}: no open connection with ${peer}`);
        c.send(spec);
      } else if ('close' in step) {
        conns.get(step.close)?.close();
      } else if ('advance' in step) {
        await scheduler.advance(step.advance);
      } else if ('control' in step) {
        await scheduler.runDue();
        const r = await agent.request(step.control);
        extra.push({ reply: pick(r, step.pick) });
      } else if ('reload' in step) {
        nextConfig = loaded(step.reload);
        const r = await agent.request({ op: 'reload' });
        extra.push({ reply: r });
      }
      await scheduler.runDue();
      await kernelTurn();
      transcript.steps.push({ step: i + 1, t: scheduler.now(), did: step, observed: [...extra, ...observe()] });
    }
    const routes = await agent.request({ op: 'routes' });
    transcript.rib = routes.ok ? routes.routes.map((r) => ({ prefix: r.prefix, peer: r.peer, nextHop: r.nextHop, asPath: r.asPath })) : [routes.error];
  } finally {
    await pumpUntil(scheduler, agent.shutdown('scenario over'));
    await scheduler.advance(5000);
  }
  return transcript;
}

/**
 * Waits for `p` while moving the manual clock in 10 ms steps: the agent's start and stop wait on
 * the data plane's first pass, which runs on that clock.
 */
async function pumpUntil<T>(scheduler: ManualScheduler, p: Promise<T>): Promise<T> {
  let done = false;
  const q = p.finally(() => void (done = true));
  for (let i = 0; i < 1000 && !done; i++) await scheduler.advance(10);
  return q;
}

/** Only the named top-level fields (dotted paths into objects), and never the process's memory. */
function pick(v: unknown, paths: string[] | undefined): unknown {
  if (!paths) return strip(v);
  const out: Record<string, unknown> = {};
  for (const p of paths) {
    let cur: unknown = v;
    for (const k of p.split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined;
    out[p] = strip(cur);
  }
  return out;
}

function strip(v: unknown): unknown {
  if (v === undefined) return null;
  return JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === 'memory' ? undefined : x))) as unknown;
}
