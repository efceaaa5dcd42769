// What the pack's conditions are for: typed by the engine (the join reply), never guessed here.
import { matchText, type ConditionSpec, type WordMatch } from '@ppgn/shared';

export interface PackConditions {
  classes: { id: string; labels: string[] } | null;
  keywords: { id: string; vocabulary: string[] } | null;
  units: { id: string; layers: { name: string; channels: number }[] } | null;
}

/** The first condition of each kind (the studio steers with one of each). */
export function packConditions(specs: ConditionSpec[]): PackConditions {
  const out: PackConditions = { classes: null, keywords: null, units: null };
  for (const c of specs) {
    if (c.kind === 'classes' && !out.classes) out.classes = { id: c.id, labels: c.labels };
    else if (c.kind === 'keywords' && !out.keywords) out.keywords = { id: c.id, vocabulary: c.vocabulary };
    else if (c.kind === 'units' && !out.units) out.units = { id: c.id, layers: c.layers };
  }
  return out;
}

export type { WordMatch };

/** Which words of a text are in the vocabulary: the shared tokenizer the engine uses (bigrams, plurals, emoji, stop words). */
export function matchWords(text: string, vocabulary: string[]): WordMatch[] {
  return matchText(text, vocabulary).words;
}
