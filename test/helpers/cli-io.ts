/**
 * A CliIo that collects what a command prints, for tests that run `main(argv, io)` in-process.
 * Standard input is empty and "a terminal" (nothing piped); standard output is not a terminal
 * (so watch mode does not clear the screen).
 */
import type { CliIo } from '../../src/cli/output.js';

export interface CapturedIo extends CliIo {
  text: { out: string; err: string };
}

export function captureIo(): CapturedIo {
  const text = { out: '', err: '' };
  return {
    text,
    out: (t) => void (text.out += t),
    err: (t) => void (text.err += t),
    readStdin: async () => new Uint8Array(),
    stdinIsTty: () => true,
    stdoutIsTty: () => false,
  };
}
