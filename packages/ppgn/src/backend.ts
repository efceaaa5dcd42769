/**
 * Backend selection: which runtime runs the networks, and on what. `initBackend(preferred?)` honours
 * PPGN_BACKEND:
 *  - ONNX Runtime (onnxruntime-node, graphs compiled from each pack): `onnx` (CPU), `onnx-webgpu`
 *    (its bundled WebGPU provider), `onnx-cuda` (where the CUDA provider is installed);
 *  - TensorFlow.js: `tensorflow` (tfjs-node-gpu / tfjs-node, if installed), `webgpu` (Dawn), `wasm`, `cpu`.
 * auto: tensorflow (if the user installed tfjs-node) → onnx → wasm → cpu.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { ensureGradients, tf } from './tf';
import { setRuntime, TfjsRuntime } from './runtime/index';
import { OrtRuntime, loadOrt, type OrtProvider } from './runtime/ort';

export type BackendName = 'onnx' | 'onnx-webgpu' | 'onnx-cuda' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export const BACKENDS: BackendName[] = ['onnx', 'onnx-webgpu', 'onnx-cuda', 'tensorflow', 'webgpu', 'wasm', 'cpu'];
export type BackendPreference = BackendName | 'auto';

export interface BackendInfo {
  backend: BackendName;
  /** which runtime runs the networks */
  runtime: 'onnxruntime' | 'tfjs';
  /** one line: runtime, version, provider */
  description: string;
  /** runs on a GPU */
  gpu: boolean;
  reason: string;
  /** attempts that failed before the chosen one */
  tried: { backend: BackendName; error: string }[];
}

const require = createRequire(import.meta.url);
const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function tryTensorflow(): Promise<string> {
  const errors: string[] = [];
  for (const mod of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(/* @vite-ignore */ mod);
      if (!(await tf.setBackend('tensorflow'))) throw new Error('setBackend("tensorflow") returned false');
      return `${mod} is installed`;
    } catch (e) {
      errors.push(`${mod}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(
    `neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node could be loaded (install one to use PPGN_BACKEND=tensorflow): ${errors.join('; ')}`,
  );
}

function dawnPath(): string {
  if (process.env.DAWN_NODE) return process.env.DAWN_NODE;
  const pkg = path.dirname(require.resolve('webgpu/package.json'));
  const platform = process.platform === 'darwin' ? 'darwin-universal' : `${process.platform}-${process.arch}`;
  return path.join(pkg, 'dist', platform, 'dawn.node');
}

async function tryWebgpu(): Promise<string> {
  const g = globalThis as unknown as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } };
  if (!g.navigator?.gpu) {
    if (!isNode) throw new Error('navigator.gpu is not available');
    const p = dawnPath();
    if (!existsSync(p)) throw new Error(`dawn.node not found at ${p} (set DAWN_NODE)`);
    // the Dawn module must create navigator.gpu BEFORE tfjs-backend-webgpu is imported
    const dawn = require(p) as { create(flags: string[]): unknown; globals: Record<string, unknown> };
    Object.assign(globalThis, dawn.globals);
    const gpu = dawn.create([]);
    try {
      Object.defineProperty(globalThis, 'navigator', {
        value: { ...(g.navigator ?? {}), gpu },
        configurable: true,
        writable: true,
      });
    } catch {
      (g as { navigator: unknown }).navigator = { gpu };
    }
  }
  const adapter = await g.navigator!.gpu!.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter found (Vulkan driver / ICD missing?)');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('setBackend("webgpu") returned false');
  await tf.ready();
  return 'a WebGPU adapter was found (Dawn)';
}

async function tryWasm(): Promise<string> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  let note = '';
  if (isNode) {
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dist + path.sep);
    // worker-based threads are not available to the wasm backend under Node; SIMD is.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', process.env.PPGN_WASM_THREADS === '1');
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('setBackend("wasm") returned false');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  note = `simd=${simd ? 'on' : 'off'}, threads=${threads ? 'on' : 'off'}`;
  return note;
}

async function tryCpu(): Promise<string> {
  if (!(await tf.setBackend('cpu'))) throw new Error('setBackend("cpu") failed');
  await tf.ready();
  return 'pure-JS fallback';
}

let ortRuntime: OrtRuntime | undefined;

async function tryOnnx(provider: OrtProvider): Promise<string> {
  let ort: ReturnType<typeof loadOrt>;
  try {
    ort = loadOrt();
  } catch (e) {
    throw new Error(`onnxruntime-node could not be loaded: ${(e as Error).message.split('\n')[0]}`);
  }
  const listed = ort.listSupportedBackends?.() ?? [];
  const entry = listed.find((b) => b.name === provider);
  if (!entry)
    throw new Error(
      `onnxruntime-node ${ort.env.versions.common} has no ${provider} provider on ${process.platform}-${process.arch}`,
    );
  const rt = new OrtRuntime({ provider });
  if (provider !== 'cpu') await probeProvider(rt);
  // tfjs only holds the packs' weights then: its pure-JS backend is enough
  await tf.setBackend('cpu');
  await tf.ready();
  ortRuntime = rt;
  setRuntime(rt);
  return provider === 'cpu' ? 'native CPU kernels' : `${provider} provider works`;
}

/** run a one-layer graph on a GPU provider: a missing driver fails here, not in the first room */
async function probeProvider(rt: OrtRuntime): Promise<void> {
  const { Net } = await import('./net');
  const net = new Net({ input: [4], layers: [{ type: 'dense', units: 2 }] }, { seed: 1 });
  try {
    const x = new Float32Array(4).fill(1);
    const pass = await rt.forward(net, x, 1, { keep: true });
    await rt.vjp(net, pass, { '@output': new Float32Array(2).fill(1) });
  } catch (e) {
    throw new Error(`the ${rt.provider} provider failed: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    net.dispose();
  }
}

async function tfjsOnly(f: () => Promise<string>): Promise<string> {
  const why = await f();
  setRuntime(new TfjsRuntime());
  return why;
}

const attempts: Record<BackendName, () => Promise<string>> = {
  onnx: () => tryOnnx('cpu'),
  'onnx-webgpu': () => tryOnnx('webgpu'),
  'onnx-cuda': () => tryOnnx('cuda'),
  tensorflow: () => tfjsOnly(tryTensorflow),
  webgpu: () => tfjsOnly(tryWebgpu),
  wasm: () => tfjsOnly(tryWasm),
  cpu: () => tfjsOnly(tryCpu),
};

let current: BackendInfo | undefined;

/**
 * Select and initialise a backend. An explicitly requested backend (argument or PPGN_BACKEND) that
 * fails throws an Error with the reason; auto mode falls through the list.
 */
export async function initBackend(
  preferred?: BackendPreference,
  opts: { log?: (msg: string) => void } = {},
): Promise<BackendInfo> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const want = (
    preferred ??
    (process.env.PPGN_BACKEND as BackendPreference | undefined) ??
    'auto'
  ).toLowerCase() as BackendPreference;
  const valid: BackendPreference[] = ['auto', ...BACKENDS];
  if (!valid.includes(want))
    throw new Error(`unknown backend "${want}" (PPGN_BACKEND must be one of ${valid.join(', ')})`);
  const tried: BackendInfo['tried'] = [];
  const order: BackendName[] = want === 'auto' ? ['tensorflow', 'onnx', 'wasm', 'cpu'] : [want];
  for (const b of order) {
    try {
      const why = await attempts[b]();
      const reason =
        want === 'auto'
          ? `auto: ${why}${tried.length ? ` (skipped ${tried.map((t) => `${t.backend}: ${t.error}`).join('; ')})` : ''}`
          : `requested: ${why}`;
      const onnx = b.startsWith('onnx');
      // tfjs autodiff needs its gradient functions: loaded now rather than in the first step
      if (!onnx) await ensureGradients();
      const description = onnx ? ortRuntime!.description : `TensorFlow.js ${tf.version_core} (${tf.getBackend()})`;
      const gpu = b === 'onnx-webgpu' || b === 'onnx-cuda' || b === 'webgpu' || b === 'tensorflow';
      current = {
        backend: onnx ? b : (tf.getBackend() as BackendName),
        runtime: onnx ? 'onnxruntime' : 'tfjs',
        description,
        gpu,
        reason,
        tried,
      };
      log(`[ppgn] backend ${current.backend}: ${description} – ${reason}`);
      return current;
    } catch (e) {
      tried.push({ backend: b, error: (e as Error).message.split('\n')[0] });
    }
  }
  throw new Error(`backend ${want} unavailable: ${tried.map((t) => `${t.backend}: ${t.error}`).join('; ')}`);
}

export function currentBackend(): BackendInfo | undefined {
  return current;
}
