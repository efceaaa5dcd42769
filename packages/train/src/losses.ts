/** Loss helpers (functional tfjs-core ops only). */
import type { Net } from '@ppgn/core';
import { tf } from './tf';

/** mean softmax cross-entropy; `onehot` [B, n] */
export function softmaxCE(logits: tf.Tensor, onehot: tf.Tensor): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

/** mean sigmoid binary cross-entropy, numerically stable: relu(z) − z·y + log(1 + e^−|z|) */
export function sigmoidBCE(z: tf.Tensor, y: tf.Tensor | number): tf.Scalar {
  const yt = typeof y === 'number' ? tf.fill(z.shape, y) : y;
  return tf.mean(tf.add(tf.sub(tf.relu(z), tf.mul(z, yt)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))))) as tf.Scalar;
}

export function mse(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.mean(tf.square(tf.sub(a, b))) as tf.Scalar;
}

/** w · Σ‖kernel‖² over the net's kernels */
export function l2Penalty(net: Net, w: number): tf.Scalar {
  if (!w) return tf.scalar(0);
  const ks = Object.entries(net.variables)
    .filter(([n]) => n.endsWith('/kernel'))
    .map(([, v]) => tf.sum(tf.square(v)));
  return tf.mul(w, tf.addN(ks)) as tf.Scalar;
}

export function oneHot(labels: ArrayLike<number>, n: number): tf.Tensor2D {
  const out = new Float32Array(labels.length * n);
  for (let i = 0; i < labels.length; i++) out[i * n + labels[i]] = 1;
  return tf.tensor2d(out, [labels.length, n]);
}
