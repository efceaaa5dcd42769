// Model packs and the tfjs backend, as the engine process sees them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { BackendName, PackSummary } from '@ppgn/shared';
import type { EngineConfig } from './config';
import { StartupError } from './errors';

export interface EnginePack {
  summary: PackSummary;
  dir: string;
}

export async function loadEnginePacks(config: EngineConfig): Promise<EnginePack[]> {
  const dir = config.modelsDir;
  const found = existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, 'manifest.json')))
        .map((d) => d.name)
        .sort()
    : [];
  const wanted = config.packs.length ? config.packs : found;
  if (wanted.length === 0) {
    throw new StartupError(
      `no model pack found in ${dir}`,
      'restore models/ from git, run `npm run train`, or set PPGN_MODELS_DIR to a folder of packs',
    );
  }
  const packs: EnginePack[] = [];
  for (const id of wanted) {
    if (!found.includes(id)) {
      throw new StartupError(
        `model pack "${id}" not found in ${dir}`,
        `available: ${found.join(', ') || 'none'}; fix PPGN_PACKS or PPGN_MODELS_DIR`,
      );
    }
    const manifestPath = path.join(dir, id, 'manifest.json');
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(readFileSync(manifestPath, 'utf8'));
    } catch (err) {
      throw new StartupError(`model pack "${id}" is broken: ${manifestPath}: ${(err as Error).message}`, 'restore it from git or re-export it');
    }
    packs.push({
      dir: path.join(dir, id),
      summary: {
        id,
        name: String(m.name ?? id),
        version: String(m.version ?? '0'),
        imageSize: (m.imageSize as [number, number, number]) ?? [0, 0, 0],
        codeSize: Number(m.codeSize ?? 0),
        conditions: [],
      },
    });
  }
  return packs;
}

export async function startBackend(preferred?: string): Promise<{ name: BackendName; reason: string }> {
  const name = (preferred ?? 'cpu') as BackendName;
  return { name, reason: preferred ? 'PPGN_BACKEND' : 'placeholder' };
}
