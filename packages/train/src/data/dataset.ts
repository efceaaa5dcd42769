/**
 * Dataset: 64² PNGs of the emoji-datasource packages → [S, S, 3] float images in [0,1] (alpha composited on
 * white), with coarse class, vendor (style), dominant colour and multi-label keywords. Train/test are split by
 * emoji identity (unified code), never by image, so both vendors' drawings of one emoji are on the same side.
 */
import { existsSync, readFileSync, promises as fs, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { PNG } from 'pngjs';
import { resizeImage } from '@ppgn/core';
import {
  CLASS_NAMES,
  COLOUR_NAMES,
  VENDORS,
  VENDOR_LABELS,
  VENDOR_PACKAGES,
  coarseClassOf,
  dominantColour,
  keywordTokens,
  unifiedToChar,
  type Vendor,
} from './labels';
import { packageDir } from './fetch';

export interface EmojiEntry {
  unified: string;
  name?: string | null;
  short_names: string[];
  category: string;
  subcategory: string;
  image: string;
  skin_variations?: Record<string, { unified: string; image: string; [k: string]: unknown }>;
  [k: string]: unknown;
}

export interface DatasetOptions {
  /** output image size S (S×S×3) */
  size: number;
  /** art sets */
  vendors?: Vendor[];
  /** at most this many identities per coarse class (seeded choice) */
  maxPerClass?: number;
  /** skin-tone variants added per identity as extra training images (same identity, same split side) */
  maxSkinVariants?: number;
  /** fraction of identities per class held out */
  testFraction?: number;
  /** keywords need at least this many images */
  minKeywordCount?: number;
  maxKeywords?: number;
  /**
   * art sets drawn for the training emoji only, after every other picture: the selection, the split, the keyword
   * vocabulary and the held-out pictures stay exactly those of the same options without them (more training
   * pictures, the same test)
   */
  trainOnlyVendors?: Vendor[];
  /** split / selection seed */
  seed?: number;
  /** restrict to these classes (default: all coarse classes) */
  classes?: string[];
}

export interface Dataset {
  size: number;
  n: number;
  /** N·S·S·3, [0,1] */
  images: Float32Array;
  cls: Int32Array;
  vendor: Int32Array;
  colour: Int32Array;
  /** N·K multi-hot */
  keywords: Uint8Array;
  vocab: string[];
  identity: string[];
  names: string[];
  classNames: string[];
  vendorNames: string[];
  colourNames: string[];
  train: Int32Array;
  test: Int32Array;
  options: Required<DatasetOptions>;
}

export function resolveOptions(o: DatasetOptions): Required<DatasetOptions> {
  return {
    size: o.size,
    vendors: o.vendors ?? [...VENDORS],
    maxPerClass: o.maxPerClass ?? 90,
    maxSkinVariants: o.maxSkinVariants ?? 0,
    testFraction: o.testFraction ?? 0.15,
    minKeywordCount: o.minKeywordCount ?? 20,
    maxKeywords: o.maxKeywords ?? 300,
    trainOnlyVendors: o.trainOnlyVendors ?? [],
    seed: o.seed ?? 1,
    classes: o.classes ?? [...CLASS_NAMES],
  };
}

/** FNV-1a 32-bit of a string, as an unsigned integer */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Split identities into train/test per class (stratified, seeded). Every class with ≥ 3 identities gets at
 * least one test identity. An identity never appears on both sides.
 */
export function splitByIdentity(
  items: { identity: string; cls: string }[],
  testFraction: number,
  seed: number,
): { train: Set<string>; test: Set<string> } {
  const byClass = new Map<string, Set<string>>();
  for (const it of items) {
    if (!byClass.has(it.cls)) byClass.set(it.cls, new Set());
    byClass.get(it.cls)!.add(it.identity);
  }
  const test = new Set<string>();
  const train = new Set<string>();
  for (const ids of byClass.values()) {
    const sorted = [...ids].sort(
      (a, b) => hash32(`${seed}:split:${a}`) - hash32(`${seed}:split:${b}`) || a.localeCompare(b),
    );
    let k = Math.round(sorted.length * testFraction);
    if (sorted.length >= 3) k = Math.max(1, k);
    sorted.forEach((id, i) => (i < k ? test : train).add(id));
  }
  // an identity listed under two classes stays on one side (test wins)
  for (const id of test) train.delete(id);
  return { train, test };
}

/** choose identities: entries with a coarse class and an image in every vendor, capped per class */
export function selectEntries(
  entries: EmojiEntry[],
  o: Required<DatasetOptions>,
  hasImages: (e: EmojiEntry) => boolean,
): { entry: EmojiEntry; cls: string }[] {
  const byClass = new Map<string, EmojiEntry[]>();
  const seen = new Set<string>();
  for (const e of entries) {
    const c = coarseClassOf(e.category, e.subcategory);
    if (!c || !o.classes.includes(c) || seen.has(e.unified)) continue;
    if (!hasImages(e)) continue;
    seen.add(e.unified);
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push(e);
  }
  const out: { entry: EmojiEntry; cls: string }[] = [];
  for (const c of o.classes) {
    const list = (byClass.get(c) ?? [])
      .slice()
      .sort((a, b) => hash32(`${o.seed}:pick:${a.unified}`) - hash32(`${o.seed}:pick:${b.unified}`));
    for (const e of list.slice(0, o.maxPerClass)) out.push({ entry: e, cls: c });
  }
  return out;
}

/** decode PNG → composite on white → resize to S (box filter when the size divides, else bilinear) */
export function loadImage(file: string, S: number): { img: Float32Array; colour: number } {
  return loadImageBytes(readFileSync(file), S);
}

export function loadImageBytes(bytes: Buffer, S: number): { img: Float32Array; colour: number } {
  const png = PNG.sync.read(bytes);
  const { width: W, height: H, data } = png;
  const full = new Float32Array(H * W * 3);
  for (let i = 0; i < H * W; i++) {
    const a = data[i * 4 + 3] / 255;
    for (let k = 0; k < 3; k++) full[i * 3 + k] = (data[i * 4 + k] / 255) * a + (1 - a);
  }
  const colour = dominantColour(data, H * W);
  if (H === S && W === S) return { img: full, colour };
  if (H % S === 0 && W % S === 0) {
    const fy = H / S;
    const fx = W / S;
    const out = new Float32Array(S * S * 3);
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++)
        for (let k = 0; k < 3; k++) {
          let s = 0;
          for (let dy = 0; dy < fy; dy++)
            for (let dx = 0; dx < fx; dx++) s += full[((y * fy + dy) * W + x * fx + dx) * 3 + k];
          out[(y * S + x) * 3 + k] = s / (fx * fy);
        }
    return { img: out, colour };
  }
  return { img: resizeImage({ shape: [H, W, 3], data: full }, S, S).data, colour };
}

function readEmojilib(dataDir: string): Record<string, string[]> {
  const f = path.join(packageDir(dataDir, 'emojilib'), 'dist', 'emoji-en-US.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Record<string, string[]>) : {};
}

/** where one art set's drawing of an emoji comes from */
interface ImageSource {
  has(unified: string, image: string): boolean;
  load(unified: string, image: string, S: number): { img: Float32Array; colour: number };
}

/** emoji-datasource PNGs (64×64) */
function pngSource(dataDir: string, v: Vendor): ImageSource {
  const dir = path.join(packageDir(dataDir, VENDOR_PACKAGES[v]), 'img', v, '64');
  return {
    has: (_u, image) => existsSync(path.join(dir, image)),
    load: (_u, image, S) => loadImage(path.join(dir, image), S),
  };
}

interface ResvgModule {
  Resvg: new (
    svg: string | Buffer,
    o: { fitTo: { mode: 'width'; value: number }; background?: string },
  ) => { render(): { asPng(): Buffer } };
}

/** an SVG rasterised with resvg at 4× the target size, then box-filtered down (anti-aliasing) */
function rasterise(dataDir: string): (svg: string | Buffer, S: number) => { img: Float32Array; colour: number } {
  const req = createRequire(path.resolve(dataDir, 'node_modules', 'noop.js'));
  let resvg: ResvgModule | undefined;
  return (svg, S) => {
    resvg ??= req('@resvg/resvg-js') as ResvgModule;
    return loadImageBytes(new resvg.Resvg(svg, { fitTo: { mode: 'width', value: S * 4 } }).render().asPng(), S);
  };
}

/** OpenMoji: one SVG file per code point sequence */
function svgSource(dataDir: string): ImageSource {
  const dir = path.join(packageDir(dataDir, 'openmoji'), 'color', 'svg');
  const raster = rasterise(dataDir);
  const file = (unified: string) => {
    for (const u of [unified, unified.replace(/-FE0F/g, '')]) {
      const f = path.join(dir, `${u}.svg`);
      if (existsSync(f)) return f;
    }
    return undefined;
  };
  return {
    has: (u) => !!file(u),
    load: (u, _image, S) => raster(readFileSync(file(u)!), S),
  };
}

interface IconifySet {
  icons: Record<string, { body: string; width?: number; height?: number }>;
  aliases?: Record<string, { parent: string }>;
  width?: number;
  height?: number;
}

/** an Iconify JSON icon set (`icons.json`, SVG bodies) with its code point map (`chars.json`: hex sequence → name) */
function iconifySource(dataDir: string, v: Vendor): ImageSource {
  const dir = packageDir(dataDir, VENDOR_PACKAGES[v]);
  let loaded: { set: IconifySet; chars: Record<string, string> } | undefined;
  const data = () =>
    (loaded ??= {
      set: JSON.parse(readFileSync(path.join(dir, 'icons.json'), 'utf8')) as IconifySet,
      chars: JSON.parse(readFileSync(path.join(dir, 'chars.json'), 'utf8')) as Record<string, string>,
    });
  const raster = rasterise(dataDir);
  const icon = (unified: string) => {
    const { set, chars } = data();
    for (const u of [unified.toLowerCase(), unified.toLowerCase().replace(/-fe0f/g, '')]) {
      let name = chars[u];
      for (let hops = 0; name && !set.icons[name] && set.aliases?.[name] && hops < 4; hops++)
        name = set.aliases[name].parent;
      if (name && set.icons[name]) return set.icons[name];
    }
    return undefined;
  };
  return {
    has: (u) => !!icon(u),
    load: (u, _image, S) => {
      const { set } = data();
      const ic = icon(u)!;
      const w = ic.width ?? set.width ?? 16;
      const h = ic.height ?? set.height ?? 16;
      return raster(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}">${ic.body}</svg>`, S);
    },
  };
}

function imageSource(dataDir: string, v: Vendor): ImageSource {
  if (v === 'openmoji') return svgSource(dataDir);
  if (v === 'fluent') return iconifySource(dataDir, v);
  return pngSource(dataDir, v);
}

/** Build the dataset from installed data packages (`dataDir/node_modules/...`). */
export function buildDataset(dataDir: string, opts: DatasetOptions, log: (m: string) => void = () => {}): Dataset {
  const o = resolveOptions(opts);
  const jsonFile = path.join(packageDir(dataDir, VENDOR_PACKAGES[o.vendors[0]]), 'emoji.json');
  const entries = JSON.parse(readFileSync(jsonFile, 'utf8')) as EmojiEntry[];
  const emojilib = readEmojilib(dataDir);
  const sources = Object.fromEntries(
    [...o.vendors, ...o.trainOnlyVendors].map((v) => [v, imageSource(dataDir, v)]),
  ) as Record<Vendor, ImageSource>;
  const hasAll = (unified: string, image: string, e: Record<string, unknown>) =>
    o.vendors.every((v) => (e[`has_img_${v}`] ?? true) !== false && sources[v].has(unified, image));
  const selected = selectEntries(entries, o, (e) => hasAll(e.unified, e.image, e));
  const split = splitByIdentity(
    selected.map((s) => ({ identity: s.entry.unified, cls: s.cls })),
    o.testFraction,
    o.seed,
  );
  // one drawing per (identity, variant, vendor); variants = the emoji itself + up to maxSkinVariants skin tones
  const jobs: { entry: EmojiEntry; cls: string; unified: string; image: string }[] = [];
  for (const { entry, cls: c } of selected) {
    jobs.push({ entry, cls: c, unified: entry.unified, image: entry.image });
    const vars = Object.values(entry.skin_variations ?? {})
      .filter((sv) => hasAll(sv.unified, sv.image, sv))
      .sort((a, b) => hash32(`${o.seed}:skin:${a.unified}`) - hash32(`${o.seed}:skin:${b.unified}`))
      .slice(0, o.maxSkinVariants);
    for (const sv of vars) jobs.push({ entry, cls: c, unified: sv.unified, image: sv.image });
  }
  // the training-only art sets: their drawings of training emoji (and of their skin tones), where they have one
  const extra = o.trainOnlyVendors.flatMap((v, k) =>
    jobs
      .filter((j) => split.train.has(j.entry.unified) && sources[v].has(j.unified, j.image))
      .map((j) => ({ ...j, v, vi: o.vendors.length + k })),
  );
  const S = o.size;
  const N0 = jobs.length * o.vendors.length;
  const N = N0 + extra.length;
  const images = new Float32Array(N * S * S * 3);
  const cls = new Int32Array(N);
  const vendor = new Int32Array(N);
  const colour = new Int32Array(N);
  const identity: string[] = [];
  const names: string[] = [];
  const tokens: string[][] = [];
  let i = 0;
  const t0 = Date.now();
  const add = (entry: EmojiEntry, c: string, v: Vendor, vi: number, unified: string, image: string) => {
    const { img, colour: col } = sources[v].load(unified, image, S);
    images.set(img, i * S * S * 3);
    cls[i] = o.classes.indexOf(c);
    vendor[i] = vi;
    colour[i] = col;
    identity.push(entry.unified);
    names.push(entry.short_names?.[0] ?? entry.unified);
    tokens.push(
      keywordTokens(
        emojilib[unifiedToChar(entry.unified)] ?? emojilib[unifiedToChar(entry.unified.replace(/-FE0F/g, ''))],
        entry.short_names ?? [],
      ),
    );
    i++;
    if (i % 500 === 0) log(`[data] ${i}/${N} images`);
  };
  for (const { entry, cls: c, unified, image } of jobs)
    o.vendors.forEach((v, vi) => add(entry, c, v, vi, unified, image));
  for (const { entry, cls: c, unified, image, v, vi } of extra) add(entry, c, v, vi, unified, image);
  // keyword vocabulary: tokens with ≥ minKeywordCount images (of the main art sets: the same vocabulary with or
  // without training-only pictures)
  const counts = new Map<string, number>();
  for (const ts of tokens.slice(0, N0)) for (const t of ts) counts.set(t, (counts.get(t) ?? 0) + 1);
  const vocab = [...counts.entries()]
    .filter(([, n]) => n >= o.minKeywordCount)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, o.maxKeywords)
    .map(([w]) => w);
  const K = vocab.length;
  const kwIndex = new Map(vocab.map((w, k) => [w, k]));
  const keywords = new Uint8Array(N * Math.max(K, 1));
  tokens.forEach((ts, j) => {
    for (const t of ts) {
      const k = kwIndex.get(t);
      if (k !== undefined) keywords[j * K + k] = 1;
    }
  });
  const train: number[] = [];
  const test: number[] = [];
  identity.forEach((id, j) => (split.test.has(id) ? test : train).push(j));
  log(
    `[data] ${N} images of ${selected.length} emoji (${jobs.length} with skin tones; ${o.vendors.join(', ')}${extra.length ? `; ${extra.length} training-only pictures from ${o.trainOnlyVendors.join(', ')}` : ''}) at ${S}×${S} in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${K} keywords; train ${train.length} / test ${test.length}`,
  );
  return {
    size: S,
    n: N,
    images,
    cls,
    vendor,
    colour,
    keywords,
    vocab,
    identity,
    names,
    classNames: o.classes,
    vendorNames: [...o.vendors, ...o.trainOnlyVendors].map((v) => VENDOR_LABELS[v]),
    colourNames: [...COLOUR_NAMES],
    train: Int32Array.from(train),
    test: Int32Array.from(test),
    options: o,
  };
}

// ---------------------------------------------------------------------------------------------
// cache

function cacheKey(dataDir: string, o: Required<DatasetOptions>): string {
  // (the key of options without training-only art sets is what it was before they existed: caches stay valid)
  const { trainOnlyVendors, ...rest } = o;
  const packages = [...new Set([...VENDORS, ...trainOnlyVendors].map((v) => VENDOR_PACKAGES[v]))];
  const versions = packages.concat(['emojilib']).map((p) => {
    const f = path.join(packageDir(dataDir, p), 'package.json');
    return existsSync(f) ? `${p}@${(JSON.parse(readFileSync(f, 'utf8')) as { version: string }).version}` : p;
  });
  return createHash('sha1')
    .update(JSON.stringify({ o: trainOnlyVendors.length ? o : rest, versions, v: 3 }))
    .digest('hex')
    .slice(0, 12);
}

/**
 * Read a cached dataset (`<key>.u8.bin` with its `<key>.json` beside it). Also the way to train
 * where the emoji packages cannot be installed (a GPU host): `npm run train -- --dataset FILE`.
 */
export async function readDatasetFile(binFile: string, log: (m: string) => void = () => {}): Promise<Dataset> {
  const metaFile = binFile.replace(/(\.u8)?\.bin$/, '.json');
  if (!binFile.endsWith('.u8.bin') || !existsSync(binFile) || !existsSync(metaFile))
    throw new Error(`${binFile}: expected a dataset cache file <key>.u8.bin with <key>.json beside it`);

  const meta = JSON.parse(await fs.readFile(metaFile, 'utf8')) as Omit<
    Dataset,
    'images' | 'cls' | 'vendor' | 'colour' | 'keywords' | 'train' | 'test'
  > & { train: number[]; test: number[] };
  const buf = await fs.readFile(binFile);
  const N = meta.n;
  const S = meta.size;
  const K = Math.max(meta.vocab.length, 1);
  let off = buf.byteOffset;
  const take = (bytes: number) => {
    const ab = buf.buffer.slice(off, off + bytes);
    off += bytes;
    return ab;
  };
  const images = Float32Array.from(new Uint8Array(take(N * S * S * 3)), (v) => v / 255);
  const cls = new Int32Array(take(N * 4));
  const vendor = new Int32Array(take(N * 4));
  const colour = new Int32Array(take(N * 4));
  const keywords = new Uint8Array(take(N * K));
  log(
    `[data] dataset cache ${path.relative(process.cwd(), binFile)}: ${N} images, train ${meta.train.length} / test ${meta.test.length}`,
  );
  return {
    ...meta,
    images,
    cls,
    vendor,
    colour,
    keywords,
    train: Int32Array.from(meta.train),
    test: Int32Array.from(meta.test),
  };
}

/** the dataset's cache file (`<key>.u8.bin`), built first when missing: what the Python trainer reads */
export async function ensureDatasetFile(
  dataDir: string,
  opts: DatasetOptions,
  log: (m: string) => void = () => {},
): Promise<string> {
  const o = resolveOptions(opts);
  const { metaFile, binFile } = cacheFiles(dataDir, o);
  if (!existsSync(metaFile) || !existsSync(binFile)) await loadDataset(dataDir, o, log);
  return binFile;
}

/**
 * The cache files of a dataset: `<key>.json` (metadata) and `<key>.u8.bin` (images as 8-bit: a quarter of
 * float32, 84 MB for the 64² set; they come from 8-bit PNGs, so this loses at most box-filter rounding).
 */
function cacheFiles(dataDir: string, o: Required<DatasetOptions>): { dir: string; metaFile: string; binFile: string } {
  const dir = path.join(dataDir, 'datasets');
  const key = cacheKey(dataDir, o);
  return { dir, metaFile: path.join(dir, `${key}.json`), binFile: path.join(dir, `${key}.u8.bin`) };
}

/** buildDataset with a binary cache under `dataDir/datasets/` */
export async function loadDataset(
  dataDir: string,
  opts: DatasetOptions,
  log: (m: string) => void = () => {},
): Promise<Dataset> {
  const o = resolveOptions(opts);
  const { dir, metaFile, binFile } = cacheFiles(dataDir, o);
  if (existsSync(metaFile) && existsSync(binFile)) return readDatasetFile(binFile, log);
  const ds = buildDataset(dataDir, o, log);
  mkdirSync(dir, { recursive: true });
  const { images, cls, vendor, colour, keywords, train, test, ...meta } = ds;
  await fs.writeFile(metaFile, JSON.stringify({ ...meta, train: Array.from(train), test: Array.from(test) }));
  const bytes = Uint8Array.from(images, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  const parts = [bytes, cls, vendor, colour, keywords].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  await fs.writeFile(binFile, Buffer.concat(parts));
  return ds;
}

/** per-class / per-split counts for reports */
export function datasetStats(ds: Dataset): Record<string, unknown> {
  const perClass: Record<string, { train: number; test: number }> = {};
  ds.classNames.forEach((c) => (perClass[c] = { train: 0, test: 0 }));
  for (const i of ds.train) perClass[ds.classNames[ds.cls[i]]].train++;
  for (const i of ds.test) perClass[ds.classNames[ds.cls[i]]].test++;
  const colours: Record<string, number> = {};
  for (let i = 0; i < ds.n; i++)
    colours[ds.colourNames[ds.colour[i]]] = (colours[ds.colourNames[ds.colour[i]]] ?? 0) + 1;
  const ids = (idx: Int32Array) => new Set(Array.from(idx, (i) => ds.identity[i])).size;
  return {
    images: ds.n,
    size: ds.size,
    train: ds.train.length,
    test: ds.test.length,
    trainIdentities: ids(ds.train),
    testIdentities: ids(ds.test),
    keywords: ds.vocab.length,
    vendors: ds.vendorNames,
    perClass,
    colours,
  };
}
