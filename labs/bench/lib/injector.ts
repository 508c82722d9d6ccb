// The injector: BIRD 2 in its own namespace with K static /24 blackholes (a generated include
// file), exporting them over eBGP to the target. Its BGP protocol starts disabled, so the target
// is up and idle before the session is enabled and the clock starts. Its own pace is watched via
// `show protocols all` (the channel's "N exported" counter), which also keeps it awake: BIRD
// 2.0.12 may sit on its last UPDATE for up to 3 s when its loop idles (LAB-NOTES.md).
import { writeFileSync } from 'node:fs';
import { run } from '../../../src/lab/exec.js';
import { waitFor } from '../../../src/lab/wait.js';
import { startBird, type Bird } from '../../../test/helpers/bird.js';
import type { Lab } from '../../../test/helpers/netns.js';

export const INJECTOR_ADDR = '10.0.0.1';
export const INJECTOR_AS = 65001;
export const TARGET_ADDR = '10.0.0.2';
export const TARGET_AS = 64512;
/** K /24 prefixes from 16.0.0.0 on: 16.0.0.0/4 holds 2^20 of them (1,048,576). */
export const ROUTE_BASE = 16 << 24;
export const ROUTE_POOL = '16.0.0.0/4';
export const MAX_K = 1 << 20;
/** BGP protocol name in the injector's config ("s" would be a keyword: names matter). */
const PROTO = 'target';

export function prefixAt(i: number): string {
  const a = (ROUTE_BASE + i * 256) >>> 0;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.0/24`;
}

export interface InjectorView {
  state: string;
  /** Wall-clock ms of the protocol's last state change (BIRD's Since column, ms precision). */
  sinceMs: number | undefined;
  exported: number;
}

export class Injector {
  constructor(
    readonly bird: Bird,
    readonly k: number,
  ) {}

  /** `show protocols all target`, parsed: BGP state, since (ms), routes exported. */
  async view(): Promise<InjectorView> {
    const r = await run('birdc', ['-s', this.bird.ctl, 'show', 'protocols', 'all', PROTO], { timeoutMs: 10_000 });
    const text = r.stdout;
    // "target BGP --- up 2026-11-22 06:50:01.123 Established"
    const head = new RegExp(`^${PROTO}\\s+BGP\\s+\\S+\\s+(\\S+)\\s+(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d+)\\s*(\\S*)`, 'm').exec(text);
    const exported = /(\d+) exported/.exec(text);
    // BIRD prints local time; Date parses "YYYY-MM-DDTHH:MM:SS.mmm" without a zone as local time too.
    const sinceMs = head ? Date.parse(head[2]!.replace(' ', 'T')) : undefined;
    return { state: head ? head[3] || head[1]! : 'unknown', sinceMs, exported: exported ? Number(exported[1]) : 0 };
  }

  /** Starts the session (the target is waiting for it). */
  async enable(): Promise<void> {
    await this.bird.birdc('enable', PROTO);
  }

  get pid(): number {
    return this.bird.pid;
  }
}

/** Starts the injector in `ns` and waits until its K static routes are in its table. */
export async function startInjector(lab: Lab, ns: string, k: number): Promise<Injector> {
  if (k > MAX_K) throw new Error(`K ${k} is more than the ${MAX_K} /24s of ${ROUTE_POOL}`);
  const routesFile = lab.path('injector-routes.conf');
  const lines: string[] = [];
  for (let i = 0; i < k; i++) lines.push(`route ${prefixAt(i)} blackhole;`);
  writeFileSync(routesFile, `${lines.join('\n')}\n`);
  const config = [
    `router id ${INJECTOR_ADDR};`,
    'timeformat protocol iso long ms;',
    'protocol device {}',
    'protocol static injected {',
    '  ipv4;',
    // include is handled by BIRD's lexer and must stand on its own line.
    `include "${routesFile}";`,
    '}',
    `protocol bgp ${PROTO} {`,
    `  local ${INJECTOR_ADDR} as ${INJECTOR_AS};`,
    `  neighbor ${TARGET_ADDR} as ${TARGET_AS};`,
    '  ipv4 { import none; export all; };',
    '  disabled;',
    '}',
  ].join('\n');
  const startTimeoutMs = 30_000 + k / 10;
  const bird = await startBird(lab, ns, { routerId: INJECTOR_ADDR, config, startTimeoutMs });
  const inj = new Injector(bird, k);
  await waitFor(async () => (await bird.routeCount('master4')) >= k, {
    what: `injector: all ${k} static routes in its table`,
    timeoutMs: startTimeoutMs,
    intervalMs: 100,
  });
  return inj;
}
