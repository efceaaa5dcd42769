/**
 * conv2d with gradients expressed as forward convolutions.
 *
 * tfjs-backend-wasm implements Conv2DBackpropInput with a slow generic loop (≈8× the forward conv on
 * 2 cores) and lacks Conv2DBackpropFilter entirely. Both gradients can be written as ordinary
 * (XNNPACK-accelerated) conv2d calls:
 *   dx = conv2d(dilate(dy, s) padded, rot180(W)ᵀ)            (full correlation, then cropped)
 *   dW = conv2d(x_padᵀ (channels as batch), dyᵀ (as filter), dilation s)
 */
import { tf } from './tf';

interface Geometry {
  n: number;
  out: number;
  padBefore: number;
  padAfter: number;
}

function geometry(n: number, k: number, s: number, padding: 'same' | 'valid'): Geometry {
  if (padding === 'valid') return { n, out: Math.floor((n - k) / s) + 1, padBefore: 0, padAfter: 0 };
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + k - n, 0);
  const padBefore = Math.floor(total / 2);
  return { n, out, padBefore, padAfter: total - padBefore };
}

/** insert s−1 zeros after every element along H and W: [B,h,w,c] → [B,h·s,w·s,c] */
function dilate(dy: tf.Tensor4D, s: number): tf.Tensor4D {
  if (s === 1) return dy;
  const [B, h, w, c] = dy.shape;
  let t: tf.Tensor = tf.reshape(dy, [B, h, 1, w * c]);
  t = tf.pad(t, [
    [0, 0],
    [0, 0],
    [0, s - 1],
    [0, 0],
  ]);
  t = tf.reshape(t, [B * h * s, w, 1, c]);
  t = tf.pad(t, [
    [0, 0],
    [0, 0],
    [0, s - 1],
    [0, 0],
  ]);
  return tf.reshape(t, [B, h * s, w * s, c]);
}

/** pad (negative = crop) along H and W */
function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  let t = x;
  if (top > 0 || bottom > 0 || left > 0 || right > 0)
    t = tf.pad(t, [
      [0, 0],
      [Math.max(top, 0), Math.max(bottom, 0)],
      [Math.max(left, 0), Math.max(right, 0)],
      [0, 0],
    ]);
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [B, H, W, C] = t.shape;
    const t0 = Math.max(-top, 0);
    const l0 = Math.max(-left, 0);
    t = tf.slice(t, [0, t0, l0, 0], [B, H - t0 - Math.max(-bottom, 0), W - l0 - Math.max(-right, 0), C]);
  }
  return t;
}

/** rot180 + swap in/out channels: the kernel of the input-gradient convolution */
export function flipKernel(W: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(tf.reverse(W, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
}

function inputGrad(
  dy: tf.Tensor4D,
  W: tf.Tensor4D,
  xShape: number[],
  s: number,
  gh: Geometry,
  gw: Geometry,
  flipped?: tf.Tensor4D,
): tf.Tensor4D {
  const [kh, kw] = W.shape;
  // z: dilated dy, length out·s (its last s−1 entries are zeros)
  const z = dilate(dy, s);
  const zh = gh.out * s;
  const zw = gw.out * s;
  // full correlation needs z padded by k−1 on both sides, covering the padded input length
  // n + padBefore + padAfter; then crop [padBefore, padBefore + n).
  const top = kh - 1 - gh.padBefore;
  const left = kw - 1 - gw.padBefore;
  const bottom = xShape[1] + kh - 1 - zh - top;
  const right = xShape[2] + kw - 1 - zw - left;
  const zp = padOrCrop(z, top, bottom, left, right);
  const wFlip = flipped ?? flipKernel(W);
  return tf.conv2d(zp, wFlip, 1, 'valid');
}

function filterGrad(
  dy: tf.Tensor4D,
  x: tf.Tensor4D,
  kShape: number[],
  s: number,
  gh: Geometry,
  gw: Geometry,
): tf.Tensor4D {
  const [kh, kw] = kShape;
  const xp = padOrCrop(x, gh.padBefore, gh.padAfter, gw.padBefore, gw.padAfter);
  const a = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D; // [ci, Hp, Wp, B]
  const f = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [ho, wo, B, co]
  let r = tf.conv2d(a, f, 1, 'valid', 'NHWC', s); // [ci, Hp-(ho-1)s, Wp-(wo-1)s, co]
  if (r.shape[1] !== kh || r.shape[2] !== kw) r = tf.slice(r, [0, 0, 0, 0], [r.shape[0], kh, kw, r.shape[3]]);
  return tf.transpose(r, [1, 2, 0, 3]) as tf.Tensor4D;
}

/**
 * conv2d(x, W) whose backward pass uses forward convolutions only.
 * `filterGrad = false` (sampling): W is treated as a constant and only dx is computed.
 */
export function conv2dFast(
  x: tf.Tensor4D,
  W: tf.Tensor4D,
  stride: number,
  padding: 'same' | 'valid',
  withFilterGrad = false,
  flipped?: () => tf.Tensor4D,
): tf.Tensor4D {
  const gh = geometry(x.shape[1], W.shape[0], stride, padding);
  const gw = geometry(x.shape[2], W.shape[1], stride, padding);
  if (withFilterGrad) {
    const f = tf.customGrad(((xi: tf.Tensor, wi: tf.Tensor, save: tf.GradSaveFunc) => {
      save([xi, wi]);
      return {
        value: tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, stride, padding),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
          inputGrad(dy as tf.Tensor4D, saved[1] as tf.Tensor4D, saved[0].shape, stride, gh, gw),
          filterGrad(dy as tf.Tensor4D, saved[0] as tf.Tensor4D, saved[1].shape, stride, gh, gw),
        ],
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    return f(x, W) as tf.Tensor4D;
  }
  const f = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xi]);
    return {
      value: tf.conv2d(xi as tf.Tensor4D, W, stride, padding),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        inputGrad(dy as tf.Tensor4D, W, saved[0].shape, stride, gh, gw, flipped?.()),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor4D;
}

/**
 * Nearest-neighbour upsampling by an integer factor, built from reshape + tile (whose gradients are
 * correct on every backend; tfjs-backend-cpu's ResizeNearestNeighborGrad mixes up batch entries).
 */
export function upsampleNearest(x: tf.Tensor4D, f: number): tf.Tensor4D {
  if (f === 1) return x;
  const [B, h, w, c] = x.shape;
  // wasm / tfjs-node have a correct (and faster) ResizeNearestNeighborGrad
  const be = tf.getBackend();
  if (be === 'wasm' || be === 'tensorflow') return tf.image.resizeNearestNeighbor(x, [h * f, w * f]);
  let t: tf.Tensor = tf.tile(tf.reshape(x, [B * h, w, 1, c]), [1, 1, f, 1]);
  t = tf.tile(tf.reshape(t, [B * h, 1, w * f * c]), [1, f, 1]);
  return tf.reshape(t, [B, h * f, w * f, c]);
}
