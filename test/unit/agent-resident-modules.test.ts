/**
 * What stays resident in `weft agent`: the modules reachable from the CLI entry through static
 * (non-type) imports are loaded for the whole life of the daemon. DESIGN.md keeps zod and yaml out
 * (the config is parsed in a short-lived child), prom-client and etcd3 behind a dynamic import()
 * (loaded only when metrics / etcd membership are on). zod alone is ~12 MiB of RSS in an idle
 * agent (measured 2026-12-06: 61 -> 57 MiB when peers/mesh.ts stopped pulling it in through
 * graceful-restart-config.ts).
 *
 * The walk is over src/ and conservative: an import with any value specifier counts, even where
 * tsc would elide it because the names are only used as types.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', '..', 'src');
const NEVER_RESIDENT = /^(zod|yaml|prom-client|etcd3)(\/|$)/;

/** Static value imports / re-exports of one file (type-only ones and dynamic import() skipped). */
export function staticValueImports(text: string): string[] {
  const out: string[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[5]) {
      out.push(m[5]);
      continue;
    }
    if (m[2]) continue; // import type { ... } / export type { ... }
    const clause = m[3] ?? '';
    const braces = /\{([^}]*)\}/.exec(clause);
    const outside = braces ? clause.replace(braces[0], '').replace(/,/g, '').trim() : clause.trim();
    const named = braces ? braces[1].split(',').map((s) => s.trim()).filter((s) => s && !s.startsWith('type ')) : [];
    if (outside !== '' || named.length > 0) out.push(m[4]);
  }
  return out;
}

/** Every src file and package reached from `entry` through static value imports, with one path to each. */
function residentFrom(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const spec of staticValueImports(readFileSync(file, 'utf8'))) {
      const via = [...seen.get(file)!];
      if (!spec.startsWith('.')) {
        if (!seen.has(spec)) seen.set(spec, [...via, spec]);
        continue;
      }
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      if (!existsSync(target) || seen.has(target)) continue;
      seen.set(target, [...via, target]);
      queue.push(target);
    }
  }
  return seen;
}

describe('modules resident in weft agent', () => {
  it('the import scanner tells value imports from type-only ones', () => {
    expect(staticValueImports("import { a, type B } from './x.js';")).toEqual(['./x.js']);
    expect(staticValueImports("import { type B, type C } from './x.js';")).toEqual([]);
    expect(staticValueImports("import type { B } from 'zod';")).toEqual([]);
    expect(staticValueImports("export type { B } from './y.js';")).toEqual([]);
    expect(staticValueImports("export { f, type G } from './y.js';")).toEqual(['./y.js']);
    expect(staticValueImports("import D, { type E } from 'pino';")).toEqual(['pino']);
    expect(staticValueImports("import * as z from 'zod';")).toEqual(['zod']);
    expect(staticValueImports("import 'side-effect';")).toEqual(['side-effect']);
    expect(staticValueImports("const m = await import('prom-client');")).toEqual([]);
  });

  it('zod, yaml, prom-client and etcd3 are never reached through a static import from the CLI entry', () => {
    const reached = residentFrom(join(SRC, 'cli', 'main.ts'));
    expect(reached.has(join(SRC, 'agent', 'agent.ts')), 'the walk reaches the agent').toBe(true);
    const bad = [...reached.entries()].filter(([k]) => NEVER_RESIDENT.test(k)).map(([k, via]) => `${k}: ${via.map((p) => (p.startsWith('/') ? relative(SRC, p) : p)).join(' -> ')}`);
    expect(bad, 'packages that must load on demand only (import chain shown)').toEqual([]);
  });
});
