/**
 * npm run train -- [--config emoji64] [--seed S] [--resume] [--out models/<name>] [--run-dir DIR] [--device cpu|cuda]
 *                  [--threads N] [--steps-scale F] [--phases joint,gref,...] [--dataset FILE]
 *
 * Data preparation runs here (installs the emoji art on first use, builds labels and the identity split, writes
 * the 8-bit dataset file); training runs in PyTorch (packages/train/python), which writes the model pack.
 */
import * as path from 'node:path';
import * as os from 'node:os';
import { existsSync } from 'node:fs';
import { ensureDatasetFile } from '../data/dataset';
import { DATASETS } from '../datasets';
import { ensureDataPackages, defaultDataDir, repoRoot } from '../data/fetch';
import { findPython, runTrainer, PythonMissingError } from '../python';
import { parseArgs } from './args';
import { writePackLexicons } from '../lexicon';

const HELP = `usage: npm run train -- [options]
  --config NAME     emoji64 (default: conv nets at 64×64, the studio's default pack), emoji64-v2 (a 2.3× wider G,
                    widened from emoji64's with --init-from models/emoji64, EMA + DiffAugment + spectral-norm D) or
                    emoji64-lite (a G of half the multiply-adds, an experiment)
  --out DIR         pack folder (default models/<config>)
  --run-dir DIR     checkpoints (default ~/.cache/ppgn/train-runs/<config>-s<seed>, outside the work tree)
  --resume          continue the run in --run-dir from its last checkpoint
  --seed S          seed for data order, augmentation and initialisation (default 1)
  --device D        cpu or cuda (default: cuda when PyTorch sees a GPU)
  --threads N       CPU threads for PyTorch (default 2; change live: echo 1 > <run-dir>/threads)
  --steps-scale F   multiply every phase's steps (quick runs: 0.01)
  --phases LIST     comma-separated subset of joint,gref,hdae,fast,style,colour,evalC
  --again P:N       run finished phase P again for N more steps from the current weights (gref:3000 refines G)
  --init-from PACK  start the run from a trained pack's weights (when its checkpoints are gone; a network whose
                    architecture differs in --config starts fresh, e.g. emoji64-lite's G); with --again
  --dataset FILE    train on an existing dataset file (<key>.u8.bin with <key>.json beside it), e.g. on a GPU
                    host without npm: python3 -m ppgn_train.train --dataset FILE ... runs the same trainer
Needs Python 3 with PyTorch ≥ 1.13 (Debian: apt-get install python3-torch libopenblas0-pthread); PYTHON overrides.`;

async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (a.help || a.h) {
    console.log(HELP);
    return;
  }
  const config = typeof a.config === 'string' ? a.config : 'emoji64';
  const dsOpts = DATASETS[config];
  if (!dsOpts) throw new Error(`unknown --config ${config} (known: ${Object.keys(DATASETS).join(', ')})`);
  const log = (m: string) => process.stderr.write(m + '\n');
  const py = findPython();
  log(`[train] python ${py.python}: torch ${py.torch}${py.cuda ? ' (CUDA)' : ''}, BLAS ${py.blas}`);
  if (!py.cuda && py.blas === 'other')
    log(
      '[train] warning: PyTorch runs on the reference BLAS (dense layers ~40× slower): apt-get install libopenblas0-pthread',
    );
  const root = repoRoot();
  const seed = typeof a.seed === 'string' ? a.seed : '1';
  let dataset: string;
  if (typeof a.dataset === 'string') {
    dataset = path.resolve(a.dataset);
    if (!existsSync(dataset)) throw new Error(`--dataset ${a.dataset}: file not found`);
  } else {
    dataset = await ensureDatasetFile(ensureDataPackages(defaultDataDir(), log), dsOpts, log);
  }
  const out = path.resolve(root, typeof a.out === 'string' ? a.out : path.join('models', config));
  const runDir =
    typeof a['run-dir'] === 'string'
      ? path.resolve(a['run-dir'])
      : path.join(
          process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'),
          'ppgn',
          'train-runs',
          `${config}-s${seed}`,
        );
  const args = ['--dataset', dataset, '--out', out, '--run-dir', runDir, '--config', config, '--seed', seed];
  args.push('--threads', typeof a.threads === 'string' ? a.threads : '2');
  if (typeof a.device === 'string') args.push('--device', a.device);
  if (typeof a['steps-scale'] === 'string') args.push('--steps-scale', a['steps-scale']);
  if (typeof a.phases === 'string') args.push('--phases', a.phases);
  if (typeof a.again === 'string') args.push('--again', a.again);
  if (typeof a['init-from'] === 'string') args.push('--init-from', path.resolve(root, a['init-from']));
  if (a.resume) args.push('--resume');
  log(`[train] checkpoints in ${runDir}; pack → ${path.relative(process.cwd(), out) || out}`);
  await runTrainer(py, 'train', args);
  if (existsSync(path.join(out, 'manifest.json')))
    try {
      writePackLexicons(out, log);
    } catch (e) {
      log(
        `[train] the keyword lexicon was not written (${(e as Error).message}): npm run lexicon -w @ppgn/train -- --pack ${out}`,
      );
    }
  log(`[train] done: npm run eval -- --pack ${path.basename(out)}`);
}

main().catch((e) => {
  process.stderr.write(`[train] error: ${e instanceof PythonMissingError ? e.message : ((e as Error).stack ?? e)}\n`);
  process.exit(1);
});
