/**
 * `npm run bench`: the side-by-side ingest benchmark (method after osrg/bgperf). A BIRD 2 injector
 * with K static /24s feeds one target over eBGP; a monitor polls the target until all K are in its
 * RIB and in its namespace's kernel FIB. Targets in turn, same injector, same K: weft, BIRD 2,
 * FRR 8.4, GoBGP 3.10. Per target: time from Established to full RIB / full kernel, peak RSS
 * (VmHWM), CPU seconds; median (min-max) of the runs, ratio to BIRD. See labs/bench/README.md.
 *
 *   npm run bench [-- --k 10000,100000] [--targets weft,bird,frr,gobgp] [--runs 3] [--json FILE]
 *                 [--cpu-prof [--cpu-prof-dir DIR]] [--weft-main dist/cli/main.js] [--timeout S] [--poll-ms 50]
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatProfile, profilesIn, summariseProfile, type ProfileSummary } from './lib/cpuprofile.js';
import { measureOnce, type RunResult } from './lib/measure.js';
import { cell, mib, ratio, secs, summarise, table, type Summary } from './lib/stats.js';
import { ALL_TARGETS, DEFAULT_WEFT_MAIN, TARGET_NAMES, type TargetName } from './lib/targets.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const { values } = parseArgs({
  options: {
    k: { type: 'string', multiple: true },
    targets: { type: 'string', default: TARGET_NAMES.join(',') },
    runs: { type: 'string', default: '3' },
    json: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'cpu-prof-dir': { type: 'string' },
    'weft-main': { type: 'string', default: DEFAULT_WEFT_MAIN },
    timeout: { type: 'string' },
    'poll-ms': { type: 'string', default: '50' },
    'kernel-poll-factor': { type: 'string', default: '4' },
    settle: { type: 'string', default: '3' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (values.help) {
  console.log(
    'usage: npm run bench -- [--k 10000,100000] [--targets weft,bird,frr,gobgp] [--runs 3] [--json FILE]\n' +
      '                        [--cpu-prof [--cpu-prof-dir DIR]] [--weft-main PATH] [--timeout SECONDS] [--poll-ms 50]\n' +
      '                        [--kernel-poll-factor 4] [--settle 3]',
  );
  process.exit(0);
}

const ks = (values.k ?? ['10000,100000']).flatMap((s) => s.split(',')).map((s) => Number(s.replace(/_/g, '')));
const targets = values.targets.split(',').map((s) => s.trim()) as TargetName[];
const runs = Number(values.runs);
const pollMs = Number(values['poll-ms']);
const kernelPollFactor = Number(values['kernel-poll-factor']);
const settleSeconds = Number(values.settle);
if (!(kernelPollFactor >= 1)) throw new Error(`--kernel-poll-factor: bad value ${values['kernel-poll-factor']} (at least 1)`);
if (!(settleSeconds >= 0)) throw new Error(`--settle: bad value ${values.settle}`);
for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new Error(`--k: bad value ${k}`);
for (const t of targets) if (!ALL_TARGETS.includes(t)) throw new Error(`--targets: unknown target '${t}' (${ALL_TARGETS.join(', ')})`);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: bad value ${values.runs}`);
if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (network namespaces)');

const profRoot = values['cpu-prof'] ? (values['cpu-prof-dir'] ?? join(tmpdir(), `weft-bench-prof-${Date.now()}`)) : undefined;
const log = (line: string) => process.stderr.write(`${line}\n`);

interface KReport {
  k: number;
  runs: RunResult[];
  summary: Record<string, { rib?: Summary; kernel?: Summary; rss?: Summary; cpu?: Summary; injector?: Summary; ok: number; failed: number }>;
  profiles: ProfileSummary[];
}

function report(k: number, results: RunResult[]): KReport {
  const summary: KReport['summary'] = {};
  for (const t of targets) {
    const ok = results.filter((r) => r.target === t && r.ok);
    const pick = (f: (r: RunResult) => number | undefined) => summarise(ok.map(f).filter((x): x is number => x !== undefined));
    summary[t] = {
      rib: pick((r) => r.ribSeconds),
      kernel: pick((r) => r.kernelSeconds),
      rss: pick((r) => r.rssBytes),
      cpu: pick((r) => r.cpuSeconds),
      injector: pick((r) => r.injectorSeconds),
      ok: ok.length,
      failed: results.filter((r) => r.target === t && !r.ok).length,
    };
  }
  return { k, runs: results, summary, profiles: [] };
}

function print(rep: KReport): void {
  const base = rep.summary.bird;
  const rows = targets.map((t) => {
    const s = rep.summary[t]!;
    return [
      t,
      cell(s.rib, secs, ' s'),
      ratio(s.rib, base?.rib),
      cell(s.kernel, secs, ' s'),
      ratio(s.kernel, base?.kernel),
      cell(s.rss, mib, ' MiB'),
      ratio(s.rss, base?.rss),
      cell(s.cpu, secs, ' s'),
      ratio(s.cpu, base?.cpu),
      cell(s.injector, secs, ' s'),
      `${s.ok}/${s.ok + s.failed}`,
    ];
  });
  console.log(`\nK = ${rep.k.toLocaleString('en-US')} /24 prefixes, one BIRD 2 injector over eBGP; median (min-max) of the runs; ratios are medians / BIRD's\n`);
  console.log(
    table(['target', 'Established -> full RIB', '/ BIRD', 'Established -> full kernel', '/ BIRD', 'peak RSS', '/ BIRD', 'CPU', '/ BIRD', 'injector export', 'runs ok'], rows),
  );
  const notes = new Set<string>();
  for (const r of rep.runs) {
    if (!r.ok) notes.add(`${r.target} run ${r.run} failed: ${(r.error ?? '').split('\n')[0]}`);
    if (r.ok && r.kernelNote) notes.add(`${r.target}: kernel n/a: ${r.kernelNote}`);
    if (r.ok && r.sessionStable === false) notes.add(`${r.target} run ${r.run}: the session reset during the run`);
  }
  const frr = rep.runs.find((r) => r.target === 'frr' && r.ok);
  if (frr?.rssBy) notes.add(`frr RSS is bgpd + zebra (e.g. ${Object.entries(frr.rssBy).map(([k, v]) => `${k} ${mib(v)} MiB`).join(', ')})`);
  const weft = rep.runs.find((r) => r.target === 'weft' && r.ok);
  if (weft?.rssBy) {
    const helpers = Object.entries(weft.rssBy).filter(([k]) => k.startsWith('helper'));
    const list = helpers.map(([k, v]) => `${k.replace(/^helper /, '')}: ${mib(v)} MiB`).join('; ');
    notes.add(`weft RSS is the node process; its CPU includes its helper processes${helpers.length ? `, whose peak RSS (run ${weft.run}) is not in the table: ${list}` : ''}`);
  }
  if (notes.size) console.log(`\n${[...notes].map((n) => `- ${n}`).join('\n')}`);
  for (const p of rep.profiles) console.log(`\n${formatProfile(p)}`);
}

async function main(): Promise<void> {
  log(`weft agent: ${values['weft-main']} (data plane on: kernel install measured)`);
  const reports: KReport[] = [];
  for (const k of ks) {
    const timeoutMs = values.timeout !== undefined ? Number(values.timeout) * 1000 : 60_000 + k * 0.5;
    const results: RunResult[] = [];
    const profiled: { dir: string; windowUs?: [number, number] }[] = [];
    for (let run = 1; run <= runs; run++) {
      // Targets interleaved per round, so a noisy minute hits them all rather than one.
      for (const t of targets) {
        const profileDir = profRoot && t === 'weft' ? join(profRoot, `k${k}-run${run}`) : undefined;
        const startTimeoutMs = 30_000;
        const r = await measureOnce(t, { k, run, timeoutMs, pollMs, kernelPollFactor, settleSeconds, weftMain: values['weft-main'], nodeArgs: [], startTimeoutMs, profileDir, log });
        results.push(r);
        if (profileDir) profiled.push({ dir: profileDir, windowUs: r.windowUs });
        log(
          r.ok
            ? `K=${k} run ${run} ${t}: RIB ${secs(r.ribSeconds!)} s, kernel ${r.kernelSeconds === undefined ? 'n/a' : `${secs(r.kernelSeconds)} s`}, RSS ${mib(r.rssBytes!)} MiB, CPU ${secs(r.cpuSeconds!)} s, injector ${secs(r.injectorSeconds!)} s`
            : `K=${k} run ${run} ${t}: FAILED ${r.error}`,
        );
      }
    }
    const rep = report(k, results);
    for (const p of profiled) for (const f of profilesIn(p.dir)) rep.profiles.push(summariseProfile(f, ROOT, p.windowUs));
    reports.push(rep);
    print(rep);
  }
  if (values.json) {
    writeFileSync(values.json, `${JSON.stringify({ date: new Date().toISOString(), targets, runs, reports }, null, 2)}\n`);
    log(`JSON written to ${values.json}`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
