import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['tests/global-setup.ts'],
    include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'tests/**/*.test.ts'],
    // Numerical tests train small networks; 2-core CI needs generous per-test time.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One worker per core; each test file owns its onnxruntime sessions.
    maxWorkers: 2,
  },
});
