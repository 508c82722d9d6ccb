// The npm package as a host gets it: `npm pack` of this tree, the tarball's file list checked,
// installed with `npm install -g --prefix TMP` (offline, from the npm cache), and the installed
// copy used as an operator would: --version, `weft config check` on the shipped sample, a man
// page rendered by man, the bash completion through bash, `weft install --root` and
// `systemd-analyze verify` on the unit it wrote, and two agents from the installed copy, started
// from the shipped sample adapted to two namespaces, that reach Established, exchange their
// blocks into the kernel as proto weft and answer `weft status` and /metrics; each registers the
// iproute2 protocol name itself (or reports the conflict) in a private /etc/iproute2/rt_protos.d.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { httpGetInNs } from '../helpers/agent.js';
import { run, type RunResult } from '../helpers/exec.js';
import { Lab, type ProcHandle } from '../helpers/netns.js';
import { missingPrereq } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';
import { readJsonLog } from '../helpers/weft.js';

const REPO = join(import.meta.dirname, '..', '..');
const RT_PROTOS_D = '/etc/iproute2/rt_protos.d';
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { name: string; version: string; man: string[] };
// The package is packed from dist/ as `npm run build` left it (npm test builds first; building
// here would take most of the time budget on a loaded machine). prepack removes leftovers.
const skipReason = missingPrereq(['npm', 'ip', 'bash'], join(REPO, 'dist', 'man', 'weft.1'));
if (skipReason) console.warn(`install-package skipped: ${skipReason}`);

/** npm without the npm_* settings of the npx/vitest that runs us (a prefix or cache from there would leak in). */
const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

let lab: Lab;
let tarball: string;
let files: string[];
let prefix: string;
let installed: string;
let weft: string;
let installLog: RunResult;
const timings: string[] = [];

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    timings.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

describe.skipIf(skipReason !== undefined)('the npm package, installed', () => {
  beforeAll(async () => {
    lab = Lab.create();
    const packed = await timed('pack', () => run('npm', ['pack', '--json', '--pack-destination', lab.dir], { timeoutMs: 60_000, env: npmEnv }));
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[]; size: number }[];
    tarball = join(lab.dir, info.filename);
    files = info.files.map((f) => f.path).sort();
    timings.push(`tarball ${files.length} files, ${(info.size / 1024).toFixed(0)} KiB`);
    prefix = lab.path('prefix');
    const install = (mode: string) =>
      run('npm', ['install', '-g', '--prefix', prefix, mode, '--no-audit', '--no-fund', '--foreground-scripts', tarball], { timeoutMs: 110_000, env: npmEnv });
    installLog = await timed('install', async () => {
      try {
        return await install('--offline');
      } catch (e) {
        // A cold npm cache: fetch the dependencies once (later runs are offline).
        if (!/ENOTCACHED/.test((e as Error).message)) throw e;
        console.warn('install-package: npm cache cold, installing with --prefer-offline');
        return install('--prefer-offline');
      }
    });
    installed = join(prefix, 'lib', 'node_modules', pkg.name);
    weft = join(prefix, 'bin', 'weft');
  });

  afterAll(async () => {
    console.log(`install-package: ${timings.join(', ')}`);
    const problems = lab ? await lab.cleanup() : [];
    if (prefix) rmSync(prefix, { recursive: true, force: true });
    expect(problems).toEqual([]);
  });

  it('the tarball holds what a host needs and nothing of the development tree', () => {
    for (const f of ['package.json', 'README.md', 'LICENSE', 'labs/package/weft.yaml', 'labs/package/nodes.yaml', 'labs/package/weft.service', 'dist/cli/main.js', 'dist/completion/weft.bash', 'dist/completion/_weft', 'src/agent/io/md5/binding.gyp', 'src/agent/io/md5/weft-md5.c', ...pkg.man]) {
      expect(files, f).toContain(f);
    }
    // No source maps: the sources they point at are not shipped (tsconfig.build.json: sourceMap false).
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => /(^|\/)test\/|\.test\.|^proto-fixtures\/|^\.ci\/|node_modules\/|\/build\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('src/') && !f.startsWith('src/agent/io/md5/'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('labs/') && !f.startsWith('labs/package/'))).toEqual([]);
    // Every compiled file comes from a source that exists now (no leftovers of moved modules).
    const stale = files.filter((f) => f.startsWith('dist/') && f.endsWith('.js') && !existsSync(join(REPO, 'src', f.slice(5).replace(/\.js$/, '.ts'))));
    expect(stale).toEqual([]);
  });

  it('installs: the program, its version, the license, the man pages linked, the MD5 addon or its notice', async () => {
    expect((await run(weft, ['--version'])).stdout.trim()).toBe(pkg.version);
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    for (const m of pkg.man) expect(existsSync(join(prefix, 'share', 'man', 'man1', m.split('/').pop()!)), m).toBe(true);
    const addon = join(installed, 'src', 'agent', 'io', 'md5', 'build', 'Release', 'weft_md5.node');
    timings.push(existsSync(addon) ? 'MD5 addon built by the install script' : 'MD5 addon not built');
    if (existsSync(addon)) {
      // The installed agent finds the addon it built: a password is accepted.
      const conf = lab.path('md5.yaml');
      writeFileSync(conf, stringify({ ...parse(readFileSync(join(installed, 'labs/package/weft.yaml'), 'utf8')), mesh: { nodes: [{ name: 'host-b', address: '10.0.1.12' }], password: 'secret' } }));
      expect((await run(weft, ['config', 'check', conf])).stdout).toContain('valid');
    } else {
      expect(installLog.stderr + installLog.stdout).toContain('the TCP MD5 addon (src/agent/io/md5) was not built');
      console.warn('install-package: the MD5 addon was not built here; its notice was printed');
    }
  });

  it('checks the shipped sample; without -c it names the default path', async () => {
    const r = await run(weft, ['config', 'check', join(installed, 'labs/package/weft.yaml')]);
    expect(r.stdout).toMatch(/weft\.yaml: valid\n {2}node host-a AS 64512/);
    if (existsSync('/etc/weft/weft.yaml')) {
      console.warn('install-package: /etc/weft/weft.yaml exists here: the missing-default message is not checked');
      return;
    }
    const a = await run(weft, ['agent'], { okCodes: [2] });
    expect(a.stderr).toContain('/etc/weft/weft.yaml: no such file (the default configuration)');
  });

  it('a man page renders; the bash completion parses and completes', async () => {
    const page = join(prefix, 'share', 'man', 'man1', 'weft-agent.1');
    if (existsSync('/usr/bin/man')) {
      const r = await run('man', ['-l', page], { env: { ...process.env, MANWIDTH: '80' } });
      // Bold and underline may come as overstrikes (c BS c): the text is what is checked.
      const text = r.stdout.replace(/.\x08/g, '');
      expect(text).toMatch(/^WEFT-AGENT\(1\) +weft manual +WEFT-AGENT\(1\)$/m);
      expect(text).toMatch(/^EXIT STATUS$/m);
      expect(text).toMatch(/^ +-c, --config <file>$/m);
      expect(text).toContain('/etc/weft/weft.yaml');
    } else {
      console.warn('install-package: man not installed, roff checked as text');
      expect(readFileSync(page, 'utf8')).toMatch(/^\.TH WEFT\\-AGENT 1/m);
    }
    const script = (await run(weft, ['completion', 'bash'])).stdout;
    expect(script).toBe(readFileSync(join(installed, 'dist', 'completion', 'weft.bash'), 'utf8'));
    await run('bash', ['-n'], { input: script });
    const f = lab.path('weft.bash');
    writeFileSync(f, script);
    const r = await run('bash', ['-c', `source ${f}; COMP_WORDS=(weft agent --log-level ''); COMP_CWORD=3; _weft; echo "\${COMPREPLY[*]}"`]);
    expect(r.stdout.trim()).toBe('debug info warn error silent');
  });

  it('weft install --root writes the unit, which systemd-analyze verifies', async () => {
    const root = lab.path('root');
    const r = await run(weft, ['install', '--root', root]);
    expect(r.stdout).toMatch(/^created +.*\/etc\/systemd\/system\/weft\.service/m);
    const unitPath = join(root, 'etc/systemd/system/weft.service');
    const unit = readFileSync(unitPath, 'utf8');
    expect(unit).toContain(`ExecStart=${weft} agent`);
    for (const line of ['Restart=on-failure', 'RuntimeDirectory=weft', 'ReadWritePaths=/run/weft', 'ProtectSystem=strict', 'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_NET_RAW', 'AmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_NET_RAW', 'LimitNOFILE=']) {
      expect(unit).toContain(line);
    }
    expect(readFileSync(join(root, 'etc/weft/weft.yaml'), 'utf8')).toBe(readFileSync(join(installed, 'labs/package/weft.yaml'), 'utf8'));
    if (!existsSync('/usr/bin/systemd-analyze')) {
      console.warn('install-package: systemd-analyze not installed: the unit is not verified');
      return;
    }
    // MANPATH: the Documentation= pages are the ones this install linked.
    const v = await run('systemd-analyze', ['verify', unitPath], { env: { ...process.env, MANPATH: `${join(prefix, 'share', 'man')}:` }, okCodes: [0, 1] });
    expect(`${v.code} ${v.stderr}${v.stdout}`.trim()).toBe('0');
  });

  it('two agents of the installed copy, from the sample, in namespaces: Established, blocks in the kernel, status and metrics', async () => {
    const nsA = await lab.createNs('a');
    const nsB = await lab.createNs('b');
    await lab.veth(nsA, 'eth0', '10.77.0.1/24', nsB, 'eth0', '10.77.0.2/24');
    const sample = parse(readFileSync(join(installed, 'labs/package/weft.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
    const host = (name: string, me: string, other: { name: string; address: string }, block: string) => {
      const conf = lab.path(`${name}.yaml`);
      const socket = lab.path(`${name}.sock`);
      writeFileSync(
        conf,
        stringify({
          ...sample,
          node: { ...sample.node, name, routerId: me, address: `${me}/24` },
          mesh: { ...sample.mesh, nodes: [other] },
          blocks: [block],
          control: { socket },
          timers: { connectRetry: 1 },
        }),
      );
      return { conf, socket };
    };
    const a = host('host-a', '10.77.0.1', { name: 'host-b', address: '10.77.0.2' }, '10.244.3.0/26');
    const b = host('host-b', '10.77.0.2', { name: 'host-a', address: '10.77.0.1' }, '10.244.7.0/26');
    // Each agent sees its own /etc/iproute2/rt_protos.d (a directory of this run bound over it in a
    // private mount namespace): host-a's is empty, so it registers "249 weft" itself; host-b's
    // names 249 otherwise, which it must leave alone, report, and run on.
    const privateProtos = existsSync(RT_PROTOS_D);
    const protosA = lab.path('rt_protos-a');
    const protosB = lab.path('rt_protos-b');
    mkdirSync(protosA);
    mkdirSync(protosB);
    writeFileSync(join(protosB, 'otherd.conf'), '249\totherd\n');
    const agent = (ns: string, name: string, conf: string, protos: string) =>
      privateProtos
        ? lab.spawnIn(ns, 'unshare', ['-m', 'sh', '-c', `mount --bind "$0" ${RT_PROTOS_D} && exec "$1" agent -c "$2"`, protos, weft, conf], { label: name })
        : lab.spawnIn(ns, weft, ['agent', '-c', conf], { label: name });
    if (!privateProtos) console.warn(`install-package: no ${RT_PROTOS_D} on this machine to bind over: the agents' protocol-name registration is not checked`);
    const procs: ProcHandle[] = [agent(nsA, 'host-a', a.conf, protosA), agent(nsB, 'host-b', b.conf, protosB)];
    const logs = () => procs.map((p) => `--- ${p.label}\n${p.logTail(15)}`).join('\n');
    const started = Date.now();
    const status = await waitFor(
      async () => {
        const r = await run(weft, ['status', '-s', a.socket], { okCodes: [0, 1, 2] });
        return r.code === 0 && /host-b.*Established/.test(r.stdout) ? r.stdout : undefined;
      },
      { what: 'host-a: weft status shows host-b Established', timeoutMs: 30_000, intervalMs: 200, diagnose: logs },
    );
    timings.push(`agents to Established ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(status).toMatch(/host-b/);
    const route = await waitFor(
      async () => {
        const out = (await lab.ip(nsA, 'route', 'show', '10.244.7.0/26')).stdout;
        return out.includes('via 10.77.0.2') ? out : undefined;
      },
      { what: "host-b's block in host-a's kernel", timeoutMs: 15_000, diagnose: logs },
    );
    // The name for 249 comes from /etc/iproute2 (the agent adds it when missing).
    expect(route).toMatch(/^10\.244\.7\.0\/26 (nhid \d+ )?via 10\.77\.0\.2 dev eth0 proto (weft|249)/m);
    expect((await lab.ip(nsA, 'route', 'show', '10.244.3.0/26')).stdout).toMatch(/^blackhole 10\.244\.3\.0\/26 proto (weft|249)/m);
    const metrics = await httpGetInNs(nsA, 'http://127.0.0.1:9179/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^# TYPE weft_/m);
    if (privateProtos) {
      expect(readFileSync(join(protosA, 'weft.conf'), 'utf8')).toMatch(/^249\tweft$/m);
      expect(readJsonLog(procs[0].logPath, 'agent.proto-name-registered').map((l) => l.file)).toEqual([`${RT_PROTOS_D}/weft.conf`]);
      expect(existsSync(join(protosB, 'weft.conf'))).toBe(false);
      const problem = readJsonLog(procs[1].logPath, 'agent.proto-name-problem');
      expect(problem).toHaveLength(1);
      expect(problem[0].msg).toContain(`protocol number 249 is already named "otherd" in ${RT_PROTOS_D}/otherd.conf line 1`);
    }
    for (const p of procs) p.signal('SIGTERM');
    const exits = await Promise.all(procs.map((p) => p.exited));
    expect(exits.map((e) => e.code)).toEqual([0, 0]);
  });
});
