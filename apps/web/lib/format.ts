/** "1 kept step", "3 kept steps", "0 classes": a count with the right form of its noun. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "hearts 71 % · faces-happy 12 %": a picture's "looks like" labels with their probabilities. */
export function seenText(seen: readonly { label: string; p: number }[]): string {
  return seen.map((s) => `${s.label} ${Math.round(s.p * 100)} %`).join(' · ');
}
