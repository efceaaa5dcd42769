// Single place where tfjs-core is imported, gradients registered and the cpu backend made available.
//
// Note: `import '@tensorflow/tfjs-core/dist/register_all_gradients'` does not load under tsx/Node ESM
// (dist/gradients/Prod_grad.js → dist/base.js → './gradients', which resolves to the *directory*:
// ERR_UNSUPPORTED_DIR_IMPORT). We therefore register the same gradient configs ourselves by importing
// each `dist/gradients/*_grad.js` module (all but Prod, which this engine does not use).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createRequire } from 'node:module';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

async function registerGradients(): Promise<number> {
  const require = createRequire(import.meta.url);
  const dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'dist', 'gradients');
  const files = readdirSync(dir).filter((f) => f.endsWith('_grad.js') && f !== 'Prod_grad.js');
  let n = 0;
  const mods = await Promise.all(
    files.map((f) => import(pathToFileURL(path.join(dir, f)).href) as Promise<Record<string, unknown>>),
  );
  for (const m of mods) {
    for (const v of Object.values(m)) {
      const cfg = v as tf.GradConfig;
      if (cfg && typeof cfg === 'object' && typeof cfg.kernelName === 'string' && typeof cfg.gradFunc === 'function') {
        tf.registerGradient(cfg);
        n++;
      }
    }
  }
  return n;
}

/**
 * Bundled (esbuild, for a GPU host without node_modules): tfjs's own register_all_gradients is
 * bundled and loads fine. Under tsx/Node ESM that module fails to load (see above), so fall back
 * to registering the gradient files found in node_modules.
 */
async function registerAllGradients(): Promise<number> {
  try {
    await import('@tensorflow/tfjs-core/dist/register_all_gradients');
    return -1; // registered by tfjs itself
  } catch {
    return registerGradients();
  }
}

let gradients: Promise<number> | null = null;

/**
 * Register tfjs's gradient functions (about 1.5 s of module loading per thread, paid at every engine and
 * worker start when it was done on import). Only tfjs autodiff needs them (the tfjs runtime's vjp, tests):
 * the ONNX Runtime path never does, so it is done on first use. Idempotent; keeps the fast BatchMatMul gradient.
 */
export function ensureGradients(): Promise<number> {
  gradients ??= registerAllGradients().then((n) => {
    installed = false;
    installFastMatMulGrad();
    return n;
  });
  return gradients;
}

// Production mode: no console banner suggesting tfjs-node on every start (the backend choice is
// ours and is logged with its reason); PPGN_DEBUG=1 keeps tfjs's warnings.
if (!process.env.PPGN_DEBUG) tf.env().set('PROD', true);

// tfjs-backend-wasm runs `matMul(a, b, transposeA=true)` / `matMul(a, b, false, transposeB=true)` through
// a slow path (measured on 2 cores: xᵀ·dy for a 64×3072 batch and a 3072×512 kernel took 481 ms, against
// 11 ms for `matMul(transpose(x), dy)`). The default BatchMatMul gradient uses exactly those transposed
// forms, so dense layers' gradients (sampling and training) were far slower than they need to be.
// `installFastMatMulGrad()` re-registers the BatchMatMul gradient with explicit transposes and
// untransposed products (same values); it is installed here for every user of @ppgn/core.
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

installFastMatMulGrad();

export { tf };
export type Tensor = tf.Tensor;
