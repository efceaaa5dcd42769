// A models directory with one small random-weight pack for tests that start the engine.
import path from 'node:path';
import { Net, buildRandomEmoji64Pack, buildRandomPack, convEncoderSpec, makePack } from '@ppgn/core';
import { savePack } from '@ppgn/core/node';
import { freePort } from './procs';

export const TEST_LABELS = ['cat', 'dog', 'tree', 'star'];
/** the tiny pack's plug-in condition (a classifier of its own) */
export const TEST_STYLES = ['flat', 'outline', 'glossy'];
/** the tiny pack's keyword lexicon: words of other languages → its keywords red, round, happy */
export const TEST_LEXICON = {
  format: 'ppgn-lexicon/1' as const,
  languages: ['es', 'fr', 'ja'],
  words: { rojo: 'red', rouge: 'red', redondo: 'round', feliz: 'happy', heureux: 'happy', 幸せ: 'happy' },
};

export async function makeModelsDir(dir: string, id = 'testpack', kind: 'tiny' | 'emoji64' = 'tiny'): Promise<string> {
  const pack = kind === 'emoji64' ? buildRandomEmoji64Pack(7) : tinyPackWithLexicon(id);
  await savePack(path.join(dir, id), pack);
  pack.dispose();
  return dir;
}

function tinyPackWithLexicon(id: string) {
  const base = buildRandomPack(
    {
      name: id,
      image: [16, 16, 3],
      codeDim: 16,
      classes: TEST_LABELS,
      keywords: ['red', 'round', 'happy'],
      fastMlp: true,
    },
    7,
  );
  // a plug-in condition on a network of its own, like emoji64's art style and colour
  const style = new Net(
    {
      ...convEncoderSpec({ image: [16, 16, 3], channels: [8], codeDim: 8, classes: TEST_STYLES.length }),
      name: 'style',
    },
    { seed: 71 },
  );
  const manifest = {
    ...base.manifest,
    networks: { ...base.manifest.networks, style: { file: 'style.net.json' } },
    conditions: [
      ...base.manifest.conditions.map((c) => (c.kind === 'keywords' ? { ...c, lexicon: 'keywords.lexicon.json' } : c)),
      { id: 'style', kind: 'classes' as const, net: 'style', output: 'logits', labels: TEST_STYLES },
    ],
  };
  return makePack(manifest, { ...base.nets, style }, undefined, { keywords: TEST_LEXICON });
}

/**
 * The environment of an engine process of its own (`npm start`'s engine): a free port, an embedded
 * Postgres and the test pack under `dir`, plus `extra`.
 */
export async function engineProcessEnv(
  dir: string,
  kind: 'tiny' | 'emoji64' = 'tiny',
  extra: Record<string, string> = {},
): Promise<Record<string, string>> {
  return {
    ENGINE_PORT: String(await freePort()),
    DATABASE_URL: '',
    PPGN_DATA_DIR: path.join(dir, 'pg'),
    PPGN_MODELS_DIR: await makeModelsDir(path.join(dir, 'models'), 'testpack', kind),
    ...extra,
  };
}
