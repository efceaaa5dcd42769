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
  const mods = await Promise.all(files.map((f) => import(pathToFileURL(path.join(dir, f)).href) as Promise<Record<string, unknown>>));
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

export const gradientCount = await registerGradients();

export { tf };
export type Tensor = tf.Tensor;
