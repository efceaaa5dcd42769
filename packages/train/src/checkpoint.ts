/** Checkpoints: networks (ppgn-net/1 files), Adam state and phase progress under .cache/train-runs/<run>/. */
import { promises as fs, existsSync } from 'node:fs';
import * as path from 'node:path';
import { Net, loadNet, type RngState } from '@ppgn/core';
import { tf } from './tf';

export async function saveNet(dir: string, name: string, net: Net): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const { file, weights } = net.serialize(`${name}.weights.bin`);
  await fs.writeFile(path.join(dir, `${name}.weights.bin`), weights);
  await fs.writeFile(path.join(dir, `${name}.net.json`), JSON.stringify(file));
}

export function hasNet(dir: string, name: string): boolean {
  return existsSync(path.join(dir, `${name}.net.json`));
}

/** copy saved weights into an existing net (same spec) */
export async function loadNetInto(dir: string, name: string, net: Net): Promise<void> {
  const loaded = await loadNet(path.join(dir, `${name}.net.json`));
  try {
    net.setWeights(loaded.getWeights());
  } finally {
    loaded.dispose();
  }
}

export async function saveOptimizer(dir: string, name: string, opt: tf.Optimizer): Promise<void> {
  const ws = await opt.getWeights();
  const meta: { name: string; shape: number[]; offset: number }[] = [];
  let total = 0;
  for (const w of ws) total += w.tensor.size;
  const buf = new Float32Array(total);
  let off = 0;
  for (const w of ws) {
    buf.set((await w.tensor.data()) as Float32Array, off);
    meta.push({ name: w.name, shape: [...w.tensor.shape], offset: off });
    off += w.tensor.size;
  }
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, `${name}.opt.bin`), Buffer.from(buf.buffer));
  await fs.writeFile(path.join(dir, `${name}.opt.json`), JSON.stringify(meta));
}

export async function loadOptimizer(dir: string, name: string, opt: tf.Optimizer): Promise<boolean> {
  const jf = path.join(dir, `${name}.opt.json`);
  if (!existsSync(jf)) return false;
  const meta = JSON.parse(await fs.readFile(jf, 'utf8')) as { name: string; shape: number[]; offset: number }[];
  const raw = await fs.readFile(path.join(dir, `${name}.opt.bin`));
  const all = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const list = meta.map((m) => {
    const n = m.shape.reduce((a, b) => a * b, 1);
    return { name: m.name, tensor: tf.tensor(all.slice(m.offset, m.offset + n), m.shape) };
  });
  await opt.setWeights(list);
  for (const w of list) w.tensor.dispose();
  return true;
}

export interface PhaseState {
  done: boolean;
  step: number;
  rng?: RngState;
  seconds: number;
  metrics?: Record<string, number>;
  msPerStep?: number;
}

export interface RunState {
  config: string;
  seed: number;
  steps?: number;
  started: string;
  phases: Record<string, PhaseState>;
  extra: Record<string, unknown>;
}

export async function readState(runDir: string): Promise<RunState | undefined> {
  const f = path.join(runDir, 'state.json');
  if (!existsSync(f)) return undefined;
  return JSON.parse(await fs.readFile(f, 'utf8')) as RunState;
}

export async function writeState(runDir: string, s: RunState): Promise<void> {
  await fs.mkdir(runDir, { recursive: true });
  const tmp = path.join(runDir, 'state.json.tmp');
  await fs.writeFile(tmp, JSON.stringify(s, null, 1));
  await fs.rename(tmp, path.join(runDir, 'state.json'));
}
