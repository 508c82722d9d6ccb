// Log format selection (observability/logger.ts): auto is pretty on a terminal and JSON
// otherwise; json lines parse; pretty lines carry level names, the peer and the event, and
// pino-pretty is loaded only when pretty is chosen. The CLI offers --log-format.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, peerLogger, resolveLogFormat } from '../../src/agent/observability/logger.js';
import { logEvent } from '../../src/agent/observability/log-events.js';
import { run } from '../helpers/exec.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-log-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(format: 'json' | 'pretty', file: string): string[] {
  const path = join(dir, file);
  const log = createLogger('info', path, format);
  logEvent(log, 'agent.started', { node: 'host-a', peers: 2 });
  logEvent(peerLogger(log, 'tor'), 'session.down', { reason: 'hold timer expired' });
  log.debug('not shown at info');
  log.flush();
  return readFileSync(path, 'utf8').trimEnd().split('\n');
}

describe('log format', () => {
  it('auto: pretty on a terminal file descriptor, json on a pipe, a file or a path', () => {
    expect(resolveLogFormat('auto', 1, () => true)).toBe('pretty');
    expect(resolveLogFormat('auto', 1, () => false)).toBe('json');
    expect(resolveLogFormat('auto', '/var/log/weft.log', () => true)).toBe('json');
    expect(resolveLogFormat('json', 1, () => true)).toBe('json');
    expect(resolveLogFormat('pretty', 1, () => false)).toBe('pretty');
  });

  it('json: one JSON object per line with the event name and pino\'s numeric level', () => {
    const lines = write('json', 'json.log').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 30, name: 'weft', event: 'agent.started', node: 'host-a', peers: 2 });
    expect(lines[1]).toMatchObject({ level: 40, event: 'session.down', peer: 'tor', reason: 'hold timer expired' });
  });

  it('pretty: level names, the peer and the event up front, fields below; no colour codes in a file', () => {
    const lines = write('pretty', 'pretty.log');
    const text = lines.join('\n');
    expect(lines[0]).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: agent\.started: the agent is running/);
    expect(text).toMatch(/^\[[^\]]+\] WARN: \[tor\] session\.down: a session left Established/m);
    expect(text).toMatch(/^\s+reason: "hold timer expired"$/m);
    expect(text).not.toMatch(/"level":/);
    expect(text).not.toContain('\u001b[');
    expect(text).not.toContain('not shown');
  });

  it('pino-pretty is not loaded for json logs, and is for pretty ones', async () => {
    const script = (format: string) =>
      `import { createRequire } from 'node:module'; import { createLogger } from './src/agent/observability/logger.ts';` +
      `createLogger('info', ${JSON.stringify(join(dir, `load-${format}.log`))}, '${format}');` +
      `console.log(Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/pino-pretty/')));`;
    for (const [format, loaded] of [['json', 'false'], ['pretty', 'true']]) {
      const r = await run('npx', ['tsx', '--input-type=module', '-e', script(format)], { timeoutMs: 60_000 });
      expect(r.stdout.trim(), format).toBe(loaded);
    }
  });

  it('weft agent --help offers --log-format auto|json|pretty', async () => {
    const r = await run('npx', ['tsx', 'src/cli/main.ts', 'agent', '--help'], { timeoutMs: 60_000 });
    expect(r.stdout).toMatch(/--log-format <format>[\s\S]*choices: "auto", "json", "pretty"/);
  });
});
