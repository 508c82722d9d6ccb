/**
 * Reading the kernel with `ip -json` / `bridge -json`, and watching it with `ip monitor` /
 * `bridge monitor`: the iproute2 side of the data plane apart from the batch writer
 * (iproute2-batch.ts). Everything runs in a network namespace when given one (`ip -n NS`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { parseFdb, parseLinks, parseNeigh, parseRoutes, type KernelState } from './kernel-state.js';

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
    execFile(tool, args, { maxBuffer: 1 << 30, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) resolve(stdout);
      else if (missingOk) resolve('');
      else reject(new Error(`${tool} ${args.join(' ')}: ${stderr.trim() || err.message}`));
    });
  });
}

const json = (text: string): unknown => (text.trim() ? JSON.parse(text) : []);

/** Routes of table main (both families), FDB + IPv4 neighbours of the VXLAN device, the devices. */
export async function readKernel(t: KernelTarget, vxlanDevice: string, devices: readonly string[]): Promise<KernelState> {
  const ns = nsArgs(t);
  const [r4, r6, fdb, neigh, ...links] = await Promise.all([
    runTool('ip', [...ns, '-4', '-json', 'route', 'show', 'table', 'main']),
    runTool('ip', [...ns, '-6', '-json', 'route', 'show', 'table', 'main']),
    runTool('bridge', [...ns, '-json', 'fdb', 'show', 'dev', vxlanDevice], true),
    runTool('ip', [...ns, '-4', '-json', 'neigh', 'show', 'dev', vxlanDevice], true),
    ...devices.map((d) => runTool('ip', [...ns, '-d', '-json', 'addr', 'show', 'dev', d], true)),
  ]);
  const state: KernelState = {
    routes: [...parseRoutes(json(r4), 4), ...parseRoutes(json(r6), 6)],
    fdb: parseFdb(json(fdb)),
    neigh: parseNeigh(json(neigh)),
    links: {},
  };
  for (const text of links) for (const l of parseLinks(json(text))) state.links[l.name] = l;
  return state;
}

/** A deletion seen by a monitor, reduced to what the data plane keys on. */
export type MonitorEvent =
  | { type: 'route-deleted'; dst: string }
  | { type: 'neigh-deleted'; address: string; dev: string }
  | { type: 'fdb-deleted'; mac: string; dev: string }
  | { type: 'link-deleted'; name: string };

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
export class KernelMonitor {
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
    const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    this.children.push(child);
    let buf = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const e = parseMonitorLine(line);
        if (e) this.onEvent(e);
      }
    });
    child.on('error', (e) => !this.stopped && this.onFailure(`${tool} monitor: ${e.message}`));
    child.on('exit', (code, sig) => !this.stopped && this.onFailure(`${tool} monitor exited (${sig ?? code})`));
  }
}
