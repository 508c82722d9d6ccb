/**
 * Loading the agent's configuration and nodes file in a short-lived child process
 * (config-child.ts): zod and yaml, with the schema, cost ~20 MB of resident memory that the
 * agent would otherwise keep for its whole life, a third of an idle agent's footprint. A load
 * takes ~0.1 s (a node start), once at start and on each reload or nodes-file change.
 *
 * The values come back as JSON: every field of a validated configuration is plain data (numbers,
 * strings, arrays, objects), which the tests of config-load check against the in-process parse.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadedConfig, MeshNode } from './agent-config.js';
import { ConfigError } from './config-error.js';
import { fileStamp } from './file-stamp.js';

const HERE = fileURLToPath(import.meta.url);
/** The child's node arguments: the built .js, or (tests running the TypeScript sources) the .ts under tsx. */
const CHILD = HERE.endsWith('.ts') ? ['--import', 'tsx', HERE.replace(/config-load\.ts$/, 'config-child.ts')] : [HERE.replace(/config-load\.js$/, 'config-child.js')];

/**
 * Nodes files the last agent-config child read along with the config, by path, with the stat
 * stamp they had: loadNodesFile takes one (once) while the file still has that stamp.
 */
const preloaded = new Map<string, { stamp: string; nodes: MeshNode[] }>();

interface ChildAnswer {
  ok: true;
  value: unknown;
  nodes?: { file: string; stamp: string; value: MeshNode[] };
}

function load(kind: 'agent' | 'nodes', file: string): unknown {
  let out: string;
  try {
    out = execFileSync(process.execPath, [...CHILD, kind, file], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`loading ${file}: ${(err.stderr ?? '').trim().split('\n').slice(-3).join(' ') || err.message}`);
  }
  const r = JSON.parse(out) as ChildAnswer | { ok: false; source: string; problems: string[] };
  if (!r.ok) throw new ConfigError(r.source, r.problems);
  if (r.nodes) preloaded.set(r.nodes.file, { stamp: r.nodes.stamp, nodes: r.nodes.value });
  return r.value;
}

/** loadAgentConfig of agent-config.ts, in a child process. Throws ConfigError. */
export function loadAgentConfig(file: string): LoadedConfig {
  return load('agent', file) as LoadedConfig;
}

/** loadNodesFile of agent-config.ts, in a child process. Throws ConfigError. */
export function loadNodesFile(file: string): MeshNode[] {
  const pre = preloaded.get(file);
  preloaded.delete(file);
  if (pre && pre.stamp === fileStamp(file)) return pre.nodes;
  return load('nodes', file) as MeshNode[];
}
