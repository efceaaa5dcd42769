/**
 * Model packs: `models/<name>/manifest.json` + one `<net>.net.json` / `<net>.weights.bin` pair per network.
 */
import { z } from 'zod';
import { Net, NetSpecError, netSpecSchema, type NetFile, type NetSpec } from './net';
import { PpgnPackError } from './errors';
import { lexiconFrom, type Lexicon } from '@ppgn/shared';

export const MANIFEST_FILE = 'manifest.json';

const range = z.enum(['[0,1]', '[-1,1]']);
const num = z.number().refine(Number.isFinite, 'expected a finite number');

export const preprocessSchema = z.object({
  /** value range the network expects its input image in */
  range: range.optional(),
  /** per-channel mean subtracted after range conversion */
  mean: z.array(num).optional(),
  /** per-channel std divided after mean subtraction */
  std: z.array(num.positive()).optional(),
});
export type Preprocess = z.infer<typeof preprocessSchema>;

export const epsDefaultsSchema = z.object({
  eps1: num.nonnegative().optional(),
  eps2: num.nonnegative().optional(),
  eps3: num.nonnegative().optional(),
  eps4: num.nonnegative().optional(),
  lr: num.nonnegative().optional(),
  lrEnd: num.nonnegative().optional(),
  steps: z.number().int().positive().optional(),
  clip: z.tuple([num, num]).optional(),
  resetEvery: z.number().int().nonnegative().optional(),
  /** DGN-AM L2 decay */
  decay: num.nonnegative().optional(),
  /** fast mode: weight of the h-DAE prior term */
  fastPrior: num.nonnegative().optional(),
  /** exact modes: MALA step τ / HMC leapfrog step and count */
  stepSize: num.positive().optional(),
  leapfrog: z.number().int().positive().optional(),
  /** ppgn / dgnam: condition nets read G(h) shifted by up to ±jitter px each step (transformation robustness) */
  jitter: z.number().int().nonnegative().optional(),
  /** fast mode: prior network ('hdae' or 'none') */
  prior: z.enum(['eg', 'hdae', 'l2', 'none']).optional(),
});
export type EpsDefaults = z.infer<typeof epsDefaultsSchema>;

const DEFAULT_KEYS = ['classes', 'keywords', 'units', 'context', 'imageRef', 'fast', 'dgnam', 'mala', 'hmc'] as const;
type DefaultKey = (typeof DEFAULT_KEYS)[number];

const netRef = z.object({ file: z.string().min(1), preprocess: preprocessSchema.optional() });

const condBase = {
  id: z.string().min(1),
  /** network (key of `networks`) this condition reads */
  net: z.string().min(1).default('E'),
  preprocess: preprocessSchema.optional(),
  defaults: epsDefaultsSchema.optional(),
  description: z.string().optional(),
};

export const conditionSpecSchema = z.discriminatedUnion('kind', [
  z.object({
    ...condBase,
    kind: z.literal('classes'),
    output: z.string().min(1),
    labels: z.array(z.string().min(1)).min(1),
  }),
  z.object({
    ...condBase,
    kind: z.literal('keywords'),
    output: z.string().min(1),
    vocabulary: z.array(z.string().min(1)).min(1),
    /** file of the keyword lexicon (words of many languages → keywords; `npm run lexicon -w @ppgn/train`) */
    lexicon: z.string().min(1).optional(),
  }),
  z.object({
    ...condBase,
    kind: z.literal('units'),
    layers: z
      .array(
        z.object({
          name: z.string().min(1),
          channels: z.number().int().positive(),
          description: z.string().optional(),
        }),
      )
      .min(1),
  }),
]);
export type PackConditionSpec = z.infer<typeof conditionSpecSchema>;

export const manifestSchema = z.object({
  format: z.literal('ppgn-pack/1').default('ppgn-pack/1'),
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'expected a folder-safe name (letters, digits, . _ -)'),
  version: z.string().min(1),
  description: z.string().default(''),
  licence: z.string().min(1),
  attribution: z.string().default(''),
  image: z.object({
    height: z.number().int().positive(),
    width: z.number().int().positive(),
    channels: z.union([z.literal(1), z.literal(3)]),
    range,
  }),
  code: z
    .object({
      dim: z.number().int().positive(),
      /** clip range of h; null = unbounded */
      min: num.nullable(),
      max: num.nullable(),
      /** tap of E that is h */
      encoderTap: z.string().min(1),
      /** distribution random initial codes are drawn from (then clipped) */
      init: z.object({ mean: num, std: num.nonnegative() }).default({ mean: 0, std: 1 }),
    })
    .refine((c) => c.min === null || c.max === null || c.min < c.max, { message: 'expected min < max', path: ['max'] }),
  networks: z
    .object({
      G: netRef,
      E: netRef,
      hdae: netRef.optional(),
      fastMlp: netRef.extend({ condition: z.string().min(1) }).optional(),
    })
    .catchall(netRef),
  conditions: z.array(conditionSpecSchema).default([]),
  /**
   * tuned sampler settings: per condition kind (ppgn mode: classes / keywords / units / context / imageRef)
   * and per mode (fast / dgnam / mala / hmc, applied on top for that mode)
   */
  defaults: z
    .object(
      Object.fromEntries(DEFAULT_KEYS.map((k) => [k, epsDefaultsSchema.optional()])) as Record<
        DefaultKey,
        z.ZodOptional<typeof epsDefaultsSchema>
      >,
    )
    .strict()
    .optional(),
  /** free-form training / provenance notes */
  training: z.record(z.string(), z.unknown()).optional(),
});
export type PackManifest = z.infer<typeof manifestSchema>;
export type PackManifestInput = z.input<typeof manifestSchema>;

export interface Pack {
  /** folder the pack was loaded from (undefined for in-memory packs) */
  dir?: string;
  manifest: PackManifest;
  nets: Record<string, Net>;
  G: Net;
  E: Net;
  hdae?: Net;
  fastMlp?: Net;
  /** image shape [H, W, C] */
  imageShape: [number, number, number];
  codeDim: number;
  /** keyword condition id → its lexicon (words of other languages and synonyms → keywords), where the pack has one */
  lexicons: Record<string, PackLexicon>;
  dispose(): void;
}

const lexiconFileSchema = z.object({
  format: z.literal('ppgn-lexicon/1'),
  source: z.string().optional(),
  languages: z.array(z.string()).optional(),
  words: z.record(z.string(), z.string().min(1)),
});

/** A lexicon as its file holds it. */
export type LexiconFileJson = z.infer<typeof lexiconFileSchema>;

/** A keyword condition's lexicon as loaded: the folded lookup table, and where its words come from. */
export interface PackLexicon {
  words: Lexicon;
  /** locales the words were taken from (empty when the file does not say) */
  languages: string[];
  source?: string;
}

/** A lexicon file's contents as a pack holds them (keys folded, keywords outside the vocabulary dropped). */
function packLexicon(file: LexiconFileJson, vocabulary: readonly string[]): PackLexicon {
  return { words: lexiconFrom(file.words, vocabulary), languages: file.languages ?? [], source: file.source };
}

export function formatPath(p: PropertyKey[]): string {
  let s = '';
  for (const k of p) {
    if (typeof k === 'number') s += `[${k}]`;
    else s += s ? `.${String(k)}` : String(k);
  }
  return s || '(root)';
}

function zodIssueMessage(issue: z.core.$ZodIssue): string {
  let m = issue.message;
  m = m.replace(/^Invalid input: /, '');
  return m;
}

/** Validate a manifest object; errors name the file and the field. */
export function parseManifest(json: unknown, file = MANIFEST_FILE): PackManifest {
  const r = manifestSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new PpgnPackError(file, formatPath(issue.path), zodIssueMessage(issue));
  }
  const m = r.data;
  const ids = new Set<string>();
  m.conditions.forEach((c, i) => {
    if (ids.has(c.id)) throw new PpgnPackError(file, `conditions[${i}].id`, `duplicate condition id "${c.id}"`);
    ids.add(c.id);
    if (!(c.net in m.networks))
      throw new PpgnPackError(
        file,
        `conditions[${i}].net`,
        `unknown network "${c.net}" (networks: ${Object.keys(m.networks).join(', ')})`,
      );
    const list = c.kind === 'classes' ? c.labels : c.kind === 'keywords' ? c.vocabulary : null;
    if (list) {
      const seen = new Set<string>();
      list.forEach((l, j) => {
        if (seen.has(l))
          throw new PpgnPackError(
            file,
            `conditions[${i}].${c.kind === 'classes' ? 'labels' : 'vocabulary'}[${j}]`,
            `duplicate entry "${l}"`,
          );
        seen.add(l);
      });
    }
  });
  if (m.networks.fastMlp) {
    const fc = m.conditions.find((c) => c.id === m.networks.fastMlp!.condition);
    if (!fc || fc.kind !== 'classes')
      throw new PpgnPackError(
        file,
        'networks.fastMlp.condition',
        `expected the id of a "classes" condition, got "${m.networks.fastMlp.condition}"`,
      );
  }
  return m;
}

function sameShape(a: readonly number[] | undefined, b: readonly number[]): boolean {
  return !!a && a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Cross-check network shapes against the manifest. `fileOf(netKey)` names the file for errors. */
function checkPack(
  m: PackManifest,
  nets: Record<string, Net>,
  manifestFile: string,
  fileOf: (k: string) => string,
): void {
  const img = [m.image.height, m.image.width, m.image.channels];
  const D = m.code.dim;
  const fail = (f: string, field: string, msg: string) => {
    throw new PpgnPackError(f, field, msg);
  };
  const { G, E } = nets;
  if (!sameShape(G.inputShape, [D]))
    fail(fileOf('G'), 'spec.input', `G input is [${G.inputShape}] but code.dim is ${D}`);
  if (!sameShape(G.outputShape, img))
    fail(fileOf('G'), 'spec.layers', `G output is [${G.outputShape}] but the image is [${img}]`);
  if (!sameShape(E.inputShape, img))
    fail(fileOf('E'), 'spec.input', `E input is [${E.inputShape}] but the image is [${img}]`);
  const tapShape = E.tapShape(m.code.encoderTap);
  if (!tapShape)
    fail(
      manifestFile,
      'code.encoderTap',
      `E has no layer named "${m.code.encoderTap}" (taps: ${E.tapNames.join(', ')})`,
    );
  if (!sameShape(tapShape, [D]))
    fail(manifestFile, 'code.encoderTap', `E tap "${m.code.encoderTap}" has shape [${tapShape}] but code.dim is ${D}`);
  if (nets.hdae) {
    if (!sameShape(nets.hdae.inputShape, [D]) || !sameShape(nets.hdae.outputShape, [D]))
      fail(
        fileOf('hdae'),
        'spec',
        `hdae must map [${D}] → [${D}], got [${nets.hdae.inputShape}] → [${nets.hdae.outputShape}]`,
      );
  }
  m.conditions.forEach((c, i) => {
    const net = nets[c.net];
    if (c.net !== 'G' && !sameShape(net.inputShape, img) && c.net !== 'fastMlp')
      fail(
        fileOf(c.net),
        'spec.input',
        `condition "${c.id}" reads images but network ${c.net} takes [${net.inputShape}]`,
      );
    if (c.kind === 'units') {
      c.layers.forEach((l, j) => {
        const s = net.tapShape(l.name);
        if (!s)
          fail(manifestFile, `conditions[${i}].layers[${j}].name`, `network ${c.net} has no layer named "${l.name}"`);
        if (s![s!.length - 1] !== l.channels)
          fail(
            manifestFile,
            `conditions[${i}].layers[${j}].channels`,
            `layer "${l.name}" has ${s![s!.length - 1]} channels, manifest says ${l.channels}`,
          );
      });
    } else {
      const n = c.kind === 'classes' ? c.labels.length : c.vocabulary.length;
      const s = net.tapShape(c.output);
      if (!s)
        fail(
          manifestFile,
          `conditions[${i}].output`,
          `network ${c.net} has no layer named "${c.output}" (taps: ${net.tapNames.join(', ')})`,
        );
      if (!sameShape(s, [n]))
        fail(
          manifestFile,
          `conditions[${i}].${c.kind === 'classes' ? 'labels' : 'vocabulary'}`,
          `${n} entries but ${c.net}.${c.output} has shape [${s}]`,
        );
    }
  });
  if (nets.fastMlp) {
    const fc = m.conditions.find((c) => c.id === m.networks.fastMlp!.condition)!;
    const n = fc.kind === 'classes' ? fc.labels.length : 0;
    if (!sameShape(nets.fastMlp.inputShape, [D]))
      fail(fileOf('fastMlp'), 'spec.input', `fastMlp input is [${nets.fastMlp.inputShape}] but code.dim is ${D}`);
    if (!sameShape(nets.fastMlp.outputShape, [n]))
      fail(
        fileOf('fastMlp'),
        'spec.layers',
        `fastMlp output is [${nets.fastMlp.outputShape}] but condition "${fc.id}" has ${n} labels`,
      );
  }
}

/**
 * Build an in-memory pack from a manifest and networks (validated like loadPack); `lexicons` gives keyword
 * conditions their lexicon files' contents (per condition id).
 */
export function makePack(
  manifest: PackManifestInput,
  nets: Record<string, Net>,
  dir?: string,
  lexicons: Record<string, LexiconFileJson> = {},
): Pack {
  const mfile = dir ? `${dir}/${MANIFEST_FILE}` : MANIFEST_FILE;
  const m = parseManifest(manifest, mfile);
  for (const k of Object.keys(m.networks))
    if (!nets[k]) throw new PpgnPackError(mfile, `networks.${k}`, `network "${k}" was not provided`);
  checkPack(m, nets, mfile, (k) => (dir ? `${dir}/${m.networks[k]!.file}` : `networks.${k}`));
  const lex: Record<string, PackLexicon> = {};
  for (const c of m.conditions) {
    const given = lexicons[c.id];
    if (!given) continue;
    if (c.kind !== 'keywords')
      throw new PpgnPackError(mfile, `conditions.${c.id}`, `only keyword conditions have a lexicon (got ${c.kind})`);
    const file = lexiconFileSchema.safeParse(given);
    if (!file.success)
      throw new PpgnPackError(
        mfile,
        `lexicons.${c.id}.${formatPath(file.error.issues[0].path)}`,
        zodIssueMessage(file.error.issues[0]),
      );
    lex[c.id] = packLexicon(file.data, c.vocabulary);
  }
  return packObject(m, nets, dir, lex);
}

function packObject(
  m: PackManifest,
  nets: Record<string, Net>,
  dir: string | undefined,
  lexicons: Record<string, PackLexicon>,
): Pack {
  let disposed = false;
  return {
    lexicons,
    dir,
    manifest: m,
    nets,
    G: nets.G,
    E: nets.E,
    hdae: nets.hdae,
    fastMlp: nets.fastMlp,
    imageShape: [m.image.height, m.image.width, m.image.channels],
    codeDim: m.code.dim,
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const n of Object.values(nets)) n.dispose();
    },
  };
}

/**
 * Where a pack's files come from: the folder on disk (`@ppgn/core/node`), an HTTP origin, an archive, memory.
 * Paths are relative to the pack root, with '/' separators.
 */
export interface PackSource {
  read(file: string): Promise<Uint8Array>;
  /** how to name a file in errors (e.g. its path on disk) */
  label(file: string): string;
  /** folder the pack lives in, if any (kept on the Pack for display) */
  dir?: string;
}

/** a PackSource over in-memory files (tests, bundles, uploads) */
export function memorySource(files: Record<string, Uint8Array | string>, name = 'pack'): PackSource {
  const enc = new TextEncoder();
  return {
    async read(file) {
      const f = files[file];
      if (f === undefined) throw Object.assign(new Error(`no file ${file}`), { code: 'ENOENT' });
      return typeof f === 'string' ? enc.encode(f) : f;
    },
    label: (file) => `${name}/${file}`,
  };
}

function dirOf(file: string): string {
  const i = file.lastIndexOf('/');
  return i < 0 ? '' : file.slice(0, i + 1);
}

async function readBytes(src: PackSource, file: string, what: string): Promise<Uint8Array> {
  try {
    return await src.read(file);
  } catch (e) {
    throw new PpgnPackError(
      src.label(file),
      undefined,
      `cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
    );
  }
}

async function readJson(src: PackSource, file: string): Promise<unknown> {
  const text = new TextDecoder().decode(await readBytes(src, file, 'file'));
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new PpgnPackError(src.label(file), undefined, `invalid JSON: ${(e as Error).message}`);
  }
}

const netFileSchema = z.object({
  format: z.literal('ppgn-net/1'),
  spec: z.unknown(),
  weightsFile: z.string().min(1),
  weights: z.array(
    z.object({
      name: z.string(),
      shape: z.array(z.number().int().nonnegative()),
      offset: z.number().int().nonnegative(),
    }),
  ),
});

/** Load one network (`<x>.net.json` + its weights file) from a source. Errors name the file and field. */
export async function loadNetFrom(src: PackSource, file: string): Promise<Net> {
  const df = src.label(file);
  const json = await readJson(src, file);
  const r = netFileSchema.safeParse(json);
  if (!r.success) throw new PpgnPackError(df, formatPath(r.error.issues[0].path), zodIssueMessage(r.error.issues[0]));
  const spec = netSpecSchema.safeParse(r.data.spec);
  if (!spec.success)
    throw new PpgnPackError(df, 'spec.' + formatPath(spec.error.issues[0].path), zodIssueMessage(spec.error.issues[0]));
  const bytes = await readBytes(src, dirOf(file) + r.data.weightsFile, 'weights');
  try {
    return Net.deserialize(r.data as NetFile, bytes);
  } catch (e) {
    if (e instanceof NetSpecError) throw new PpgnPackError(df, e.field, e.message.slice(e.field.length + 2));
    throw new PpgnPackError(df, undefined, (e as Error).message);
  }
}

/** Read and validate a manifest from a source. */
export async function readManifest(src: PackSource): Promise<PackManifest> {
  return parseManifest(await readJson(src, MANIFEST_FILE), src.label(MANIFEST_FILE));
}

/** Load and validate a pack from a source (manifest, every network, shapes cross-checked). */
export async function loadPackFrom(src: PackSource): Promise<Pack> {
  const mfile = src.label(MANIFEST_FILE);
  const m = await readManifest(src);
  const nets: Record<string, Net> = {};
  try {
    for (const [k, ref] of Object.entries(m.networks)) {
      if (!ref) continue;
      nets[k] = await loadNetFrom(src, ref.file);
    }
    checkPack(m, nets, mfile, (k) => src.label(m.networks[k]!.file));
  } catch (e) {
    for (const n of Object.values(nets)) n.dispose();
    throw e;
  }
  const lexicons: Record<string, PackLexicon> = {};
  for (const c of m.conditions) {
    if (c.kind !== 'keywords' || !c.lexicon) continue;
    const r = lexiconFileSchema.safeParse(await readJson(src, c.lexicon));
    if (!r.success) {
      for (const n of Object.values(nets)) n.dispose();
      throw new PpgnPackError(
        src.label(c.lexicon),
        formatPath(r.error.issues[0].path),
        zodIssueMessage(r.error.issues[0]),
      );
    }
    lexicons[c.id] = packLexicon(r.data, c.vocabulary);
  }
  return packObject(m, nets, src.dir, lexicons);
}

/** The files of a pack (manifest, every network, the lexicons it names and has), ready to be written anywhere. */
export function serializePack(pack: {
  manifest: PackManifestInput | PackManifest;
  nets: Record<string, Net>;
  lexicons?: Record<string, PackLexicon>;
}): Record<string, Uint8Array> {
  const m = parseManifest(pack.manifest);
  const enc = new TextEncoder();
  const out: Record<string, Uint8Array> = {};
  for (const [k, ref] of Object.entries(m.networks)) {
    if (!ref) continue;
    const net = pack.nets[k];
    if (!net) throw new PpgnPackError(MANIFEST_FILE, `networks.${k}`, `network "${k}" was not provided`);
    const base = ref.file.replace(/\.net\.json$|\.json$/, '');
    const weightsFile = `${base.slice(base.lastIndexOf('/') + 1)}.weights.bin`;
    const { file, weights } = net.serialize(weightsFile);
    out[ref.file] = enc.encode(JSON.stringify(file, null, 1));
    out[dirOf(ref.file) + weightsFile] = weights;
  }
  for (const c of m.conditions) {
    const lex = pack.lexicons?.[c.id];
    if (c.kind !== 'keywords' || !c.lexicon || !lex) continue;
    const file: LexiconFileJson = {
      format: 'ppgn-lexicon/1',
      source: lex.source,
      languages: lex.languages,
      words: Object.fromEntries(lex.words),
    };
    out[c.lexicon] = enc.encode(JSON.stringify(file) + '\n');
  }
  out[MANIFEST_FILE] = enc.encode(JSON.stringify(m, null, 2) + '\n');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Architectures and random packs

export interface ConvGeneratorOptions {
  codeDim: number;
  image: [number, number, number];
  /** spatial size of the first feature map (image size must be base·2^k) */
  base?: number;
  /** channels of each feature map from base resolution upwards (length = number of upsamplings + 1) */
  channels?: number[];
  range?: '[0,1]' | '[-1,1]';
  /** upsampling op */
  up?: 'upsample' | 'conv2dTranspose';
}

/** G: dense → base×base×c0 → (upsample ×2 + conv3×3 + leakyReLU)* → conv3×3 to C → sigmoid/tanh */
export function convGeneratorSpec(o: ConvGeneratorOptions): NetSpec {
  const [H, W, C] = o.image;
  const base = o.base ?? 4;
  const ups = Math.round(Math.log2(H / base));
  if (base * 2 ** ups !== H || H !== W) throw new Error(`image ${H}x${W} must be square and base·2^k`);
  const ch = o.channels ?? Array.from({ length: ups + 1 }, (_, i) => Math.max(8, (H >= 64 ? 128 : 32) >> i));
  if (ch.length !== ups + 1) throw new Error(`channels needs ${ups + 1} entries`);
  const layers: NetSpec['layers'] = [
    { type: 'dense', units: base * base * ch[0], name: 'fc' },
    { type: 'reshape', shape: [base, base, ch[0]] },
    { type: 'leakyRelu', alpha: 0.2 },
  ];
  for (let i = 1; i <= ups; i++) {
    if (o.up === 'conv2dTranspose')
      layers.push({ type: 'conv2dTranspose', filters: ch[i], kernel: 4, stride: 2, name: `up${i}` });
    else layers.push({ type: 'upsample', factor: 2 }, { type: 'conv2d', filters: ch[i], kernel: 3, name: `up${i}` });
    layers.push({ type: 'leakyRelu', alpha: 0.2 });
  }
  layers.push(
    { type: 'conv2d', filters: C, kernel: 3, name: 'rgb' },
    { type: (o.range ?? '[0,1]') === '[0,1]' ? 'sigmoid' : 'tanh', name: 'image' },
  );
  return { name: 'G', input: [o.codeDim], layers };
}

export interface ConvEncoderOptions {
  image: [number, number, number];
  /** channels of the stride-2 conv stages */
  channels?: number[];
  codeDim: number;
  classes: number;
  keywords?: number;
}

/** E: (conv3×3 stride 2 + ReLU)* → flatten → dense(codeDim) → ReLU = h ("code") → class logits [+ keyword logits] */
export function convEncoderSpec(o: ConvEncoderOptions): NetSpec {
  const ch = o.channels ?? [16, 32, 64, 128];
  const layers: NetSpec['layers'] = [];
  ch.forEach((c, i) => {
    layers.push(
      { type: 'conv2d', filters: c, kernel: 3, stride: 2, name: `conv${i + 1}` },
      { type: 'relu', name: `relu${i + 1}` },
    );
  });
  layers.push({ type: 'flatten' }, { type: 'dense', units: o.codeDim, name: 'fc' }, { type: 'relu', name: 'code' });
  layers.push({ type: 'dense', units: o.classes, name: 'logits', from: 'code' });
  if (o.keywords) layers.push({ type: 'dense', units: o.keywords, name: 'keywords', from: 'code' });
  return { name: 'E', input: [...o.image], layers };
}

export interface RandomPackOptions {
  name?: string;
  image?: [number, number, number];
  range?: '[0,1]' | '[-1,1]';
  codeDim?: number;
  /** class labels or count */
  classes?: string[] | number;
  /** keyword vocabulary or count (0 = no keyword head) */
  keywords?: string[] | number;
  gChannels?: number[];
  gBase?: number;
  eChannels?: number[];
  hdae?: boolean | number[];
  fastMlp?: boolean | number[];
  /** code clip max (min is 0, post-ReLU) */
  codeMax?: number;
  /** hand-set weights: net → variable name → values */
  weights?: Record<string, Record<string, Float32Array | number[]>>;
}

/** Small (or emoji64-sized) pack with random weights, for tests and benchmarks. */
export function buildRandomPack(opts: RandomPackOptions = {}, seed = 1): Pack {
  const image = opts.image ?? [16, 16, 3];
  const D = opts.codeDim ?? 32;
  const labels =
    typeof opts.classes === 'number' || opts.classes === undefined
      ? Array.from({ length: (opts.classes as number | undefined) ?? 5 }, (_, i) => `class${i}`)
      : opts.classes;
  const vocab =
    typeof opts.keywords === 'number' || opts.keywords === undefined
      ? Array.from({ length: (opts.keywords as number | undefined) ?? 0 }, (_, i) => `word${i}`)
      : opts.keywords;
  const range = opts.range ?? '[0,1]';
  const eChannels = opts.eChannels ?? (image[0] >= 64 ? [16, 32, 64, 128] : [8, 16]);
  const gSpec = convGeneratorSpec({ codeDim: D, image, base: opts.gBase ?? 4, channels: opts.gChannels, range });
  const eSpec = convEncoderSpec({
    image,
    channels: eChannels,
    codeDim: D,
    classes: labels.length,
    keywords: vocab.length,
  });
  const w = opts.weights ?? {};
  const nets: Record<string, Net> = {
    G: new Net(gSpec, { seed: seed * 7 + 1, weights: w.G }),
    E: new Net(eSpec, { seed: seed * 7 + 2, weights: w.E }),
  };
  const networks: PackManifestInput['networks'] = { G: { file: 'G.net.json' }, E: { file: 'E.net.json' } };
  if (opts.hdae) {
    const hidden = Array.isArray(opts.hdae) ? opts.hdae : [Math.max(8, D >> 1)];
    nets.hdae = new Net(
      {
        name: 'hdae',
        input: [D],
        layers: [
          ...hidden.flatMap((u) => [{ type: 'dense' as const, units: u }, { type: 'relu' as const }]),
          { type: 'dense', units: D },
          { type: 'relu', name: 'out' },
        ],
      },
      { seed: seed * 7 + 3, weights: w.hdae },
    );
    networks.hdae = { file: 'hdae.net.json' };
  }
  if (opts.fastMlp) {
    const hidden = Array.isArray(opts.fastMlp) ? opts.fastMlp : [Math.max(8, D >> 1)];
    nets.fastMlp = new Net(
      {
        name: 'fastMlp',
        input: [D],
        layers: [
          ...hidden.flatMap((u) => [{ type: 'dense' as const, units: u }, { type: 'relu' as const }]),
          { type: 'dense', units: labels.length, name: 'logits' },
        ],
      },
      { seed: seed * 7 + 4, weights: w.fastMlp },
    );
    networks.fastMlp = { file: 'fastMlp.net.json', condition: 'class' };
  }
  const conditions: PackManifestInput['conditions'] = [
    { id: 'class', kind: 'classes', net: 'E', output: 'logits', labels },
  ];
  if (vocab.length)
    conditions.push({ id: 'keywords', kind: 'keywords', net: 'E', output: 'keywords', vocabulary: vocab });
  conditions.push({
    id: 'units',
    kind: 'units',
    net: 'E',
    layers: eChannels.map((c, i) => ({ name: `conv${i + 1}`, channels: c })).concat([{ name: 'code', channels: D }]),
  });
  const manifest: PackManifestInput = {
    name: opts.name ?? 'random',
    version: '0.0.0',
    description: 'Random-weight pack (untrained) for tests and benchmarks',
    licence: 'CC0-1.0',
    attribution: 'Generated by @ppgn/core buildRandomPack',
    image: { height: image[0], width: image[1], channels: image[2] as 1 | 3, range },
    code: { dim: D, min: 0, max: opts.codeMax ?? 30, encoderTap: 'code', init: { mean: 0.5, std: 0.5 } },
    networks,
    conditions,
  };
  return makePack(manifest, nets);
}

/** Shapes of the shipped emoji64 pack's G and E (random weights: benchmarks without the trained pack). */
export const EMOJI64_ARCH = {
  image: [64, 64, 3] as [number, number, number],
  codeDim: 128,
  gBase: 4,
  gChannels: [256, 160, 96, 48, 24],
  eChannels: [32, 64, 128, 256],
  classes: 29,
  keywords: 400,
};

export function buildRandomEmoji64Pack(seed = 1): Pack {
  return buildRandomPack(
    {
      name: 'random-emoji64-arch',
      image: EMOJI64_ARCH.image,
      codeDim: EMOJI64_ARCH.codeDim,
      gBase: EMOJI64_ARCH.gBase,
      gChannels: EMOJI64_ARCH.gChannels,
      eChannels: EMOJI64_ARCH.eChannels,
      classes: EMOJI64_ARCH.classes,
      keywords: EMOJI64_ARCH.keywords,
      hdae: [128],
      fastMlp: [128],
    },
    seed,
  );
}

/** tidy helper exported for consumers */
export function packSummary(p: Pack): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(p.nets)) out[k] = n.paramCount;
  return out;
}
