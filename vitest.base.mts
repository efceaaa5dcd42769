// Shared Vitest settings: every workspace also writes a JSON report that scripts/test.mjs
// sums into one "N passed, N failed" line.
import path from 'node:path';
import { defineConfig, type ViteUserConfig } from 'vitest/config';

export function workspaceConfig(name: string, overrides: ViteUserConfig['test'] = {}) {
  return defineConfig({
    test: {
      include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
      reporters: ['default', 'json'],
      outputFile: { json: path.resolve(import.meta.dirname, '.cache/test-reports', `${name}.json`) },
      testTimeout: 60_000,
      hookTimeout: 120_000,
      ...overrides,
    },
  });
}
