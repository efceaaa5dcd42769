/**
 * Sampler benchmark: the runtimes side by side, one JSON line per case and a table at the end.
 *   npm run bench                       (ONNX Runtime and tfjs-wasm on emoji64, or a random pack of its shape)
 *   npm run bench -- --help
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import * as path from 'node:path';
import { initBackend, createChain, stepBatch, cond, BACKENDS, type ChainState, type BackendName } from '@ppgn/core';
import { listPacks, savePack } from '@ppgn/core/node';
import { newRoomState } from '../rooms/defaults';
import { InProcessSampler, WorkerPool } from '../sampling/pool';
import type { Sampler } from '../sampling/protocol';
import { CliError, modelsDir, openPack } from './common';

const HELP = `npm run bench -- [options]

Times PPGN steps on each backend in turn, in this one process, and prints one JSON line per case
and a side-by-side table (the numbers are medians over --steps timed steps after a warm-up).

  --backends a,b     backends to compare (default onnx,wasm; any of ${BACKENDS.join(', ')})
  --pack NAME        model pack (default emoji64 when installed, else random-emoji64-arch)
  --steps N          timed steps per case (default 60)
  --batches 1,8,32   batch sizes for the "batched" case (chains of one process, one thread)
  --workers 1,2      sampler worker pools for the "rooms" case (0 = the main thread)
  --rooms N          rooms per worker in the "rooms" case (default 8)
  --mode MODE        sampler mode (default ppgn)
  --help             this text

Cases: "chain" one chain, one step at a time (the latency of one room's frame); "batched" B chains in
one call; "rooms" rooms stepped as the engine steps them (frame rendered and PNG-encoded per step),
spread over a pool of sampler worker threads, with the process RSS and its growth per worker.`;

interface Row {
  backend: string;
  case: string;
  detail: string;
  value: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timed(n: number, f: () => Promise<unknown>): Promise<number> {
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

const rssMb = () => +(process.memoryUsage().rss / 2 ** 20).toFixed(0);

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h' },
      pack: { type: 'string' },
      steps: { type: 'string', default: '60' },
      batches: { type: 'string', default: '1,8,32' },
      backends: { type: 'string', default: 'onnx,wasm' },
      backend: { type: 'string' },
      mode: { type: 'string', default: 'ppgn' },
      workers: { type: 'string', default: `1,${Math.min(os.availableParallelism(), 8)}` },
      rooms: { type: 'string', default: '8' },
    },
  });
  if (a.help) {
    console.log(HELP);
    return;
  }
  const backends = (a.backend ?? a.backends!).split(',').filter(Boolean) as BackendName[];
  for (const b of backends)
    if (!BACKENDS.includes(b)) throw new CliError(`unknown backend "${b}" (one of ${BACKENDS.join(', ')})`);
  const steps = Number(a.steps);
  if (!(Number.isInteger(steps) && steps >= 2)) throw new CliError('--steps must be an integer ≥ 2');
  const batches = a.batches!.split(',').filter(Boolean).map(Number);
  const workerCounts = [...new Set(a.workers!.split(',').filter(Boolean).map(Number))];
  const roomsPerWorker = Number(a.rooms);
  if ([...batches, ...workerCounts, roomsPerWorker].some((n) => !Number.isInteger(n) || n < 0))
    throw new CliError('--batches, --workers and --rooms take non-negative integers');
  const installed = (await listPacks(modelsDir())).filter((p) => p.manifest).map((p) => path.basename(p.dir));
  const name = a.pack ?? (installed.includes('emoji64') ? 'emoji64' : (installed[0] ?? 'random-emoji64-arch'));
  const rows: Row[] = [];
  const tmp = installed.includes(name) ? null : mkdtempSync(path.join(os.tmpdir(), 'ppgn-bench-'));
  try {
    for (const backend of backends) {
      const info = await initBackend(backend, { log: (m) => process.stderr.write(m + '\n') });
      const pack = await openPack(name);
      const dir = tmp ? path.join(tmp, name) : path.join(modelsDir(), name);
      if (tmp) await savePack(dir, pack);
      const line = (o: Record<string, unknown>) =>
        console.log(
          JSON.stringify({ backend, runtime: info.description, pack: pack.manifest.name, mode: a.mode, ...o }),
        );
      const labels = pack.manifest.conditions.find((c) => c.kind === 'classes');
      const nClasses = labels?.kind === 'classes' ? labels.labels.length : 1;
      const mk = async (n: number, offset = 0): Promise<ChainState[]> => {
        const cs = [];
        for (let i = 0; i < n; i++)
          cs.push(
            await createChain(pack, {
              id: `b${offset + i}`,
              seed: offset + i,
              condition: cond.class((offset + i) % nClasses),
              config: { mode: a.mode as never, eps3: 1e-3 },
            }),
          );
        return cs;
      };
      // one chain: what one room's frames cost (rendered, as the engine asks)
      {
        const [c] = await mk(1);
        // warm-up: ORT plans its memory and V8 compiles the hot loops on the first calls
        for (let i = 0; i < Math.max(20, steps >> 1); i++) await stepBatch(pack, [c], { render: true });
        const ms = await timed(steps, () => stepBatch(pack, [c], { render: true }));
        line({ case: 'chain', batch: 1, steps, ms_per_step: +ms.toFixed(2), steps_per_s: +(1000 / ms).toFixed(1) });
        rows.push({
          backend,
          case: 'one chain, rendered',
          detail: '1 thread',
          value: `${(1000 / ms).toFixed(1)} steps/s (${ms.toFixed(2)} ms)`,
        });
      }
      for (const B of batches) {
        if (B < 1) continue;
        const chains = await mk(B, 1000);
        for (let i = 0; i < 5; i++) await stepBatch(pack, chains);
        const n = Math.max(3, Math.round(steps / Math.sqrt(B)));
        const ms = await timed(n, () => stepBatch(pack, chains));
        line({
          case: 'batched',
          batch: B,
          steps: n,
          ms_per_step: +ms.toFixed(2),
          aggregate_steps_per_s: +((1000 / ms) * B).toFixed(1),
        });
        rows.push({
          backend,
          case: `batch ${B}`,
          detail: '1 thread',
          value: `${((1000 / ms) * B).toFixed(1)} chain-steps/s (${ms.toFixed(1)} ms per call)`,
        });
      }
      if (labels?.kind === 'classes') {
        for (const W of workerCounts) {
          const rss0 = rssMb();
          const sampler: Sampler =
            W === 0
              ? new InProcessSampler(new Map([[name, pack]]))
              : await WorkerPool.start({
                  workers: W,
                  backend: info.backend,
                  packDirs: new Map([[name, dir]]),
                  restore: () => null,
                });
          const rooms = Math.max(1, W) * roomsPerWorker;
          const ids: string[] = [];
          for (let r = 0; r < rooms; r++) {
            const st = newRoomState(`r${r}`, `r${r}`, name, {});
            st.conditions = [
              {
                id: 'c',
                target: {
                  kind: 'class',
                  condition: labels.id,
                  labels: [labels.labels[r % labels.labels.length]!],
                  variant: 'logsoftmax',
                },
                weight: 1,
                enabled: true,
                author: 'bench',
              },
            ];
            const { conditions, params, strokes, context } = st;
            await sampler.open({
              roomId: st.id,
              packId: name,
              spec: { state: { conditions, params, strokes, context }, contextImage: null },
              seed: r,
              step: 0,
            });
            ids.push(st.id);
          }
          for (let i = 0; i < 5; i++) await sampler.step(ids);
          const n = Math.max(3, Math.round(steps / Math.sqrt(roomsPerWorker)));
          const ms = await timed(n, () => sampler.step(ids));
          const rss = rssMb();
          const perWorker = W > 0 ? +((rss - rss0) / W).toFixed(0) : null;
          line({
            case: 'rooms',
            workers: W,
            rooms,
            steps: n,
            ms_per_tick: +ms.toFixed(2),
            aggregate_steps_per_s: +((1000 / ms) * rooms).toFixed(1),
            rss_mb: rss,
            rss_mb_per_worker: perWorker,
          });
          rows.push({
            backend,
            case: `${rooms} rooms, ${W === 0 ? 'main thread' : `${W} worker${W > 1 ? 's' : ''}`}`,
            detail: W > 0 ? `RSS ${rss} MB, +${perWorker} MB per worker` : `RSS ${rss} MB`,
            value: `${((1000 / ms) * rooms).toFixed(1)} chain-steps/s (${ms.toFixed(1)} ms per tick)`,
          });
          await sampler.close();
        }
      }
      pack.dispose();
    }
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
  // side by side
  const cases = [...new Set(rows.map((r) => r.case))];
  console.log(
    `\n${name}, ${os.cpus()[0]?.model ?? 'CPU'} × ${os.availableParallelism()}, Node ${process.versions.node}`,
  );
  console.log(`| case | ${backends.join(' | ')} |`);
  console.log(`|---|${backends.map(() => '---').join('|')}|`);
  for (const c of cases) {
    const cells = backends.map((b) => {
      const r = rows.find((x) => x.backend === b && x.case === c);
      return r ? `${r.value}${r.detail !== '1 thread' ? `; ${r.detail}` : ''}` : '–';
    });
    console.log(`| ${c} | ${cells.join(' | ')} |`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
  process.exit(e instanceof CliError ? e.code : 1);
});
