/**
 * Keeps the dependency direction of DESIGN.md: cli -> {agent, lab} -> {session, rib, dataplane}
 * -> wire -> lib; session, rib and dataplane never import each other; pino and node:net only
 * in agent and lab; node:child_process only in agent, lab and the iproute2 driver. And no import
 * circle anywhere in src/ (type-only imports included: a circle of types is still a tangle).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', '..', 'src');

/** Which top-level folders each folder may import from (besides itself). */
const MAY_IMPORT: Record<string, string[]> = {
  lib: [],
  wire: ['lib'],
  session: ['wire', 'lib'],
  rib: ['wire', 'lib'],
  dataplane: ['lib'],
  agent: ['session', 'rib', 'dataplane', 'wire', 'lib'],
  lab: ['agent', 'session', 'rib', 'dataplane', 'wire', 'lib'],
  // The CLI drives the agent and the labs; `weft decode` also uses the pure codec directly.
  cli: ['agent', 'lab', 'wire', 'lib'],
};

const PURE = new Set(['lib', 'wire', 'session', 'rib']);
const NODE_IO = /^(node:)?(net|fs|fs\/promises|child_process|dgram|http|https)$/;
const RUNTIME_ONLY = /^(rxjs|pino)(\/|$)/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(text: string): string[] {
  const out: string[] = [];
  const re = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2]);
  return out;
}

/**
 * The import circles among files (Tarjan's strongly connected components of the relative-import
 * graph): each circle as its files, sorted. A file importing itself counts too.
 */
export function importCircles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const comp: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('import circles', () => {
  it('finds a circle of three and a self-import, and nothing in a tree', () => {
    const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a', 'd']], ['d', []], ['e', ['e']]]);
    expect(importCircles(g)).toEqual([['a', 'b', 'c'], ['e']]);
    expect(importCircles(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]]))).toEqual([]);
  });

  it('src/ has none', () => {
    const graph = new Map<string, string[]>();
    for (const file of files(SRC)) {
      const deps = imports(readFileSync(file, 'utf8'))
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => relative(SRC, join(file, '..', spec.replace(/\.js$/, '.ts'))));
      graph.set(relative(SRC, file), deps);
    }
    expect(graph.size).toBeGreaterThan(50);
    expect(importCircles(graph)).toEqual([]);
  });
});

describe('layering (DESIGN.md)', () => {
  const violations: string[] = [];
  let scanned = 0;
  for (const file of files(SRC)) {
    const rel = relative(SRC, file);
    const layer = rel.split('/')[0];
    const allowed = MAY_IMPORT[layer];
    if (!allowed) {
      violations.push(`${rel}: folder src/${layer} is not in DESIGN.md's layout`);
      continue;
    }
    for (const spec of imports(readFileSync(file, 'utf8'))) {
      scanned++;
      if (spec.startsWith('.')) {
        const target = relative(SRC, join(file, '..', spec)).split('/')[0];
        if (target !== layer && !allowed.includes(target)) violations.push(`${rel} imports src/${target} (${spec})`);
        continue;
      }
      if (PURE.has(layer) && (NODE_IO.test(spec) || RUNTIME_ONLY.test(spec))) violations.push(`${rel} is pure but imports ${spec}`);
      if (RUNTIME_ONLY.test(spec) && !['agent', 'lab'].includes(layer)) violations.push(`${rel} imports ${spec} (agent and lab only)`);
      if (/^(node:)?net$/.test(spec) && !['agent', 'lab'].includes(layer)) violations.push(`${rel} imports ${spec} (agent and lab only)`);
      if (/^(node:)?child_process$/.test(spec) && !['agent', 'lab'].includes(layer) && !rel.startsWith('dataplane/iproute2')) {
        violations.push(`${rel} imports ${spec} (agent, lab and the iproute2 driver only)`);
      }
    }
  }

  it('every import follows the dependency rule', () => {
    expect(scanned).toBeGreaterThan(10); // the scanner does see imports
    expect(violations).toEqual([]);
  });
});
