// Gallery saves against a real (embedded, throwaway) Postgres: the idempotency key.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '@ppgn/db';
import { Gallery, type NewItem } from '../src/gallery';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ppgn-gallery-test-'));
let db: Database;
let gallery: Gallery;

beforeAll(async () => {
  db = await openDatabase({ url: '', dataDir: path.join(tmp, 'pg'), ephemeral: true });
  gallery = new Gallery(db.prisma);
});
afterAll(async () => {
  await db?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const item = (over: Partial<NewItem> = {}): NewItem => ({
  title: 'Good dog',
  packId: 'testpack',
  author: 'Ann',
  image: new Uint8Array([137, 80, 78, 71]),
  h: new Float32Array([0.5, -1]),
  recipe: {
    conditions: [],
    params: {} as NewItem['recipe']['params'],
    strokes: [],
    context: null,
    roomId: 'room1',
    packVersion: '1.0.0',
  },
  seed: 1,
  step: 10,
  ...over,
});
const count = () => db.prisma.galleryItem.count();

describe('Gallery.saveOnce', () => {
  it('two saves with the same key give one item with the same id', async () => {
    const before = await count();
    const a = await gallery.saveOnce(item({ idempotencyKey: 'key-aaaaaaaa' }));
    const b = await gallery.saveOnce(item({ idempotencyKey: 'key-aaaaaaaa', step: 12, title: 'again' }));
    expect(a.created).toBe(true);
    expect(b).toEqual({ item: a.item, created: false });
    expect(await count()).toBe(before + 1);
  });

  it('a double click racing to the database still creates one item', async () => {
    const before = await count();
    const [a, b] = await Promise.all([
      gallery.saveOnce(item({ idempotencyKey: 'key-bbbbbbbb' })),
      gallery.saveOnce(item({ idempotencyKey: 'key-bbbbbbbb' })),
    ]);
    expect(a.item.id).toBe(b.item.id);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect(await count()).toBe(before + 1);
  });

  it('a new key, another author, another room or no key make a new item', async () => {
    const before = await count();
    const first = await gallery.saveOnce(item({ idempotencyKey: 'key-cccccccc' }));
    const ids = new Set([first.item.id]);
    for (const other of [
      item({ idempotencyKey: 'key-dddddddd' }),
      item({ idempotencyKey: 'key-cccccccc', author: 'Ben' }),
      item({ idempotencyKey: 'key-cccccccc', recipe: { ...item().recipe, roomId: 'room2' } }),
      item(),
      item(),
    ]) {
      const r = await gallery.saveOnce(other);
      expect(r.created).toBe(true);
      ids.add(r.item.id);
    }
    expect(ids.size).toBe(6);
    expect(await count()).toBe(before + 6);
    expect(await gallery.findSaved('room1', 'Ann', 'key-cccccccc')).toEqual(first.item);
  });

  it('the home page count and the gallery list use the same query', async () => {
    const all = await gallery.list({ limit: 100 });
    expect(await gallery.count()).toBe(all.total);
    expect(all.total).toBe(await count());
    expect(all.items).toHaveLength(all.total);
    const ann = await gallery.list({ author: 'Ann', limit: 2 });
    expect(ann.total).toBe(await gallery.count({ author: 'Ann' }));
    expect(ann.total).toBe(all.items.filter((i) => i.author === 'Ann').length);
  });
});
