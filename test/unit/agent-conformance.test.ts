// The agent layer in-process against golden transcripts (test/helpers/conformance.ts): one test per
// folder of test/conformance/. WEFT_UPDATE_GOLDEN=1 rewrites expected.json from what runs now.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario, type Transcript } from '../helpers/conformance.js';

/** One line per step, so a diff shows which step changed. */
function golden(t: Transcript): string {
  const steps = t.steps.map((s) => `  ${JSON.stringify(s)}`).join(',\n');
  const rib = t.rib.map((r) => `  ${JSON.stringify(r)}`).join(',\n');
  return `{\n"description": ${JSON.stringify(t.description)},\n"steps": [\n${steps}\n],\n"rib": [\n${rib}\n]\n}\n`;
}

const ROOT = join(import.meta.dirname, '..', 'conformance');
const scenarios = readdirSync(ROOT).filter((d) => existsSync(join(ROOT, d, 'scenario.yaml'))).sort();

describe('agent conformance scenarios', () => {
  it('finds the scenarios', () => {
    expect(scenarios.length).toBeGreaterThan(5);
  });

  for (const name of scenarios) {
    it(name, async () => {
      const dir = join(ROOT, name);
      const got = JSON.parse(JSON.stringify(await runScenario(dir))) as unknown;
      const file = join(dir, 'expected.json');
      if (process.env.WEFT_UPDATE_GOLDEN === '1' || !existsSync(file)) {
        writeFileSync(file, golden(got as Transcript));
        if (process.env.WEFT_UPDATE_GOLDEN !== '1') throw new Error(`${name}: no expected.json yet; written from this run: review it and run again`);
      }
      expect(got).toEqual(JSON.parse(readFileSync(file, 'utf8')));
    });
  }
});
