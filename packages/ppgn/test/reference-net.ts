// An independent float64 forward pass of a net spec (plain loops, NHWC, one example at a time), written
// from the layer definitions, for finite-difference checks that float32 cannot resolve.
import { planLayers, type NetSpec } from '../src/net';

type T = { shape: number[]; data: Float64Array };

function tfPads(n: number, k: number, s: number, padding: 'same' | 'valid'): number {
  if (padding === 'valid') return 0;
  const out = Math.ceil(n / s);
  return Math.floor(Math.max((out - 1) * s + k - n, 0) / 2);
}

/** forward pass of one example; returns every layer's output by index and by name */
export function referenceForward(
  spec: NetSpec,
  weights: Record<string, Float32Array>,
  x: Float64Array,
): { outputs: T[]; byName: Record<string, T> } {
  const plans = planLayers(spec);
  const outputs: T[] = [];
  const byName: Record<string, T> = {};
  const input: T = { shape: [...spec.input], data: x };
  plans.forEach((p, i) => {
    const src = p.source < 0 ? input : outputs[p.source];
    const w = (v: string) => weights[`${p.key}/${v}`];
    const sp = p.spec;
    const [oh, ow, oc] = p.outShape;
    const out = new Float64Array(p.outShape.reduce((a, b) => a * b, 1));
    const X = src.data;
    const [H, W, C] = p.inShape;
    const at = (y: number, xx: number, c: number) => X[(y * W + xx) * C + c];
    switch (sp.type) {
      case 'dense': {
        const K = w('kernel');
        const b = sp.bias ? w('bias') : undefined;
        for (let o = 0; o < sp.units; o++) {
          let s = b ? b[o] : 0;
          for (let k = 0; k < p.inShape[0]; k++) s += X[k] * K[k * sp.units + o];
          out[o] = s;
        }
        break;
      }
      case 'conv2d': {
        const K = w('kernel');
        const b = sp.bias ? w('bias') : undefined;
        const k = sp.kernel;
        const pt = tfPads(H, k, sp.stride, sp.padding);
        const pl = tfPads(W, k, sp.stride, sp.padding);
        for (let y = 0; y < oh; y++)
          for (let xx = 0; xx < ow; xx++)
            for (let o = 0; o < oc; o++) {
              let s = b ? b[o] : 0;
              for (let ky = 0; ky < k; ky++)
                for (let kx = 0; kx < k; kx++) {
                  const iy = y * sp.stride + ky - pt;
                  const ix = xx * sp.stride + kx - pl;
                  if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                  for (let c = 0; c < C; c++) s += at(iy, ix, c) * K[((ky * k + kx) * C + c) * oc + o];
                }
              out[(y * ow + xx) * oc + o] = s;
            }
        break;
      }
      case 'conv2dTranspose': {
        // the adjoint of a "same" stride-s conv from the s·H × s·W grid: scatter every input pixel
        const K = w('kernel'); // [k, k, filters(out), C(in)]
        const k = sp.kernel;
        const s = sp.stride;
        const pt = tfPads(oh, k, s, 'same');
        const pl = tfPads(ow, k, s, 'same');
        for (let y = 0; y < H; y++)
          for (let xx = 0; xx < W; xx++)
            for (let ky = 0; ky < k; ky++)
              for (let kx = 0; kx < k; kx++) {
                const oy = y * s + ky - pt;
                const ox = xx * s + kx - pl;
                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                for (let o = 0; o < oc; o++) {
                  let acc = 0;
                  for (let c = 0; c < C; c++) acc += at(y, xx, c) * K[((ky * k + kx) * oc + o) * C + c];
                  out[(oy * ow + ox) * oc + o] += acc;
                }
              }
        if (sp.bias) {
          const b = w('bias');
          for (let q = 0; q < oh * ow; q++) for (let o = 0; o < oc; o++) out[q * oc + o] += b[o];
        }
        break;
      }
      case 'upsample':
        for (let y = 0; y < oh; y++)
          for (let xx = 0; xx < ow; xx++)
            for (let c = 0; c < C; c++)
              out[(y * ow + xx) * C + c] = at(Math.floor(y / sp.factor), Math.floor(xx / sp.factor), c);
        break;
      case 'relu':
        for (let q = 0; q < out.length; q++) out[q] = Math.max(0, X[q]);
        break;
      case 'leakyRelu':
        for (let q = 0; q < out.length; q++) out[q] = X[q] > 0 ? X[q] : sp.alpha * X[q];
        break;
      case 'tanh':
        for (let q = 0; q < out.length; q++) out[q] = Math.tanh(X[q]);
        break;
      case 'sigmoid':
        for (let q = 0; q < out.length; q++) out[q] = 1 / (1 + Math.exp(-X[q]));
        break;
      case 'batchnorm':
      case 'affine': {
        const Cc = p.inShape[p.inShape.length - 1];
        for (let q = 0; q < out.length; q++) {
          const c = q % Cc;
          out[q] =
            sp.type === 'affine'
              ? X[q] * w('scale')[c] + w('shift')[c]
              : ((X[q] - w('mean')[c]) * w('gamma')[c]) / Math.sqrt(w('variance')[c] + sp.epsilon) + w('beta')[c];
        }
        break;
      }
      case 'reshape':
      case 'flatten':
      case 'dropout':
        out.set(X);
        break;
      case 'avgPool':
      case 'maxPool': {
        const k = sp.size;
        const s = sp.stride ?? k;
        const pt = tfPads(H, k, s, sp.padding);
        const pl = tfPads(W, k, s, sp.padding);
        for (let y = 0; y < oh; y++)
          for (let xx = 0; xx < ow; xx++)
            for (let c = 0; c < C; c++) {
              let acc = sp.type === 'maxPool' ? -Infinity : 0;
              let n = 0;
              for (let ky = 0; ky < k; ky++)
                for (let kx = 0; kx < k; kx++) {
                  const iy = y * s + ky - pt;
                  const ix = xx * s + kx - pl;
                  if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                  const v = at(iy, ix, c);
                  acc = sp.type === 'maxPool' ? Math.max(acc, v) : acc + v;
                  n++;
                }
              out[(y * ow + xx) * C + c] = sp.type === 'maxPool' ? acc : acc / n;
            }
        break;
      }
      case 'globalAvgPool':
        for (let c = 0; c < C; c++) {
          let acc = 0;
          for (let q = 0; q < H * W; q++) acc += X[q * C + c];
          out[c] = acc / (H * W);
        }
        break;
    }
    outputs[i] = { shape: p.outShape, data: out };
    if (sp.name) byName[sp.name] = outputs[i];
  });
  return { outputs, byName };
}
