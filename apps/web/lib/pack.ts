// What the pack's conditions are for: typed by the engine (the join reply), never guessed here.
import {
  matchText,
  type ConditionSpec,
  type Lexicon,
  type RoomState,
  type SamplerMode,
  type WordMatch,
} from '@ppgn/shared';

export interface PackConditions {
  /** the first class condition (the pack's main one: E's classes) */
  classes: { id: string; labels: string[] } | null;
  /** every class condition the pack declares, in its order: E's classes and plug-ins (art style, colour, …) */
  classSets: { id: string; labels: string[] }[];
  keywords: { id: string; vocabulary: string[]; lexicon?: { words: number; languages: string[] } } | null;
  units: { id: string; layers: { name: string; channels: number }[] } | null;
}

/** The first condition of each kind (the studio steers with one of each). */
export function packConditions(specs: ConditionSpec[]): PackConditions {
  const out: PackConditions = { classes: null, classSets: [], keywords: null, units: null };
  for (const c of specs) {
    if (c.kind === 'classes') out.classSets.push({ id: c.id, labels: c.labels });
    if (c.kind === 'classes' && !out.classes) out.classes = { id: c.id, labels: c.labels };
    else if (c.kind === 'keywords' && !out.keywords)
      out.keywords = { id: c.id, vocabulary: c.vocabulary, ...(c.lexicon ? { lexicon: c.lexicon } : {}) };
    else if (c.kind === 'units' && !out.units) out.units = { id: c.id, layers: c.layers };
  }
  return out;
}

/** the class condition a target names (its `condition`, else the pack's main one) */
export function classSetOf(
  pack: PackConditions,
  condition: string | undefined,
): PackConditions['classSets'][number] | null {
  return (condition ? pack.classSets.find((c) => c.id === condition) : pack.classes) ?? null;
}

/** a condition's name for people: "class" → "Class", "colour" → "Colour" */
export function conditionTitle(id: string): string {
  return id.charAt(0).toUpperCase() + id.slice(1).replace(/[-_]+/g, ' ');
}

/**
 * Why a sampler mode cannot run the room as it is (the engine refuses the same with the same rule), per mode;
 * absent: the mode is available. Fast mode steers with the fast MLP on the pack's main classes only, without
 * inpainting.
 */
export function modeProblems(
  state: Pick<RoomState, 'conditions' | 'strokes' | 'context'>,
  pack: PackConditions,
): Partial<Record<SamplerMode, string>> {
  const active = state.conditions.filter((c) => c.enabled && c.weight !== 0);
  const other = active.filter(
    (c) => c.target.kind !== 'class' || (c.target.condition !== undefined && c.target.condition !== pack.classes?.id),
  );
  if (other.length)
    return { fast: `fast mode steers by ${pack.classes?.id ?? 'class'} conditions only: turn off the others first` };
  if (state.context && state.strokes.length > 0) return { fast: 'fast mode cannot inpaint: clear the mask first' };
  return {};
}

export type { WordMatch };

/**
 * Which words of a text are in the vocabulary: the shared tokenizer the engine uses (bigrams, plurals, emoji, stop
 * words), and with the pack's lexicon the words of other languages ("gato" → cat).
 */
export function matchWords(text: string, vocabulary: string[], lexicon?: Lexicon): WordMatch[] {
  return matchText(text, vocabulary, 3, lexicon).words;
}
