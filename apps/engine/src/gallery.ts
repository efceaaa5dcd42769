// Gallery: saved frames with their full recipe, stars, lineage, remix and mix.
import type { PrismaClient } from '@ppgn/db';
import { GalleryListQuery, keywordsOf, type GalleryItem, type Recipe, type RoomCondition } from '@ppgn/shared';
import { RoomError } from './rooms/model';
import { bytesToFloats, floatsToBytes, newId } from './rooms/store';

export const ListQuery = GalleryListQuery;
export type ListQuery = GalleryListQuery;
export type { Recipe };
export type ItemSummary = GalleryItem;
export type GalleryFilter = Partial<Pick<ListQuery, 'class' | 'keyword' | 'author' | 'pack' | 'starred'>>;

export interface NewItem {
  title: string;
  packId: string;
  author: string;
  image: Uint8Array;
  h: Float32Array;
  recipe: Recipe;
  seed: number;
  step: number;
  parentId?: string | null;
  mixParentId?: string | null;
  /** sent once per intended save; with recipe.roomId and author it identifies a repeated save */
  idempotencyKey?: string | null;
}

type Row = Omit<ItemSummary, 'createdAt'> & { createdAt: Date };

const summarySelect = {
  id: true,
  title: true,
  packId: true,
  author: true,
  classLabel: true,
  keywords: true,
  seed: true,
  step: true,
  parentId: true,
  mixParentId: true,
  stars: true,
  createdAt: true,
} as const;

const toSummary = (r: Row): ItemSummary => ({ ...r, createdAt: r.createdAt.toISOString() });

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
    if (item.parentId && !(await this.exists(item.parentId))) throw new RoomError(`no gallery item "${item.parentId}"`, 'not_found');
    const { classLabel, keywords } = labelsOf(item.recipe.conditions);
    const row = await this.prisma.galleryItem.create({
      data: {
        roomId: item.recipe.roomId,
        idempotencyKey,
        id: newId(),
        title: item.title,
        packId: item.packId,
        author: item.author,
        image: Uint8Array.from(item.image),
        h: floatsToBytes(item.h),
        recipe: item.recipe as object,
        classLabel,
        keywords,
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
      ...(q.class ? { classLabel: q.class } : {}),
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

  async get(id: string): Promise<ItemSummary & { recipe: Recipe }> {
    const row = await this.prisma.galleryItem.findUnique({ where: { id }, select: { ...summarySelect, recipe: true } });
    if (!row) throw new RoomError(`no gallery item "${id}"`, 'not_found');
    return { ...toSummary(row), recipe: row.recipe as unknown as Recipe };
  }

  async image(id: string): Promise<Uint8Array> {
    const row = await this.prisma.galleryItem.findUnique({ where: { id }, select: { image: true } });
    if (!row) throw new RoomError(`no gallery item "${id}"`, 'not_found');
    return row.image;
  }

  async code(id: string): Promise<{ h: Float32Array; item: ItemSummary & { recipe: Recipe } }> {
    const row = await this.prisma.galleryItem.findUnique({ where: { id }, select: { ...summarySelect, recipe: true, h: true } });
    if (!row) throw new RoomError(`no gallery item "${id}"`, 'not_found');
    const { h, recipe, ...rest } = row;
    return { h: bytesToFloats(h), item: { ...toSummary(rest), recipe: recipe as unknown as Recipe } };
  }

  async star(id: string, delta: 1 | -1): Promise<number> {
    if (!(await this.exists(id))) throw new RoomError(`no gallery item "${id}"`, 'not_found');
    const row = await this.prisma.galleryItem.update({
      where: { id },
      data: { stars: { increment: delta } },
      select: { stars: true },
    });
    if (row.stars < 0) {
      await this.prisma.galleryItem.update({ where: { id }, data: { stars: 0 } });
      return 0;
    }
    return row.stars;
  }

  /** Ancestors (parent chain, nearest first, mix parents included) and direct children. */
  async lineage(id: string): Promise<{ item: ItemSummary; ancestors: ItemSummary[]; children: ItemSummary[] }> {
    const item = await this.get(id);
    const ancestors: ItemSummary[] = [];
    const seen = new Set([id]);
    let frontier = [item.parentId, item.mixParentId].filter((x): x is string => !!x);
    while (frontier.length && ancestors.length < 50) {
      const rows = await this.prisma.galleryItem.findMany({ where: { id: { in: frontier.filter((f) => !seen.has(f)) } }, select: summarySelect });
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
