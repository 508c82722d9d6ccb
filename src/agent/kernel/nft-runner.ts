/**
 * nft, the way the iproute2 driver runs ip (dataplane/iproute2-spawn.ts: parent-death signal, so
 * no helper outlives weft): `nft -f -` for one transaction, `nft -j list table inet weft` to read
 * weft's table back. In a test namespace through `ip netns exec NS nft` (nft has no netns flag).
 */
import { execHelper, spawnHelper } from '../../dataplane/iproute2-spawn.js';
import { FIREWALL_FAMILY, FIREWALL_TABLE } from '../../dataplane/host-firewall.js';

export interface NftRunner {
  /** Applies a ruleset as one transaction (`nft -f -`); rejects with nft's message. */
  apply(text: string): Promise<void>;
  /** `nft -j list table inet weft`, parsed; undefined when the table does not exist. */
  list(): Promise<unknown>;
  /** nft's version line; rejects with NftMissing when there is no nft. */
  version(): Promise<string>;
}

export class NftMissing extends Error {}

const INSTALL = 'install the nftables package (Debian: apt-get install nftables)';

export function nftRunner(netns?: string): NftRunner {
  const argv = (args: string[]): [string, string[]] => (netns ? ['ip', ['netns', 'exec', netns, 'nft', ...args]] : ['nft', args]);
  const exec = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const [tool, a] = argv(args);
      execHelper(tool, a, (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new NftMissing(`nft not found: ${INSTALL}`));
        const c = (err as { code?: unknown } | null)?.code;
        const code = err ? (typeof c === 'number' ? c : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  return {
    async version() {
      const r = await exec(['--version']);
      // `ip netns exec NS nft` with no nft: ip's exec fails with "No such file or directory".
      if (r.code !== 0 && /No such file or directory/.test(r.stderr)) throw new NftMissing(`nft not found: ${INSTALL}`);
      if (r.code !== 0) throw new NftMissing(`nft did not run (${r.stderr.trim() || `exit ${r.code}`}): ${INSTALL}`);
      return r.stdout.trim();
    },
    async list() {
      const r = await exec(['-j', 'list', 'table', FIREWALL_FAMILY, FIREWALL_TABLE]);
      if (r.code !== 0) {
        if (/No such file or directory/.test(r.stderr)) return undefined;
        throw new Error(`nft -j list table ${FIREWALL_FAMILY} ${FIREWALL_TABLE}: ${r.stderr.trim() || `exit ${r.code}`}`);
      }
      return JSON.parse(r.stdout) as unknown;
    },
    apply(text) {
      return new Promise<void>((resolve, reject) => {
        const [tool, a] = argv(['-f', '-']);
        const child = spawnHelper(tool, a, { stdio: ['pipe', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr?.setEncoding('utf8');
        child.stderr?.on('data', (d: string) => (stderr += d));
        child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new NftMissing(`nft not found: ${INSTALL}`) : e));
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`nft -f -: ${stderr.trim() || `exit ${code}`}`))));
        child.stdin?.on('error', () => undefined); // the exit code tells
        child.stdin?.end(text);
      });
    },
  };
}
