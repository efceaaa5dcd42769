/** Export trained networks to a model pack (`savePack` of @ppgn/core) plus the held-out evaluation classifier and a model card. */
import { promises as fs, existsSync } from 'node:fs';
import * as path from 'node:path';
import { Net, savePack, loadPack, type PackManifestInput } from '@ppgn/core';
import type { TrainConfig, NetSpecs } from './config';
import type { Dataset } from './data/dataset';
import { datasetStats } from './data/dataset';
import { saveNet } from './checkpoint';
import { renderModelCard } from './model-card';
import { dirBytes } from './util';

export interface CodeStats {
  mean: number;
  std: number;
  max: number;
  p999: number;
  zeroFraction: number;
  meanPositive: number;
  normMean: number;
}

export interface ExportInput {
  cfg: TrainConfig;
  ds: Dataset;
  nets: Record<keyof NetSpecs, Net>;
  codeStats: CodeStats;
  seed: number;
  training: Record<string, unknown>;
}

export const EVAL_DIR = 'eval';
export const EVAL_NET = 'evalC';

export const LICENCE = 'Apache-2.0 AND CC-BY-4.0';
export const ATTRIBUTION =
  'Trained on emoji art from Noto Emoji by Google (Apache License 2.0, https://github.com/googlefonts/noto-emoji) and ' +
  'Twemoji by Twitter, Inc and other contributors (graphics licensed under CC-BY 4.0, https://creativecommons.org/licenses/by/4.0/, ' +
  'https://github.com/jdecked/twemoji), via the emoji-datasource-google / emoji-datasource-twitter packages by Cal Henderson (MIT); ' +
  'keywords from emojilib by Mu-An Chiou (MIT).';

function round(x: number, d = 4): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

export function buildManifest(x: ExportInput, name: string): PackManifestInput {
  const { cfg, ds, nets, codeStats } = x;
  const sp = cfg.sampler;
  const classDefaults = { eps1: sp.eps1, eps2: sp.eps2, eps3: sp.eps3, lr: sp.lr, lrEnd: sp.lrEnd, steps: sp.steps };
  const unitLayers = cfg.unitTaps.map((t) => {
    const s = nets.E.tapShape(t)!;
    return { name: t, channels: s[s.length - 1] };
  });
  const networks: PackManifestInput['networks'] = {
    G: { file: 'G.net.json' },
    E: { file: 'E.net.json' },
    hdae: { file: 'hdae.net.json' },
  };
  networks.fastMlp = { file: 'fastMlp.net.json', condition: 'class' };
  networks.style = { file: 'style.net.json' };
  networks.colour = { file: 'colour.net.json' };
  const codeMax = Math.max(round(codeStats.p999 * 1.1, 2), 1e-3);
  return {
    name,
    version: '0.1.0',
    description: cfg.description,
    licence: LICENCE,
    attribution: ATTRIBUTION,
    image: { height: ds.size, width: ds.size, channels: 3, range: '[0,1]' },
    code: {
      dim: cfg.codeDim,
      min: 0,
      max: codeMax,
      encoderTap: 'code',
      init: { mean: round(codeStats.mean), std: round(codeStats.std) },
    },
    networks,
    conditions: [
      {
        id: 'class',
        kind: 'classes',
        net: 'E',
        output: 'logits',
        labels: ds.classNames,
        description: 'coarse emoji class (E, the encoder G was trained against)',
      },
      ...(ds.vocab.length
        ? [
            {
              id: 'keywords',
              kind: 'keywords' as const,
              net: 'E',
              output: 'keywords',
              vocabulary: ds.vocab,
              description: 'multi-label keyword head of E (emojilib keywords and short names with ≥ 20 images)',
            },
          ]
        : []),
      {
        id: 'style',
        kind: 'classes',
        net: 'style',
        output: 'logits',
        labels: ds.vendorNames,
        description: 'art style (vendor) classifier on the image; G never trained against it',
      },
      {
        id: 'colour',
        kind: 'classes',
        net: 'colour',
        output: 'logits',
        labels: ds.colourNames,
        description: 'dominant colour classifier on the image; G never trained against it',
      },
      { id: 'units', kind: 'units', net: 'E', layers: unitLayers },
    ],
    defaults: {
      classes: classDefaults,
      keywords: { ...classDefaults, eps1: sp.eps1 * 10 },
      units: { ...classDefaults, steps: 400, resetEvery: 0 },
      context: { eps1: sp.eps1, eps2: sp.eps2, eps3: 0, eps4: 1, lr: sp.lr, lrEnd: sp.lr, steps: 60 },
      imageRef: classDefaults,
    },
    training: {
      config: cfg.name,
      seed: x.seed,
      dataset: ds.options,
      featureTap: cfg.featureTap,
      codeStats,
      evalClassifier: `${EVAL_DIR}/${EVAL_NET}.net.json (held-out evaluation only; not a condition)`,
      ...x.training,
    },
  };
}

/** write models/<name>/ (manifest, nets, eval/evalC, MODEL_CARD.md); returns the folder size in bytes */
export async function exportPack(dir: string, x: ExportInput): Promise<number> {
  const name = path.basename(dir);
  const manifest = buildManifest(x, name);
  if (existsSync(dir)) {
    // keep an existing eval report (metrics) so the card can be regenerated with it
    for (const f of await fs.readdir(dir))
      if (f.endsWith('.net.json') || f.endsWith('.weights.bin')) await fs.rm(path.join(dir, f));
  }
  const { E, G, hdae, fastMlp, style, colour } = x.nets;
  await savePack(dir, { manifest, nets: { E, G, hdae, fastMlp, style, colour } });
  const evalDir = path.join(dir, EVAL_DIR);
  await saveNet(evalDir, EVAL_NET, x.nets.evalC);
  await fs.writeFile(
    path.join(evalDir, 'eval.json'),
    JSON.stringify(
      {
        note: 'Held-out evaluation classifier: different architecture (conv) and seed from E; used only for metrics (sample class accuracy), never for steering. Not listed in manifest.json.',
        network: `${EVAL_NET}.net.json`,
        labels: x.ds.classNames,
        image: { size: x.ds.size, range: '[0,1]' },
        dataset: x.ds.options,
      },
      null,
      1,
    ) + '\n',
  );
  // validate by loading
  const pack = await loadPack(dir);
  pack.dispose();
  const stats = datasetStats(x.ds);
  const bytes = await dirBytes(dir);
  const metricsFile = path.join(evalDir, 'metrics.json');
  const metrics = existsSync(metricsFile) ? JSON.parse(await fs.readFile(metricsFile, 'utf8')) : undefined;
  await fs.writeFile(
    path.join(dir, 'MODEL_CARD.md'),
    renderModelCard({
      manifest,
      stats,
      params: Object.fromEntries(Object.entries(x.nets).map(([k, n]) => [k, n.paramCount])),
      bytes,
      metrics,
    }),
  );
  return bytes;
}
