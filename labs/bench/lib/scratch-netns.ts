/**
 * A throw-away network namespace and temp directory for the kernel benchmarks (kernel.ts,
 * floor.ts): `ip` inside it, the FIB's prefix count (/proc/net/fib_triestat: ~17 ms at 100k where
 * `ip route | wc -l` costs ~0.26 s), one `ip -force -batch FILE`, and a main() runner that removes
 * the namespace and the directory however main() ends.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ScratchNetns {
  readonly ns: string;
  readonly dir: string;
  /** `ip -n NS ...`, its standard output. */
  ip(...args: string[]): string;
  /** Prefixes in the namespace's main table, from /proc/net/fib_triestat (-1 when unreadable). */
  fibPrefixes(): number;
  /** `ip -n NS -force -batch FILE`; rejects with ip's first error lines. */
  ipBatch(file: string): Promise<void>;
  /** Runs main(); whatever happens, the namespace and the directory are removed afterwards. */
  run(main: () => Promise<void>): void;
}

export function scratchNetns(nsPrefix: string, dirPrefix: string): ScratchNetns {
  const ns = `${nsPrefix}-${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), `${dirPrefix}-`));
  return {
    ns,
    dir,
    ip: (...a) => execFileSync('ip', ['-n', ns, ...a], { stdio: ['ignore', 'pipe', 'pipe'] }).toString(),
    fibPrefixes() {
      const text = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/fib_triestat']).toString();
      const m = /Main:[\s\S]*?Prefixes:\s*(\d+)/.exec(text);
      return m ? Number(m[1]) : -1;
    },
    ipBatch: (file) =>
      new Promise((resolve, reject) => {
        const c = spawn('ip', ['-n', ns, '-force', '-batch', file], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        c.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
        c.on('error', reject);
        c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ip -batch ${file} failed: ${err.split('\n').slice(0, 3).join('; ')}`))));
      }),
    run(main) {
      main()
        .catch((e: unknown) => {
          console.error(e);
          process.exitCode = 1;
        })
        .finally(() => {
          try {
            execFileSync('ip', ['netns', 'del', ns]);
          } catch {
            // already gone
          }
          rmSync(dir, { recursive: true, force: true });
        });
    },
  };
}
