/**
 * The keyword lexicon: words of many languages (and English synonyms) → the pack's keyword they mean, so that
 * "gato feliz" or "chat avec des cœurs" steers the keyword head like "happy cat" or "cat heart".
 *
 * Built from emoji annotations alone, without a translation model: every locale of CLDR (through emojibase-data)
 * tags each emoji with words. Two words mean the same when they tag the same emoji: a word w of any language is
 * mapped to the vocabulary keyword k whose set of emoji is most alike w's (cosine of the two sets, smoothed so
 * that a keyword on three emoji does not beat one on thirty by chance), when that likeness is at least
 * `minScore`. The English side of each keyword also takes emojilib's keywords (where the pack's vocabulary came
 * from).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { STOP_WORDS, phraseKey as phrase, singular, tokenize } from '@ppgn/shared';
import { defaultDataDir, ensureDataPackages, LEXICON_PACKAGES, packageDir } from './data/fetch';

export const LEXICON_FORMAT = 'ppgn-lexicon/1';

export interface LexiconFile {
  format: typeof LEXICON_FORMAT;
  /** where the words come from */
  source: string;
  /** locales the words were taken from */
  languages: string[];
  /** folded word or two-word phrase → vocabulary keyword */
  words: Record<string, string>;
}

/** One locale's annotations: per emoji, its name and tags. */
export interface Annotations {
  locale: string;
  entries: { emoji: string; label: string; tags: string[] }[];
}

export interface LexiconOptions {
  /** smoothing added to both set sizes (default 2) */
  smoothing?: number;
  /** least likeness to keep a word (default 0.2) */
  minScore?: number;
  /** a word seen only inside names and longer tags is kept when it tags at most this many emoji (default 12) */
  maxSpread?: number;
  /** English keywords per emoji beside the English annotations (emojilib) */
  extraEnglish?: Record<string, string[]>;
}

/** emoji identity across sources: the variation selector FE0F is optional in the wild */
const emojiKey = (e: string) => e.replace(/\uFE0F/g, '');

/** word → emoji it tags, for one locale; words are whole tags plus the single words of names and tags */
function wordSets(a: Annotations, maxSpread: number): Map<string, Set<string>> {
  const whole = new Map<string, Set<string>>();
  const parts = new Map<string, Set<string>>();
  const put = (m: Map<string, Set<string>>, w: string, e: string) => {
    if (!w) return;
    let s = m.get(w);
    if (!s) m.set(w, (s = new Set()));
    s.add(e);
  };
  for (const { emoji, label, tags } of a.entries) {
    const e = emojiKey(emoji);
    for (const t of tags) {
      const toks = tokenize(t);
      if (toks.length <= 2) put(whole, toks.join(' '), e);
      for (const w of toks) put(parts, w, e);
    }
    for (const w of tokenize(label)) put(parts, w, e);
  }
  // single words from names and long tags count when they are also a tag somewhere, or are specific (articles
  // and prepositions appear in hundreds of names: "chat avec…", "visage de…")
  for (const [w, s] of parts) if (whole.has(w) || s.size <= maxSpread) for (const e of s) put(whole, w, e);
  return whole;
}

/** Build the lexicon for a vocabulary from annotations in many locales (English among them). */
export function buildLexicon(
  vocabulary: readonly string[],
  locales: Annotations[],
  o: LexiconOptions = {},
): Record<string, string> {
  const a = o.smoothing ?? 2;
  const minScore = o.minScore ?? 0.2;
  const maxSpread = o.maxSpread ?? 12;
  // every locale's words, merged: "feliz" is Spanish and Portuguese alike, and text needs no language guess
  const merged = new Map<string, Set<string>>();
  for (const loc of locales)
    for (const [w, s] of wordSets(loc, maxSpread)) {
      const m = merged.get(w);
      if (m) for (const e of s) m.add(e);
      else merged.set(w, new Set(s));
    }
  // each keyword's emoji, by its English annotations (and emojilib's keywords)
  const english = new Map<string, Set<string>>();
  const en = locales.find((l) => l.locale === 'en');
  if (en) for (const [w, s] of wordSets(en, maxSpread)) english.set(w, s);
  for (const [emoji, kws] of Object.entries(o.extraEnglish ?? {}))
    for (const k of kws)
      for (const w of new Set([phrase(k), ...tokenize(k.replace(/[_-]+/g, ' '))])) {
        let s = english.get(w);
        if (!s) english.set(w, (s = new Set()));
        s.add(emojiKey(emoji));
      }
  const direct = new Set<string>();
  /** keyword (as a phrase) → its index */
  const indexOf = new Map(vocabulary.map((k, i) => [phrase(k), i] as const));
  const keywordsOfEmoji = new Map<string, number[]>();
  const sizes: number[] = [];
  vocabulary.forEach((k, i) => {
    const n = phrase(k);
    direct.add(n);
    direct.add(singular(n));
    const s = english.get(n) ?? new Set<string>();
    sizes[i] = s.size;
    for (const e of s) {
      let l = keywordsOfEmoji.get(e);
      if (!l) keywordsOfEmoji.set(e, (l = []));
      l.push(i);
    }
  });
  const out: Record<string, string> = {};
  for (const w of [...merged.keys()].sort()) {
    if (direct.has(w) || direct.has(singular(w)) || STOP_WORDS.has(w)) continue;
    const s = merged.get(w)!;
    const shared = new Map<number, number>();
    for (const e of s) for (const i of keywordsOfEmoji.get(e) ?? []) shared.set(i, (shared.get(i) ?? 0) + 1);
    let best = -1;
    let bestScore = 0;
    const scores = new Map<number, number>();
    for (const [i, n] of shared) {
      const score = n / Math.sqrt((s.size + a) * (sizes[i]! + a));
      scores.set(i, score);
      if (score > bestScore || (score === bestScore && i < best)) [best, bestScore] = [i, score];
    }
    if (best < 0 || bestScore < minScore) continue;
    // "gato" → cat rather than cats when both keywords fit almost as well: the singular reads as the word meant
    const one = indexOf.get(singular(phrase(vocabulary[best]!)));
    out[w] = vocabulary[one !== undefined && one !== best && (scores.get(one) ?? 0) >= 0.85 * bestScore ? one : best]!;
  }
  return out;
}

/** Read every locale of an installed emojibase-data package (each `<locale>/data.json`). */
export function readEmojibase(dir: string): Annotations[] {
  const out: Annotations[] = [];
  for (const locale of readdirSync(dir).sort()) {
    const file = path.join(dir, locale, 'data.json');
    if (!existsSync(file)) continue;
    const rows = JSON.parse(readFileSync(file, 'utf8')) as { emoji?: string; label?: string; tags?: string[] }[];
    out.push({
      locale,
      entries: rows.flatMap((r) => (r.emoji ? [{ emoji: r.emoji, label: r.label ?? '', tags: r.tags ?? [] }] : [])),
    });
  }
  return out;
}

/** Build and write the lexicon of every keyword condition of the pack in `dir`; returns the files written. */
export function writePackLexicons(dir: string, log: (m: string) => void = (m) => process.stderr.write(m + '\n')) {
  const manifestFile = path.join(dir, 'manifest.json');
  const manifestText = readFileSync(manifestFile, 'utf8');
  const manifest = JSON.parse(manifestText) as {
    conditions: { id: string; kind: string; vocabulary?: string[]; lexicon?: string }[];
  };
  const keywordConditions = manifest.conditions.filter((c) => c.kind === 'keywords' && c.vocabulary);
  if (!keywordConditions.length) {
    log(`[lexicon] ${dir} has no keyword condition: nothing to do`);
    return [];
  }
  const cache = ensureDataPackages(
    path.join(defaultDataDir(), 'lexicon'),
    log,
    LEXICON_PACKAGES,
    'emoji annotations in many languages (one-time, ~7 MB download)',
  );
  const base = packageDir(cache, 'emojibase-data');
  const locales = readEmojibase(base);
  const emojilib = JSON.parse(
    readFileSync(path.join(packageDir(cache, 'emojilib'), 'dist', 'emoji-en-US.json'), 'utf8'),
  ) as Record<string, string[]>;
  const version = (JSON.parse(readFileSync(path.join(base, 'package.json'), 'utf8')) as { version: string }).version;
  const written: string[] = [];
  for (const c of keywordConditions) {
    const t0 = Date.now();
    const words = buildLexicon(c.vocabulary!, locales, { extraEnglish: emojilib });
    const file = `${c.id}.lexicon.json`;
    const body: LexiconFile = {
      format: LEXICON_FORMAT,
      source: `emoji annotations of CLDR in ${locales.length} locales (emojibase-data ${version}, MIT) and emojilib ${LEXICON_PACKAGES.emojilib} (MIT)`,
      languages: locales.map((l) => l.locale),
      words,
    };
    writeFileSync(path.join(dir, file), JSON.stringify(body) + '\n');
    c.lexicon = file;
    const used = new Set(Object.values(words)).size;
    log(
      `[lexicon] ${c.id}: ${Object.keys(words).length} words of ${locales.length} locales → ${used} of ${c.vocabulary!.length} keywords (${Date.now() - t0} ms); wrote ${path.join(dir, file)}`,
    );
    written.push(file);
  }
  writeFileSync(manifestFile, sameStyle(manifestText, manifest));
  return written;
}

/** JSON in the style of the file it replaces (indent, \\u escapes of the Python writer, final newline): a small diff */
function sameStyle(before: string, value: unknown): string {
  const indent = /^\{\n( +)"/.exec(before)?.[1]?.length ?? 2;
  let text = JSON.stringify(value, null, indent);
  if (/\\u[0-9a-f]{4}/.test(before))
    text = text.replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return before.endsWith('\n') ? `${text}\n` : text;
}
