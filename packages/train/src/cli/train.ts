/**
 * npm run train -w @ppgn/train -- [--config cpu-mini|gpu] [--steps N] [--seed S] [--resume] [--out models/<name>]
 *                                  [--run NAME] [--backend wasm|cpu|webgpu|tensorflow]
 */
import * as path from 'node:path';
import { CONFIGS, withBatch } from '../config';
import { train } from '../pipeline';
import { repoRoot } from '../data/fetch';
import { fmtTime } from '../progress';
import { parseArgs, intArg } from './args';

const HELP = `usage: npm run train -- [--config cpu-mini|gpu] [--steps N] [--seed S] [--resume] [--out models/<name>] [--run NAME] [--backend B]
  --config   cpu-mini (default; MLP nets, 32×32, wasm, ~15 min on 2 cores) | gpu (conv nets, 64×64, webgpu)
  --steps N  override the number of steps of every phase (quick runs)
  --seed S   seed for data order, augmentation and initialisation (default 1)
  --resume   continue the run in .cache/train-runs/<run> from its last checkpoint
  --out DIR  pack folder (default models/emoji32-mlp for cpu-mini, models/emoji64 for gpu)
  --run NAME run folder name under .cache/train-runs (default <config>-s<seed>)
  --eval-limit N  compute phase metrics on at most N images (default: all; 64 when --steps ≤ 20)
  --batch N  override the batch size of every phase (e.g. --config gpu --steps 2 --batch 2 --backend cpu to check shapes)
  --backend  override the backend (default: config's; also PPGN_BACKEND)
  --dataset FILE   train on a dataset cache file (.cache/train-data/datasets/<key>.u8.bin, written by any
                   earlier run) instead of the emoji packages: for hosts without npm access (GPU machines)
  --run-dir DIR    run folder (checkpoints) at this path instead of .cache/train-runs/<run>`;

async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (a.help || a.h) {
    console.log(HELP);
    return;
  }
  const name = typeof a.config === 'string' ? a.config : 'cpu-mini';
  const base = CONFIGS[name];
  if (!base) throw new Error(`unknown --config ${name} (known: ${Object.keys(CONFIGS).join(', ')})`);
  const batch = intArg(a.batch, 'batch');
  const cfg = batch ? withBatch(base, batch) : base;
  const root = repoRoot();
  const out = typeof a.out === 'string' ? path.resolve(root, a.out) : undefined;
  const runDir =
    typeof a['run-dir'] === 'string'
      ? path.resolve(a['run-dir'])
      : typeof a.run === 'string'
        ? path.join(root, '.cache', 'train-runs', a.run)
        : undefined;
  const summary = await train({
    config: cfg,
    steps: intArg(a.steps, 'steps'),
    seed: intArg(a.seed, 'seed'),
    resume: !!a.resume,
    out,
    runDir,
    backend: typeof a.backend === 'string' ? a.backend : undefined,
    datasetFile: typeof a.dataset === 'string' ? path.resolve(a.dataset) : undefined,
    evalLimit:
      intArg(a['eval-limit'], 'eval-limit') ??
      (intArg(a.steps, 'steps') !== undefined && Number(a.steps) <= 20 ? 64 : undefined),
    command: `npm run train -- ${process.argv.slice(2).join(' ')}`.trim(),
  });
  const rel = (p: string) => path.relative(process.cwd(), p) || p;
  process.stderr.write(
    `\n[train] done in ${fmtTime(summary.seconds)} → ${rel(summary.packDir)} (${(summary.packBytes / 2 ** 20).toFixed(1)} MiB); run folder ${rel(summary.runDir)}\n`,
  );
  for (const [k, p] of Object.entries(summary.phases))
    process.stderr.write(
      `  ${k.padEnd(8)} ${String(p.step).padStart(6)} steps ${fmtTime(p.seconds).padStart(7)}  ${Object.entries(
        p.metrics ?? {},
      )
        .map(([m, v]) => `${m}=${typeof v === 'number' ? +v.toFixed(4) : v}`)
        .join(' ')}\n`,
    );
  console.log(
    JSON.stringify({
      pack: summary.pack,
      packDir: rel(summary.packDir),
      seconds: summary.seconds,
      packBytes: summary.packBytes,
      params: summary.params,
      phases: Object.fromEntries(
        Object.entries(summary.phases).map(([k, p]) => [
          k,
          {
            steps: p.step,
            seconds: Math.round(p.seconds),
            msPerStep: p.msPerStep && +p.msPerStep.toFixed(1),
            ...p.metrics,
          },
        ]),
      ),
    }),
  );
}

main().catch((e) => {
  process.stderr.write(`[train] error: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
