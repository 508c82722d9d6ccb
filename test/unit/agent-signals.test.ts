// `weft agent` signal handling (src/cli/agent.ts installSignals): handlers exist before start(),
// a SIGHUP during start is remembered and reloads once started, a stop request waits for start.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { installSignals, type SignalTarget } from '../../src/cli/agent.js';

class FakeProcess extends EventEmitter {
  send(sig: NodeJS.Signals): void {
    // What Node does with no listener for SIGHUP/SIGTERM: the process dies.
    if (this.listenerCount(sig) === 0) throw new Error(`${sig} with no handler: the process would be killed`);
    this.emit(sig);
  }
}

function fakeLog() {
  const lines: Record<string, unknown>[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg?: string) => lines.push({ level, msg, ...fields });
  return { log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as never, lines };
}

function fakeAgent(opts: { reloadThrows?: boolean } = {}) {
  const calls: string[] = [];
  const agent: SignalTarget = {
    reload: () => {
      calls.push('reload');
      if (opts.reloadThrows) throw new Error('reload refused');
      return {};
    },
    shutdown: async () => {
      calls.push('shutdown');
    },
  };
  return { agent, calls };
}

describe('installSignals', () => {
  it('SIGHUP before start() has finished does not kill the agent; the reload runs once, when started', async () => {
    const proc = new FakeProcess();
    const { log, lines } = fakeLog();
    const s = installSignals(proc, log);
    const { agent, calls } = fakeAgent();
    proc.send('SIGHUP');
    proc.send('SIGHUP');
    expect(calls).toEqual([]);
    expect(lines.filter((l) => l.event === 'agent.reload-deferred')).toHaveLength(1);
    s.started(agent);
    expect(calls).toEqual(['reload']);
    // After the start every SIGHUP reloads; a failed reload keeps the agent running.
    proc.send('SIGHUP');
    expect(calls).toEqual(['reload', 'reload']);
    proc.send('SIGTERM');
    await s.stopped;
    expect(calls).toEqual(['reload', 'reload', 'shutdown']);
    expect(proc.listenerCount('SIGHUP') + proc.listenerCount('SIGTERM') + proc.listenerCount('SIGINT')).toBe(0);
  });

  it('a failing reload is swallowed (the agent logs it)', () => {
    const proc = new FakeProcess();
    const s = installSignals(proc, fakeLog().log);
    const { agent, calls } = fakeAgent({ reloadThrows: true });
    s.started(agent);
    expect(() => proc.send('SIGHUP')).not.toThrow();
    expect(calls).toEqual(['reload']);
  });

  it('SIGTERM during start: shut down as soon as started, no reload', async () => {
    const proc = new FakeProcess();
    const { log, lines } = fakeLog();
    const s = installSignals(proc, log);
    const { agent, calls } = fakeAgent();
    proc.send('SIGHUP');
    proc.send('SIGINT');
    proc.send('SIGTERM');
    expect(lines.map((l) => l.event)).toEqual(['agent.reload-deferred', 'agent.shutdown-deferred']);
    s.started(agent);
    await s.stopped;
    expect(calls).toEqual(['shutdown']);
  });

  it('a failed start removes the handlers', () => {
    const proc = new FakeProcess();
    const s = installSignals(proc, fakeLog().log);
    expect(proc.listenerCount('SIGHUP')).toBe(1);
    s.failed();
    expect(proc.listenerCount('SIGHUP') + proc.listenerCount('SIGTERM') + proc.listenerCount('SIGINT')).toBe(0);
  });
});
