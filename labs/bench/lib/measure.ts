// One benchmark run: fresh namespaces (injector, target) joined by a veth, the injector with K
// static routes and its session disabled, the target started and idle; then the session is
// enabled and three pollers run until done: the injector (its state, Established time and export
// counter, every ~50 ms, which also keeps it awake), the target's RIB count, and the namespace's
// kernel FIB count. Everything is killed by PID and the namespaces deleted, also on failure.
import { mkdirSync } from 'node:fs';
import { firstLine } from '../../../src/lab/exec.js';
import { Lab } from '../../../test/helpers/netns.js';
import { INJECTOR_ADDR, startInjector, TARGET_ADDR, type Injector } from './injector.js';
import { cmdline, cpuSeconds, descendants, fibPrefixes, peakRss } from './proc.js';
import { startTarget, type TargetName, type TargetOptions } from './targets.js';

export interface RunResult {
  target: TargetName;
  k: number;
  run: number;
  ok: boolean;
  error?: string;
  /** Seconds from the injector's Established to all K in the target's RIB. */
  ribSeconds?: number;
  /** Seconds from Established to all K in the namespace's kernel FIB; undefined when n/a. */
  kernelSeconds?: number;
  kernelNote?: string;
  /** Seconds from Established until the injector's export counter reached K. */
  injectorSeconds?: number;
  /** Peak RSS (VmHWM) summed over the target's reported processes, bytes; and per process. */
  rssBytes?: number;
  rssBy?: Record<string, number>;
  /** CPU seconds (utime+stime, with reaped children) of the target's processes during the run. */
  cpuSeconds?: number;
  cpuBy?: Record<string, number>;
  /** Whether the injector's session stayed up (same Since) from Established to the end. */
  sessionStable?: boolean;
  /** Where weft's CPU profile went (with --cpu-prof). */
  profileDir?: string;
  /** CLOCK_MONOTONIC µs (V8 profile timestamps use it too) from enabling the session to the end. */
  windowUs?: [number, number];
}

export interface RunOptions extends TargetOptions {
  k: number;
  run: number;
  timeoutMs: number;
  /** Minimum pause between two polls of the target (the pause is at least the last poll's duration). */
  pollMs: number;
  /**
   * The kernel poll pauses at least this many times its last duration: reading fib_triestat walks
   * the whole FIB (~85 ms of CPU at 1M routes here), and polling it back to back took ~60% of one
   * of the two cores from whatever target was installing. 4: at most ~20%.
   */
  kernelPollFactor: number;
  /** Seconds after everything arrived before peak RSS and CPU are read (the target settles). */
  settleSeconds: number;
  /** weft only: directory for --cpu-prof output (the harness adds the node flags). */
  profileDir?: string;
  log: (line: string) => void;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function cpuSample(pids: readonly number[]): Map<number, number> {
  const all = new Set<number>();
  for (const p of pids) {
    all.add(p);
    for (const d of descendants(p)) all.add(d);
  }
  return new Map([...all].map((p) => [p, cpuSeconds(p)]));
}

export async function measureOnce(name: TargetName, o: RunOptions): Promise<RunResult> {
  const res: RunResult = { target: name, k: o.k, run: o.run, ok: false };
  const lab = Lab.create();
  let stopPolling = false;
  try {
    const injNs = await lab.createNs('inj');
    const tgtNs = await lab.createNs('tgt');
    await lab.veth(injNs, 'eth0', `${INJECTOR_ADDR}/24`, tgtNs, 'eth0', `${TARGET_ADDR}/24`);
    const inj: Injector = await startInjector(lab, injNs, o.k);
    let nodeArgs = o.nodeArgs;
    if (o.profileDir && name === 'weft') {
      mkdirSync(o.profileDir, { recursive: true });
      nodeArgs = [...nodeArgs, '--cpu-prof', '--cpu-prof-dir', o.profileDir];
      res.profileDir = o.profileDir;
    }
    const target = await startTarget(name, lab, tgtNs, { ...o, nodeArgs });
    res.kernelNote = target.kernelNote;
    const nsPid = target.rssPids[0]!.pid;
    const fibBase = await fibPrefixes(nsPid);
    const cpu0 = cpuSample(target.cpuPids());

    const mono = () => Number(process.hrtime.bigint() / 1000n);
    const windowStart = mono();
    await inj.enable();
    const deadline = Date.now() + o.timeoutMs;
    let established: number | undefined;
    let injDone: number | undefined;
    let ribDone: number | undefined;
    let kernelDone: number | undefined;
    let lastRib = 0;
    let lastFib = 0;
    let lastInj = '';
    let sinceChanged = false;

    // The injector: every ~50 ms, whatever else happens (keeps BIRD 2.0.12 from idling on its last UPDATE).
    const injLoop = (async () => {
      while (!stopPolling) {
        const v = await inj.view().catch(() => undefined);
        if (v) {
          lastInj = `${v.state}, ${v.exported} exported`;
          if (v.state === 'Established' && v.sinceMs !== undefined) {
            // BIRD renders Since from its monotonic clock plus the current real-time offset, so the
            // same moment can print a millisecond or two apart between polls: only a jump is a reset.
            if (established === undefined) established = v.sinceMs;
            else if (Math.abs(v.sinceMs - established) > 20) sinceChanged = true;
          } else if (established !== undefined) {
            sinceChanged = true;
          }
          if (injDone === undefined && v.exported >= o.k) injDone = Date.now();
        }
        await pause(50);
      }
    })();
    const poll = async (get: () => Promise<number>, set: (n: number) => void, done: () => boolean, factor = 1) => {
      while (!stopPolling && !done()) {
        const t = Date.now();
        try {
          set(await get());
        } catch (e) {
          if (!target.alive()) throw new Error(`${name} died: ${firstLine(e)}\n${target.logTail()}`);
        }
        await pause(Math.max(o.pollMs, factor * (Date.now() - t)));
      }
    };
    const ribLoop = poll(
      () => target.ribCount(),
      (n) => {
        lastRib = n;
        if (n >= o.k && ribDone === undefined) ribDone = Date.now();
      },
      () => ribDone !== undefined,
    );
    const kernelLoop = target.kernel
      ? poll(
          async () => (await fibPrefixes(nsPid)) - fibBase,
          (n) => {
            lastFib = n;
            if (n >= o.k && kernelDone === undefined) kernelDone = Date.now();
          },
          () => kernelDone !== undefined,
          o.kernelPollFactor,
        )
      : Promise.resolve();
    const watchdog = (async () => {
      while (!stopPolling) {
        if (ribDone !== undefined && (kernelDone !== undefined || !target.kernel) && injDone !== undefined && established !== undefined) return;
        if (Date.now() > deadline) {
          throw new Error(`timed out after ${o.timeoutMs} ms: RIB ${lastRib}/${o.k}, kernel ${target.kernel ? `${lastFib}/${o.k}` : 'n/a'}, injector ${lastInj}`);
        }
        if (!target.alive()) throw new Error(`${name} died\n${target.logTail()}`);
        await pause(100);
      }
    })();
    try {
      await Promise.race([watchdog, Promise.all([ribLoop, kernelLoop]).then(() => watchdog)]);
    } finally {
      stopPolling = true;
      await injLoop;
    }
    res.windowUs = [windowStart, mono()];
    // Peak RSS and CPU include what the target does right after (weft: the resync that follows a
    // table written with its monitors paused).
    await pause(o.settleSeconds * 1000);
    if (!target.alive()) throw new Error(`${name} died after the measurement\n${target.logTail()}`);
    const cpu1 = cpuSample(target.cpuPids());
    res.cpuBy = {};
    let cpu = 0;
    for (const [pid, s] of cpu1) {
      const d = s - (cpu0.get(pid) ?? 0);
      cpu += d;
      res.cpuBy[`${cmdline(pid).split(' ').slice(0, 4).join(' ') || '?'} (${pid})`] = Math.round(d * 100) / 100;
    }
    res.cpuSeconds = cpu;
    res.rssBy = {};
    let rss = 0;
    for (const p of target.rssPids) {
      const b = peakRss(p.pid);
      rss += b;
      res.rssBy[p.label] = b;
    }
    for (const [pid] of cpu1) if (!target.rssPids.some((p) => p.pid === pid)) res.rssBy[`helper ${cmdline(pid) || pid}`] = peakRss(pid);
    res.rssBytes = rss;
    const t0 = established!;
    res.ribSeconds = (ribDone! - t0) / 1000;
    if (target.kernel) res.kernelSeconds = (kernelDone! - t0) / 1000;
    res.injectorSeconds = (injDone! - t0) / 1000;
    res.sessionStable = !sinceChanged;
    res.ok = true;
    if (res.profileDir) {
      // The profile is written when node exits normally: SIGTERM is the agent's clean shutdown.
      await target.stop(60_000);
    }
  } catch (e) {
    res.error = (e as Error).message;
  } finally {
    stopPolling = true;
    const problems = await lab.cleanup();
    for (const p of problems) o.log(`cleanup: ${p}`);
  }
  return res;
}
