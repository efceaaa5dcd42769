// Room state → sampler inputs (a @ppgn/core Condition and config). Pure functions.
import { Condition, decodePng, resizeImage, type Pack, type SamplerConfigInput, type Term } from '@ppgn/core';
import type { MaskStroke, RoomCondition, RoomState, SamplerParams } from '@ppgn/shared';

export function samplerConfig(p: SamplerParams, pack: Pack): SamplerConfigInput {
  const clip: [number | null, number | null] = [pack.manifest.code.min, pack.manifest.code.max];
  const base = { eps1: p.eps1, eps2: p.eps2, eps3: p.eps3, eps4: p.eps4, lr: p.lr, lrEnd: p.lrEnd, steps: p.lrSteps, resetEvery: p.resetEvery, clip };
  switch (p.mode) {
    case 'ppgn':
      return { ...base, mode: 'ppgn', prior: 'eg' };
    case 'hdae':
      return { ...base, mode: 'ppgn', prior: pack.hdae ? 'hdae' : 'eg' };
    case 'dgnam':
      return { ...base, mode: 'dgnam', prior: 'l2', eps1: 0, decay: p.decay };
    case 'fast':
      // SGLD on p(y|h) (seed 001): ε1 scales the gradient, noise variance is ε3² (ε3 is a std everywhere)
      return { ...base, mode: 'fast', prior: 'none', normalize: false, eps1: p.eps1, eps2: p.eps3 * p.eps3 };
  }
}

export function termOf(c: RoomCondition, pack: Pack): Term {
  const t = c.target;
  switch (t.kind) {
    case 'class':
      return { kind: 'class', labels: t.labels, variant: t.variant, condition: t.condition, weight: c.weight };
    case 'text':
      return { kind: 'text', text: t.text, condition: t.condition, weight: c.weight };
    case 'image': {
      const [H, W, C] = pack.imageShape;
      let img = decodePng(Buffer.from(t.png, 'base64'), C as 1 | 3, pack.manifest.image.range);
      if (img.shape[0] !== H || img.shape[1] !== W) img = resizeImage(img, H, W);
      return { kind: 'imageRef', image: { shape: [H, W, C], data: img.data }, weight: c.weight };
    }
    case 'unit': {
      const spec = pack.manifest.conditions.find((s) => s.id === t.condition);
      return { kind: 'unit', layer: t.layer, channel: t.channel, x: t.x, y: t.y, net: spec?.net ?? 'E', weight: c.weight };
    }
  }
}

/** Rasterise mask strokes to [H, W] with 1 = known (painted) pixels, 0 = to be generated. */
export function rasteriseMask(strokes: MaskStroke[], H: number, W: number): Float32Array {
  const m = new Float32Array(H * W);
  for (const s of strokes) {
    const r = s.radius * W;
    const pts = s.points.map(([x, y]) => [x * W, y * H] as const);
    const segs = pts.length === 1 ? [[pts[0]!, pts[0]!]] : pts.slice(1).map((p, i) => [pts[i]!, p]);
    for (const [a, b] of segs) {
      const x0 = Math.max(0, Math.floor(Math.min(a[0], b[0]) - r));
      const x1 = Math.min(W - 1, Math.ceil(Math.max(a[0], b[0]) + r));
      const y0 = Math.max(0, Math.floor(Math.min(a[1], b[1]) - r));
      const y1 = Math.min(H - 1, Math.ceil(Math.max(a[1], b[1]) + r));
      const dx = b[0] - a[0];
      const dy = b[1] - a[1];
      const len2 = dx * dx + dy * dy;
      for (let y = y0; y <= y1; y++)
        for (let x = x0; x <= x1; x++) {
          const px = x + 0.5;
          const py = y + 0.5;
          const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - a[0]) * dx + (py - a[1]) * dy) / len2));
          const ex = a[0] + t * dx - px;
          const ey = a[1] + t * dy - py;
          if (ex * ex + ey * ey <= r * r) m[y * W + x] = s.erase ? 0 : 1;
        }
    }
  }
  return m;
}

/** The sampler condition of a room: its enabled conditions, plus the inpainting context if any. */
export function roomCondition(
  state: RoomState,
  pack: Pack,
  context: { image: Float32Array } | null,
): Condition {
  const terms: Term[] = state.conditions.filter((c) => c.enabled && c.weight !== 0).map((c) => termOf(c, pack));
  if (context && state.context && state.strokes.length > 0) {
    const [H, W, C] = pack.imageShape;
    terms.push({
      kind: 'context',
      image: { shape: [H, W, C], data: context.image },
      mask: { shape: [H, W], data: rasteriseMask(state.strokes, H, W) },
      weight: 1,
    });
  }
  return new Condition(terms);
}
