/**
 * The iproute2 driver (IpDriver, ip-driver.ts): reads with `ip -json` / `bridge -json`, watches with
 * `ip monitor` / `bridge monitor`, writes through BatchProcess (iproute2-batch.ts). Everything runs
 * in a network namespace when given one (`ip -n NS`), and every process starts through
 * iproute2-spawn.ts (it dies with weft).
 */
import type { ChildProcess } from 'node:child_process';
import { lineReader } from '../lib/lines.js';
import type { BatchStream, IpDriver, MonitorEvent, MonitorHandle } from './ip-driver.js';
import { BatchProcess } from './iproute2-batch.js';
import { execHelper, spawnHelper } from './iproute2-spawn.js';
import { readKernelState } from './kernel-read.js';
import type { KernelState } from './kernel-state.js';

export type { MonitorEvent } from './ip-driver.js';

export interface KernelTarget {
  /** Network namespace name (`ip -n NS`); omitted = the current one. */
  netns?: string;
}

function nsArgs(t: KernelTarget): string[] {
  return t.netns ? ['-n', t.netns] : [];
}

/** Runs a read-only command; resolves with stdout. `missingOk`: a failure reads as ''. */
export function runTool(tool: 'ip' | 'bridge', args: readonly string[], missingOk = false): Promise<string> {
  return new Promise((resolve, reject) => {
    execHelper(tool, args, (err, stdout, stderr) => {
      if (!err) resolve(stdout);
      else if (missingOk) resolve('');
      else reject(new Error(`${tool} ${args.join(' ')}: ${stderr.trim() || err.message}`));
    });
  });
}

const json = (text: string): unknown => (text.trim() ? JSON.parse(text) : []);

/** The real kernel through iproute2, in `target.netns` when given. */
export class Iproute2Driver implements IpDriver {
  private readonly ns: string[];

  constructor(readonly target: KernelTarget = {}) {
    this.ns = nsArgs(target);
  }

  batch(tool: 'ip' | 'bridge'): BatchStream {
    return new BatchProcess(tool, this.target.netns);
  }

  async routes(family: 4 | 6): Promise<unknown> {
    return json(await runTool('ip', [...this.ns, `-${family}`, '-json', 'route', 'show', 'table', 'main']));
  }

  streamRoutes(family: 4 | 6, onRoute: (route: unknown) => void): Promise<void> {
    return streamJson('ip', [...this.ns, `-${family}`, '-json', 'route', 'show', 'table', 'main'], onRoute);
  }

  async links(dev?: string): Promise<unknown> {
    return json(await runTool('ip', [...this.ns, '-d', '-json', 'addr', 'show', ...(dev ? ['dev', dev] : [])], dev !== undefined));
  }

  async neighbours(dev: string): Promise<unknown> {
    return json(await runTool('ip', [...this.ns, '-json', 'neigh', 'show', 'dev', dev], true));
  }

  async fdb(dev: string): Promise<unknown> {
    return json(await runTool('bridge', [...this.ns, '-json', 'fdb', 'show', 'dev', dev], true));
  }

  async nexthops(): Promise<unknown> {
    return json(await runTool('ip', [...this.ns, '-json', 'nexthop', 'show'], true));
  }

  async routeGet(address: string): Promise<unknown> {
    return json(await runTool('ip', [...this.ns, '-json', 'route', 'get', address]));
  }

  monitor(onEvent: (e: MonitorEvent) => void, onFailure: (why: string) => void): MonitorHandle {
    const m = new KernelMonitor(this.target, onEvent, onFailure);
    m.start();
    return m;
  }
}

/**
 * Routes of table main (both families), FDB + IPv4 neighbours of the VXLAN device, the devices,
 * through the iproute2 driver. (For callers without a driver of their own; readKernelState takes any.)
 */
export function readKernel(t: KernelTarget, vxlanDevice: string, devices: readonly string[]): Promise<KernelState> {
  return readKernelState(new Iproute2Driver(t), vxlanDevice, devices);
}

/**
 * Runs a command printing one JSON array and hands over its elements one at a time, without
 * holding the listing: at 1M routes the text is ~100 MB and its parse ~1M objects at once. Each
 * element is cut out of the stream (JsonArraySplitter), parsed, handed to `onElement`, dropped.
 */
function streamJson(tool: 'ip' | 'bridge', args: readonly string[], onElement: (v: unknown) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawnHelper(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let failed: Error | undefined;
    const split = new JsonArraySplitter((text) => onElement(JSON.parse(text)));
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (failed) return;
      try {
        split.push(d);
      } catch (e) {
        failed = new Error(`${tool} ${args.join(' ')}: unreadable output: ${(e as Error).message}`);
        child.kill();
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (e) => (failed ??= e));
    child.on('close', (code) => {
      if (!failed && code !== 0) failed = new Error(`${tool} ${args.join(' ')}: ${err.trim() || `exit ${code}`}`);
      if (!failed && !split.complete) failed = new Error(`${tool} ${args.join(' ')}: the JSON listing ended early`);
      if (failed) reject(failed);
      else resolve();
    });
  });
}

/**
 * Cuts the elements of a streamed top-level JSON array of objects (`[{...},{...}]`) out of the
 * text as it arrives, each as its own string; strings and nesting inside an element are honoured.
 */
export class JsonArraySplitter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private partial = '';
  private opened = false;
  private done = false;

  constructor(private readonly onElement: (text: string) => void) {}

  push(chunk: string): void {
    let start = this.depth >= 2 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
        continue;
      }
      if (this.depth === 0 && c !== 0x5b) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
        throw new Error(`expected a JSON array, found ${JSON.stringify(chunk[i])}`);
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) {
        if (this.depth === 0) {
          if (this.opened) throw new Error('a second JSON array');
          this.opened = true;
        }
        this.depth++;
        if (this.depth === 2) start = i;
      } else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth < 0) throw new Error('unbalanced JSON');
        if (this.depth === 1) {
          this.onElement(this.partial + chunk.slice(start, i + 1));
          this.partial = '';
          start = -1;
        } else if (this.depth === 0) this.done = true;
      }
    }
    if (this.depth >= 2 && start >= 0) this.partial += chunk.slice(start);
  }

  /** The array was closed, or nothing but white space came (an empty listing). */
  get complete(): boolean {
    return this.done || (!this.opened && this.depth === 0);
  }
}

const ROUTE_TYPES = new Set(['unicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'local', 'broadcast', 'multicast']);

/** Parses one `ip monitor route neigh link` / `bridge monitor fdb` line; undefined = not a deletion we care about. */
export function parseMonitorLine(text: string): MonitorEvent | undefined {
  if (!text.startsWith('Deleted ')) return undefined;
  const words = text.slice(8).trim().split(/\s+/);
  const link = /^\d+: ([^:@\s]+)/.exec(text.slice(8));
  if (link) return { type: 'link-deleted', name: link[1] };
  const devAt = words.indexOf('dev');
  const dev = devAt >= 0 ? words[devAt + 1] : undefined;
  if (/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(words[0]) && dev) return { type: 'fdb-deleted', mac: words[0].toLowerCase(), dev };
  const protoAt = words.indexOf('proto');
  if (protoAt >= 0) {
    let dst = ROUTE_TYPES.has(words[0]) ? words[1] : words[0];
    if (dst === 'default') dst = '0.0.0.0/0';
    if (!dst.includes('/')) dst = `${dst}/${dst.includes(':') ? 128 : 32}`;
    return { type: 'route-deleted', dst };
  }
  if (dev && (words.includes('lladdr') || /^[0-9a-f.:]+$/i.test(words[0]))) return { type: 'neigh-deleted', address: words[0], dev };
  return undefined;
}

/** `ip monitor route neigh link` + `bridge monitor fdb`, as a stream of deletions. */
export class KernelMonitor implements MonitorHandle {
  private readonly children: ChildProcess[] = [];
  private stopped = false;

  constructor(
    private readonly t: KernelTarget,
    private readonly onEvent: (e: MonitorEvent) => void,
    private readonly onFailure: (why: string) => void,
  ) {}

  start(): void {
    this.spawn('ip', [...nsArgs(this.t), 'monitor', 'route', 'neigh', 'link']);
    this.spawn('bridge', [...nsArgs(this.t), 'monitor', 'fdb']);
  }

  stop(): void {
    this.stopped = true;
    for (const c of this.children.splice(0)) c.kill('SIGTERM');
  }

  private spawn(tool: string, args: string[]): void {
    const child = spawnHelper(tool, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    this.children.push(child);
    child.stdout?.setEncoding('utf8').on(
      'data',
      lineReader((line) => {
        const e = parseMonitorLine(line);
        if (e) this.onEvent(e);
      }),
    );
    child.on('error', (e) => !this.stopped && this.onFailure(`${tool} monitor: ${e.message}`));
    child.on('exit', (code, sig) => !this.stopped && this.onFailure(`${tool} monitor exited (${sig ?? code})`));
  }
}
