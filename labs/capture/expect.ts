/**
 * `npx tsx labs/capture/expect.ts [--check]`: adds or refreshes the `"expected"` key of every
 * proto-fixtures/*.json, = messageToJson(decodeMessage(hex, options)), weft's own decode of the
 * captured bytes. Every other key and the key order are kept (`expected` goes last when new).
 *
 * Prints one line per fixture (unchanged / updated / added) and flags any fixture whose decode has
 * RFC 7606 problems (`problems` on an UPDATE), or that fails to decode at all, or whose re-encode
 * is not byte-identical: real daemons' messages should decode cleanly, so each flag is a codec bug
 * or a daemon quirk to look at before committing the new expectations.
 *
 * With `--check` nothing is written; the exit status is 1 if any fixture's "expected" is missing or
 * stale, or any flag was raised. test/unit/wire-fixtures.test.ts checks the same on every test run.
 */
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { bytesEqual, fromHex } from '../../src/lib/hex.js';
import { decodeMessage, encodeMessage, messageToJson } from '../../src/wire/message.js';
import type { WireOptions } from '../../src/wire/types.js';

const DIR = join(import.meta.dirname, '..', '..', 'proto-fixtures');
const check = process.argv.includes('--check');

interface FixtureOptions {
  fourOctetAs: boolean;
  extendedMessage: boolean;
  addPath: string[];
}

/** The fixture's `options` (JSON: addPath is a list) as WireOptions (addPath is a Set). */
function wireOptions(o: FixtureOptions): WireOptions {
  return { fourOctetAs: o.fourOctetAs, extendedMessage: o.extendedMessage, addPath: new Set(o.addPath) };
}

let flagged = 0;
let stale = 0;
const counts = { unchanged: 0, updated: 0, added: 0 };
const files = readdirSync(DIR)
  .filter((n) => n.endsWith('.json'))
  .sort();

for (const file of files) {
  const path = join(DIR, file);
  const fx = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown> & { hex: string; options: FixtureOptions };
  const opts = wireOptions(fx.options);
  const bytes = fromHex(fx.hex);
  let expected: unknown;
  try {
    const msg = decodeMessage(bytes, opts);
    expected = messageToJson(msg);
    if (msg.type === 'update' && msg.problems !== undefined && msg.problems.length > 0) {
      flagged++;
      for (const p of msg.problems) console.log(`FLAG ${file}: RFC 7606 ${p.severity}: ${p.code}: ${p.message}`);
    }
    let again: Uint8Array | undefined;
    try {
      again = encodeMessage(msg, opts);
    } catch (e) {
      flagged++;
      console.log(`FLAG ${file}: re-encode throws: ${(e as Error).message}`);
    }
    if (again !== undefined && !bytesEqual(again, bytes)) {
      flagged++;
      let at = 0;
      while (at < Math.min(again.length, bytes.length) && again[at] === bytes[at]) at++;
      console.log(`FLAG ${file}: re-encode differs from the capture at byte ${at} (${again.length} vs ${bytes.length} octets)`);
    }
  } catch (e) {
    flagged++;
    console.log(`FLAG ${file}: decode throws: ${(e as Error).message}; its "expected" is left as it was`);
    continue;
  }
  const had = 'expected' in fx;
  if (had && isDeepStrictEqual(fx.expected, expected)) {
    counts.unchanged++;
    continue;
  }
  stale++;
  counts[had ? 'updated' : 'added']++;
  console.log(`${had ? 'updated' : 'added'}  ${file}`);
  if (check) continue;
  // Assigning an existing key keeps its place; a new key goes last.
  fx.expected = expected;
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(fx, null, 2)}\n`);
  renameSync(tmp, path);
}

console.log(
  `expect: ${files.length} fixtures: ${counts.unchanged} unchanged, ${counts.updated} updated, ${counts.added} added` +
    `${check ? ' (--check: nothing written)' : ''}; ${flagged} flag(s)`,
);
if (check && (stale > 0 || flagged > 0)) process.exitCode = 1;
