/**
 * Seeded RNG: xoshiro128** with splitmix32 seeding. State is 4 uint32 numbers so it can be stored in a
 * chain state, serialised to JSON and resumed exactly.
 */
export type RngState = [number, number, number, number];

function splitmix32(a: number): () => number {
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export function seedState(seed: number | string): RngState {
  let s = 0;
  if (typeof seed === 'string') {
    for (let i = 0; i < seed.length; i++) s = (Math.imul(s, 31) + seed.charCodeAt(i)) | 0;
  } else {
    s = (Math.floor(seed) ^ Math.floor(seed / 0x100000000)) | 0;
  }
  const sm = splitmix32(s);
  const st: RngState = [sm(), sm(), sm(), sm()];
  if ((st[0] | st[1] | st[2] | st[3]) === 0) st[0] = 1;
  return st;
}

export class Rng {
  private s: Uint32Array;
  /** cached second Box–Muller normal */
  private spare: number | null = null;
  constructor(seedOrState: number | string | RngState) {
    this.s = new Uint32Array(Array.isArray(seedOrState) ? seedOrState : seedState(seedOrState));
  }
  get state(): RngState {
    // the spare normal is dropped so that state → Rng round trips are exact
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }
  /** uniform in [0,1) with 32 bits of resolution */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** fill `out` with N(mean, std²) samples (always consumes an even number of draws → state stays exact) */
  normals(out: Float32Array, std = 1, mean = 0, offset = 0, count = out.length - offset): Float32Array {
    for (let i = 0; i < count; i++) out[offset + i] = mean + std * this.normal();
    this.spare = null;
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
