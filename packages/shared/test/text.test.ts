import { describe, expect, it } from 'vitest';
import {
  editDistance,
  emojiName,
  foldWord,
  keywordsOf,
  lexiconFrom,
  matchText,
  nearestWords,
  singular,
  stripMarkup,
  tokenize,
} from '../src';

const vocab = ['red', 'round', 'happy', 'apple', 'ice cream', 'star', 'heart', 'berry', 'box', 'glass'];

describe('tokenize', () => {
  it('lowercases, splits on non-letters and drops possessives and accents', () => {
    expect(tokenize("Red, ROUND—Café’s  it's")).toEqual(['red', 'round', 'cafe', 'it']);
  });
  it('maps emoji to their names, with or without variation selectors and skin tones', () => {
    expect(tokenize('🍎')).toEqual(['red', 'apple']);
    expect(tokenize('♥')).toEqual(['heart', 'suit']);
    expect(tokenize('♥️')).toEqual(['heart', 'suit']);
    expect(tokenize('👍🏽')).toEqual(['thumbs', 'up']);
    expect(emojiName('🍎')).toBe('red apple');
    expect(tokenize('red🍎apple')).toEqual(['red', 'red', 'apple', 'apple']);
  });
  it('strips HTML-ish markup, including script content and unclosed tags', () => {
    expect(tokenize('<b>red</b> <script>alert("x")</script> happy')).toEqual(['red', 'happy']);
    expect(tokenize('zzqx <script>… star')).toEqual(['zzqx']);
    expect(tokenize('<img src=x onerror=alert(1)>heart &amp; <i')).toEqual(['heart']);
    expect(stripMarkup('a <b>c</b>')).not.toMatch(/[<>]/);
  });
});

describe('singular', () => {
  it('handles plurals the same everywhere', () => {
    expect(['apples', 'berries', 'boxes', 'glasses', 'stars', 'peaches'].map(singular)).toEqual([
      'apple',
      'berry',
      'box',
      'glass',
      'star',
      'peach',
    ]);
    expect(['glass', 'cactus', 'iris', 'bus', 'red', 'famous'].map(singular)).toEqual([
      'glass',
      'cactus',
      'iris',
      'bus',
      'red',
      'famous',
    ]);
  });
  it('keywordsOf: "red apples" → red, apple', () => {
    expect(keywordsOf('The red apples and an apple 🍎')).toEqual(['red', 'apple']);
  });
});

describe('matchText', () => {
  it('matches words, bigrams, plurals and emoji; unknown words get suggestions near in spelling only', () => {
    const m = matchText('Two happy stars, ice creams 🍎 hart zzqx', vocab);
    expect(m.matched).toEqual(['happy', 'star', 'ice cream', 'red', 'apple']);
    const unk = Object.fromEntries(m.unknown.map((u) => [u.word, u.nearest]));
    expect(Object.keys(unk)).toEqual(['two', 'hart', 'zzqx']);
    expect(unk.hart).toEqual(['heart']);
    expect(unk.zzqx).toEqual([]);
    expect(unk.two).toEqual([]);
  });
  it('every word appears once per occurrence, in order, stop words skipped', () => {
    expect(matchText('the red red apples', vocab).words.map((w) => [w.word, w.match])).toEqual([
      ['red', 'red'],
      ['red', 'red'],
      ['apples', 'apple'],
    ]);
  });
  it('vocabulary entries in plural or with underscores match their singular', () => {
    expect(matchText('berry ice_cream', ['berries', 'ice_cream']).matched).toEqual(['berries', 'ice_cream']);
  });
});

describe('nearestWords', () => {
  it('ranks by edit distance and drops far words', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(nearestWords('rond', vocab)).toEqual(['round']);
    expect(nearestWords('hapy', vocab)).toEqual(['happy']);
    expect(nearestWords('blorp', vocab)).toEqual([]);
    expect(nearestWords('applez', vocab)).toEqual(['apple']);
  });
});

describe('text in any language', () => {
  const vocabulary = ['cat', 'heart', 'happy', 'face', 'red', 'car'];
  const lexicon = lexiconFrom(
    {
      gato: 'cat',
      chat: 'cat',
      cœur: 'heart',
      feliz: 'happy',
      кот: 'cat',
      猫: 'cat',
      顔: 'face',
      笑顔: 'happy',
      rouge: 'red',
      voiture: 'car',
      blau: 'blue',
    },
    vocabulary,
  );

  it('tokenizes every script, folding only Latin-like accents and ligatures', () => {
    expect(tokenize('Chat avec des CŒURS')).toEqual(['chat', 'avec', 'des', 'coeurs']);
    expect(tokenize('Straße, ÉTÉ')).toEqual(['strasse', 'ete']);
    expect(tokenize('кот и сердце')).toEqual(['кот', 'и', 'сердце']);
    expect(tokenize('猫の顔')).toEqual(['猫の顔']);
    // kana voicing marks are part of the word (が is not か)
    expect(tokenize('がか')).toEqual(['がか']);
    expect(foldWord('Ёлка')).toBe('елка');
  });

  it('maps words of other languages to the keywords they mean, skipping their articles and prepositions', () => {
    const m = matchText('chat avec des cœurs', vocabulary, 3, lexicon);
    expect(m.words.map((w) => [w.word, w.match, w.translated ?? false])).toEqual([
      ['chat', 'cat', true],
      ['coeurs', 'heart', true],
    ]);
    expect(matchText('gato feliz', vocabulary, 3, lexicon).matched).toEqual(['cat', 'happy']);
    expect(matchText('кот и voiture rouge', vocabulary, 3, lexicon).matched).toEqual(['cat', 'car', 'red']);
    // without the lexicon the same words are unknown
    expect(matchText('gato feliz', vocabulary).matched).toEqual([]);
    // the vocabulary wins over the lexicon, and English still matches as before
    expect(matchText('a happy cat with hearts', vocabulary, 3, lexicon).words.map((w) => w.match)).toEqual([
      'happy',
      'cat',
      'heart',
    ]);
    expect(matchText('happy', vocabulary, 3, lexicon).words[0]!.translated).toBeUndefined();
  });

  it('splits unspaced scripts by the longest known words and drops their particles', () => {
    expect(matchText('猫の顔', vocabulary, 3, lexicon).words.map((w) => [w.word, w.match])).toEqual([
      ['猫', 'cat'],
      ['顔', 'face'],
    ]);
    // 笑顔 (smile) is one word, not 笑 + 顔; an unknown run is reported once
    expect(matchText('笑顔の猫と犬犬', vocabulary, 3, lexicon).words.map((w) => [w.word, w.match])).toEqual([
      ['笑顔', 'happy'],
      ['猫', 'cat'],
      ['犬犬', null],
    ]);
  });

  it('a lexicon keeps only keywords of its vocabulary', () => {
    expect(lexicon.get('blau')).toBeUndefined();
    expect(lexicon.get('coeur')).toBe('heart');
  });
});
