import { describe, expect, it } from 'vitest';
import type { RoomCondition } from '@ppgn/shared';
import { labelsOf, mixConditions } from '../src/gallery';

describe('gallery labelsOf', () => {
  it('files keywords with the shared tokenizer: singular, emoji named, markup and stop words dropped', () => {
    const text = (id: string, t: string, enabled = true): RoomCondition => ({
      id,
      target: { kind: 'text', condition: 'keywords', text: t },
      weight: 1,
      enabled,
      author: 'u',
    });
    const { keywords, classLabel } = labelsOf([
      text('k1', 'The red apples <b>'),
      text('k2', '🍎 stars'),
      text('k3', 'ignored', false),
    ]);
    expect(classLabel).toBeNull();
    expect(keywords).toEqual(['red', 'apple', 'star']);
  });
});

describe('a mix’s recipe', () => {
  const cls = (id: string, label: string, weight = 1): RoomCondition => ({
    id,
    target: { kind: 'class', condition: 'class', labels: [label], variant: 'logsoftmax' },
    weight,
    enabled: true,
    author: 'u',
  });

  it('holds both parents’ conditions, weighed as their codes were mixed, ids kept apart', () => {
    const mixed = mixConditions([cls('c1', 'cat'), cls('c2', 'star', 2)], [cls('c1', 'dog')], 0.25);
    expect(mixed.map((c) => [c.id, (c.target as { labels: string[] }).labels[0], c.weight])).toEqual([
      ['c1', 'cat', 0.75],
      ['c2', 'star', 1.5],
      ['b-c1', 'dog', 0.25],
    ]);
    // the heavier parent first (its class names the item), none at weight 0, at most the room's limit
    expect(mixConditions([cls('c1', 'cat')], [cls('c1', 'dog')], 0.8)[0]!.target).toMatchObject({ labels: ['dog'] });
    expect(mixConditions([cls('c1', 'cat')], [cls('c1', 'dog')], 1).map((c) => c.id)).toEqual(['c1']);
    const many = Array.from({ length: 8 }, (_, i) => cls(`c${i}`, 'cat'));
    expect(mixConditions(many, many, 0.5)).toHaveLength(8);
  });
});
