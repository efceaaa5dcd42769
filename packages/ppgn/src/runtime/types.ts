/**
 * The seam between the sampler (pure math on typed arrays) and whatever runs the networks. A runtime
 * does two things per net: a forward pass that returns the output and the taps the conditions read, and
 * the vector-Jacobian product of Σ ⟨g_t, tap_t⟩ with respect to the net's input. Everything is in the
 * pack's layout (NHWC images, row-major), batch first.
 */
import type { Net } from '../net';

export type RuntimeName = 'onnxruntime' | 'tfjs';

export interface ForwardOptions {
  /** named layers to return (besides the output) */
  taps?: string[];
  /** the caller will ask for `vjp` of this pass: keep what the backward pass needs */
  keep?: boolean;
}

export interface ForwardPass {
  /** the net's output, [B, ...outputShape] flattened */
  output: Float32Array;
  /** requested taps, [B, ...tapShape] flattened */
  taps: Record<string, Float32Array>;
  batch: number;
}

export interface NetRuntime {
  readonly name: RuntimeName;
  /** where it runs: 'cpu', 'webgpu', 'cuda' (onnxruntime) or the tfjs backend name */
  readonly provider: string;
  /** one line for people: version, provider, threads */
  readonly description: string;
  forward(net: Net, x: Float32Array, batch: number, opts?: ForwardOptions): Promise<ForwardPass>;
  /**
   * ∂/∂x Σ_t ⟨cot_t, tap_t(x)⟩ for the pass `pass` (made with keep: true). Keys are tap names or
   * '@output'; values have the tap's size. Returns [B, ...inputShape] flattened.
   */
  vjp(net: Net, pass: ForwardPass, cotangents: Record<string, Float32Array>): Promise<Float32Array>;
}
