/**
 * The TensorFlow.js runtime behind the sampler's seam: forward passes with `Net.apply`, VJPs with tfjs
 * autodiff (the forward pass is recomputed inside `tf.grad`). It runs on whichever tfjs backend is active
 * (tensorflow, webgpu, wasm, cpu) and is the reference the ONNX Runtime graphs are checked against.
 */
import { ensureGradients, tf } from '../tf';
import type { Net } from '../net';
import type { ForwardOptions, ForwardPass, NetRuntime } from './types';

interface TfjsPass extends ForwardPass {
  x: Float32Array;
}

export class TfjsRuntime implements NetRuntime {
  readonly name = 'tfjs' as const;
  get provider(): string {
    return tf.getBackend();
  }
  get description(): string {
    return `TensorFlow.js ${tf.version_core} (${tf.getBackend()})`;
  }

  async forward(net: Net, x: Float32Array, batch: number, opts: ForwardOptions = {}): Promise<ForwardPass> {
    const taps = opts.taps ?? [];
    const res = tf.tidy(() => {
      const r = net.apply(tf.tensor(x, [batch, ...net.inputShape]), { taps });
      return [r.output, ...taps.map((t) => r.taps[t])];
    });
    try {
      const data = await Promise.all(res.map((t) => t.data() as Promise<Float32Array>));
      const out: TfjsPass = { output: data[0], taps: {}, batch, x };
      taps.forEach((t, i) => (out.taps[t] = data[i + 1]));
      return out;
    } finally {
      for (const t of res) t.dispose();
    }
  }

  async vjp(net: Net, pass: ForwardPass, cotangents: Record<string, Float32Array>): Promise<Float32Array> {
    await ensureGradients();
    const p = pass as TfjsPass;
    const names = Object.keys(cotangents);
    const taps = names.filter((n) => n !== '@output');
    const grad = tf.tidy(() => {
      const cots = names.map((n) =>
        tf.tensor(cotangents[n], n === '@output' ? [p.batch, ...net.outputShape] : [p.batch, ...net.tapShape(n)!]),
      );
      const f = (xt: tf.Tensor) => {
        const r = net.apply(xt, { taps });
        let s: tf.Tensor = tf.mul(tf.sum(xt), 0); // keeps the sum connected to x when no term reaches it
        names.forEach((n, i) => (s = tf.add(s, tf.sum(tf.mul(n === '@output' ? r.output : r.taps[n], cots[i])))));
        return s as tf.Scalar;
      };
      return tf.grad(f)(tf.tensor(p.x, [p.batch, ...net.inputShape]));
    });
    try {
      return (await grad.data()) as Float32Array;
    } finally {
      grad.dispose();
    }
  }
}
