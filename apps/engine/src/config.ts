import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ENGINE_PORT, parsePort } from '@ppgn/shared';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const ENGINE_VERSION = '0.1.0';

export interface EngineConfig {
  port: number;
  host: string;
  modelsDir: string;
  /** Pack ids to load; empty = every pack found in modelsDir. */
  packs: string[];
  backend?: string;
  databaseUrl?: string;
  dataDir?: string;
  /** steering messages per second per connection (default LIMITS.intentsPerSecond) */
  intentRate?: number;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): EngineConfig {
  return {
    port: parsePort(env.ENGINE_PORT, DEFAULT_ENGINE_PORT, 'ENGINE_PORT'),
    host: env.ENGINE_HOST || '0.0.0.0',
    modelsDir: path.resolve(env.PPGN_MODELS_DIR || path.join(REPO_ROOT, 'models')),
    packs: (env.PPGN_PACKS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    backend: env.PPGN_BACKEND || undefined,
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.PPGN_DATA_DIR || undefined,
  };
}
