/** Finding packs by name (used by the CLIs and the server): `<modelsDir>/<name>` or a built-in random pack. */
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { loadPack, buildRandomEmoji64Pack, buildRandomPack, type Pack } from './pack';

/** `$PPGN_MODELS_DIR`, else `<repoRoot>/models` */
export function resolveModelsDir(repoRoot: string): string {
  return process.env.PPGN_MODELS_DIR ? path.resolve(process.env.PPGN_MODELS_DIR) : path.join(repoRoot, 'models');
}

/** built-in random-weight packs usable without trained weights (benchmarks, demos) */
export const BUILTIN_PACKS: Record<string, () => Pack> = {
  'random-emoji64-arch': () => buildRandomEmoji64Pack(1),
  'random-tiny': () => buildRandomPack({ name: 'random-tiny', image: [16, 16, 3], codeDim: 32, keywords: ['red', 'blue', 'star'], fastMlp: true, hdae: true }, 1),
};

export class UnknownPackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownPackError';
  }
}

export async function openPack(name: string, modelsDir: string): Promise<Pack> {
  const dir = path.join(modelsDir, name);
  if (existsSync(path.join(dir, 'manifest.json'))) return loadPack(dir);
  if (BUILTIN_PACKS[name]) return BUILTIN_PACKS[name]();
  throw new UnknownPackError(`unknown pack "${name}" (looked in ${dir}; built-in: ${Object.keys(BUILTIN_PACKS).join(', ')})`);
}
