// What the pack's condition ids are for (from GET /packs when available, else from the label shapes).
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

const STOP = new Set(['a', 'an', 'the', 'of', 'with', 'and', 'in', 'on', 'at', 'to', 'is', 'are', 'its', 'his', 'her', 'some', 'very']);

export interface WordMatch {
  word: string;
  /** the vocabulary entry it matched, or null (stop words are skipped) */
  match: string | null;
}

/** Which words of a text are in the vocabulary, tokenised like the engine (bigrams, plural -s, stop words). */
export function matchWords(text: string, vocabulary: string[]): WordMatch[] {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]+/g, ' ').trim();
  const index = new Map(vocabulary.map((v) => [norm(v), v]));
  const toks = text.toLowerCase().split(/[^a-z0-9']+/).filter(Boolean);
  const out: WordMatch[] = [];
  for (let i = 0; i < toks.length; i++) {
    const bi = i + 1 < toks.length ? `${toks[i]} ${toks[i + 1]}` : null;
    if (bi && index.has(bi)) {
      out.push({ word: bi, match: index.get(bi)! });
      i++;
      continue;
    }
    const t = toks[i]!;
    const singular = t.length > 3 && t.endsWith('s') ? t.slice(0, -1) : null;
    if (index.has(t)) out.push({ word: t, match: index.get(t)! });
    else if (singular && index.has(singular)) out.push({ word: t, match: index.get(singular)! });
    else if (!STOP.has(t)) out.push({ word: t, match: null });
  }
  return out;
}
