// Gallery: saved frames with their full recipe, stars, lineage, remix and mix.
import type { PrismaClient } from '@ppgn/db';
import {
  GalleryListQuery,
  LIMITS,
  Recipe,
  keywordsOf,
  type EffectiveSettings,
  type GalleryItem,
  type RoomCondition,
  type Tunable,
} from '@ppgn/shared';
import { RoomError } from './rooms/errors';
import { bytesToFloats, floatsToBytes, newId } from './rooms/store';

export const ListQuery = GalleryListQuery;
export type ListQuery = GalleryListQuery;
export type ItemSummary = GalleryItem;
export type GalleryFilter = Partial<Pick<ListQuery, 'class' | 'keyword' | 'author' | 'pack' | 'starred'>>;

export interface NewItem {
  title: string;
  packId: string;
  author: string;
  /** the publishing person (their credential's id) */
  authorId?: string | null;
  image: Uint8Array;
  h: Float32Array;
  recipe: Recipe;
  /** the room's inpainting context image (PNG) when it had one */
  contextPng?: Uint8Array | null;
  seed: number;
  step: number;
  parentId?: string | null;
  mixParentId?: string | null;
  /** sent once per intended save; with recipe.roomId and author it identifies a repeated save */
  idempotencyKey?: string | null;
  /** what the picture looks like to the pack's class condition (null: not measured) */
  seen?: { label: string; p: number }[] | null;
}

type Row = Omit<ItemSummary, 'createdAt' | 'seen'> & { createdAt: Date; seen: unknown };

const summarySelect = {
  id: true,
  title: true,
  packId: true,
  author: true,
  classLabel: true,
  keywords: true,
  seen: true,
  seed: true,
  step: true,
  parentId: true,
  mixParentId: true,
  stars: true,
  createdAt: true,
} as const;

const toSummary = (r: Row): ItemSummary => ({ ...r, seen: seenOf(r.seen), createdAt: r.createdAt.toISOString() });

/** the stored "looks like" labels, or null when absent or not in the expected shape */
function seenOf(raw: unknown): ItemSummary['seen'] {
  if (!Array.isArray(raw)) return null;
  const ok = raw.filter(
    (x): x is { label: string; p: number } =>
      !!x && typeof (x as { label?: unknown }).label === 'string' && Number.isFinite((x as { p?: unknown }).p),
  );
  return ok.length ? ok : null;
}

/** A stored recipe as the current schema reads it (older rows: strokes were only counted). */
export function readRecipe(raw: unknown): Recipe {
  const r = Recipe.safeParse(raw);
  if (r.success) return r.data;
  // a row this version cannot fully read still shows what it can (never a 500 on an old item)
  const v = (raw ?? {}) as Partial<Recipe>;
  return {
    conditions: Array.isArray(v.conditions) ? v.conditions : [],
    params: v.params as Recipe['params'],
    strokes: Array.isArray(v.strokes) ? v.strokes : [],
    context: v.context ?? null,
    roomId: v.roomId ?? null,
    packVersion: v.packVersion ?? null,
  };
}

/** What a saved item keeps of the settings in effect: their values and which ones its mode ignored. */
export function savedSettings(e: EffectiveSettings | undefined): Recipe['settings'] {
  return e ? { values: e.values, ignored: Object.keys(e.ignored) as Tunable[] } : undefined;
}

/** The class label and keywords an item is filed under, from its conditions. */
export function labelsOf(conditions: RoomCondition[]): { classLabel: string | null; keywords: string[] } {
  const enabled = conditions.filter((c) => c.enabled);
  const cls = enabled.find((c) => c.target.kind === 'class');
  const keywords = enabled.flatMap((c) => (c.target.kind === 'text' ? keywordsOf(c.target.text) : []));
  return {
    classLabel: cls && cls.target.kind === 'class' ? cls.target.labels[0]! : null,
    keywords: [...new Set(keywords)].slice(0, 20),
  };
}

/**
 * The conditions of a mix of two items' codes, (1 − t)·a + t·b: each parent's conditions with their weights
 * scaled the same way (ids kept unique, at most LIMITS.conditions, the heavier side first).
 */
export function mixConditions(a: RoomCondition[], b: RoomCondition[], t: number): RoomCondition[] {
  const scale = (list: RoomCondition[], f: number, prefix: string, taken: Set<string>) =>
    list.map((c) => {
      let id = c.id;
      for (let n = 2; taken.has(id); n++) id = `${prefix}${c.id}`.slice(0, 36) + (n > 2 ? `-${n}` : '');
      taken.add(id);
      return { ...c, id, weight: Math.round(c.weight * f * 1000) / 1000 };
    });
  const taken = new Set<string>();
  const first = t <= 0.5 ? scale(a, 1 - t, 'a-', taken) : [];
  const second = scale(b, t, 'b-', taken);
  const out = t <= 0.5 ? [...first, ...second] : [...second, ...scale(a, 1 - t, 'a-', taken)];
  return out.filter((c) => c.weight !== 0).slice(0, LIMITS.conditions);
}

export class Gallery {
  constructor(private readonly prisma: PrismaClient) {}

  /** The item an earlier save of this room by this author with this key created, if any. */
  async findSaved(roomId: string, author: string, idempotencyKey: string): Promise<ItemSummary | null> {
    const row = await this.prisma.galleryItem.findUnique({
      where: { roomId_author_idempotencyKey: { roomId, author, idempotencyKey } },
      select: summarySelect,
    });
    return row ? toSummary(row) : null;
  }

  /**
   * Store an item. With an idempotency key (and a room), a repeated save returns the item the first
   * one created (`created: false`) instead of a duplicate — also when both arrive at once.
   */
  async save(item: NewItem): Promise<ItemSummary> {
    return (await this.saveOnce(item)).item;
  }

  async saveOnce(item: NewItem): Promise<{ item: ItemSummary; created: boolean }> {
    const roomId = item.recipe.roomId;
    const key = roomId && item.idempotencyKey ? item.idempotencyKey : null;
    if (key && roomId) {
      const earlier = await this.findSaved(roomId, item.author, key);
      if (earlier) return { item: earlier, created: false };
    }
    try {
      return { item: await this.create(item, key), created: true };
    } catch (err) {
      // a concurrent save with the same key won the unique index: return its item
      if (key && roomId && (err as { code?: unknown }).code === 'P2002') {
        const earlier = await this.findSaved(roomId, item.author, key);
        if (earlier) return { item: earlier, created: false };
      }
      throw err;
    }
  }

  private async create(item: NewItem, idempotencyKey: string | null): Promise<ItemSummary> {
    if (item.parentId && !(await this.exists(item.parentId)))
      throw new RoomError(`no gallery item "${item.parentId}"`, 'not_found');
    const { classLabel, keywords } = labelsOf(item.recipe.conditions);
    const row = await this.prisma.galleryItem.create({
      data: {
        roomId: item.recipe.roomId,
        idempotencyKey,
        id: newId(),
        title: item.title,
        packId: item.packId,
        author: item.author,
        authorId: item.authorId ?? null,
        image: Uint8Array.from(item.image),
        h: floatsToBytes(item.h),
        recipe: item.recipe as object,
        contextPng: item.contextPng ? Uint8Array.from(item.contextPng) : null,
        classLabel,
        keywords,
        ...(item.seen ? { seen: item.seen } : {}),
        seed: item.seed,
        step: item.step,
        parentId: item.parentId ?? null,
        mixParentId: item.mixParentId ?? null,
      },
      select: summarySelect,
    });
    return toSummary(row);
  }

  async exists(id: string): Promise<boolean> {
    return (await this.prisma.galleryItem.count({ where: { id } })) > 0;
  }

  /** The filter of a gallery query: one definition for the list, its total and the home page's count. */
  static where(q: GalleryFilter) {
    return {
      // a class is what the item was steered to, or what its picture looks like most (its first "seen" label)
      ...(q.class ? { OR: [{ classLabel: q.class }, { seen: { path: ['0', 'label'], equals: q.class } }] } : {}),
      ...(q.keyword ? { keywords: { has: keywordsOf(q.keyword)[0] ?? q.keyword.toLowerCase() } } : {}),
      ...(q.author ? { author: q.author } : {}),
      ...(q.pack ? { packId: q.pack } : {}),
      ...(q.starred ? { stars: { gt: 0 } } : {}),
    };
  }

  /** How many items match the filter (no filter: everything the gallery shows). */
  async count(q: GalleryFilter = {}): Promise<number> {
    return this.prisma.galleryItem.count({ where: Gallery.where(q) });
  }

  async list(q: ListQuery): Promise<{ items: ItemSummary[]; nextCursor: string | null; total: number }> {
    const total = await this.count(q);
    const rows = await this.prisma.galleryItem.findMany({
      where: Gallery.where(q),
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: q.limit + 1,
      ...(q.cursor ? { cursor: { id: q.cursor }, skip: 1 } : {}),
      select: summarySelect,
    });
    const more = rows.length > q.limit;
    const items = rows.slice(0, q.limit).map(toSummary);
    return { items, nextCursor: more ? items[items.length - 1]!.id : null, total };
  }

  /** An item with its recipe; `mine` when `personId` published it. */
  async get(id: string, personId: string | null = null): Promise<ItemSummary & { recipe: Recipe; mine: boolean }> {
    const row = await this.prisma.galleryItem.findUnique({
      where: { id },
      select: { ...summarySelect, recipe: true, authorId: true },
    });
    if (!row) throw new RoomError(`no gallery item "${id}"`, 'not_found');
    const { authorId, recipe, ...rest } = row;
    return { ...toSummary(rest), recipe: readRecipe(recipe), mine: personId !== null && authorId === personId };
  }

  /** The person who published an item renames it (only they may). */
  async rename(id: string, personId: string, title: string): Promise<ItemSummary> {
    const row = await this.prisma.galleryItem.findUnique({ where: { id }, select: { authorId: true } });
    if (!row) throw new RoomError(`no gallery item "${id}"`, 'not_found');
    if (row.authorId !== personId)
      throw new RoomError('only the person who published an item can rename it', 'forbidden');
    return toSummary(await this.prisma.galleryItem.update({ where: { id }, data: { title }, select: summarySelect }));
  }

  /** The context image (PNG) saved with the item; null when its room had none. */
  async contextImage(id: string): Promise<Uint8Array | null> {
    const row = await this.prisma.galleryItem.findUnique({ where: { id }, select: { contextPng: true } });
    if (!row) throw new RoomError(`no gallery item "${id}"`, 'not_found');
    return row.contextPng;
  }

  async image(id: string): Promise<Uint8Array> {
    const row = await this.prisma.galleryItem.findUnique({ where: { id }, select: { image: true } });
    if (!row) throw new RoomError(`no gallery item "${id}"`, 'not_found');
    return row.image;
  }

  /** What a remix or mix starts from: the code h, the item with its recipe, its context image and its frame. */
  async code(id: string): Promise<{
    h: Float32Array;
    item: ItemSummary & { recipe: Recipe };
    contextPng: Uint8Array | null;
    image: Uint8Array;
  }> {
    const row = await this.prisma.galleryItem.findUnique({
      where: { id },
      select: { ...summarySelect, recipe: true, h: true, contextPng: true, image: true },
    });
    if (!row) throw new RoomError(`no gallery item "${id}"`, 'not_found');
    const { h, recipe, contextPng, image, ...rest } = row;
    return { h: bytesToFloats(h), item: { ...toSummary(rest), recipe: readRecipe(recipe) }, contextPng, image };
  }

  /**
   * Star (or unstar) an item as one person: a person's star counts once however often they press,
   * and only they can take it back. The item's count and the person's star change in one transaction.
   */
  async star(id: string, personId: string, starred: boolean): Promise<{ stars: number; starred: boolean }> {
    if (!(await this.exists(id))) throw new RoomError(`no gallery item "${id}"`, 'not_found');
    return this.prisma.$transaction(async (tx) => {
      const key = { itemId_personId: { itemId: id, personId } };
      const had = (await tx.galleryStar.findUnique({ where: key })) !== null;
      if (starred && !had) {
        await tx.galleryStar.create({ data: { itemId: id, personId } });
        await tx.galleryItem.update({ where: { id }, data: { stars: { increment: 1 } } });
      } else if (!starred && had) {
        await tx.galleryStar.delete({ where: key });
        await tx.galleryItem.update({ where: { id }, data: { stars: { decrement: 1 } } });
      }
      const row = await tx.galleryItem.findUniqueOrThrow({ where: { id }, select: { stars: true } });
      return { stars: Math.max(0, row.stars), starred };
    });
  }

  /** The item's star count and whether this person starred it. */
  async starState(id: string, personId: string | null): Promise<{ stars: number; starred: boolean }> {
    const row = await this.prisma.galleryItem.findUnique({ where: { id }, select: { stars: true } });
    if (!row) throw new RoomError(`no gallery item "${id}"`, 'not_found');
    const starred = personId ? (await this.prisma.galleryStar.count({ where: { itemId: id, personId } })) > 0 : false;
    return { stars: row.stars, starred };
  }

  /** Ancestors (parent chain, nearest first, mix parents included) and direct children. */
  async lineage(id: string): Promise<{ item: ItemSummary; ancestors: ItemSummary[]; children: ItemSummary[] }> {
    const item = await this.get(id);
    const ancestors: ItemSummary[] = [];
    const seen = new Set([id]);
    let frontier = [item.parentId, item.mixParentId].filter((x): x is string => !!x);
    while (frontier.length && ancestors.length < 50) {
      const rows = await this.prisma.galleryItem.findMany({
        where: { id: { in: frontier.filter((f) => !seen.has(f)) } },
        select: summarySelect,
      });
      frontier = [];
      for (const r of rows) {
        seen.add(r.id);
        ancestors.push(toSummary(r));
        for (const p of [r.parentId, r.mixParentId]) if (p && !seen.has(p)) frontier.push(p);
      }
    }
    const children = await this.prisma.galleryItem.findMany({
      where: { OR: [{ parentId: id }, { mixParentId: id }] },
      orderBy: { createdAt: 'asc' },
      select: summarySelect,
      take: 100,
    });
    const { recipe: _r, ...summary } = item;
    return { item: summary, ancestors, children: children.map(toSummary) };
  }
}
