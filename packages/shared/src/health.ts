import { z } from 'zod';

/**
 * What runs the networks: ONNX Runtime on its CPU, WebGPU or CUDA provider (`onnx`, `onnx-webgpu`,
 * `onnx-cuda`), or a TensorFlow.js backend (`tensorflow`, `webgpu`, `wasm`, `cpu`).
 */
export const BackendName = z.enum(['onnx', 'onnx-webgpu', 'onnx-cuda', 'tensorflow', 'webgpu', 'wasm', 'cpu']);
export type BackendName = z.infer<typeof BackendName>;

export const PackSummary = z.object({
  id: z.string(),
  name: z.string(),
  version: z.string(),
  imageSize: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
  codeSize: z.number().int(),
  conditions: z.array(z.object({ id: z.string(), kind: z.string(), count: z.number().int() })),
});
export type PackSummary = z.infer<typeof PackSummary>;

/** GET /health on the engine. */
export const Health = z.object({
  ok: z.boolean(),
  version: z.string(),
  backend: z.object({
    name: BackendName,
    /** Why this backend was chosen (env override, auto-detection, fallback). */
    reason: z.string(),
    gpu: z.boolean(),
    /** the runtime, its version and provider, e.g. "ONNX Runtime 1.31.1 (cpu, 1 thread per worker)" */
    runtime: z.string().optional(),
  }),
  packs: z.array(PackSummary),
  database: z.object({ reachable: z.boolean(), embedded: z.boolean() }),
  rooms: z.object({ running: z.number().int().nonnegative(), total: z.number().int().nonnegative() }),
  /** items in the gallery: the same count the gallery page shows without filters */
  gallery: z.object({ items: z.number().int().nonnegative() }),
  uptimeS: z.number().nonnegative(),
  /** this engine: its id, how loaded it is and, in a cluster, its peers */
  engine: z
    .object({
      id: z.string(),
      cluster: z.boolean(),
      rooms: z.number().int().nonnegative(),
      /** rooms being sampled now */
      chains: z.number().int().nonnegative(),
      /** chains per sampler worker */
      load: z.number().nonnegative(),
      draining: z.boolean(),
      peers: z.array(
        z.object({ id: z.string(), url: z.string(), load: z.number(), rooms: z.number(), draining: z.boolean() }),
      ),
    })
    .optional(),
});
export type Health = z.infer<typeof Health>;
