import { workspaceConfig } from '../../vitest.base.mts';

export default workspaceConfig('train', { globalSetup: ['test/setup/torch.ts'], testTimeout: 300_000 });
