// The one tokenizer for free text and keywords, used by the sampler (text conditions), the
// engine (gallery keywords) and the web (live "which words match" chips), so that all three agree:
// markup is stripped, emoji become their names (🍎 → "red apple"), plurals are singular
// ("red apples" → red, apple), stop words are skipped, unknown words get near-spelling suggestions.
import { EMOJI_NAMES_TSV } from './emoji-names';

export const STOP_WORDS: ReadonlySet<string> = new Set([
  'a',
  'an',
  'the',
  'of',
  'with',
  'and',
  'in',
  'on',
  'at',
  'to',
  'is',
  'are',
  'its',
  'his',
  'her',
  'some',
  'very',
]);

let emojiTable: Map<string, string> | null = null;
function emojiNames(): Map<string, string> {
  if (!emojiTable) {
    emojiTable = new Map();
    for (const line of EMOJI_NAMES_TSV.split('\n')) {
      const tab = line.indexOf('\t');
      if (tab > 0) emojiTable.set(line.slice(0, tab), line.slice(tab + 1));
    }
  }
  return emojiTable;
}

const PICTO = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20E3/u;
/** variation selectors and skin-tone modifiers do not change an emoji's name */
const MODIFIERS = /\uFE0E|\uFE0F|\p{Emoji_Modifier}/gu;

/** The CLDR name of one emoji ("🍎" → "red apple", "♥" → "heart suit"), or null. */
export function emojiName(emoji: string): string | null {
  const names = emojiNames();
  return names.get(emoji) ?? names.get(emoji.replace(MODIFIERS, '')) ?? null;
}

function graphemes(text: string): string[] {
  const Seg = (Intl as { Segmenter?: typeof Intl.Segmenter }).Segmenter;
  if (Seg) return Array.from(new Seg(undefined, { granularity: 'grapheme' }).segment(text), (s) => s.segment);
  return Array.from(text);
}

/** Replace every emoji by its name (surrounded by spaces); emoji without a name become a space. */
export function emojiToWords(text: string): string {
  if (!PICTO.test(text)) return text;
  let out = '';
  for (const g of graphemes(text)) {
    if (!PICTO.test(g)) {
      out += g;
      continue;
    }
    const whole = emojiName(g);
    if (whole) out += ` ${whole} `;
    else
      // an unknown sequence (e.g. a new ZWJ combination): name its parts
      for (const cp of Array.from(g.replace(MODIFIERS, ''))) out += ` ${emojiName(cp) ?? ''} `;
  }
  return out;
}

/**
 * Remove HTML-ish markup as text: tags (closed or not), the content of script/style elements,
 * comments and character references. The result is plain text meant for tokenising, never for
 * rendering as HTML.
 */
export function stripMarkup(text: string): string {
  return text
    .replace(/<!--[\s\S]*?(?:-->|$)/g, ' ')
    .replace(/<(script|style)\b[^>]*>[\s\S]*?(?:<\/\1\s*>|$)/gi, ' ')
    .replace(/<\/?[a-z!?][^<>]*(?:>|$)/gi, ' ')
    .replace(/&(?:#\d{1,7}|#x[0-9a-f]{1,6}|[a-z][a-z0-9]{1,31});/gi, ' ')
    .replace(/[<>]/g, ' ');
}

/** Lowercase words of a text: markup stripped, emoji named, accents removed, split on non-letters. */
export function tokenize(text: string): string[] {
  const plain = emojiToWords(stripMarkup(text))
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[’‘]/g, "'");
  const out: string[] = [];
  for (const raw of plain.split(/[^a-z0-9']+/)) {
    const w = raw.replace(/^'+|'+$/g, '').replace(/'s$/, '');
    if (w) out.push(w);
  }
  return out;
}

/** Singular form of a lowercase word: "apples" → apple, "berries" → berry, "boxes" → box; short words and -ss/-us/-is stay. */
export function singular(word: string): string {
  const w = word.toLowerCase();
  if (w.length <= 3 || /(ss|us|is|ous)$/.test(w) || !w.endsWith('s')) return w;
  if (w.length > 4 && w.endsWith('ies')) return `${w.slice(0, -3)}y`;
  if (/(ch|sh|ss|x|z)es$/.test(w)) return w.slice(0, -2);
  return w.slice(0, -1);
}

/** The keywords a text is filed under: tokens without stop words, singular, unique, in order. */
export function keywordsOf(text: string): string[] {
  return [
    ...new Set(
      tokenize(text)
        .filter((t) => !STOP_WORDS.has(t))
        .map(singular),
    ),
  ];
}

export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[n]!;
}

/** How many edits still count as "near in spelling" for a word of this length. */
export function maxSuggestionDistance(word: string): number {
  return word.length <= 4 ? 1 : word.length <= 7 ? 2 : 3;
}

/** Up to k vocabulary entries near `word` in spelling (edit distance within maxSuggestionDistance), nearest first. */
export function nearestWords(word: string, vocabulary: readonly string[], k = 3): string[] {
  const w = word.toLowerCase();
  const limit = maxSuggestionDistance(w);
  return vocabulary
    .map((v) => {
      const lv = v.toLowerCase();
      return { v, d: Math.min(editDistance(w, lv), editDistance(singular(w), lv)) };
    })
    .filter((x) => x.d <= limit)
    .sort((a, b) => a.d - b.d || a.v.localeCompare(b.v))
    .slice(0, k)
    .map((x) => x.v);
}

export interface WordMatch {
  /** the word (or two-word phrase) as tokenised */
  word: string;
  /** the vocabulary entry it matched, or null */
  match: string | null;
  /** for unknown words: vocabulary entries near in spelling (may be empty) */
  nearest: string[];
}

export interface TextMatch {
  /** every non-stop word in order */
  words: WordMatch[];
  /** matched vocabulary entries, unique, in order */
  matched: string[];
  unknown: { word: string; nearest: string[] }[];
}

const normEntry = (s: string) => tokenize(s.replace(/[_-]+/g, ' ')).join(' ');

/** Tokenise free text and match tokens (and two-word phrases) against a vocabulary, singular and plural alike. */
export function matchText(text: string, vocabulary: readonly string[], k = 3): TextMatch {
  const index = new Map<string, string>();
  for (const v of vocabulary) {
    const n = normEntry(v);
    if (!n) continue;
    if (!index.has(n)) index.set(n, v);
    const parts = n.split(' ');
    const s = [...parts.slice(0, -1), singular(parts[parts.length - 1]!)].join(' ');
    if (!index.has(s)) index.set(s, v);
  }
  const lookup = (phrase: string): string | undefined => {
    const parts = phrase.split(' ');
    const last = parts[parts.length - 1]!;
    return index.get(phrase) ?? index.get([...parts.slice(0, -1), singular(last)].join(' '));
  };
  const toks = tokenize(text);
  const words: WordMatch[] = [];
  for (let i = 0; i < toks.length; i++) {
    const bi = i + 1 < toks.length ? `${toks[i]} ${toks[i + 1]}` : null;
    const biMatch = bi ? lookup(bi) : undefined;
    if (bi && biMatch) {
      words.push({ word: bi, match: biMatch, nearest: [] });
      i++;
      continue;
    }
    const t = toks[i]!;
    const m = lookup(t);
    if (m) words.push({ word: t, match: m, nearest: [] });
    else if (!STOP_WORDS.has(t)) words.push({ word: t, match: null, nearest: nearestWords(t, vocabulary, k) });
  }
  return {
    words,
    matched: [...new Set(words.flatMap((w) => (w.match ? [w.match] : [])))],
    unknown: words.filter((w) => !w.match).map((w) => ({ word: w.word, nearest: w.nearest })),
  };
}
