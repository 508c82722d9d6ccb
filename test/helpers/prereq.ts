// What a live test needs before it can run: root (namespaces), the tools it drives, and, for tests
// of weft itself, the built CLI. Each test file asks once and skips with the reason otherwise.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Why a live test cannot run here, or undefined: not root, `built` (a file `npm run build` makes)
 * missing, or one of `tools` (command names or paths) not installed.
 */
export function missingPrereq(tools: readonly string[], built?: string): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (built !== undefined && !existsSync(built)) return `${built} missing (run npm run build)`;
  for (const c of tools) {
    try {
      execFileSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' });
    } catch {
      return `${c} not installed (run labs/install-deps.sh)`;
    }
  }
  return undefined;
}
