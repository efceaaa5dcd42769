/**
 * Conditions as composable, JSON-serialisable values (Lucid-style):
 *   add(cond.class('cat'), cond.keywords(['smile']).scale(0.5))
 * A condition is a weighted sum of log-terms (the paper's product of experts). It is resolved against a
 * pack (labels → indices, masks checked) by `resolveCondition`, which throws PpgnInputError on bad input.
 */
import { PpgnInputError, finiteNumber } from './errors';
import type { Pack, PackConditionSpec, Preprocess } from './pack';
import { editDistance, matchText, nearestWords, type TextMatch } from '@ppgn/shared';

export type ClassVariant = 'logsoftmax' | 'logit' | 'softmax';

/** An image as plain data: [H, W, C] (or [H, W] for masks), row-major, values in the pack's range. */
export interface ImageInput {
  shape: number[];
  data: Float32Array | number[];
}

/**
 * One log-term. `id` (optional) says whom the term is for, e.g. the room condition it was built from: the
 * sampler then lists the names of the scores the term produces under that id (`ChainResult.termScores`).
 */
export type Term = (
  | { kind: 'class'; labels: (string | number)[]; variant: ClassVariant; condition?: string; weight: number }
  | { kind: 'keywords'; words: string[]; condition?: string; weight: number }
  | { kind: 'text'; text: string; condition?: string; weight: number }
  | { kind: 'unit'; layer: string; channel: number; x?: number; y?: number; net?: string; weight: number }
  | { kind: 'imageRef'; image: ImageInput; layer?: string; net?: string; weight: number }
  | { kind: 'context'; image: ImageInput; mask: ImageInput; weight: number }
) & { id?: string };

export type TermKind = Term['kind'];

export class Condition {
  readonly terms: readonly Term[];
  constructor(terms: readonly Term[] = []) {
    this.terms = terms;
  }
  /** multiply every term weight by w */
  scale(w: number): Condition {
    finiteNumber(w, 'scale');
    return new Condition(this.terms.map((t) => ({ ...t, weight: t.weight * w })));
  }
  add(...others: Condition[]): Condition {
    return add(this, ...others);
  }
  /** give every term the id `id` (its scores are then listed under it in `ChainResult.termScores`) */
  withId(id: string): Condition {
    return new Condition(this.terms.map((t) => ({ ...t, id })));
  }
  get isEmpty(): boolean {
    return this.terms.length === 0;
  }
  toJSON(): { terms: Term[] } {
    return {
      terms: this.terms.map((t) =>
        t.kind === 'imageRef' || t.kind === 'context'
          ? ({
              ...t,
              image: { shape: t.image.shape, data: Array.from(t.image.data) },
              ...(t.kind === 'context' ? { mask: { shape: t.mask.shape, data: Array.from(t.mask.data) } } : {}),
            } as Term)
          : { ...t },
      ),
    };
  }
  /** from `toJSON()` output, a Term[] or a Condition */
  static from(x: Condition | { terms: Term[] } | Term[] | undefined | null): Condition {
    if (!x) return new Condition();
    if (x instanceof Condition) return x;
    if (Array.isArray(x)) return new Condition(x);
    if (typeof x === 'object' && Array.isArray((x as { terms: unknown }).terms))
      return new Condition((x as { terms: Term[] }).terms);
    throw new PpgnInputError('condition must be a Condition, {terms: [...]} or an array of terms', 'condition');
  }
}

export function add(...cs: Condition[]): Condition {
  return new Condition(cs.flatMap((c) => Condition.from(c).terms));
}

export const cond = {
  /** one or several class labels (names or indices); log-softmax by default */
  class(
    labels: string | number | (string | number)[],
    opts: { variant?: ClassVariant; condition?: string; weight?: number } = {},
  ): Condition {
    return new Condition([
      {
        kind: 'class',
        labels: Array.isArray(labels) ? labels : [labels],
        variant: opts.variant ?? 'logsoftmax',
        condition: opts.condition,
        weight: opts.weight ?? 1,
      },
    ]);
  },
  /** multi-label keyword head: sum of log-sigmoid of the chosen keywords */
  keywords(words: string | string[], opts: { condition?: string; weight?: number } = {}): Condition {
    return new Condition([
      {
        kind: 'keywords',
        words: Array.isArray(words) ? words : [words],
        condition: opts.condition,
        weight: opts.weight ?? 1,
      },
    ]);
  },
  /** free text, tokenised and matched to the keyword vocabulary */
  text(text: string, opts: { condition?: string; weight?: number } = {}): Condition {
    return new Condition([{ kind: 'text', text, condition: opts.condition, weight: opts.weight ?? 1 }]);
  },
  /** maximise one hidden unit: channel of a layer, optionally at spatial (x, y); else the channel's mean */
  unit(
    layer: string,
    channel: number,
    opts: { x?: number; y?: number; net?: string; weight?: number } = {},
  ): Condition {
    return new Condition([
      { kind: 'unit', layer, channel, x: opts.x, y: opts.y, net: opts.net, weight: opts.weight ?? 1 },
    ]);
  },
  /** match the features (default: the code tap of E) of a reference image: −w·‖f(G(h)) − f(ref)‖² */
  imageRef(image: ImageInput, opts: { layer?: string; net?: string; weight?: number } = {}): Condition {
    return new Condition([{ kind: 'imageRef', image, layer: opts.layer, net: opts.net, weight: opts.weight ?? 1 }]);
  },
  /** inpainting: known pixels (mask = 1) of `image` are pasted into G(h); context term scaled by ε4·weight */
  context(image: ImageInput, mask: ImageInput, opts: { weight?: number } = {}): Condition {
    return new Condition([{ kind: 'context', image, mask, weight: opts.weight ?? 1 }]);
  },
  none(): Condition {
    return new Condition();
  },
};

// ---------------------------------------------------------------------------------------------
// Text matching

// The tokenizer (markup, emoji names, plurals, stop words, near-spelling suggestions) is shared with the
// engine's gallery and the web app: one copy in @ppgn/shared.
export { editDistance, nearestWords, matchText, type TextMatch };

/** "zzqx" → is not a known word; "hapy" → did you mean happy? */
function describeUnknown(u: { word: string; nearest: string[] }): string {
  return u.nearest.length ? `"${u.word}" → did you mean ${u.nearest.join(' / ')}?` : `"${u.word}" is not a known word`;
}

// ---------------------------------------------------------------------------------------------
// Resolution against a pack

/** objective transform applied to a tap before the weighted sum */
export type Transform = 'logsoftmax' | 'logit' | 'softmax' | 'logsigmoid' | 'identity' | 'l2ref';

export interface ResolvedGroup {
  /** unique key: net|preprocess|tap|transform */
  key: string;
  net: string;
  preprocess: Preprocess | undefined;
  tap: string;
  transform: Transform;
  /** weights over the tap (for l2ref: one weight in [0]) */
  weights: Float32Array;
  /** l2ref target features */
  target?: Float32Array;
}

export interface ScoreSpec {
  name: string;
  /** the id of the term this score measures (terms without an id: absent) */
  term?: string;
  groupKey: string;
  /** 'prob' softmax prob of index; 'sigmoid' of index; 'value' raw value at index or mean over indices; 'dist' l2 distance */
  how: 'prob' | 'sigmoid' | 'value' | 'mean' | 'dist';
  indices: number[];
}

export interface ResolvedCondition {
  groups: ResolvedGroup[];
  scores: ScoreSpec[];
  context?: { image: Float32Array; mask: Float32Array; weight: number; term?: string };
  /** name of the first class label targeted (for pTarget) */
  target?: { groupKey: string; index: number; label: string };
  warnings: string[];
  /** keyword matches for text terms */
  text?: TextMatch;
}

function findCondition(
  pack: Pack,
  kind: PackConditionSpec['kind'],
  id: string | undefined,
  field: string,
): PackConditionSpec {
  const cs = pack.manifest.conditions;
  if (id !== undefined) {
    const c = cs.find((x) => x.id === id);
    if (!c)
      throw new PpgnInputError(
        `unknown condition "${id}" in pack ${pack.manifest.name} (conditions: ${cs.map((x) => x.id).join(', ') || 'none'})`,
        field,
      );
    if (c.kind !== kind) throw new PpgnInputError(`condition "${id}" is of kind ${c.kind}, not ${kind}`, field);
    return c;
  }
  const c = cs.find((x) => x.kind === kind);
  if (!c) throw new PpgnInputError(`pack ${pack.manifest.name} has no ${kind} condition`, field);
  return c;
}

export function preprocessOf(pack: Pack, net: string, override?: Preprocess): Preprocess | undefined {
  return override ?? pack.manifest.networks[net]?.preprocess;
}

function groupKey(net: string, pre: Preprocess | undefined, tap: string, tr: Transform): string {
  return `${net}|${pre ? JSON.stringify(pre) : ''}|${tap}|${tr}`;
}

/** Decode an image or mask to a Float32Array of the pack's [H, W, C]; masks broadcast from [H,W] / [H,W,1]. */
export function imageData(pack: Pack, img: ImageInput, field: string, isMask = false): Float32Array {
  const [H, W, C] = pack.imageShape;
  if (
    !img ||
    typeof img !== 'object' ||
    !Array.isArray(img.shape) ||
    !(img.data instanceof Float32Array || Array.isArray(img.data))
  )
    throw new PpgnInputError(`${field} must be {shape: [H, W, C], data}`, field);
  const s = img.shape;
  const c = s.length === 2 ? 1 : s[2];
  if (s.length < 2 || s.length > 3 || s[0] !== H || s[1] !== W || (c !== C && !(isMask && c === 1)))
    throw new PpgnInputError(
      `${field} has shape [${s.join(', ')}] but the pack image is [${H}, ${W}, ${C}]${isMask ? ' (or [H, W] for a mask)' : ''}`,
      field,
    );
  if (img.data.length !== H * W * c)
    throw new PpgnInputError(`${field} has ${img.data.length} values, expected ${H * W * c}`, field);
  const out = new Float32Array(H * W * C);
  const [lo, hi] = isMask ? [0, 1] : pack.manifest.image.range === '[0,1]' ? [0, 1] : [-1, 1];
  for (let i = 0; i < H * W; i++) {
    for (let k = 0; k < C; k++) {
      const v = img.data[i * c + (c === 1 ? 0 : k)];
      if (!Number.isFinite(v))
        throw new PpgnInputError(`${field} contains a non-finite value at index ${i * c + k}`, field);
      if (v < lo - 1e-6 || v > hi + 1e-6)
        throw new PpgnInputError(`${field} value ${v} at index ${i * c + k} is outside [${lo}, ${hi}]`, field);
      out[i * C + k] = v;
    }
  }
  return out;
}

/**
 * Resolve a condition against a pack. `refFeatures(net, pre, tap, image)` is used for imageRef terms
 * (computing features of a reference image needs a forward pass; the sampler supplies it).
 */
export function resolveCondition(
  pack: Pack,
  condition: Condition,
  refFeatures: (net: string, pre: Preprocess | undefined, tap: string, image: Float32Array) => Float32Array,
): ResolvedCondition {
  const groups = new Map<string, ResolvedGroup>();
  const scores: ScoreSpec[] = [];
  const warnings: string[] = [];
  const res: ResolvedCondition = { groups: [], scores, warnings };
  const getGroup = (
    net: string,
    pre: Preprocess | undefined,
    tap: string,
    tr: Transform,
    size: number,
  ): ResolvedGroup => {
    const key = groupKey(net, pre, tap, tr);
    let g = groups.get(key);
    if (!g) {
      g = { key, net, preprocess: pre, tap, transform: tr, weights: new Float32Array(tr === 'l2ref' ? 1 : size) };
      groups.set(key, g);
    }
    return g;
  };
  const tapSize = (net: string, tap: string) => pack.nets[net].tapShape(tap)!.reduce((a, b) => a * b, 1);
  const terms = Condition.from(condition).terms;
  terms.forEach((t, i) => {
    const f = `condition.terms[${i}]`;
    if (!t || typeof t !== 'object') throw new PpgnInputError(`${f} must be an object`, f);
    finiteNumber(t.weight, `${f}.weight`);
    if (t.id !== undefined && (typeof t.id !== 'string' || t.id === ''))
      throw new PpgnInputError(`${f}.id must be a non-empty string`, `${f}.id`);
    const term = t.id;
    switch (t.kind) {
      case 'class': {
        const c = findCondition(pack, 'classes', t.condition, `${f}.condition`) as Extract<
          PackConditionSpec,
          { kind: 'classes' }
        >;
        if (!['logsoftmax', 'logit', 'softmax'].includes(t.variant))
          throw new PpgnInputError(
            `${f}.variant must be logsoftmax, logit or softmax (got ${String(t.variant)})`,
            `${f}.variant`,
          );
        if (!Array.isArray(t.labels) || t.labels.length === 0)
          throw new PpgnInputError(`${f}.labels must be a non-empty list`, `${f}.labels`);
        const pre = preprocessOf(pack, c.net, c.preprocess);
        const g = getGroup(c.net, pre, c.output, t.variant, c.labels.length);
        const probKey = getGroup(c.net, pre, c.output, 'logsoftmax', c.labels.length).key;
        for (const l of t.labels) {
          const idx = labelIndex(c.labels, l, `${f}.labels`, `class label`, c.id);
          g.weights[idx] += t.weight;
          scores.push({ name: `p(${c.labels[idx]})`, term, groupKey: probKey, how: 'prob', indices: [idx] });
          if (!res.target) res.target = { groupKey: probKey, index: idx, label: c.labels[idx] };
        }
        break;
      }
      case 'keywords':
      case 'text': {
        const c = findCondition(pack, 'keywords', t.condition, `${f}.condition`) as Extract<
          PackConditionSpec,
          { kind: 'keywords' }
        >;
        let words: string[];
        if (t.kind === 'text') {
          if (typeof t.text !== 'string' || !t.text.trim())
            throw new PpgnInputError(`${f}.text must be a non-empty string`, `${f}.text`);
          const m = matchText(t.text, c.vocabulary, 3, pack.lexicons?.[c.id]?.words);
          res.text = m;
          // each unknown word once (a long paste repeats them), at most 8 named
          const unknown = [...new Map(m.unknown.map((u) => [u.word, u])).values()];
          for (const u of unknown.slice(0, 8))
            warnings.push(`unknown word "${u.word}"${u.nearest.length ? ` (nearest: ${u.nearest.join(', ')})` : ''}`);
          if (m.matched.length === 0) {
            const shown = t.text.length > 60 ? `${t.text.slice(0, 57)}…` : t.text;
            const listed =
              unknown.slice(0, 8).map(describeUnknown).join('; ') +
              (unknown.length > 8 ? `; and ${unknown.length - 8} more unknown words` : '');
            throw new PpgnInputError(
              `no word of "${shown}" is in the vocabulary of ${c.id}${listed ? `; ${listed}` : ''}`,
              `${f}.text`,
            );
          }
          words = m.matched;
        } else {
          if (!Array.isArray(t.words) || t.words.length === 0)
            throw new PpgnInputError(`${f}.words must be a non-empty list`, `${f}.words`);
          words = t.words;
        }
        const pre = preprocessOf(pack, c.net, c.preprocess);
        const g = getGroup(c.net, pre, c.output, 'logsigmoid', c.vocabulary.length);
        for (const w of words) {
          const idx = labelIndex(c.vocabulary, w, `${f}.words`, 'keyword', c.id);
          g.weights[idx] += t.weight;
          scores.push({ name: `kw(${c.vocabulary[idx]})`, term, groupKey: g.key, how: 'sigmoid', indices: [idx] });
        }
        break;
      }
      case 'unit': {
        let netName = t.net;
        if (typeof t.layer !== 'string') throw new PpgnInputError(`${f}.layer must be a layer name`, `${f}.layer`);
        let pre: Preprocess | undefined;
        if (!netName) {
          const c = pack.manifest.conditions.find(
            (x) => x.kind === 'units' && x.layers.some((l) => l.name === t.layer),
          );
          if (!c) {
            const exposed = pack.manifest.conditions.flatMap((x) =>
              x.kind === 'units' ? x.layers.map((l) => l.name) : [],
            );
            throw new PpgnInputError(
              `unknown layer "${t.layer}" (exposed layers: ${exposed.join(', ') || 'none'})`,
              `${f}.layer`,
            );
          }
          netName = c.net;
          pre = preprocessOf(pack, c.net, c.preprocess);
        } else {
          if (!pack.nets[netName]) throw new PpgnInputError(`unknown network "${netName}"`, `${f}.net`);
          pre = preprocessOf(pack, netName);
        }
        const shape = pack.nets[netName].tapShape(t.layer);
        if (!shape) throw new PpgnInputError(`network ${netName} has no layer "${t.layer}"`, `${f}.layer`);
        const C = shape[shape.length - 1];
        finiteNumber(t.channel, `${f}.channel`, { integer: true, min: 0, max: C - 1 });
        const g = getGroup(netName, pre, t.layer, 'identity', tapSize(netName, t.layer));
        const idxs: number[] = [];
        if (shape.length === 3) {
          const [h, w] = shape;
          if ((t.x === undefined) !== (t.y === undefined))
            throw new PpgnInputError(`${f}: give both x and y or neither`, `${f}.x`);
          if (t.x !== undefined) {
            finiteNumber(t.x, `${f}.x`, { integer: true, min: 0, max: w - 1 });
            finiteNumber(t.y, `${f}.y`, { integer: true, min: 0, max: h - 1 });
            idxs.push((t.y! * w + t.x) * C + t.channel);
          } else for (let p = 0; p < h * w; p++) idxs.push(p * C + t.channel);
        } else {
          if (t.x !== undefined || t.y !== undefined)
            throw new PpgnInputError(`${f}: layer "${t.layer}" has no spatial dimensions`, `${f}.x`);
          idxs.push(t.channel);
        }
        for (const k of idxs) g.weights[k] += t.weight / idxs.length;
        scores.push({
          name: `unit(${t.layer}:${t.channel}${t.x !== undefined ? `@${t.x},${t.y}` : ''})`,
          term,
          groupKey: g.key,
          how: 'mean',
          indices: idxs,
        });
        break;
      }
      case 'imageRef': {
        const netName = t.net ?? 'E';
        if (!pack.nets[netName]) throw new PpgnInputError(`unknown network "${netName}"`, `${f}.net`);
        const tap = t.layer ?? (netName === 'E' ? pack.manifest.code.encoderTap : undefined);
        if (!tap || !pack.nets[netName].tapShape(tap))
          throw new PpgnInputError(`network ${netName} has no layer "${String(tap)}"`, `${f}.layer`);
        const img = imageData(pack, t.image, `${f}.image`);
        const pre = preprocessOf(pack, netName);
        const key = groupKey(netName, pre, tap, 'l2ref');
        if (groups.has(key)) throw new PpgnInputError(`only one image reference per layer is supported`, f);
        const g = getGroup(netName, pre, tap, 'l2ref', 1);
        g.weights[0] = t.weight;
        g.target = refFeatures(netName, pre, tap, img);
        scores.push({ name: `refDist(${tap})`, term, groupKey: g.key, how: 'dist', indices: [] });
        break;
      }
      case 'context': {
        if (res.context) throw new PpgnInputError('only one context (inpainting) term per condition', f);
        const image = imageData(pack, t.image, `${f}.image`);
        const mask = imageData(pack, t.mask, `${f}.mask`, true);
        res.context = { image, mask, weight: t.weight, term };
        break;
      }
      default:
        throw new PpgnInputError(
          `${f}.kind must be one of class, keywords, text, unit, imageRef, context (got ${String((t as { kind: unknown }).kind)})`,
          `${f}.kind`,
        );
    }
  });
  res.groups = [...groups.values()];
  return res;
}

function labelIndex(
  labels: readonly string[],
  l: string | number,
  field: string,
  what: string,
  condId: string,
): number {
  if (typeof l === 'number') {
    if (!Number.isInteger(l) || l < 0 || l >= labels.length)
      throw new PpgnInputError(`${what} index ${l} out of range 0..${labels.length - 1} for ${condId}`, field);
    return l;
  }
  if (typeof l !== 'string') throw new PpgnInputError(`${what} must be a string or index`, field);
  let idx = labels.indexOf(l);
  if (idx < 0) idx = labels.findIndex((x) => x.toLowerCase() === l.toLowerCase());
  if (idx < 0) {
    const near = nearestWords(l.toLowerCase(), labels);
    throw new PpgnInputError(
      `unknown ${what} "${l}" for ${condId}${near.length ? `; nearest: ${near.join(', ')}` : ''}`,
      field,
    );
  }
  return idx;
}
