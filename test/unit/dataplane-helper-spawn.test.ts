// How the iproute2 driver starts its helpers (iproute2-spawn.ts): through setpriv --pdeathsig
// where it works, with the owner's mark in the environment; without setpriv, a plain start after
// exactly one warning, and the reads still work. Each case runs in a fresh node process (the
// choice is made once per process), with PATH narrowed to what the case needs.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'weft-spawn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The full path of a program on this PATH; undefined when missing. */
function which(name: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

const SCRIPT = `
import { runTool } from ${JSON.stringify(pathToFileURL(join(ROOT, 'src/dataplane/iproute2.js')).href)};
import { pdeathsigActive, HELPER_ENV } from ${JSON.stringify(pathToFileURL(join(ROOT, 'src/dataplane/iproute2-spawn.js')).href)};
const warnings = [];
process.on('warning', (w) => warnings.push(w.code));
const links = JSON.parse(await runTool('ip', ['-json', 'link', 'show', 'lo']));
await runTool('ip', ['-json', 'link', 'show', 'lo']);
await new Promise((r) => setImmediate(r));
console.log(JSON.stringify({ lo: links[0]?.ifname, active: pdeathsigActive(), warnings, env: HELPER_ENV }));
`;

/** Runs SCRIPT with PATH = a directory holding links to `tools` only. */
function runWith(tools: string[], env: NodeJS.ProcessEnv = {}): { lo: string; active: boolean; warnings: string[]; env: string } {
  const bin = mkdtempSync(join(dir, 'bin-'));
  for (const t of tools) symlinkSync(which(t)!, join(bin, t));
  const script = join(dir, `case-${tools.length}-${Object.keys(env).length}.mts`);
  writeFileSync(script, SCRIPT);
  const out = execFileSync(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env, PATH: bin }, stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out.trim().split('\n').pop()!) as { lo: string; active: boolean; warnings: string[]; env: string };
}

const missing = ['ip', 'setpriv'].filter((t) => which(t) === undefined);

describe.skipIf(missing.length > 0)('helper processes: parent-death signal through setpriv', () => {
  it('with setpriv: used, no warning', () => {
    expect(runWith(['ip', 'setpriv'])).toEqual({ lo: 'lo', active: true, warnings: [], env: 'WEFT_HELPER_OF' });
  });

  it('without setpriv: one warning (however many helpers start), and the helpers still run', () => {
    expect(runWith(['ip'])).toEqual({ lo: 'lo', active: false, warnings: ['WEFT_NO_PDEATHSIG'], env: 'WEFT_HELPER_OF' });
  });

  it('WEFT_HELPERS_PDEATHSIG=off: not used, no warning', () => {
    expect(runWith(['ip', 'setpriv'], { WEFT_HELPERS_PDEATHSIG: 'off' })).toEqual({ lo: 'lo', active: false, warnings: [], env: 'WEFT_HELPER_OF' });
  });
});
