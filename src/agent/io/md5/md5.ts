/**
 * TCP MD5 signatures (RFC 2385) for BGP sessions. Node has no setsockopt, so the key is set by a
 * small N-API addon (weft-md5.c, built by node-gyp from the package's `install` script into
 * build/Release/weft_md5.node). The addon is optional: when it was not built or does not load,
 * weft runs as before and only a configuration that asks for a password is refused (at start,
 * at reload and by `weft config check`), never connected without its key.
 *
 * The kernel drops a segment whose signature is missing or wrong without a word to either
 * application: a session with the wrong key looks like a peer that never answers. What can be
 * known is counted here: the namespace's TcpExt counters (TCPMD5NotFound: a segment without
 * signature from an address we hold a key for; TCPMD5Failure: a wrong signature; TCPMD5Unexpected:
 * a signed segment from an address we hold no key for) and, per peer, the dial attempts that
 * timed out.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's functions (weft-md5.c). File descriptors are plain numbers; errors carry .code. */
export interface Md5Addon {
  socket(family: 4 | 6, listening: boolean): number;
  /** TCP_MD5SIG for one remote address; key '' removes it. */
  setKey(fd: number, address: string, key: string): void;
  bind(fd: number, address: string, port: number): void;
  listen(fd: number, backlog: number): void;
  close(fd: number): void;
}

export type Md5Support = { ok: true; addon: Md5Addon; path: string } | { ok: false; reason: string };

/** The longest key Linux takes (TCP_MD5SIG_MAXKEYLEN). */
export const MD5_MAX_KEY_BYTES = 80;

const HERE = dirname(fileURLToPath(import.meta.url));
const ADDON = join('build', 'Release', 'weft_md5.node');

/**
 * Where the addon may be: next to this file (the sources, run with tsx) or, from the compiled
 * dist/agent/io/md5/, in the source tree it was built in. WEFT_MD5_ADDON overrides (tests use a
 * missing path to see what happens without the addon).
 */
function candidates(): string[] {
  const env = process.env.WEFT_MD5_ADDON;
  if (env !== undefined && env !== '') return [env];
  return [join(HERE, ADDON), join(HERE, '..', '..', '..', '..', 'src', 'agent', 'io', 'md5', ADDON)];
}

let cached: Md5Support | undefined;

/** md5Support, loaded once (from WEFT_MD5_ADDON or the build folder). */
export function md5Support(): Md5Support {
  cached ??= loadMd5(candidates());
  return cached;
}

/**
 * Loads the addon from the first of `paths` that exists and checks that the kernel takes a key
 * (CONFIG_TCP_MD5SIG): a key set on a fresh socket and the socket closed. Never throws.
 */
export function loadMd5(paths: readonly string[]): Md5Support {
  const path = paths.find((p) => existsSync(p));
  if (path === undefined) {
    return { ok: false, reason: `the TCP MD5 addon is not built (looked for ${paths.join(', ')}; "npm install" builds it with node-gyp, which needs python3, make and g++)` };
  }
  let addon: Md5Addon;
  try {
    addon = createRequire(import.meta.url)(path) as Md5Addon;
  } catch (e) {
    return { ok: false, reason: `the TCP MD5 addon ${path} does not load: ${(e as Error).message}` };
  }
  try {
    const fd = addon.socket(4, false);
    try {
      addon.setKey(fd, '127.0.0.1', 'weft-probe');
    } finally {
      addon.close(fd);
    }
  } catch (e) {
    return { ok: false, reason: `the kernel refuses TCP MD5 keys (CONFIG_TCP_MD5SIG?): ${(e as Error).message}` };
  }
  return { ok: true, addon, path };
}

/** The error for a configuration that asks for passwords where the addon is not available, or undefined. */
export function md5Problem(passwordPaths: readonly string[]): string | undefined {
  if (passwordPaths.length === 0) return undefined;
  const s = md5Support();
  if (s.ok) return undefined;
  return `${passwordPaths.join(', ')}: TCP MD5 (password) is configured but ${s.reason}; nothing was started (weft never connects without the configured key)`;
}

export interface Md5Counters {
  /** A segment without signature from an address a key is set for (dropped). */
  notFound: number;
  /** A segment with a wrong signature (dropped). */
  failure: number;
  /** A signed segment from an address no key is set for (dropped). */
  unexpected: number;
}

/** The TcpExt MD5 counters of this network namespace (/proc/net/netstat); undefined when not readable. */
export function readMd5Counters(file = '/proc/net/netstat'): Md5Counters | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return parseMd5Counters(text);
}

export function parseMd5Counters(text: string): Md5Counters | undefined {
  const lines = text.split('\n').filter((l) => l.startsWith('TcpExt:'));
  if (lines.length < 2) return undefined;
  const names = lines[0].split(/\s+/).slice(1);
  const values = lines[1].split(/\s+/).slice(1).map(Number);
  const get = (n: string) => {
    const i = names.indexOf(n);
    return i < 0 ? 0 : (values[i] ?? 0);
  };
  if (!names.includes('TCPMD5Failure')) return undefined;
  return { notFound: get('TCPMD5NotFound'), failure: get('TCPMD5Failure'), unexpected: get('TCPMD5Unexpected') };
}

/**
 * What weft can say about a session with a password that is not up. The kernel tells neither side
 * why: a dial with the wrong (or an unexpected) key simply never completes, and a peer's
 * connection without the right key never reaches the listener. So: the dial attempts that timed
 * out, and the namespace's drop counters (for every address, not only this peer).
 */
export function md5Diagnosis(o: { established: boolean; passive: boolean; dialTimeouts: number; counters: Md5Counters | undefined }): string | undefined {
  if (o.established) return undefined;
  const c = o.counters;
  const drops = c && c.notFound + c.failure + c.unexpected > 0;
  if (o.dialTimeouts === 0 && !drops) return undefined;
  // A passive mesh session makes one dial at start (issue 15), so it can have both symptoms.
  const dialed = `no TCP connection completed (${o.dialTimeouts} dial attempt${o.dialTimeouts === 1 ? '' : 's'} timed out)`;
  const what = o.dialTimeouts > 0
    ? o.passive ? `${dialed} and none from the peer reached weft` : dialed
    : o.passive ? 'no TCP connection from the peer reached weft' : 'no TCP connection completed';
  const counted = c ? `; segments this host's kernel dropped so far (all peers): ${c.notFound} without signature (TCPMD5NotFound), ${c.failure} with a wrong one (TCPMD5Failure), ${c.unexpected} signed where no key is set (TCPMD5Unexpected)` : '';
  return `${what}; MD5 configured: check the password at both ends (the kernel drops segments with a missing or wrong signature silently)${counted}`;
}
