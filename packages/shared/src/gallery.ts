// Gallery wire types: what the engine's /gallery API returns and accepts.
import { z } from 'zod';
import { MaskStroke, RoomCondition, RoomContext, SamplerParams, Tunable } from './room';

/**
 * A yes/no query parameter: true/1/yes/on or false/0/no/off (any case). `z.coerce.boolean()` read
 * "?starred=false" as true (any non-empty string is), so the unstarred filter returned only starred items.
 */
const queryFlag = z.union([z.boolean(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  const t = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off', ''].includes(t)) return false;
  ctx.addIssue({ code: 'custom', message: `expected true or false (got "${v}")` });
  return z.NEVER;
});

export const GalleryListQuery = z.object({
  class: z.string().max(64).optional(),
  keyword: z.string().max(64).optional(),
  author: z.string().max(64).optional(),
  pack: z.string().max(64).optional(),
  starred: queryFlag.optional(),
  cursor: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(24),
});
export type GalleryListQuery = z.infer<typeof GalleryListQuery>;

/**
 * Everything needed to reproduce an item, besides its code h and its context image (both stay on the
 * server, next to the item): the conditions with their inputs, every sampler setting (mode, ε, schedule,
 * seed), the pack and its version, the mask strokes and which frame was the inpainting context.
 * Items saved before strokes were kept stored only their number: they read as no strokes plus that count.
 */
export const Recipe = z.preprocess(
  (v) => {
    if (v && typeof v === 'object' && typeof (v as { strokes?: unknown }).strokes === 'number') {
      const r = v as { strokes: number };
      return { ...r, strokes: [], lostStrokes: r.strokes };
    }
    return v;
  },
  z.object({
    conditions: z.array(RoomCondition),
    params: SamplerParams,
    strokes: z.array(MaskStroke),
    /** the frame step that was the inpainting context when saved (its pixels: GET /gallery/:id/context.png) */
    context: RoomContext.nullable().default(null),
    roomId: z.string().nullable(),
    packVersion: z.string().nullable().default(null),
    /**
     * the settings the chain ran with when saved (the engine's resolution: the pack's tunings and the room's
     * overrides; what the panel showed) and those its mode ignored. Absent on older items and on mixes.
     */
    settings: z
      .object({
        values: z.partialRecord(Tunable, z.number().refine(Number.isFinite, 'must be a finite number')),
        ignored: z.array(Tunable),
      })
      .optional(),
    /** strokes an old item counted but did not keep */
    lostStrokes: z.number().int().nonnegative().optional(),
  }),
);
export type Recipe = z.infer<typeof Recipe>;

export interface GalleryItem {
  id: string;
  title: string;
  packId: string;
  author: string;
  classLabel: string | null;
  keywords: string[];
  /**
   * What the picture looks like to the pack's class condition when it was saved (most probable first), which
   * can differ from what it was steered to; null for items saved before this was measured.
   */
  seen: { label: string; p: number }[] | null;
  seed: number;
  step: number;
  parentId: string | null;
  mixParentId: string | null;
  stars: number;
  /** ISO timestamp */
  createdAt: string;
}

export interface GalleryItemFull extends GalleryItem {
  recipe: Recipe;
  /** the asking person published it (they may rename it) */
  mine?: boolean;
}

/** What a recipe draws, for a default title: its enabled conditions' labels ("dog + “red round”"), at most `max` characters. */
export function describeRecipe(conditions: Recipe['conditions'], max = 60): string {
  const parts = conditions
    .filter((c) => c.enabled && c.weight !== 0)
    .map((c) => {
      const t = c.target;
      if (t.kind === 'class') return t.labels.join(' + ');
      if (t.kind === 'text') return `“${t.text.length > 24 ? `${t.text.slice(0, 23)}…` : t.text}”`;
      if (t.kind === 'image') return `like “${t.name}”`;
      return `${t.layer} #${t.channel}`;
    });
  const text = parts.length ? parts.join(' + ') : 'free sample';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export interface Lineage {
  item: GalleryItem;
  ancestors: GalleryItem[];
  children: GalleryItem[];
}
