/** The problems a configuration parser reports for a value ([] when it parses), for config tests. */
import { parseAgentConfig } from '../../src/agent/config/agent-config.js';
import { ConfigError } from '../../src/agent/config/config-error.js';

export function problemsOf(parse: () => unknown): string[] {
  try {
    parse();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

export const agentConfigProblems = (value: unknown): string[] => problemsOf(() => parseAgentConfig(value, 'test.yaml'));
