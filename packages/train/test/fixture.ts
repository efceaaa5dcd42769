/** A tiny synthetic stand-in for the emoji-datasource packages (never the real emoji data). */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { encodePng } from '@ppgn/core';
import type { EmojiEntry } from '../src/data/dataset';

const SUBS: [string, string, number[]][] = [
  ['Smileys & Emotion', 'face-smiling', [1, 0.8, 0.1]],
  ['Animals & Nature', 'animal-mammal', [0.5, 0.3, 0.1]],
  ['Flags', 'country-flag', [0.1, 0.3, 0.9]],
];

export function fixtureEntries(perClass = 6): EmojiEntry[] {
  const out: EmojiEntry[] = [];
  SUBS.forEach(([category, subcategory], c) => {
    for (let i = 0; i < perClass; i++) {
      const unified = (0x1f600 + c * 64 + i).toString(16).toUpperCase();
      out.push({
        unified,
        short_names: [`${subcategory.replace(/-/g, '_')}_${i}`, i % 2 ? 'odd_thing' : 'even_thing'],
        category,
        subcategory,
        image: `${unified.toLowerCase()}.png`,
        has_img_google: true,
        has_img_twitter: true,
      });
    }
  });
  // a skin-tone component is ignored by the dataset builder
  out.push({
    unified: '1F3FB',
    short_names: ['skin-tone-2'],
    category: 'Component',
    subcategory: 'skin-tone',
    image: '1f3fb.png',
  });
  return out;
}

/** RGBA-free [S,S,3] drawing: a class-coloured disc (vendor 1 draws a square) whose size depends on the index */
function draw(S: number, colour: number[], i: number, vendor: number): Float32Array {
  const img = new Float32Array(S * S * 3).fill(1);
  const r = S * (0.25 + 0.04 * (i % 4));
  const c = (S - 1) / 2;
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const inside = vendor === 0 ? (x - c) ** 2 + (y - c) ** 2 <= r * r : Math.abs(x - c) <= r && Math.abs(y - c) <= r;
      if (inside) for (let k = 0; k < 3; k++) img[(y * S + x) * 3 + k] = colour[k];
    }
  return img;
}

/** write `<root>/node_modules/emoji-datasource-{google,twitter}/…` with 16×16 PNGs; returns root */
export function writeFixture(root: string, perClass = 6, S = 16): string {
  const entries = fixtureEntries(perClass);
  (['google', 'twitter'] as const).forEach((v, vi) => {
    const pkg = path.join(root, 'node_modules', `emoji-datasource-${v}`);
    const dir = path.join(pkg, 'img', v, '64');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(pkg, 'package.json'),
      JSON.stringify({ name: `emoji-datasource-${v}`, version: '0.0.0-fixture' }),
    );
    writeFileSync(path.join(pkg, 'emoji.json'), JSON.stringify(entries));
    entries.forEach((e) => {
      const sub = SUBS.find((s) => s[1] === e.subcategory);
      const colour = sub ? sub[2] : [0.5, 0.5, 0.5];
      const i = parseInt(e.unified, 16) % 64;
      writeFileSync(path.join(dir, e.image), encodePng({ shape: [S, S, 3], data: draw(S, colour, i, vi) }));
    });
  });
  return root;
}

export const FIXTURE_CLASSES = ['faces-happy', 'animals-mammal', 'flags'];
