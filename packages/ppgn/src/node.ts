/**
 * `@ppgn/core/node`: packs on the file system and the models folder. The rest of @ppgn/core loads packs from
 * any `PackSource` and reads no pack files; only the runtime setup looks at the machine (`backend.ts`: which
 * backends are installed, `DAWN_NODE`, `PPGN_WASM_THREADS`, `PPGN_ORT_THREADS`; `tf.ts`: `PPGN_DEBUG`).
 */
import { promises as fs, existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Net } from './net';
import {
  MANIFEST_FILE,
  loadNetFrom,
  loadPackFrom,
  readManifest,
  serializePack,
  buildRandomEmoji64Pack,
  buildRandomPack,
  type Pack,
  type PackManifest,
  type PackSource,
} from './pack';

function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/** a pack folder on disk as a PackSource */
export function dirSource(dir: string): PackSource {
  return {
    dir,
    read: async (file) => new Uint8Array(await fs.readFile(path.join(dir, file))),
    label: (file) => displayPath(path.join(dir, file)),
  };
}

/** Load and validate a pack folder. */
export async function loadPack(dir: string): Promise<Pack> {
  return loadPackFrom(dirSource(dir));
}

/** Load one network file (`<x>.net.json` + weights beside it). */
export async function loadNet(netJsonPath: string): Promise<Net> {
  return loadNetFrom(dirSource(path.dirname(netJsonPath)), path.basename(netJsonPath));
}

/** Write a pack folder (manifest + every network). */
export async function savePack(dir: string, pack: Parameters<typeof serializePack>[0]): Promise<void> {
  const files = serializePack(pack);
  for (const [file, bytes] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await fs.writeFile(path.join(dir, file), bytes);
  }
}

export interface PackInfo {
  name: string;
  dir: string;
  manifest?: PackManifest;
  error?: string;
}

/** Find packs (folders with manifest.json) in a models directory; invalid manifests are reported, not thrown. */
export async function listPacks(modelsDir: string): Promise<PackInfo[]> {
  if (!existsSync(modelsDir)) return [];
  const out: PackInfo[] = [];
  for (const entry of (await fs.readdir(modelsDir)).sort()) {
    const dir = path.join(modelsDir, entry);
    if (!statSync(dir).isDirectory() || !existsSync(path.join(dir, MANIFEST_FILE))) continue;
    try {
      const m = await readManifest(dirSource(dir));
      out.push({ name: m.name, dir, manifest: m });
    } catch (e) {
      out.push({ name: entry, dir, error: (e as Error).message });
    }
  }
  return out;
}

/** `$PPGN_MODELS_DIR`, else `<repoRoot>/models` */
export function resolveModelsDir(repoRoot: string): string {
  return process.env.PPGN_MODELS_DIR ? path.resolve(process.env.PPGN_MODELS_DIR) : path.join(repoRoot, 'models');
}

/** built-in random-weight packs usable without trained weights (benchmarks, demos) */
export const BUILTIN_PACKS: Record<string, () => Pack> = {
  'random-emoji64-arch': () => buildRandomEmoji64Pack(1),
  'random-tiny': () =>
    buildRandomPack(
      {
        name: 'random-tiny',
        image: [16, 16, 3],
        codeDim: 32,
        keywords: ['red', 'blue', 'star'],
        fastMlp: true,
        hdae: true,
      },
      1,
    ),
};

export class UnknownPackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownPackError';
  }
}

/** `<modelsDir>/<name>` or a built-in random pack */
export async function openPack(name: string, modelsDir: string): Promise<Pack> {
  const dir = path.join(modelsDir, name);
  if (existsSync(path.join(dir, MANIFEST_FILE))) return loadPack(dir);
  if (BUILTIN_PACKS[name]) return BUILTIN_PACKS[name]();
  throw new UnknownPackError(
    `unknown pack "${name}" (looked in ${dir}; built-in: ${Object.keys(BUILTIN_PACKS).join(', ')})`,
  );
}
