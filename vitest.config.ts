import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Live tests share the kernel (namespaces, daemons): keep files sequential so they do not fight
    // over CPU and timers on a 2-core machine.
    fileParallelism: false,
    reporters: ['default'],
  },
});
