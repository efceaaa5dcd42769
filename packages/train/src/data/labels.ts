/**
 * Label definitions: coarse classes from emoji-datasource (category, subcategory), dominant-colour bins,
 * vendor (style) labels and keyword extraction.
 */

/**
 * coarse class → subcategories (emoji-datasource `subcategory` values). Each class is meant to look alike
 * inside: subcategories whose drawings have nothing in common (emotion marks, body parts, person symbols,
 * dishware, costume faces) are left out, and mixed groups are split (buildings vs landscapes, clocks,
 * office/paper vs tools/household, button-like symbols vs signs vs geometric shapes).
 */
export const CLASS_GROUPS: Record<string, string[]> = {
  'faces-happy': ['face-smiling', 'face-affection', 'face-tongue', 'face-glasses', 'face-hat', 'face-hand'],
  'faces-negative': ['face-concerned', 'face-negative', 'face-unwell', 'face-sleepy', 'face-neutral-skeptical'],
  hearts: ['heart'],
  people: ['person', 'person-role', 'person-gesture', 'person-fantasy', 'family'],
  'people-activity': ['person-activity', 'person-sport', 'person-resting'],
  hands: [
    'hand-single-finger',
    'hand-fingers-closed',
    'hand-fingers-open',
    'hand-fingers-partial',
    'hands',
    'hand-prop',
  ],
  'animals-mammal': ['animal-mammal', 'cat-face', 'monkey-face'],
  'animals-bird': ['animal-bird'],
  'animals-other': ['animal-marine', 'animal-bug', 'animal-reptile', 'animal-amphibian'],
  plants: ['plant-flower', 'plant-other'],
  'food-fruit-veg': ['food-fruit', 'food-vegetable'],
  'food-prepared': ['food-prepared', 'food-asian', 'food-sweet'],
  drinks: ['drink'],
  buildings: ['place-building', 'place-religious', 'hotel'],
  landscapes: ['place-geographic', 'place-map', 'place-other'],
  transport: ['transport-ground', 'transport-air', 'transport-water'],
  'sky-weather': ['sky & weather'],
  clocks: ['time'],
  sports: ['sport', 'award-medal'],
  'games-events': ['event', 'game', 'arts & crafts'],
  clothing: ['clothing'],
  music: ['music', 'musical-instrument', 'sound'],
  tech: ['computer', 'phone', 'light & video'],
  'office-paper': ['office', 'writing', 'book-paper', 'mail', 'money'],
  'tools-household': ['tool', 'lock', 'medical', 'science', 'household', 'other-object'],
  'symbols-buttons': ['keycap', 'alphanum', 'av-symbol', 'arrow', 'zodiac'],
  'symbols-signs': [
    'warning',
    'transport-sign',
    'religion',
    'gender',
    'math',
    'punctuation',
    'currency',
    'other-symbol',
  ],
  shapes: ['geometric'],
  flags: ['country-flag', 'flag', 'subdivision-flag'],
};

export const CLASS_NAMES = Object.keys(CLASS_GROUPS);

const SUB_TO_CLASS = new Map<string, string>();
for (const [c, subs] of Object.entries(CLASS_GROUPS)) for (const s of subs) SUB_TO_CLASS.set(s, c);

/** coarse class of an emoji, or null (skin-tone components and unknown subcategories) */
export function coarseClassOf(category: string, subcategory: string): string | null {
  if (category === 'Component') return null;
  return SUB_TO_CLASS.get(subcategory) ?? null;
}

/** art sets we train on (never Apple or Facebook) */
export const VENDORS = ['google', 'twitter', 'openmoji'] as const;
/**
 * art sets that only add training pictures (`trainOnlyVendors`): Microsoft's Fluent Emoji, flat (MIT), from the
 * Iconify JSON package (SVG bodies with a code point map)
 */
export const EXTRA_VENDORS = ['fluent'] as const;
export type Vendor = (typeof VENDORS)[number] | (typeof EXTRA_VENDORS)[number];
export const VENDOR_LABELS: Record<Vendor, string> = {
  google: 'noto',
  twitter: 'twemoji',
  openmoji: 'openmoji',
  fluent: 'fluent',
};
export const VENDOR_PACKAGES: Record<Vendor, string> = {
  google: 'emoji-datasource-google',
  twitter: 'emoji-datasource-twitter',
  openmoji: 'openmoji',
  fluent: '@iconify-json/fluent-emoji-flat',
};

// ---------------------------------------------------------------------------------------------
// dominant colour

export const COLOUR_NAMES = ['red', 'orange', 'brown', 'yellow', 'green', 'blue', 'purple', 'pink', 'neutral'] as const;

export function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const d = max - min;
  let h = 0;
  if (d > 1e-9) {
    if (max === r) h = ((g - b) / d) % 6;
    else if (max === g) h = (b - r) / d + 2;
    else h = (r - g) / d + 4;
    h *= 60;
    if (h < 0) h += 360;
  }
  return [h, max === 0 ? 0 : d / max, max];
}

/** colour bin of one pixel (values in [0,1]) */
export function colourBin(r: number, g: number, b: number): number {
  const [h, s, v] = rgbToHsv(r, g, b);
  if (s < 0.25 || v < 0.18) return 8; // neutral: white, grey, black
  if (h < 8 || h >= 345) return 0; // red
  if (h < 38) return v < 0.65 ? 2 : h < 15 ? 0 : 1; // brown / red / orange
  if (h < 70) return v < 0.5 ? 2 : 3; // dark yellow reads as brown; yellow
  if (h < 170) return 4; // green
  if (h < 255) return 5; // blue
  if (h < 300) return 6; // purple
  return 7; // pink / magenta
}

/**
 * Dominant colour of an RGBA image (values 0..255): histogram of colour bins over opaque pixels; neutral
 * pixels (outlines, white highlights) count half so that a yellow face with a dark outline is "yellow".
 */
export function dominantColour(rgba: Uint8Array | Buffer, n: number): number {
  const hist = new Float64Array(COLOUR_NAMES.length);
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3];
    if (a < 128) continue;
    const bin = colourBin(rgba[i * 4] / 255, rgba[i * 4 + 1] / 255, rgba[i * 4 + 2] / 255);
    hist[bin] += bin === 8 ? 0.5 : 1;
  }
  let best = 8;
  for (let k = 0; k < hist.length; k++) if (hist[k] > hist[best]) best = k;
  return best;
}

// ---------------------------------------------------------------------------------------------
// keywords

const STOP = new Set([
  'and',
  'the',
  'of',
  'with',
  'a',
  'an',
  'in',
  'on',
  'at',
  'to',
  'for',
  'or',
  'no',
  'not',
  'flag',
  'button',
  'symbol',
  'sign',
  'emoji',
  'type',
]);

/** normalised keyword tokens of one emoji (emojilib keywords + short names), deduplicated */
export function keywordTokens(emojilib: string[] | undefined, shortNames: string[]): string[] {
  const out = new Set<string>();
  const add = (raw: string) => {
    for (const t of raw.toLowerCase().split(/[^a-z]+/)) {
      if (t.length < 3 || STOP.has(t)) continue;
      out.add(t);
    }
  };
  for (const k of emojilib ?? []) add(k);
  for (const s of shortNames) add(s);
  return [...out];
}

/** unified code point string ("1F600-FE0F") → the emoji character */
export function unifiedToChar(unified: string): string {
  return String.fromCodePoint(...unified.split('-').map((h) => parseInt(h, 16)));
}
