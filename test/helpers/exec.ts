// Running commands for live tests: the implementation lives in src/lab/exec.ts (weft lab uses it too).
export * from '../../src/lab/exec.js';
