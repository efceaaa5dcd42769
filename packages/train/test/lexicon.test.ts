import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildLexicon, readEmojibase, type Annotations } from '../src/lexicon';

// a tiny world of emoji: two cat faces, a cat, two hearts, a heart-eyed cat, three smiles, a Santa and a tear
const en: Annotations = {
  locale: 'en',
  entries: [
    { emoji: '😺', label: 'grinning cat', tags: ['cat', 'face', 'happy'] },
    { emoji: '😸', label: 'grinning cat with smiling eyes', tags: ['cat', 'face', 'happy'] },
    { emoji: '🐈', label: 'cat', tags: ['cat', 'pet'] },
    { emoji: '❤️', label: 'red heart', tags: ['heart'] },
    { emoji: '💕', label: 'two hearts', tags: ['heart', 'love'] },
    { emoji: '😻', label: 'smiling cat with heart-eyes', tags: ['cat', 'heart', 'love'] },
    { emoji: '😀', label: 'grinning face', tags: ['face', 'happy'] },
    { emoji: '😊', label: 'smiling face', tags: ['face', 'happy'] },
    { emoji: '🙂', label: 'slightly smiling face', tags: ['face', 'happy'] },
    { emoji: '🎅', label: 'Santa Claus', tags: ['claus', 'christmas'] },
    { emoji: '😢', label: 'crying face', tags: ['face', 'sad'] },
  ],
};
const es: Annotations = {
  locale: 'es',
  entries: [
    { emoji: '😺', label: 'gato sonriendo', tags: ['gato', 'cara', 'feliz'] },
    { emoji: '😸', label: 'gato sonriendo con ojos sonrientes', tags: ['gato', 'cara', 'feliz'] },
    { emoji: '🐈', label: 'gato', tags: ['gato', 'mascota'] },
    { emoji: '❤', label: 'corazón rojo', tags: ['corazón'] },
    { emoji: '💕', label: 'dos corazones', tags: ['corazón', 'amor'] },
    { emoji: '😻', label: 'gato sonriendo con ojos de corazón', tags: ['gato', 'corazón', 'amor'] },
    { emoji: '😀', label: 'cara sonriendo', tags: ['cara', 'feliz'] },
    { emoji: '😊', label: 'cara feliz con ojos sonrientes', tags: ['cara', 'feliz'] },
    { emoji: '🙂', label: 'cara sonriendo ligeramente', tags: ['cara', 'feliz'] },
    { emoji: '🎅', label: 'Papá Noel', tags: ['feliz navidad', 'navidad'] },
    { emoji: '😢', label: 'cara llorando', tags: ['cara', 'triste'] },
  ],
};

describe('keyword lexicon from emoji annotations', () => {
  it('maps a word to the keyword that tags the same emoji (FE0F or not), never to a keyword outside the vocabulary', () => {
    const lex = buildLexicon(['cat', 'heart', 'happy', 'face'], [en, es]);
    expect(lex.gato).toBe('cat');
    expect(lex.corazon).toBe('heart');
    expect(lex.feliz).toBe('happy');
    expect(lex.cara).toBe('face');
    // "amor" tags hearts (love is not in this vocabulary), "navidad" tags only Santa: no keyword is alike enough
    expect(lex.amor).toBe('heart');
    expect(lex.navidad).toBeUndefined();
    // English synonyms come along; words that are keywords themselves are left to the vocabulary
    expect(lex.pet).toBe('cat');
    expect(lex.cat).toBeUndefined();
    // stop words of any language never map, however many emoji they name
    expect(lex.con).toBeUndefined();
    expect(Object.values(lex).every((k) => ['cat', 'heart', 'happy', 'face'].includes(k))).toBe(true);
  });

  it('a higher threshold keeps fewer words; words spread over many names are dropped unless they are tags', () => {
    const loose = buildLexicon(['cat', 'heart', 'happy', 'face'], [en, es], { minScore: 0.1 });
    const strict = buildLexicon(['cat', 'heart', 'happy', 'face'], [en, es], { minScore: 0.7 });
    expect(Object.keys(strict).length).toBeLessThan(Object.keys(loose).length);
    // "sonriendo" appears only inside names, on 4 emoji: kept with the default spread, dropped with a spread of 2
    expect(loose.sonriendo).toBeDefined();
    expect(buildLexicon(['cat', 'heart', 'happy', 'face'], [en, es], { minScore: 0.1, maxSpread: 2 }).sonriendo).toBe(
      undefined,
    );
  });

  it('reads emojibase-data folders (one data.json per locale)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'emojibase-'));
    for (const loc of [en, es]) {
      mkdirSync(path.join(dir, loc.locale));
      writeFileSync(
        path.join(dir, loc.locale, 'data.json'),
        JSON.stringify(loc.entries.map((e) => ({ ...e, hexcode: 'x' }))),
      );
    }
    mkdirSync(path.join(dir, 'meta'));
    const read = readEmojibase(dir);
    expect(read.map((l) => l.locale)).toEqual(['en', 'es']);
    expect(read[1]!.entries[0]).toEqual(es.entries[0]);
    expect(JSON.parse(readFileSync(path.join(dir, 'es', 'data.json'), 'utf8'))).toHaveLength(11);
  });
});

describe('singular or plural keyword', () => {
  it('a word goes to the singular keyword when it fits almost as well as the plural ("gato" → cat, not cats)', () => {
    const faces = ['😺', '😸', '😻'];
    const enCats: Annotations = {
      locale: 'en',
      entries: [
        ...faces.map((emoji) => ({ emoji, label: 'cat face', tags: ['cat', 'cats'] })),
        { emoji: '🐈', label: 'cat', tags: ['cat'] },
      ],
    };
    const esCats: Annotations = {
      locale: 'es',
      entries: faces.map((emoji) => ({ emoji, label: 'cara de gato', tags: ['gato'] })),
    };
    // "gato" tags exactly the emoji of "cats" (cosine 0.60) and three of the four of "cat" (0.55, within 85 %)
    expect(buildLexicon(['cats', 'cat'], [enCats, esCats]).gato).toBe('cat');
    // with the singular far behind, the plural stays
    const moreCats: Annotations = {
      locale: 'en',
      entries: [
        ...enCats.entries,
        ...['🐱', '🐆', '🐅', '🦁'].map((emoji) => ({ emoji, label: 'cat', tags: ['cat'] })),
      ],
    };
    expect(buildLexicon(['cats', 'cat'], [moreCats, esCats]).gato).toBe('cats');
  });
});

describe('the shipped emoji64 lexicon', () => {
  it('maps everyday words of other languages to the keywords they mean', async () => {
    const { lexiconFrom, matchText } = await import('@ppgn/shared');
    const dir = path.resolve(__dirname, '../../../models/emoji64');
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
      conditions: { kind: string; vocabulary?: string[]; lexicon?: string }[];
    };
    const kw = manifest.conditions.find((c) => c.kind === 'keywords')!;
    const file = JSON.parse(readFileSync(path.join(dir, kw.lexicon!), 'utf8')) as { words: Record<string, string> };
    const lexicon = lexiconFrom(file.words, kw.vocabulary);
    const meaning = (text: string) => matchText(text, kw.vocabulary!, 3, lexicon).matched;
    expect(meaning('gato feliz')).toEqual(['cat', 'happy']);
    expect(meaning('chat avec des cœurs')[0]).toBe('cat');
    expect(meaning('Katze, Herz, Blume')).toEqual(['cat', 'heart', 'flower']);
    expect(meaning('soleil et lune')).toEqual(['sun', 'moon']);
    expect(meaning('voiture rouge')).toEqual(['car', 'red']);
    expect(meaning('кот и сердце')).toEqual(['cat', 'heart']);
    expect(meaning('猫の顔')).toEqual(['cat', 'face']);
  });
});
