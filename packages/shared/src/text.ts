// The one tokenizer for free text and keywords, used by the sampler (text conditions), the
// engine (gallery keywords) and the web (live "which words match" chips), so that all three agree:
// markup is stripped, emoji become their names (🍎 → "red apple"), plurals are singular
// ("red apples" → red, apple), stop words are skipped, unknown words get near-spelling suggestions.
import { EMOJI_NAMES_TSV } from './emoji-names';

/**
 * Words that carry no picture: English, and the articles, prepositions and conjunctions of the languages the
 * packs' lexicons cover (so "chat avec des cœurs" reads as chat + cœurs). A vocabulary or lexicon entry always wins
 * over a stop word.
 */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  [
    // English
    'a an the of with and in on at to is are its his her some very',
    // French, Spanish, Portuguese, Italian, Catalan
    'le la les l un une des du de d au aux avec et ou sur dans pour par en est sont',
    'el los las uno una unos unas del al y o con sin por para es son muy',
    'os as um uma dos das do da no na nos nas e com em',
    'il lo gli i uno di dei degli delle della dello con e ed su nel nella per tra fra',
    // German, Dutch, Scandinavian
    'der die das den dem des ein eine einer eines einem einen und oder mit im ist sind auf zu vom zum zur',
    'het een en van met op te voor bij',
    'och med ett en og til af paa på i',
    // Polish, Czech, Russian, Ukrainian
    'z ze w we na do i oraz a',
    'и с со в во на к о об у а или',
    'і з зі та й',
  ].flatMap((line) => line.split(' ')),
);

/** Particles of unspaced scripts that carry no picture ("猫の顔" reads as 猫 + 顔). */
const UNSPACED_STOP: ReadonlySet<string> = new Set([
  'の',
  'と',
  'が',
  'は',
  'を',
  'に',
  'で',
  'や',
  'も',
  'な',
  '的',
  '和',
  '与',
  '及',
  '跟',
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

/**
 * A word as every lookup keys it: lowercase, Latin/Greek/Cyrillic accents removed ("Café" → cafe, "ё" → е),
 * ligatures spelt out ("cœur" → coeur, "Straße" → strasse); other scripts' marks (kana voicing, Indic vowel signs)
 * are part of the word and kept.
 */
export function foldWord(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]+/g, '')
    .normalize('NFC')
    .toLowerCase()
    .replace(/œ/g, 'oe')
    .replace(/æ/g, 'ae')
    .replace(/ß/g, 'ss')
    .replace(/ø/g, 'o')
    .replace(/ł/g, 'l')
    .replace(/đ/g, 'd')
    .replace(/[’‘]/g, "'");
}

/** Lowercase words of a text in any script: markup stripped, emoji named, accents folded, split on non-letters. */
export function tokenize(text: string): string[] {
  const plain = foldWord(emojiToWords(stripMarkup(text)));
  const out: string[] = [];
  for (const raw of plain.split(/[^\p{L}\p{M}\p{N}']+/u)) {
    const w = raw.replace(/^'+|'+$/g, '').replace(/'s$/, '');
    if (w) out.push(w);
  }
  return out;
}

/** Scripts written without spaces between words: a run of them is split by the longest known words. */
const UNSPACED =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

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
  /** true when the match came from the pack's lexicon (another language or a synonym: "gato" → cat) */
  translated?: true;
}

export interface TextMatch {
  /** every non-stop word in order */
  words: WordMatch[];
  /** matched vocabulary entries, unique, in order */
  matched: string[];
  unknown: { word: string; nearest: string[] }[];
}

/**
 * A pack's lexicon: words and two-word phrases of many languages (folded as `foldWord` does) → the vocabulary
 * keyword each one means. Built from emoji annotations: words that tag the same emoji mean the same keyword.
 */
export type Lexicon = ReadonlyMap<string, string>;

/** A lexicon from its JSON form ({ word: keyword }), keys folded; entries whose keyword is not in the vocabulary are dropped. */
export function lexiconFrom(words: Record<string, string>, vocabulary?: readonly string[]): Lexicon {
  const known = vocabulary ? new Set(vocabulary) : null;
  const out = new Map<string, string>();
  for (const [w, k] of Object.entries(words)) {
    if (typeof k !== 'string' || (known && !known.has(k))) continue;
    const key = tokenize(w).join(' ');
    if (key && !out.has(key)) out.set(key, k);
  }
  return out;
}

/** A vocabulary entry as lookups key it: "ice_cream" → "ice cream", folded like text. */
export const phraseKey = (s: string) => tokenize(s.replace(/[_-]+/g, ' ')).join(' ');

/** A phrase with its last word singular ("red apples" → "red apple"). */
function singularOf(phrase: string): string {
  const parts = phrase.split(' ');
  return [...parts.slice(0, -1), singular(parts[parts.length - 1]!)].join(' ');
}

/**
 * Tokenise free text and match tokens (and two-word phrases) against a vocabulary, singular and plural alike;
 * with a lexicon, words of other languages and synonyms match the keyword they mean, and runs of unspaced scripts
 * (Chinese, Japanese, Thai) are split into the longest words the vocabulary or lexicon knows.
 */
export function matchText(text: string, vocabulary: readonly string[], k = 3, lexicon?: Lexicon): TextMatch {
  const index = new Map<string, string>();
  for (const v of vocabulary) {
    const n = phraseKey(v);
    if (!n) continue;
    if (!index.has(n)) index.set(n, v);
    const s = singularOf(n);
    if (!index.has(s)) index.set(s, v);
  }
  const lookup = (phrase: string): WordMatch | null => {
    const own = index.get(phrase) ?? index.get(singularOf(phrase));
    if (own) return { word: phrase, match: own, nearest: [] };
    const meant = lexicon?.get(phrase) ?? lexicon?.get(singularOf(phrase));
    if (meant) return { word: phrase, match: meant, nearest: [], translated: true };
    return null;
  };
  const words: WordMatch[] = [];
  const toks = tokenize(text);
  for (let i = 0; i < toks.length; i++) {
    const bi = i + 1 < toks.length ? lookup(`${toks[i]} ${toks[i + 1]}`) : null;
    if (bi) {
      words.push(bi);
      i++;
      continue;
    }
    const t = toks[i]!;
    const m = lookup(t);
    if (m) words.push(m);
    else if (UNSPACED.test(t)) words.push(...segment(t, lookup));
    else if (!STOP_WORDS.has(t)) words.push({ word: t, match: null, nearest: nearestWords(t, vocabulary, k) });
  }
  return {
    words,
    matched: [...new Set(words.flatMap((w) => (w.match ? [w.match] : [])))],
    unknown: words.filter((w) => !w.match).map((w) => ({ word: w.word, nearest: w.nearest })),
  };
}

/** Split a run of an unspaced script by the longest known words (at most 8 characters); the rest is reported once per gap. */
function segment(run: string, lookup: (w: string) => WordMatch | null): WordMatch[] {
  const chars = Array.from(run);
  const out: WordMatch[] = [];
  let gap = '';
  const flush = () => {
    if (gap) out.push({ word: gap, match: null, nearest: [] });
    gap = '';
  };
  for (let i = 0; i < chars.length;) {
    let len = Math.min(8, chars.length - i);
    let found: WordMatch | null = null;
    while (len > 0 && !(found = lookup(chars.slice(i, i + len).join('')))) len--;
    if (found) {
      flush();
      out.push(found);
      i += len;
    } else {
      // a particle ends an unknown run and is dropped
      if (UNSPACED_STOP.has(chars[i]!)) flush();
      else gap += chars[i];
      i++;
    }
  }
  flush();
  return out;
}
