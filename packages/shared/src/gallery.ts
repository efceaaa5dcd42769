// Gallery wire types: what the engine's /gallery API returns and accepts.
import { z } from 'zod';
import type { RoomCondition, SamplerParams } from './room';

export const GalleryListQuery = z.object({
  class: z.string().max(64).optional(),
  keyword: z.string().max(64).optional(),
  author: z.string().max(64).optional(),
  pack: z.string().max(64).optional(),
  starred: z.coerce.boolean().optional(),
  cursor: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(24),
});
export type GalleryListQuery = z.infer<typeof GalleryListQuery>;

/** Everything needed to reproduce an item (besides its code h, which stays on the server). */
export interface Recipe {
  conditions: RoomCondition[];
  params: SamplerParams;
  strokes: number;
  roomId: string | null;
}

export interface GalleryItem {
  id: string;
  title: string;
  packId: string;
  author: string;
  classLabel: string | null;
  keywords: string[];
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
}

export interface Lineage {
  item: GalleryItem;
  ancestors: GalleryItem[];
  children: GalleryItem[];
}
