// What the pack's condition ids are for (from GET /packs when available, else from the label shapes).
import { matchText, type WordMatch } from '@ppgn/shared';
import type { PackInfo } from './api';

export interface PackConditions {
  classes: { id: string; labels: string[] } | null;
  keywords: { id: string; vocabulary: string[] } | null;
  units: { id: string; layers: { name: string; channels: number }[] } | null;
}

const UNIT = /^(.+):(\d+)$/;

export function packConditions(labels: Record<string, string[]>, pack?: PackInfo | null): PackConditions {
  const out: PackConditions = { classes: null, keywords: null, units: null };
  const kindOf = (id: string): string | undefined => pack?.conditions.find((c) => c.id === id)?.kind;
  for (const [id, list] of Object.entries(labels)) {
    let kind = kindOf(id);
    if (!kind) {
      if (list.length > 0 && list.every((l) => UNIT.test(l))) kind = 'units';
      else if (/key|word|text|vocab/i.test(id)) kind = 'keywords';
      else kind = 'classes';
    }
    if (kind === 'classes' && !out.classes) out.classes = { id, labels: list };
    else if (kind === 'keywords' && !out.keywords) out.keywords = { id, vocabulary: list };
    else if (kind === 'units' && !out.units)
      out.units = {
        id,
        layers: list.map((l) => {
          const m = l.match(UNIT);
          return m ? { name: m[1]!, channels: Number(m[2]) } : { name: l, channels: 1 };
        }),
      };
  }
  return out;
}

export type { WordMatch };

/** Which words of a text are in the vocabulary: the shared tokenizer the engine uses (bigrams, plurals, emoji, stop words). */
export function matchWords(text: string, vocabulary: string[]): WordMatch[] {
  return matchText(text, vocabulary).words;
}
