/**
 * ONNX Runtime (onnxruntime-node) behind the sampler's seam. Each net is compiled from its spec and
 * weights (../onnx/compile.ts) into a forward graph per tap set and a VJP graph per set of incoming
 * gradients; each graph gets one InferenceSession, created once and cached per net.
 *
 * Providers: 'cpu' (bundled), 'webgpu' (bundled, through Vulkan on Linux), 'cuda' (where the user
 * installed it). One intra-op thread by default: the engine runs one sampler worker per core.
 */
import { createRequire } from 'node:module';
import type { InferenceSession as OrtSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { Net } from '../net';
import { compileForward, compileVjp, type CompileSource } from '../onnx/compile';
import type { ForwardOptions, ForwardPass, NetRuntime } from './types';

type Ort = typeof import('onnxruntime-node');

const require = createRequire(import.meta.url);
let ortModule: Ort | undefined;

/** onnxruntime-node, loaded on first use (throws with the reason when it cannot be loaded) */
export function loadOrt(): Ort {
  ortModule ??= require('onnxruntime-node') as Ort;
  return ortModule;
}

export type OrtProvider = 'cpu' | 'webgpu' | 'cuda';

export interface OrtOptions {
  provider?: OrtProvider;
  /** intra-op threads per session (default PPGN_ORT_THREADS or 1) */
  threads?: number;
}

interface OrtPass extends ForwardPass {
  x: Float32Array;
  saved: Record<string, OrtTensor>;
}

interface NetSessions {
  source: CompileSource;
  forward: Map<string, Promise<OrtSession>>;
  vjp: Map<string, Promise<OrtSession | null>>;
}

export class OrtRuntime implements NetRuntime {
  readonly name = 'onnxruntime' as const;
  readonly provider: OrtProvider;
  readonly threads: number;
  private readonly ort: Ort;
  private readonly nets = new WeakMap<Net, NetSessions>();
  private readonly live = new Set<Promise<OrtSession | null>>();

  constructor(opts: OrtOptions = {}) {
    this.ort = loadOrt();
    this.provider = opts.provider ?? 'cpu';
    const envThreads = Number(process.env.PPGN_ORT_THREADS);
    this.threads = opts.threads ?? (Number.isInteger(envThreads) && envThreads > 0 ? envThreads : 1);
  }

  get description(): string {
    return `ONNX Runtime ${this.ort.env.versions.common} (${this.provider}${this.provider === 'cpu' ? `, ${this.threads} thread${this.threads > 1 ? 's' : ''} per worker` : ''})`;
  }

  private sessionOptions(): OrtSession.SessionOptions {
    return {
      executionProviders: [this.provider],
      intraOpNumThreads: this.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    };
  }

  private sessionsOf(net: Net): NetSessions {
    let s = this.nets.get(net);
    if (!s) {
      s = {
        source: { spec: net.rawSpec, weights: net.getWeights(), name: net.spec.name },
        forward: new Map(),
        vjp: new Map(),
      };
      this.nets.set(net, s);
    }
    return s;
  }

  private create(bytes: Uint8Array): Promise<OrtSession> {
    return this.ort.InferenceSession.create(bytes, this.sessionOptions());
  }

  private forwardSession(net: Net, taps: string[], keep: boolean): Promise<OrtSession> {
    const s = this.sessionsOf(net);
    const key = `${[...taps].sort().join(',')}|${keep ? 1 : 0}`;
    let p = s.forward.get(key);
    if (!p) {
      p = Promise.resolve().then(() => this.create(compileForward(s.source, [...taps].sort(), keep).bytes));
      p.catch(() => s.forward.delete(key));
      s.forward.set(key, p);
      this.live.add(p);
    }
    return p;
  }

  private vjpSession(net: Net, cots: string[]): Promise<OrtSession | null> {
    const s = this.sessionsOf(net);
    const key = [...cots].sort().join(',');
    let p = s.vjp.get(key);
    if (!p) {
      p = Promise.resolve().then(() => {
        const g = compileVjp(s.source, [...cots].sort());
        return g ? this.create(g.bytes) : null;
      });
      p.catch(() => s.vjp.delete(key));
      s.vjp.set(key, p);
      this.live.add(p);
    }
    return p;
  }

  async forward(net: Net, x: Float32Array, batch: number, opts: ForwardOptions = {}): Promise<ForwardPass> {
    const taps = opts.taps ?? [];
    const keep = !!opts.keep;
    const session = await this.forwardSession(net, taps, keep);
    const feeds = { x: new this.ort.Tensor('float32', x, [batch, ...net.inputShape]) };
    const res = await session.run(feeds);
    const out: OrtPass = { output: res.output.data as Float32Array, taps: {}, batch, x, saved: {} };
    for (const t of taps) out.taps[t] = res[`tap:${t}`].data as Float32Array;
    if (keep) for (const n of session.outputNames) if (/^[sm]\d/.test(n)) out.saved[n] = res[n];
    return out;
  }

  async vjp(net: Net, pass: ForwardPass, cotangents: Record<string, Float32Array>): Promise<Float32Array> {
    const p = pass as OrtPass;
    if (!p.saved) throw new Error('vjp needs a forward pass made by the same runtime with keep: true');
    const names = Object.keys(cotangents);
    const session = await this.vjpSession(net, names);
    const inputSize = net.inputShape.reduce((a, b) => a * b, 1);
    if (!session) return new Float32Array(p.batch * inputSize);
    const feeds: Record<string, OrtTensor> = {};
    for (const n of session.inputNames) {
      if (n.startsWith('g:')) {
        const c = n.slice(2);
        const shape = c === '@output' ? net.outputShape : net.tapShape(c)!;
        feeds[n] = new this.ort.Tensor('float32', cotangents[c], [p.batch, ...shape]);
      } else if (n === 'x') feeds[n] = new this.ort.Tensor('float32', p.x, [p.batch, ...net.inputShape]);
      else {
        const t = p.saved[n];
        if (!t) throw new Error(`forward pass lacks saved activation ${n}`);
        feeds[n] = t;
      }
    }
    const res = await session.run(feeds);
    return res.dx.data as Float32Array;
  }

  /** release every session (tests, shutdown) */
  async dispose(): Promise<void> {
    const all = [...this.live];
    this.live.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => null))?.release()));
  }
}
