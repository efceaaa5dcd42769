import { describe, expect, it } from 'vitest';
import { editDistance, emojiName, keywordsOf, matchText, nearestWords, singular, stripMarkup, tokenize } from '../src';

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
