/** MODEL_CARD.md for a trained pack (written by `npm run eval`, from the manifest, training report and metrics). */
import type { PackManifest } from '@ppgn/core';

export interface CardInput {
  manifest: PackManifest;
  stats: Record<string, unknown>;
  params: Record<string, number>;
  bytes: number;
  metrics?: Record<string, unknown>;
  /** eval/training.json written by the Python trainer */
  training?: { metrics?: Record<string, unknown>; timings?: Record<string, number>; steps?: Record<string, number> };
  /** contact sheets written by the evaluation, as paths relative to the card's folder */
  sheets?: string[];
}

const SHEETS: [suffix: string, title: string][] = [
  ['ppgn', 'PPGN samples'],
  ['dgnam', 'DGN-AM samples'],
  ['fast', 'fast mode'],
  ['real', 'real held-out emoji'],
  ['recon', 'held-out emoji and G(E(x)), in pairs'],
  ['inpaint', 'inpainting: held-out emoji, left half known, filled'],
];

const fmt = (v: unknown): string =>
  typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v == null ? '—' : String(v);
/** how the card and the evaluation's log name where inpainting chains started (`sampler.inpaint.start`) */
export function inpaintStartWords(start: unknown): string {
  if (start === 'random') return 'a random code';
  const fill =
    start === 'mean' ? 'its mean colour' : start === 'mirror' ? 'its mirror image' : 'a smooth continuation of it';
  return `E(known half + ${fill} in the unknown half)`;
}

const pct = (v: unknown): string => (typeof v === 'number' ? `${(v * 100).toFixed(1)} %` : '—');

export function renderModelCard(c: CardInput): string {
  const m = c.manifest;
  const t = (m.training ?? {}) as Record<string, unknown>;
  const perClass = (c.stats.perClass ?? {}) as Record<string, { train: number; test: number }>;
  const final = ((c.training?.metrics as Record<string, unknown> | undefined)?.final ?? t.metrics ?? {}) as Record<
    string,
    unknown
  >;
  const ePer = (final.E_test_accuracy_per_class ?? {}) as Record<string, number | null>;
  const evPer = (final.evalC_test_accuracy_per_class ?? {}) as Record<string, number | null>;
  const met = c.metrics ?? {};
  const samplePer = (met.per_class ?? {}) as Record<string, Record<string, number | null>>;
  const L: string[] = [];
  L.push(`# Model card: ${m.name}`, '', m.description, '');
  L.push('## Summary', '');
  L.push(
    `- Image ${m.image.height}×${m.image.width}×${m.image.channels} in ${m.image.range}; code h: ${m.code.dim}-d, E tap \`${m.code.encoderTap}\` (linear, kept near N(0, 1) per unit in training), clipped to [${m.code.min}, ${m.code.max}]; random starts N(${m.code.init.mean}, ${m.code.init.std}²).`,
    `- Networks (parameters): ${Object.entries(c.params)
      .map(([k, n]) => `${k} ${(n / 1e6).toFixed(2)} M`)
      .join(
        ', ',
      )}; the discriminator D is used in training only. Pack on disk: ${(c.bytes / 2 ** 20).toFixed(1)} MiB (float32).`,
    `- Conditions: ${m.conditions.map((x) => `\`${x.id}\` (${x.kind}${x.kind === 'classes' ? `, ${x.labels.length} labels` : x.kind === 'keywords' ? `, ${x.vocabulary.length} words` : ''}, net ${x.net})`).join('; ')}.`,
    '- Held-out evaluation classifier `eval/evalC.net.json`: another architecture (conv + batch norm + max-pool + global average pooling), seed and augmentation (flips, scale, shift, brightness/contrast); used only for metrics, never for steering; not listed in manifest.json.',
    '',
  );
  L.push('## Data', '');
  const fluent = (c.stats.vendors as string[]).includes('fluent');
  L.push(
    `- ${fmt(c.stats.images)} images at ${m.image.height}×${m.image.width} of ${Number(c.stats.trainIdentities) + Number(c.stats.testIdentities)} emoji drawn by ${(c.stats.vendors as string[]).length} art sets (${(c.stats.vendors as string[]).join(', ')}), with up to ${(t.dataset as { maxSkinVariants?: number } | undefined)?.maxSkinVariants ?? 0} skin-tone variants per emoji as extra training images; alpha composited on white. Noto and Twemoji from the emoji-datasource npm packages (64×64 PNG), OpenMoji from the openmoji npm package (SVG rasterised with resvg at 256² and box-filtered).${fluent ? ' Fluent Emoji (flat) from the @iconify-json/fluent-emoji-flat npm package (SVG, rasterised the same way), drawn for the training emoji only: every held-out picture is from the other art sets.' : ''}`,
    `- Split by emoji identity (all art sets and skin tones of one emoji on one side): ${fmt(c.stats.train)} training / ${fmt(c.stats.test)} held-out images (${fmt(c.stats.trainIdentities)} / ${fmt(c.stats.testIdentities)} emoji). Training batches draw classes with weight ∝ count^0.25 (rare classes are seen more often).`,
    `- ${Object.keys(perClass).length} classes re-derived from Unicode subcategories so that each looks alike inside (mixed groups split: buildings vs landscapes, clocks, office/paper vs tools/household, button-like symbols vs signs vs shapes; emotion marks, body parts, person symbols, dishware and costume faces left out). ${fmt(c.stats.keywords)} keywords (emojilib + short names, ≥ 20 images each).`,
    '',
  );
  L.push(
    '| class | train | held-out | E held-out acc. | eval classifier held-out acc. | PPGN sample acc. | fast acc. |',
    '|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const [k, v] of Object.entries(perClass))
    L.push(
      `| ${k} | ${v.train} | ${v.test} | ${pct(ePer[k])} | ${pct(evPer[k])} | ${pct(samplePer[k]?.ppgn_acc)} | ${pct(samplePer[k]?.fast_acc)} |`,
    );
  L.push('');
  L.push('## Licences and attribution', '');
  L.push(
    '- **Noto Emoji** by Google — Apache License 2.0.',
    '- **Twemoji** graphics by Twitter, Inc and other contributors — CC-BY 4.0. Changes: downsampled, used as training data.',
    '- **OpenMoji** by HfG Schwäbisch Gmünd and contributors — CC BY-SA 4.0 (share-alike): the weights trained on it, and this pack, are shared under CC BY-SA 4.0 as well. Changes: rasterised, downsampled, used as training data.',
    ...(fluent
      ? [
          '- **Fluent Emoji** by Microsoft Corporation — MIT License. Changes: rasterised, downsampled, used as training data.',
        ]
      : []),
    '- emoji-datasource packages by Cal Henderson (MIT); emojilib keywords by Mu-An Chiou (MIT); resvg (MPL-2.0) for rasterising.',
    `- Manifest licence: \`${m.licence}\`.`,
    '',
  );
  L.push('## Training', '');
  L.push(
    'PyTorch (`packages/train/python`, `npm run train`), writing the ppgn-net/1 format that @ppgn/core runs (a parity test checks every layer type to ≤ 1e-4). Phases:',
    '1. **joint** — E (4 stride-2 convs → fc → code h → class and keyword heads) and G (fc → 4×4 → 4 × [nearest upsample + 3×3 conv] → sigmoid) together: pixel L1+L2 of G(h + noise) against the image, class cross-entropy and keyword BCE on h, moment matching of h to N(0, 1) per unit, E(G(h)) ≈ h (so that E∘G is the denoiser the PPGN prior term needs), E-feature matching and class loss of the reconstruction.',
    '2. **gref** — E frozen; G refined with pixel + E-feature (conv2, conv3) + GAN (non-saturating, conv D) + cycle + class losses: the Noiseless Joint PPGN-h recipe.',
    '3. **hdae** (denoising MLP on codes, the h-DAE prior), **fast** (MLP p(class|h) on noisy codes, for fast mode), **style** and **colour** (small conv classifiers on images: plug-in conditions G never saw), **evalC** (the held-out evaluation classifier).',
    '',
  );
  if (typeof t.generatorFrom === 'string') L.push(`This version's G: ${t.generatorFrom}.`, '');
  const tm = c.training?.timings ?? (t.timings as Record<string, number> | undefined) ?? {};
  const st = c.training?.steps ?? (t.steps as Record<string, number> | undefined) ?? {};
  L.push(
    `Device ${fmt(t.device)}, torch ${fmt(t.torch)}, seed ${fmt(t.seed)}. Total ${Math.round(Object.values(tm).reduce((a, b) => a + b, 0) / 60)} min.`,
    '',
  );
  L.push('| phase | steps | time |', '|---|---:|---:|');
  for (const [k, secs] of Object.entries(tm)) {
    const s = Math.round(secs);
    L.push(`| ${k} | ${fmt(st[k])} | ${Math.floor(s / 60)} min ${s % 60} s |`);
  }
  L.push('');
  L.push('## Evaluation', '');
  if (c.metrics) {
    const mode = (k: string) => (met[k] ?? {}) as Record<string, unknown>;
    // the numbers the targets read (and the inpainting start the table names), summarised once
    const now = targetSummary(met);
    L.push(
      `From \`npm run eval -- --pack ${m.name}\` (${fmt(met.chains)} chains × ${fmt(met.steps)} steps per class, random starts; JSON in \`eval/metrics.json\`):`,
      '',
    );
    L.push(
      '| what | held-out classifier accuracy | × real | within-class MS-SSIM (mean / max pair) | Fréchet distance | sharpness × real |',
      '|---|---:|---:|---:|---:|---:|',
    );
    L.push(
      `| real held-out images | ${pct(met.test_accuracy)} | 1 | ${fmt(met.real_msssim)} | ${fmt(met.frechet_real_train_vs_test)} (train vs held-out${met.frechet_real_at_sample_size !== undefined ? `; ${fmt(met.frechet_real_at_sample_size)} with as many train pictures as samples` : ''}) | 1 |`,
    );
    L.push(
      `| reconstructions G(E(x)) | ${pct(met.recon_accuracy)} | ${fmt(met.recon_vs_real)} | | | ${fmt(met.recon_sharpness_vs_real)} |`,
    );
    for (const k of ['ppgn', 'dgnam', 'fast'])
      if (met[k])
        L.push(
          `| ${k} samples | ${pct(mode(k).class_accuracy)} | ${fmt(mode(k).vs_real)} | ${fmt(mode(k).msssim)} / ${fmt(mode(k).max_pair_msssim)} | ${fmt(mode(k).frechet)} | ${fmt(mode(k).sharpness_vs_real)} |`,
        );
    const inp = met.inpaint as Record<string, unknown> | null;
    if (inp)
      L.push(
        `| inpainting (left half known${typeof inp.images === 'number' ? `, ${inp.images} held-out images` : ''}, chains from ${inpaintStartWords(now.inpaint_start)}) | ${pct(inp.class_accuracy)} | ${fmt(inp.vs_real)} | G(h) MSE known half ${fmt(inp.known_half_mse)}, unknown half ${fmt(inp.unknown_half_mse)} | | |`,
      );
    L.push(
      '',
      'Sharpness: the variance of the Laplacian of the grey image, as a share of the real held-out pictures’; sampler speckle raises it too, so read it for samples beside the sheets.',
    );
    L.push(
      '',
      `E's accuracy on real held-out images: ${pct(met.e_test_accuracy)}; reconstruction MSE ${fmt(met.recon_mse)}.`,
      '',
    );
    const ok = (b: boolean) => (b ? 'met' : '**not met**');
    const num = (v: unknown) => (typeof v === 'number' ? v : NaN);
    const prev = met.previous as Record<string, unknown> | undefined;
    const ver = (v: unknown) => (typeof v === 'string' ? v : 'earlier');
    // one row per target, read from the same summary of this evaluation and of the previous version's
    const x = (v: unknown) => `${fmt(v)} ×`;
    type Target = [target: string, key: string, measured: (v: unknown) => string, good: (v: number) => boolean];
    const targets: Target[] = [
      ['reconstructions ≥ 0.9 × real', 'recon_vs_real', x, (v) => v >= 0.9],
      ['PPGN samples ≥ 0.9 × real', 'ppgn_vs_real', x, (v) => v >= 0.9],
      ['fast mode ≥ 0.8 × real', 'fast_vs_real', x, (v) => v >= 0.8],
      ['sharpness of reconstructions ≥ 0.7 × real', 'recon_sharpness_vs_real', x, (v) => v >= 0.7],
      ['sharpness of fast-mode samples ≥ 0.6 × real', 'fast_sharpness_vs_real', x, (v) => v >= 0.6],
      [
        'PPGN MS-SSIM ≤ real + 0.05',
        'ppgn_msssim',
        (v) => `${fmt(v)} vs ${fmt(num(met.real_msssim) + 0.05)}`,
        (v) => v <= num(met.real_msssim) + 0.05,
      ],
      ["PPGN Fréchet distance ≤ 6.85 (half of emoji64 v1's 13.7)", 'ppgn_frechet', fmt, (v) => v <= 6.85],
    ];
    if (inp) targets.push(['inpainting ≥ 0.7 × real', 'inpaint_vs_real', x, (v) => v >= 0.7]);
    const rows: [target: string, before: unknown, measured: string, ok: boolean][] = targets.map(
      ([target, key, measured, good]) => [target, prev?.[key], measured(now[key]), good(num(now[key]))],
    );
    rows.push([
      'protocol: ≥ 16 chains × 200 steps per class',
      prev ? `${fmt(prev.chains)} × ${fmt(prev.steps)}` : undefined,
      `${fmt(met.chains)} × ${fmt(met.steps)}`,
      num(met.chains) >= 16 && num(met.steps) >= 200,
    ]);
    L.push('Targets (the issue that asked for this pack):', '');
    const differs = prev ? protocolDifference(prev, now) : null;
    if (prev) {
      L.push(
        `| target | before (${ver(prev.pack_version)}${differs ? '' : ', same protocol'}) | measured | |`,
        '|---|---|---|---|',
        ...rows.map(([t, b, v, good]) => `| ${t} | ${fmt(b)} | ${v} | ${ok(good)} |`),
      );
      if (differs) L.push('', differs);
    } else
      L.push(
        '| target | measured | |',
        '|---|---|---|',
        ...rows.map(([t, , v, good]) => `| ${t} | ${v} | ${ok(good)} |`),
      );
    L.push('');
  } else L.push(`Not evaluated yet: run \`npm run eval -- --pack ${m.name}\`.`, '');
  const sheetOf = (keys: string[]) =>
    SHEETS.filter(([k]) => keys.includes(k))
      .map(([k, title]) => [title, c.sheets?.find((f) => f.endsWith(`-${k}.png`))] as const)
      .filter((x): x is readonly [string, string] => x[1] !== undefined);
  const grid = sheetOf(['ppgn', 'dgnam', 'fast', 'real']);
  const below = sheetOf(['recon', 'inpaint']);
  if (grid.length + below.length > 0) {
    L.push(
      '## Contact sheets',
      '',
      'One row per class, in the order of the table above (the inpainting sheet: the first two held-out emoji of each class, each as known half | filled | original).',
      '',
    );
    if (grid.length > 0)
      L.push(
        `| ${grid.map(([t]) => t).join(' | ')} |`,
        `| ${grid.map(() => '---').join(' | ')} |`,
        `| ${grid.map(([t, f]) => `![${t}](${f})`).join(' | ')} |`,
        '',
      );
    for (const [t, f] of below) L.push(`${t}:`, '', `![${t}](${f})`, '');
  }
  L.push(
    '## Sampler settings (tuned on this pack, in manifest.json `defaults`)',
    '',
    '```json',
    JSON.stringify(m.defaults ?? {}, null, 1),
    '```',
    '',
  );
  return L.join('\n');
}

/** the numbers the issue's targets read, from a metrics.json */
export function targetSummary(m: Record<string, unknown>): Record<string, unknown> {
  const mode = (k: string) => (m[k] ?? {}) as Record<string, unknown>;
  return {
    pack_version: m.pack_version ?? null,
    chains: m.chains,
    steps: m.steps,
    real_msssim: m.real_msssim,
    recon_vs_real: m.recon_vs_real,
    recon_sharpness_vs_real: m.recon_sharpness_vs_real ?? null,
    ppgn_vs_real: mode('ppgn').vs_real ?? null,
    ppgn_msssim: mode('ppgn').msssim ?? null,
    ppgn_frechet: mode('ppgn').frechet ?? null,
    fast_vs_real: mode('fast').vs_real ?? null,
    fast_sharpness_vs_real: mode('fast').sharpness_vs_real ?? null,
    inpaint_vs_real: mode('inpaint').vs_real ?? null,
    inpaint_images: mode('inpaint').images ?? null,
    // evaluations before the start was recorded all started inpainting chains from a random code
    inpaint_start: m.inpaint
      ? (((m.sampler ?? {}) as Record<string, Record<string, unknown>>).inpaint?.start ?? 'random')
      : null,
  };
}

/**
 * Why a "before" column is not the same protocol as now (null when it is): chains and steps per class, and the
 * number of inpainted pictures ("before" summaries written until 1.3.0's re-evaluation do not carry it; the card says so
 * instead of guessing), and where inpainting chains started (summaries without it started from a random code: every
 * evaluation did until the start was recorded).
 */
export function protocolDifference(prev: Record<string, unknown>, now: Record<string, unknown>): string | null {
  const why: string[] = [];
  if (prev.chains !== now.chains || prev.steps !== now.steps)
    why.push(
      `samples ${fmt(prev.chains)} × ${fmt(prev.steps)} per class then, ${fmt(now.chains)} × ${fmt(now.steps)} now`,
    );
  if (now.inpaint_vs_real != null && prev.inpaint_vs_real != null && prev.inpaint_images !== now.inpaint_images)
    why.push(
      typeof prev.inpaint_images === 'number'
        ? `inpainting on ${prev.inpaint_images} held-out images then, ${fmt(now.inpaint_images)} now`
        : `inpainting on ${fmt(now.inpaint_images)} held-out images now; the earlier numbers do not say how many it used`,
    );
  if (
    now.inpaint_vs_real != null &&
    prev.inpaint_vs_real != null &&
    (prev.inpaint_start ?? 'random') !== now.inpaint_start
  )
    why.push(
      `inpainting chains started from ${inpaintStartWords(prev.inpaint_start ?? 'random')} then, from ${inpaintStartWords(now.inpaint_start)} now`,
    );
  return why.length ? `Not the same protocol: ${why.join('; ')}.` : null;
}
