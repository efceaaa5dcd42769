import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadPack, buildRandomEmoji64Pack, buildRandomPack, type Pack } from '@ppgn/core';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

export function modelsDir(): string {
  return process.env.PPGN_MODELS_DIR ? path.resolve(process.env.PPGN_MODELS_DIR) : path.join(REPO_ROOT, 'models');
}

/** built-in random packs usable without trained weights */
export const BUILTIN_PACKS: Record<string, () => Pack> = {
  'random-emoji64-arch': () => buildRandomEmoji64Pack(1),
  'random-tiny': () => buildRandomPack({ name: 'random-tiny', image: [16, 16, 3], codeDim: 32, keywords: ['red', 'blue', 'star'], fastMlp: true, hdae: true }, 1),
};

export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 2,
  ) {
    super(message);
  }
}

export async function openPack(name: string): Promise<Pack> {
  const dir = path.join(modelsDir(), name);
  if (existsSync(path.join(dir, 'manifest.json'))) return loadPack(dir);
  if (BUILTIN_PACKS[name]) return BUILTIN_PACKS[name]();
  throw new CliError(`unknown pack "${name}" (looked in ${dir}; built-in: ${Object.keys(BUILTIN_PACKS).join(', ')})`);
}
