// A real Prometheus (Debian's /usr/bin/prometheus 2.42) scrapes a real `weft agent` every second,
// and the assertions go through Prometheus' HTTP API, as a dashboard or an alert would:
//
//   weft   10.0.0.1  weft agent (AS 64512, block 10.244.1.0/26), metrics on 127.0.0.1:9179, and
//                    Prometheus on 127.0.0.1:9090, both inside this namespace (its loopback)
//   bird1  10.0.0.2  BIRD, AS 65001, eBGP peer, announces 20 in-pool /26s
//   bird2  10.0.0.3  BIRD, AS 65002, eBGP peer, announces 10 in-pool /26s
//
// The BIRDs start only once Prometheus scrapes the agent (up == 1, weft_peer_up == 0 for both),
// so the UPDATEs arrive between scrapes and increase() sees them. Checked: up, weft_build_info,
// weft_peer_up == 1 per peer, increase(weft_peer_updates_received_total) > 0 per peer, the
// accepted prefixes per family, the update-to-kernel histogram's _count and a quantile from its
// buckets, the process metrics; /healthz and /readyz on the agent's listener. Prometheus is
// stopped by PID and its temp dir removed; the namespaces and the other processes go with the Lab.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfig, httpGetInNs, startAgent, type WeftAgent } from '../helpers/agent.js';
import { startBird, type Bird } from '../helpers/bird.js';
import { inNs, run } from '../helpers/exec.js';
import { Lab, type ProcHandle } from '../helpers/netns.js';
import { missingPrereq } from '../helpers/prereq.js';
import { NotRecoverable, waitFor } from '../helpers/wait.js';
import { lan, WEFT_MAIN } from '../helpers/weft.js';

const PROMETHEUS = '/usr/bin/prometheus';
const skipReason = missingPrereq(['ip', 'bird', 'birdc', PROMETHEUS], WEFT_MAIN);
if (skipReason) console.warn(`prometheus skipped: ${skipReason}`);

const WEFT = '10.0.0.1';
const BIRDS = [
  { name: 'bird1', address: '10.0.0.2', asn: 65001, prefixes: 20, third: 100 },
  { name: 'bird2', address: '10.0.0.3', asn: 65002, prefixes: 10, third: 150 },
] as const;
// Inside the weft namespace, which this run created: nothing else listens there.
const METRICS = '127.0.0.1:9179';
const PROM = '127.0.0.1:9090';
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** BIRD announcing `count` in-pool /26s from 10.244.<third>.0 on, eBGP to weft. */
function birdConf(b: (typeof BIRDS)[number]): string {
  const routes = Array.from({ length: b.prefixes }, (_, k) => `  route 10.244.${b.third + (k >> 2)}.${(k & 3) * 64}/26 blackhole;`);
  return `protocol device {}
protocol static st {
  ipv4;
${routes.join('\n')}
}
protocol bgp weft {
  local ${b.address} as ${b.asn};
  neighbor ${WEFT} as 64512;
  hold time 9;
  connect retry time 1;
  ipv4 { import all; export where source = RTS_STATIC; };
}
`;
}

interface PromSample {
  metric: Record<string, string>;
  value: number;
}

describe.skipIf(skipReason !== undefined)('Prometheus scraping weft agent', () => {
  let lab: Lab;
  let ns: Record<string, string>;
  let agent: WeftAgent;
  let prom: ProcHandle | undefined;
  let promDir: string | undefined;
  const birds: Bird[] = [];

  const diagnose = () => [agent?.logTail(15), prom?.logTail(15)].filter(Boolean).join('\n');

  /** An instant query through Prometheus' HTTP API; throws on anything but a vector. */
  async function query(q: string): Promise<PromSample[]> {
    if (prom && !prom.alive()) throw new NotRecoverable(`prometheus died:\n${prom.logTail(20)}`);
    const r = await httpGetInNs(ns.weft, `http://${PROM}/api/v1/query?query=${encodeURIComponent(q)}`, 5000);
    const body = JSON.parse(r.body) as { status: string; error?: string; data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (r.status !== 200 || body.status !== 'success' || body.data?.resultType !== 'vector') throw new Error(`query ${q}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
    return body.data.result.map((x) => ({ metric: x.metric, value: Number(x.value[1]) }));
  }

  /** Waits until `q` gives one sample per peer and `ok` holds for each; returns them by peer. */
  async function perPeer(q: string, ok: (v: number) => boolean, what: string, timeoutMs = 30_000): Promise<Map<string, number>> {
    return waitFor(
      async () => {
        const got = new Map((await query(q)).map((s) => [s.metric.peer, s.value]));
        return BIRDS.every((b) => got.has(b.name) && ok(got.get(b.name)!)) && got.size === BIRDS.length ? got : undefined;
      },
      { what: `${what} (${q})`, timeoutMs, intervalMs: 500, diagnose },
    );
  }

  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
    lab = Lab.create();
    ns = await lan(lab, { weft: [`${WEFT}/24`], ...Object.fromEntries(BIRDS.map((b) => [b.name, [`${b.address}/24`]])) });
    const config = agentConfig('weft', `${WEFT}/24`, {
      peers: BIRDS.map((b) => ({ name: b.name, address: b.address, asn: b.asn, holdTime: 9, connectRetry: 1 })),
      blocks: ['10.244.1.0/26'],
      metrics: { listen: METRICS },
    });
    agent = await startAgent(lab, ns.weft, { name: 'weft', config });

    promDir = mkdtempSync(join(tmpdir(), 'weft-prometheus-'));
    const conf = join(promDir, 'prometheus.yml');
    writeFileSync(
      conf,
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'scrape_configs:',
        '  - job_name: weft',
        `    static_configs: [{ targets: ["${METRICS}"] }]`,
        '',
      ].join('\n'),
    );
    prom = lab.spawnIn(
      ns.weft,
      PROMETHEUS,
      [`--config.file=${conf}`, `--storage.tsdb.path=${join(promDir, 'data')}`, `--web.listen-address=${PROM}`, '--log.level=warn'],
      { label: 'prometheus' },
    );
  }, 180_000);

  afterAll(async () => {
    await prom?.stop(5000);
    if (promDir) rmSync(promDir, { recursive: true, force: true });
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it('the agent answers /healthz and /readyz on its metrics listener', async () => {
    const h = await httpGetInNs(ns.weft, `http://${METRICS}/healthz`);
    expect([h.status, h.body]).toEqual([200, 'ok\n']);
    // Both peers tried (Connect/Active: their BIRDs are not up yet) and the kernel in sync.
    const r = await waitFor(
      async () => {
        const x = await httpGetInNs(ns.weft, `http://${METRICS}/readyz`);
        return x.status === 200 ? x : undefined;
      },
      { what: '/readyz 200', timeoutMs: 20_000, intervalMs: 200, diagnose },
    );
    expect(r.body).toBe('ready\n');
    expect((await httpGetInNs(ns.weft, `http://${METRICS}/nowhere`)).status).toBe(404);
  });

  it('Prometheus scrapes the agent: up, weft_build_info, process metrics, both peers down before their BIRDs run', async () => {
    const up = await waitFor(async () => (await query('up{job="weft"}')).find((s) => s.value === 1), { what: 'up{job="weft"} == 1', timeoutMs: 60_000, intervalMs: 500, diagnose });
    expect(up.metric.instance).toBe(METRICS);
    const info = await query('weft_build_info');
    expect(info).toHaveLength(1);
    expect(info[0].value).toBe(1);
    expect(info[0].metric).toMatchObject({ version: VERSION, node: process.version });
    const rss = await query('process_resident_memory_bytes{job="weft"}');
    expect(rss[0]?.value).toBeGreaterThan(10 * 2 ** 20);
    expect((await query('nodejs_heap_size_used_bytes{job="weft"}'))[0]?.value).toBeGreaterThan(0);
    await perPeer('weft_peer_up', (v) => v === 0, 'both peers scraped as down');
  });

  it('after the BIRDs announce: weft_peer_up == 1 and increase(weft_peer_updates_received_total) > 0 per peer, the histogram filled', async () => {
    for (const b of BIRDS) birds.push(await startBird(lab, ns[b.name], { routerId: b.address, config: birdConf(b) }));
    for (const b of BIRDS) await agent.waitPeer(b.name, (p) => p.state === 'Established' && p.accepted === b.prefixes, `${b.name} Established with ${b.prefixes} routes`);
    const total = BIRDS.reduce((n, b) => n + b.prefixes, 0);
    await waitFor(
      async () => {
        const out = await inNs(ns.weft, 'ip', ['-4', 'route', 'show', 'proto', 'weft']);
        return out.stdout.split('\n').filter((l) => l.includes(' via ')).length === total;
      },
      { what: `${total} learned routes in weft's kernel`, timeoutMs: 20_000, intervalMs: 200, diagnose },
    );

    await perPeer('weft_peer_up', (v) => v === 1, 'both peers up');
    await perPeer('weft_peer_state{state="Established"}', (v) => v === 1, 'state set Established');
    const increase = await perPeer('increase(weft_peer_updates_received_total[1m])', (v) => v > 0, 'UPDATEs counted by Prometheus');
    for (const b of BIRDS) expect(increase.get(b.name), b.name).toBeGreaterThan(0);
    const accepted = await perPeer('weft_peer_prefixes_accepted{family="ipv4"}', (v) => v > 0, 'accepted prefixes');
    for (const b of BIRDS) expect(accepted.get(b.name), b.name).toBe(b.prefixes);

    // The update-to-kernel histogram: observed per UPDATE once its routes were in the kernel.
    const count = await waitFor(async () => (await query('weft_update_to_kernel_seconds_count'))[0]?.value, { what: 'weft_update_to_kernel_seconds_count > 0', timeoutMs: 20_000, intervalMs: 500, diagnose });
    expect(count).toBeGreaterThan(0);
    const p99 = await waitFor(
      async () => {
        const v = (await query('histogram_quantile(0.99, sum by (le) (rate(weft_update_to_kernel_seconds_bucket[1m])))'))[0]?.value;
        return v !== undefined && Number.isFinite(v) ? { v } : undefined;
      },
      { what: 'a finite p99 update-to-kernel latency', timeoutMs: 20_000, intervalMs: 500, diagnose },
    );
    expect(p99.v).toBeGreaterThan(0);
    expect(p99.v).toBeLessThan(10);
    expect((await query('weft_dataplane_batches_total'))[0]?.value).toBeGreaterThan(0);
    expect((await query('weft_dataplane_batch_duration_seconds_count{kind="incremental"}'))[0]?.value).toBeGreaterThan(0);
    expect((await query('weft_ready'))[0]?.value).toBe(1);
  });

  it("every PromQL expression of labs/grafana/weft.json is accepted by Prometheus and the panels' series exist", async () => {
    const d = JSON.parse(readFileSync(new URL('../../labs/grafana/weft.json', import.meta.url), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const empty: string[] = [];
    for (const p of d.panels) {
      for (const t of p.targets ?? []) {
        const expr = t.expr.replaceAll('$instance', '.+').replaceAll('$__rate_interval', '1m');
        // query() throws on a parse error (HTTP 400 "bad_data").
        const result = await query(expr);
        if (result.length === 0) empty.push(`${p.title}: ${expr}`);
      }
    }
    // Only the BFD and graceful-restart panels may be empty here: these peers have neither.
    expect(empty.filter((e) => !/^(BFD up|Graceful restart)/.test(e))).toEqual([]);
  });
});
