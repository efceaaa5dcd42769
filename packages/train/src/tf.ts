/**
 * tfjs-core as set up by @ppgn/core (gradients registered), plus one training-side speed fix:
 *
 * tfjs-backend-wasm runs `matMul(a, b, transposeA=true)` / `matMul(a, b, false, transposeB=true)` through a
 * slow path (measured on 2 cores: xᵀ·dy for a 64×3072 batch and a 3072×512 kernel took 481 ms, against 11 ms
 * for `matMul(transpose(x), dy)`). The default BatchMatMul gradient uses exactly those transposed forms, so
 * dense-layer training on wasm was ~20× slower than it needs to be. `installFastMatMulGrad()` re-registers the
 * BatchMatMul gradient with explicit `tf.transpose` calls and untransposed products (same values).
 */
import { tf } from '@ppgn/core';

let installed = false;

function t2(x: tf.Tensor): tf.Tensor {
  const r = x.rank;
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 1] = r - 2;
  perm[r - 2] = r - 1;
  return tf.transpose(x, perm);
}

/** (a·b) with explicit transposes only (no transposeA/B flags) */
function mm(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): tf.Tensor {
  // a·bᵀ with a small and b large is cheapest as (b·aᵀ)ᵀ: only small tensors are transposed
  if (!ta && tb && a.rank === 2 && b.rank === 2 && a.shape[0] < b.shape[0]) return t2(tf.matMul(b, t2(a)));
  return tf.matMul(ta ? t2(a) : a, tb ? t2(b) : b);
}

export function installFastMatMulGrad(): void {
  if (installed) return;
  installed = true;
  tf.registerGradient({
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => {
      const g = dy as tf.Tensor;
      const [a, b] = saved;
      const { transposeA, transposeB } = (attrs ?? {}) as unknown as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB) return { a: () => mm(g, b, false, true), b: () => mm(a, g, true, false) };
      if (!transposeA && transposeB) return { a: () => mm(g, b, false, false), b: () => mm(g, a, true, false) };
      if (transposeA && !transposeB) return { a: () => mm(b, g, false, true), b: () => mm(a, g, false, false) };
      return { a: () => mm(b, g, true, true), b: () => mm(g, a, true, true) };
    },
  });
}

export { tf };
