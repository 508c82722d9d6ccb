/**
 * `node config-child.js agent|nodes FILE`: loads and validates one file with the schema
 * (agent-config.ts) and prints the result as one JSON line: {ok: true, value} or {ok: false,
 * source, problems}. Run by config-load.ts so that the agent process never loads zod and yaml.
 * An agent config naming a mesh nodes file brings that file's nodes along (`nodes`, with the
 * file's stat stamp): the agent reads both at start, and each child is a node start (~0.2 s of
 * CPU with zod and yaml), which a 100-host mesh starting at once pays 100 times.
 */
import { loadAgentConfig, loadNodesFile } from './agent-config.js';
import { ConfigError } from './config-error.js';
import { fileStamp } from './file-stamp.js';

const [kind, file] = process.argv.slice(2);
try {
  if (file === undefined || (kind !== 'agent' && kind !== 'nodes')) throw new Error('usage: config-child.js agent|nodes FILE');
  const value = kind === 'agent' ? loadAgentConfig(file) : loadNodesFile(file);
  let nodes: { file: string; stamp: string; value: unknown } | undefined;
  const nodesFile = kind === 'agent' ? (value as ReturnType<typeof loadAgentConfig>).config.mesh.nodesFile : undefined;
  if (nodesFile !== undefined) {
    try {
      // The stamp first: a file changed during the read then no longer matches it.
      const stamp = fileStamp(nodesFile);
      nodes = { file: nodesFile, stamp, value: loadNodesFile(nodesFile) };
    } catch (e) {
      // A broken nodes file is reported when the agent reads it itself, with its own message.
      if (!(e instanceof ConfigError)) throw e;
    }
  }
  process.stdout.write(`${JSON.stringify({ ok: true, value, ...(nodes ? { nodes } : {}) })}\n`);
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  process.stdout.write(`${JSON.stringify({ ok: false, source: e.source, problems: e.problems })}\n`);
}
