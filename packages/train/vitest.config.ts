import { workspaceConfig } from '../../vitest.base.mts';

export default workspaceConfig('train');
