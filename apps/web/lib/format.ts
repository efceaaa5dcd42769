/** "1 kept step", "3 kept steps", "0 classes": a count with the right form of its noun. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
