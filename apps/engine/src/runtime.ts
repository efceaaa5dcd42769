// Model packs and the net runtime (ONNX Runtime or a TensorFlow.js backend), as the engine process sees them.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { initBackend, type Pack } from '@ppgn/core';
import { listPacks, loadPack } from '@ppgn/core/node';
import type { BackendName, ConditionSpec, PackSummary } from '@ppgn/shared';
import type { EngineConfig } from './config';
import { StartupError } from './errors';

export interface EnginePack {
  id: string;
  /** the pack's folder (sampler workers load their own copy from it) */
  dir: string;
  pack: Pack;
  summary: PackSummary;
}

/** A pack's conditions as rooms and the web app use them (what each condition id is and can target). */
export function wireConditions(pack: Pack): ConditionSpec[] {
  return pack.manifest.conditions.map((c): ConditionSpec =>
    c.kind === 'classes'
      ? { id: c.id, kind: 'classes', labels: c.labels }
      : c.kind === 'keywords'
        ? {
            id: c.id,
            kind: 'keywords',
            vocabulary: c.vocabulary,
            ...(pack.lexicons[c.id]
              ? { lexicon: { words: pack.lexicons[c.id]!.words.size, languages: pack.lexicons[c.id]!.languages } }
              : {}),
          }
        : { id: c.id, kind: 'units', layers: c.layers.map((l) => ({ name: l.name, channels: l.channels })) },
  );
}

export function summarise(id: string, pack: Pack): PackSummary {
  const m = pack.manifest;
  return {
    id,
    name: m.name,
    version: m.version,
    imageSize: pack.imageShape,
    codeSize: pack.codeDim,
    conditions: m.conditions.map((c) => ({
      id: c.id,
      kind: c.kind,
      count: c.kind === 'classes' ? c.labels.length : c.kind === 'keywords' ? c.vocabulary.length : c.layers.length,
    })),
  };
}

export async function loadEnginePacks(config: EngineConfig): Promise<EnginePack[]> {
  const dir = config.modelsDir;
  const found = existsSync(dir) ? (await listPacks(dir)).map((p) => path.basename(p.dir)) : [];
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
    try {
      const pack = await loadPack(path.join(dir, id));
      packs.push({ id, dir: path.join(dir, id), pack, summary: summarise(id, pack) });
    } catch (err) {
      throw new StartupError(
        `model pack "${id}" is broken: ${(err as Error).message}`,
        'restore it from git or re-export it',
      );
    }
  }
  return packs;
}

export interface EngineBackend {
  name: BackendName;
  reason: string;
  /** runtime, version, provider */
  runtime: string;
  gpu: boolean;
}

export async function startBackend(preferred?: string): Promise<EngineBackend> {
  try {
    const info = await initBackend(preferred as never, { log: () => {} });
    return { name: info.backend, reason: shortReason(info), runtime: info.description, gpu: info.gpu };
  } catch (err) {
    throw new StartupError(
      (err as Error).message,
      'set PPGN_BACKEND to onnx, wasm or cpu, or unset it to pick automatically',
    );
  }
}

/** One short line for people: what was chosen and why the better options were skipped. */
export function shortReason(info: {
  backend: string;
  reason: string;
  tried: { backend: string; error: string }[];
}): string {
  const why = info.reason.replace(/\s*\(skipped .*$/s, '');
  if (info.tried.length === 0) return why;
  const skipped = info.tried.map((t) => {
    const e = /Cannot find package|could not be loaded/i.test(t.error)
      ? 'not installed'
      : t.error.replace(/\s*\(.*$/s, '').slice(0, 80);
    return `${t.backend}: ${e}`;
  });
  return `${why}; skipped ${skipped.join('; ')}`;
}
