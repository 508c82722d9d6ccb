// `weft install` and the iproute2 protocol name (src/agent/kernel/rt-protos.ts), on temporary
// roots: what is written, what is never overwritten, conflicts reported with their file, and the
// default configuration path of `weft agent` / `weft config check`.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkProtoName, parseRtProtos, registerProtoName, RT_PROTOS_FILE } from '../../src/agent/kernel/rt-protos.js';
import { DEFAULT_CONFIG_FILE } from '../../src/cli/agent.js';
import { defaultBin, unitText } from '../../src/cli/install.js';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/output.js';

const base = mkdtempSync(join(tmpdir(), 'weft-cli-install-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
/** A fresh root directory, with files given as path -> text. */
function root(files: Record<string, string> = {}): string {
  const r = join(base, `root-${++n}`);
  mkdirSync(r);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(r, p, '..'), { recursive: true });
    writeFileSync(join(r, p), text);
  }
  return r;
}

async function weft(args: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t), readStdin: async () => new Uint8Array(), stdinIsTty: () => true };
  const status = await main(args, io);
  return { status, out, err };
}

const read = (r: string, p: string) => readFileSync(join(r, p), 'utf8');

describe('rt_protos registration', () => {
  it('parses decimal and hex numbers, skips comments and junk', () => {
    expect(parseRtProtos('# c\n249 weft # mine\n0xba bgp\nnonsense\n  \n12\n', 'f')).toEqual([
      { number: 249, name: 'weft', file: 'f', line: 2 },
      { number: 186, name: 'bgp', file: 'f', line: 3 },
    ]);
  });

  it('writes 249 weft into rt_protos.d (the directory created) once; then it is present', () => {
    const r = root({ 'etc/iproute2/rt_protos': '0 unspec\n2 kernel\n' });
    expect(registerProtoName(r)).toEqual({ type: 'written', file: join(r, RT_PROTOS_FILE), appended: false });
    expect(read(r, RT_PROTOS_FILE)).toMatch(/^249\tweft$/m);
    expect(statSync(join(r, RT_PROTOS_FILE)).mode & 0o777).toBe(0o644);
    expect(registerProtoName(r)).toEqual({ type: 'present', file: join(r, RT_PROTOS_FILE) });
  });

  it('finds the name wherever iproute2 reads it (the table, other .d files, /usr/share/iproute2)', () => {
    for (const file of ['etc/iproute2/rt_protos', 'etc/iproute2/rt_protos.d/zz.conf', 'usr/share/iproute2/rt_protos.d/weft.conf']) {
      const r = root({ [file]: '249  weft\n' });
      expect(registerProtoName(r)).toEqual({ type: 'present', file: join(r, file) });
      expect(existsSync(join(r, RT_PROTOS_FILE)), file).toBe(false);
    }
  });

  it('never clobbers another name for 249: reported with the file and line, nothing written', () => {
    const r = root({ 'etc/iproute2/rt_protos.d/other.conf': '# another daemon\n0xf9 mydaemon\n' });
    const out = registerProtoName(r);
    expect(out.type).toBe('conflict');
    if (out.type !== 'conflict') return;
    expect(out.file).toBe(join(r, 'etc/iproute2/rt_protos.d/other.conf'));
    expect(out.message).toContain('"mydaemon"');
    expect(out.message).toContain('line 2');
    expect(existsSync(join(r, RT_PROTOS_FILE))).toBe(false);
  });

  it('reports the name weft standing for another number', () => {
    const r = root({ 'etc/iproute2/rt_protos': '250 weft\n' });
    const c = checkProtoName(r);
    expect(c.type).toBe('conflict');
    expect(c.type === 'conflict' && c.message).toMatch(/"weft" already stands for protocol number 250/);
    expect(registerProtoName(r).type).toBe('conflict');
  });

  it('appends to an existing weft.conf without the line, keeping what was there', () => {
    const r = root({ [RT_PROTOS_FILE]: '# kept\n251 weftish' });
    expect(registerProtoName(r)).toMatchObject({ type: 'written', appended: true });
    expect(read(r, RT_PROTOS_FILE)).toBe('# kept\n251 weftish\n249\tweft\n');
  });

  it('dry run writes nothing; an unwritable place is a failure with the reason, not an exception', () => {
    const r = root();
    expect(registerProtoName(r, true)).toMatchObject({ type: 'would-write', appended: false });
    expect(existsSync(join(r, 'etc'))).toBe(false);
    const blocked = root({ etc: 'a file where the directory should be' });
    const out = registerProtoName(blocked);
    expect(out.type).toBe('failed');
    expect(out.type === 'failed' && out.message).toMatch(/cannot write .*weft\.conf: .*proto 249/);
  });
});

describe('weft install', () => {
  it('writes the skeleton, sample, unit, protocol name and completions under --root', async () => {
    const r = root();
    const res = await weft(['install', '--root', r, '--bin', '/opt/weft/bin/weft', '--prefix', '/usr']);
    expect(res.status, res.err).toBe(0);
    expect(res.out).toMatch(/^created +.*\/etc\/weft\/weft\.yaml/m);
    expect(read(r, 'etc/weft/weft.yaml')).toBe(readFileSync('labs/package/weft.yaml', 'utf8'));
    expect(statSync(join(r, 'etc/weft/weft.yaml')).mode & 0o777).toBe(0o640);
    expect(read(r, 'etc/weft/nodes.yaml.sample')).toContain('nodes:');
    const unit = read(r, 'etc/systemd/system/weft.service');
    expect(unit).toMatch(/^ExecStart=\/opt\/weft\/bin\/weft agent$/m);
    expect(unit.match(/^ExecStart=/gm)).toHaveLength(1);
    expect(read(r, RT_PROTOS_FILE)).toMatch(/^249\tweft$/m);
    expect(read(r, 'usr/share/bash-completion/completions/weft')).toContain('complete -F _weft weft');
    expect(read(r, 'usr/share/zsh/site-functions/_weft')).toMatch(/^#compdef weft/);
    expect(res.out).toContain(`weft config check ${join(r, DEFAULT_CONFIG_FILE)}`);
  });

  it('never overwrites an existing configuration; a second run changes nothing', async () => {
    const r = root({ 'etc/weft/weft.yaml': 'node: mine\n' });
    const first = await weft(['install', '--root', r, '--bin', '/usr/bin/weft']);
    expect(first.status).toBe(0);
    expect(first.out).toMatch(/^kept +.*weft\.yaml .*left as it is/m);
    expect(read(r, 'etc/weft/weft.yaml')).toBe('node: mine\n');
    const second = await weft(['install', '--root', r, '--bin', '/usr/bin/weft']);
    expect(second.out).not.toMatch(/^(created|updated|written)/m);
    expect(second.out).toMatch(/^present +.*weft\.conf/m);
    expect(second.out).toMatch(/^unchanged +.*weft\.service/m);
  });

  it('--dry-run writes nothing and says what it would do; --no-unit skips the unit', async () => {
    const r = root();
    const res = await weft(['install', '--root', r, '--dry-run', '--no-unit']);
    expect(res.status).toBe(0);
    expect(res.out).toMatch(/^would create +.*weft\.yaml/m);
    expect(res.out).toMatch(/^would write +.*weft\.conf/m);
    expect(res.out).not.toContain('weft.service');
    expect(existsSync(join(r, 'etc'))).toBe(false);
    expect(existsSync(join(r, 'usr'))).toBe(false);
  });

  it('exits 1 on a protocol-name conflict (everything else done), 2 on a relative path', async () => {
    const r = root({ 'etc/iproute2/rt_protos': '249 other\n' });
    const res = await weft(['install', '--root', r, '--bin', '/usr/bin/weft']);
    expect(res.status).toBe(1);
    expect(res.out).toMatch(/^conflict +.*rt_protos +protocol number 249 is already named "other"/m);
    expect(existsSync(join(r, 'etc/systemd/system/weft.service'))).toBe(true);
    const rel = await weft(['install', '--root', 'relative/dir']);
    expect(rel.status).toBe(2);
    expect(rel.err).toMatch(/--root relative\/dir: must be an absolute path/);
  });

  it('the unit starts the given weft with the default configuration; the bin defaults sensibly', () => {
    expect(unitText('/x/weft', '[Service]\nExecStart=/usr/bin/weft agent\n')).toBe('[Service]\nExecStart=/x/weft agent\n');
    expect(() => unitText('/x', '[Service]\n')).toThrow(/no ExecStart/);
    expect(defaultBin('/usr/local/bin/weft')).toBe('/usr/local/bin/weft');
    expect(defaultBin('/somewhere/vitest.mjs')).toBe(`${process.execPath} ${join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js')}`);
  });

  it('--help documents the files and every exit status', async () => {
    const res = await weft(['install', '--help']);
    expect(res.status).toBe(0);
    expect(res.out).toContain('/etc/iproute2/rt_protos.d/weft.conf');
    expect(res.out).toMatch(/Exit status:\n {2}0 .*\n {2}1 .*protocol 249[\s\S]*\n {2}2 .*\n {2}3 /);
  });
});

describe('default configuration path', () => {
  // The machine's own /etc/weft/weft.yaml decides what can be shown here.
  const present = existsSync(DEFAULT_CONFIG_FILE);
  it.skipIf(present)('weft agent and weft config check without a file name the default and what to do', async () => {
    for (const [args, hint] of [
      [['agent'], '-c FILE'],
      [['config', 'check'], 'weft config check FILE'],
    ] as const) {
      const res = await weft([...args]);
      expect(res.status, args.join(' ')).toBe(2);
      expect(res.err).toContain(`${DEFAULT_CONFIG_FILE}: no such file (the default configuration)`);
      expect(res.err).toContain('weft install');
      expect(res.err).toContain(hint);
    }
  });
  if (present) console.warn(`cli-install: ${DEFAULT_CONFIG_FILE} exists on this machine: the missing-default test is skipped`);

  it('an explicit file is still read as before', async () => {
    const res = await weft(['config', 'check', 'labs/package/weft.yaml']);
    expect(res.status, res.err).toBe(0);
    expect(res.out).toContain('labs/package/weft.yaml: valid');
  });
});
