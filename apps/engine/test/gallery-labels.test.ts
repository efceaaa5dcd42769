import { describe, expect, it } from 'vitest';
import type { RoomCondition } from '@ppgn/shared';
import { labelsOf } from '../src/gallery';

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
