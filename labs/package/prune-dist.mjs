// `npm pack` / `npm publish` run this first (package.json "prepack"). tsc never deletes, so dist/
// keeps the output of sources that were moved or removed, and source maps of older builds: both
// are removed here, so the package holds exactly what src/ compiles to, plus the generated man
// pages and completions. Packing a dist that was never built is refused.
import { existsSync, readdirSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = join(root, 'dist');
const GENERATED = new Set(['man', 'completion']);

for (const need of ['cli/main.js', 'man/weft.1', 'completion/weft.bash']) {
  if (!existsSync(join(dist, need))) {
    console.error(`prune-dist: dist/${need} is missing: run "npm run build" before packing`);
    process.exit(1);
  }
}

let removed = 0;
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const rel = relative(dist, p);
    if (dir === dist && GENERATED.has(name)) continue;
    if (statSync(p).isDirectory()) {
      walk(p);
      if (readdirSync(p).length === 0) rmdirSync(p);
      continue;
    }
    const source = join(root, 'src', rel.replace(/\.js$/, '.ts'));
    if (p.endsWith('.map') || (p.endsWith('.js') && !existsSync(source))) {
      unlinkSync(p);
      removed++;
    }
  }
}
walk(dist);
if (removed > 0) console.error(`prune-dist: removed ${removed} file(s) of dist/ that src/ no longer produces (old outputs, source maps)`);
