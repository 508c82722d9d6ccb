// Waiting on a condition with a deadline: the only way live tests wait. Never a fixed sleep.
// The implementation lives in src/lab/wait.ts (weft lab uses it too).
export * from '../../src/lab/wait.js';
