/**
 * `node config-child.js agent|nodes FILE`: loads and validates one file with the schema
 * (agent-config.ts) and prints the result as one JSON line: {ok: true, value} or {ok: false,
 * source, problems}. Run by config-load.ts so that the agent process never loads zod and yaml.
 */
import { loadAgentConfig, loadNodesFile } from './agent-config.js';
import { ConfigError } from './config-error.js';

const [kind, file] = process.argv.slice(2);
try {
  if (file === undefined || (kind !== 'agent' && kind !== 'nodes')) throw new Error('usage: config-child.js agent|nodes FILE');
  const value = kind === 'agent' ? loadAgentConfig(file) : loadNodesFile(file);
  process.stdout.write(`${JSON.stringify({ ok: true, value })}\n`);
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  process.stdout.write(`${JSON.stringify({ ok: false, source: e.source, problems: e.problems })}\n`);
}
