/**
 * The trainer is a Python/PyTorch program (packages/train/python/ppgn_train). This module finds a Python with
 * torch, explains in one line what to install when there is none, and runs the trainer's modules.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'python');

export const TORCH_HINT =
  'install PyTorch for Python 3 (Debian/Ubuntu: sudo apt-get install python3-torch libopenblas0-pthread; ' +
  'elsewhere: pip install torch), or point PYTHON at a python that has it';

export class PythonMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PythonMissingError';
  }
}

export interface PythonInfo {
  python: string;
  torch: string;
  cuda: boolean;
  blas: string;
}

/** candidates: $PYTHON, then Debian's python3 (where apt installs torch), then python3 on PATH */
function candidates(): string[] {
  if (process.env.PYTHON) return [process.env.PYTHON];
  return ['/usr/bin/python3', 'python3'].filter((p, i) => i > 0 || existsSync(p));
}

const PROBE =
  'import json, torch; ' +
  'cfg = torch.__config__.show(); ' +
  "blas = 'openblas' if 'openblas' in cfg.lower() or 'OpenBLAS' in cfg else ('mkl' if 'mkl' in cfg.lower() else 'other'); " +
  "print(json.dumps({'torch': torch.__version__, 'cuda': torch.cuda.is_available(), 'blas': blas}))";

/** the first python with torch ≥ 1.13, or a PythonMissingError that says what to install */
export function findPython(): PythonInfo {
  const tried: string[] = [];
  for (const py of candidates()) {
    const r = spawnSync(py, ['-c', PROBE], { encoding: 'utf8', timeout: 120_000 });
    if (r.error) {
      tried.push(`${py}: not found`);
      continue;
    }
    if (r.status !== 0) {
      tried.push(`${py}: no torch`);
      continue;
    }
    const info = JSON.parse(r.stdout.trim().split('\n').pop()!) as Omit<PythonInfo, 'python'>;
    const [maj, min] = info.torch.split('.').map((x) => parseInt(x, 10));
    if (maj < 1 || (maj === 1 && min < 13)) {
      tried.push(`${py}: torch ${info.torch} < 1.13`);
      continue;
    }
    return { python: py, ...info };
  }
  throw new PythonMissingError(
    `training needs Python 3 with PyTorch ≥ 1.13 (${tried.join('; ') || 'no python3'}): ${TORCH_HINT}`,
  );
}

/** run `python -m ppgn_train.<module> args…`, streaming its progress to stderr; rejects on a non-zero exit */
export function runTrainer(
  py: PythonInfo,
  module: string,
  args: string[],
  opts: { quiet?: boolean; onLine?: (line: string) => void } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(py.python, ['-m', `ppgn_train.${module}`, ...args], {
      cwd: PYTHON_DIR,
      env: { ...process.env, PYTHONPATH: PYTHON_DIR, PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    const onData = (b: Buffer) => {
      const s = b.toString();
      tail = (tail + s).slice(-4000);
      if (!opts.quiet) process.stderr.write(s);
      if (opts.onLine) for (const l of s.split('\n')) if (l) opts.onLine(l);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`trainer ${module} exited with ${signal ?? code}${opts.quiet ? `:\n${tail}` : ''}`));
    });
  });
}
