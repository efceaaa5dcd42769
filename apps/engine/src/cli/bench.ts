/**
 * Sampler benchmark: one JSON line per case.
 *   npm run bench                      (emoji64 if present in models/, else random-emoji64-arch)
 *   npm run bench -- --pack <name> --steps 20 --backend wasm --batches 1,8,32 --workers 0,1,2 --rooms 8
 * The `rooms` cases step `--rooms` rooms the way the engine does (render + PNG per frame) on the main
 * thread (0) and in sampler worker pools of each size; rooms are spread over the workers.
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { initBackend, createChain, stepBatch, cond, tf, type ChainState, type Pack } from '@ppgn/core';
import { listPacks, savePack } from '@ppgn/core/node';
import * as path from 'node:path';
import { newRoomState } from '../rooms/defaults';
import { InProcessSampler, WorkerPool, type Sampler } from '../sampling/pool';
import { CliError, modelsDir, openPack } from './common';

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      pack: { type: 'string' },
      steps: { type: 'string', default: '20' },
      batches: { type: 'string', default: '1,8,32' },
      backend: { type: 'string' },
      mode: { type: 'string', default: 'ppgn' },
      'memory-steps': { type: 'string', default: '0' },
      workers: { type: 'string', default: `0,1,${os.availableParallelism()}` },
      rooms: { type: 'string', default: '8' },
    },
  });
  const info = await initBackend(a.backend as never, { log: (m) => process.stderr.write(m + '\n') });
  // default: the studio's default pack (emoji64 if trained, else the first pack in models/), else random weights
  const installed = (await listPacks(modelsDir())).filter((p) => p.manifest).map((p) => path.basename(p.dir));
  const name = a.pack ?? (installed.includes('emoji64') ? 'emoji64' : (installed[0] ?? 'random-emoji64-arch'));
  const pack = await openPack(name);
  const steps = Number(a.steps);
  const labels = pack.manifest.conditions.find((c) => c.kind === 'classes');
  const nClasses = labels?.kind === 'classes' ? labels.labels.length : 1;
  const mk = async (n: number, offset = 0): Promise<ChainState[]> => {
    const cs = [];
    for (let i = 0; i < n; i++) cs.push(await createChain(pack, { id: `b${offset + i}`, seed: offset + i, condition: cond.class((offset + i) % nClasses), config: { mode: a.mode as never, eps3: 1e-3 } }));
    return cs;
  };
  const line = (o: Record<string, unknown>) => console.log(JSON.stringify({ backend: info.backend, pack: pack.manifest.name, mode: a.mode, ...o }));
  for (const B of a.batches!.split(',').map(Number)) {
    const chains = await mk(B);
    await stepBatch(pack, chains); // warm-up
    const n = Math.max(2, Math.round(steps / Math.sqrt(B)));
    const t0 = performance.now();
    for (let s = 0; s < n; s++) await stepBatch(pack, chains);
    const ms = (performance.now() - t0) / n;
    line({ case: 'batched', batch: B, steps: n, ms_per_step: +ms.toFixed(2), steps_per_s: +(1000 / ms).toFixed(2), aggregate_steps_per_s: +((1000 / ms) * B).toFixed(2), tensors: tf.memory().numTensors });
  }
  // 8 chains one by one vs batched
  {
    const one = await mk(8, 100);
    const bat = await mk(8, 100);
    for (const c of one) await stepBatch(pack, [c]);
    await stepBatch(pack, bat);
    const n = Math.max(2, Math.round(steps / 3));
    let t0 = performance.now();
    for (let s = 0; s < n; s++) for (const c of one) await stepBatch(pack, [c]);
    const msOne = (performance.now() - t0) / n;
    t0 = performance.now();
    for (let s = 0; s < n; s++) await stepBatch(pack, bat);
    const msBat = (performance.now() - t0) / n;
    line({
      case: 'one-by-one-vs-batched',
      batch: 8,
      steps: n,
      one_by_one_aggregate_steps_per_s: +((8000 / msOne)).toFixed(2),
      batched_aggregate_steps_per_s: +((8000 / msBat)).toFixed(2),
      speedup: +(msOne / msBat).toFixed(2),
      tensors: tf.memory().numTensors,
    });
  }
  const memSteps = Number(a['memory-steps']);
  if (memSteps > 0) {
    const chains = await mk(2, 200);
    await stepBatch(pack, chains);
    const n0 = tf.memory().numTensors;
    for (let s = 0; s < memSteps; s++) await stepBatch(pack, chains);
    line({ case: 'memory', batch: 2, steps: memSteps, tensors_before: n0, tensors: tf.memory().numTensors });
  }
  // rooms as the engine steps them, on the main thread and in worker pools
  const workerCounts = [...new Set(a.workers!.split(',').filter(Boolean).map(Number))];
  if (workerCounts.length && labels?.kind === 'classes') {
    const rooms = Number(a.rooms);
    const installedDir = installed.includes(name) ? path.join(modelsDir(), name) : null;
    const tmp = installedDir ? null : mkdtempSync(path.join(os.tmpdir(), 'ppgn-bench-'));
    const dir = installedDir ?? path.join(tmp!, name);
    if (tmp) await savePack(dir, pack);
    try {
      for (const W of workerCounts) {
        const sampler: Sampler =
          W === 0 ? new InProcessSampler(new Map([[name, pack]])) : await WorkerPool.start({ workers: W, backend: info.backend, packDirs: new Map([[name, dir]]), restore: () => null });
        const ids: string[] = [];
        for (let r = 0; r < rooms; r++) {
          const st = newRoomState(`r${r}`, `r${r}`, name, {});
          st.conditions = [{ id: 'c', target: { kind: 'class', condition: labels.id, labels: [labels.labels[r % labels.labels.length]!], variant: 'logsoftmax' }, weight: 1, enabled: true, author: 'bench' }];
          const { conditions, params, strokes, context } = st;
          await sampler.open({ roomId: st.id, packId: name, spec: { state: { conditions, params, strokes, context }, contextImage: null }, seed: r, step: 0 });
          ids.push(st.id);
        }
        await sampler.step(ids); // warm-up
        const n = Math.max(2, Math.round(steps / Math.sqrt(rooms)));
        const t0 = performance.now();
        for (let s = 0; s < n; s++) await sampler.step(ids);
        const ms = (performance.now() - t0) / n;
        line({ case: 'rooms', workers: W, rooms, steps: n, ms_per_tick: +ms.toFixed(2), aggregate_steps_per_s: +((1000 / ms) * rooms).toFixed(2) });
        await sampler.close();
      }
    } finally {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
  }
  const params: Record<string, number> = {};
  for (const [k, net] of Object.entries((pack as Pack).nets)) params[k] = net.paramCount;
  process.stderr.write(`params: ${JSON.stringify(params)}\n`);
  pack.dispose();
}

main().catch((e: unknown) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
  process.exit(e instanceof CliError ? e.code : 1);
});
