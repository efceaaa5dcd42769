import { workspaceConfig } from '../vitest.base.mts';

// Cross-app tests start real processes (engine, web, Postgres, Chromium): run files one by one.
export default workspaceConfig('tests', {
  fileParallelism: false,
  testTimeout: 180_000,
  hookTimeout: 300_000,
  globalSetup: ['./setup/global.ts'],
});
