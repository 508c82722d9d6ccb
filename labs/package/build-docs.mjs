// `npm run build` runs this after tsc (package.json "postbuild"): the man pages (dist/man) and the
// shell completions (dist/completion), generated from the compiled command tree, so they always
// match the --help of the weft being packaged. Warns when package.json "man" misses a page.
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = join(root, 'dist');
const { buildProgram } = await import(join(dist, 'cli', 'main.js'));
const { writeManPages } = await import(join(dist, 'cli', 'man.js'));
const { writeCompletions } = await import(join(dist, 'cli', 'completion.js'));

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const quiet = { out() {}, err() {}, readStdin: async () => new Uint8Array(), stdinIsTty: () => false };
rmSync(join(dist, 'man'), { recursive: true, force: true });
const pages = writeManPages(buildProgram({ io: quiet, exitStatus: 0 }), pkg.version, join(dist, 'man'));
writeCompletions(buildProgram({ io: quiet, exitStatus: 0 }), join(dist, 'completion'));

const listed = new Set(pkg.man ?? []);
const missing = pages.map((p) => `dist/man/${p}`).filter((p) => !listed.has(p));
const extra = [...listed].filter((p) => !pages.includes(p.replace(/^dist\/man\//, '')));
if (missing.length > 0 || extra.length > 0) {
  console.error(`build-docs: package.json "man" is out of date: add ${JSON.stringify(missing)}, remove ${JSON.stringify(extra)}`);
}
