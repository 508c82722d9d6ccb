/**
 * `npm run bench:all`: the whole performance report in one run on one machine, the way the
 * README's figures are made. Each benchmark runs as its own process, one after the other (never
 * two at once: they would measure each other), and everything they print goes to one Markdown
 * report with the machine's facts, plus their JSON files, under bench-results/<time>/.
 *
 *   npm run bench:all [-- --quick] [--skip-1m] [--skip-100] [--skip-rr] [--out DIR]
 *
 * --quick: one run per cell and N=10 only (a smoke test of the harness, not figures to quote).
 * --skip-1m: leaves out the 1M ingest (about 10 minutes of the ~20).
 * --skip-100: leaves out the 100-host meshes (weft and the BIRD baseline; a few minutes each).
 * --skip-rr: leaves out the route-reflector topology (2 reflectors, 200 clients; weft and the BIRD baseline).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'skip-1m': { type: 'boolean', default: false },
    'skip-100': { type: 'boolean', default: false },
    'skip-rr': { type: 'boolean', default: false },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (values.help) {
  console.log('usage: npm run bench:all -- [--quick] [--skip-1m] [--skip-100] [--skip-rr] [--out DIR]');
  process.exit(0);
}

const out = values.out ?? join('bench-results', new Date().toISOString().replace(/[:.]/g, '-'));
mkdirSync(out, { recursive: true });
const runs = values.quick ? '1' : '3';

interface Step {
  title: string;
  script: string;
  args: string[];
}

const steps: Step[] = [
  { title: 'Wire codec (one core)', script: 'wire.ts', args: [] },
  { title: 'Kernel install: the data plane against raw ip -batch', script: 'kernel.ts', args: ['--k', '100000', '--runs', runs, '--json', join(out, 'kernel.json')] },
  { title: 'Ingest, 10k and 100k prefixes', script: 'ingest.ts', args: ['--k', '10000,100000', '--runs', runs, '--json', join(out, 'ingest.json')] },
  { title: 'The iproute2 floor at 100k, against the 100k ingest above', script: 'floor.ts', args: ['--k', '100000', '--runs', runs, '--compare', join(out, 'ingest.json'), '--json', join(out, 'floor-100k.json')] },
  ...(values['skip-1m']
    ? []
    : [
        { title: 'Ingest, 1M prefixes', script: 'ingest.ts', args: ['--k', '1000000', '--runs', runs, '--json', join(out, 'ingest-1m.json')] },
        { title: 'The iproute2 floor at 1M, against the 1M ingest above', script: 'floor.ts', args: ['--k', '1000000', '--runs', runs, '--compare', join(out, 'ingest-1m.json'), '--json', join(out, 'floor-1m.json')] },
      ]),
  {
    title: 'Mesh: block change, silent host, host leaving and joining (hold 3 s, keepalive 1 s)',
    script: 'mesh.ts',
    args: ['--n', values.quick ? '10' : '10,30', '--changes', values.quick ? '3' : '10', '--failures', values.quick ? '1' : '3', '--leaves', values.quick ? '1' : '3', '--json', join(out, 'mesh.json')],
  },
  {
    title: 'Mesh, Calico baseline: BIRD 2 as calico-node configures it, same LAN and scenarios (hold 30 s, keepalive 10 s)',
    script: 'mesh-bird.ts',
    args: ['--n', values.quick ? '10' : '10,30', '--changes', values.quick ? '3' : '10', '--json', join(out, 'mesh-bird.json')],
  },
  ...(values.quick || values['skip-100']
    ? []
    : [
        {
          title: 'Mesh at N=100: weft (hold 30 s, keepalive 10 s, ConnectRetry 5 s as by default; cold start, block change, a host leaving and joining, idle footprint)',
          script: 'mesh.ts',
          args: ['--n', '100', '--changes', '5', '--failures', '0', '--leaves', '3', '--hold', '30', '--keepalive', '10', '--connect-retry', '5', '--idle', '10', '--window', '10', '--json', join(out, 'mesh-100.json')],
        },
        { title: 'Mesh at N=100: the Calico baseline (BIRD 2)', script: 'mesh-bird.ts', args: ['--n', '100', '--changes', '5', '--json', join(out, 'mesh-bird-100.json')] },
      ]),
  ...(values.quick || values['skip-rr']
    ? []
    : [
        {
          title: 'Route reflectors, 2 reflectors and 200 clients: weft (hold 30 s, keepalive 10 s, ConnectRetry 5 s; cold start, block change on a client, a client leaving and joining, idle footprint of reflectors and clients)',
          script: 'mesh.ts',
          args: ['--topology', 'rr', '--reflectors', '2', '--clients', '200', '--changes', '5', '--failures', '0', '--leaves', '3', '--hold', '30', '--keepalive', '10', '--connect-retry', '5', '--idle', '10', '--window', '10', '--json', join(out, 'rr.json')],
        },
        {
          title: 'Route reflectors, 2 reflectors and 200 clients: the Calico baseline (BIRD 2 with rr client / rr cluster id on the reflectors)',
          script: 'mesh-bird.ts',
          args: ['--topology', 'rr', '--reflectors', '2', '--clients', '200', '--changes', '5', '--hold', '30', '--keepalive', '10', '--json', join(out, 'rr-bird.json')],
        },
      ]),
  {
    title: 'Idle footprint with the default timers (hold 30 s, keepalive 10 s)',
    script: 'mesh.ts',
    args: ['--n', values.quick ? '10' : '30', '--changes', '0', '--failures', '0', '--leaves', '0', '--hold', '30', '--keepalive', '10', '--json', join(out, 'footprint.json')],
  },
];

const version = (cmd: string, args: string[]): string => {
  // Some print their version on stderr (bird): both are read.
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return `${cmd}: n/a (${r.error.message})`;
  return `${r.stdout}\n${r.stderr}`.trim().split('\n')[0].trim();
};

const machine = [
  `- date: ${new Date().toISOString()}`,
  `- kernel: ${version('uname', ['-sr'])}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}); ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
  `- node ${process.version}; ${version('ip', ['-V'])}; ${version('bird', ['--version'])}; ${version('/usr/lib/frr/bgpd', ['--version'])}; ${version('gobgpd', ['--version'])}`,
  `- load average at the start: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
];

function run(step: Step): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join('labs', 'bench', step.script), ...step.args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      process.stdout.write(d);
    });
    // Progress lines go to stderr: shown, not kept in the report.
    child.stderr.setEncoding('utf8').on('data', (d: string) => process.stderr.write(d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`${step.script} ${step.args.join(' ')} exited with ${code}`))));
  });
}

const sections: string[] = [];
let failed = 0;
for (const step of steps) {
  process.stderr.write(`\n== ${step.title}: ${step.script} ${step.args.join(' ')}\n`);
  const started = Date.now();
  try {
    const text = await run(step);
    sections.push(`## ${step.title}\n\n\`tsx labs/bench/${step.script} ${step.args.join(' ')}\` (${((Date.now() - started) / 1000).toFixed(0)} s)\n\n${text.trim()}\n`);
  } catch (e) {
    failed++;
    sections.push(`## ${step.title}\n\nFAILED: ${(e as Error).message}\n`);
  }
}
machine.push(`- load average at the end: ${loadavg()
  .map((l) => l.toFixed(2))
  .join(' ')}`);
const report = `# weft benchmark report\n\n${machine.join('\n')}\n\n${sections.join('\n')}`;
writeFileSync(join(out, 'report.md'), report);
process.stderr.write(`\nreport: ${join(out, 'report.md')}${failed ? ` (${failed} step(s) failed)` : ''}\n`);
process.exitCode = failed ? 1 : 0;
