import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** Concatenate float arrays into one. */
export function concat(arrs: Float32Array[]): Float32Array {
  const out = new Float32Array(arrs.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const a of arrs) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

/** Total size in bytes of the files under `dir`. */
export async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? await dirBytes(p) : (await fs.stat(p)).size;
  }
  return n;
}
