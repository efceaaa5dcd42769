/**
 * npm run eval -- --pack <name|dir> [--chains 16] [--steps 200] [--classes a,b] [--seed S] [--modes ppgn,dgnam,fast]
 *        [--inpaint 24] [--inpaint-start mean|random|diffuse|mirror (default mean, the card's)] [--reuse earlier.json (keep its modes)] [--eps1 x --eps2 x --eps3 x --lr x --lr-end x (ppgn overrides)] [--jitter px (ppgn, dgnam, inpainting)]
 *        [--config '{"fast": {"eps1": 8}, "context": {"eps2": 2}}' (settings per mode)] [--no-write] [--img-dir docs/img]
 * Prints ONE JSON object on stdout; progress on stderr; contact sheets to docs/img/<pack>-{ppgn,dgnam,fast,inpaint,real,recon}.png.
 */
import * as path from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { initBackend, installFastMatMulGrad, type SamplerConfigInput } from '@ppgn/core';
import { evaluatePack, INPAINT_START, INPAINT_STARTS, type EvalMode, type InpaintStart } from '../evaluate';
import { ensureDataPackages, defaultDataDir, repoRoot } from '../data/fetch';
import { parseArgs, intArg } from './args';

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const root = repoRoot();
  const name = typeof a.pack === 'string' ? a.pack : 'emoji64';
  const packDir = existsSync(path.join(root, 'models', name, 'manifest.json'))
    ? path.join(root, 'models', name)
    : path.resolve(process.env.INIT_CWD ?? process.cwd(), name); // npm runs us in packages/train: resolve from where the user typed
  if (!existsSync(path.join(packDir, 'manifest.json')))
    throw new Error(`pack "${name}" not found (looked in models/${name} and ${packDir})`);
  const log = (m: string) => process.stderr.write(m + '\n');
  // the runtime the engine picks (--backend, else PPGN_BACKEND, else auto: ONNX Runtime unless tfjs-node is
  // installed), so the numbers are those of what users run
  await initBackend(typeof a.backend === 'string' ? (a.backend as 'onnx') : undefined, {
    log,
  });
  installFastMatMulGrad();
  const ppgn: SamplerConfigInput = {};
  const num = (k: string) => (a[k] !== undefined ? Number(a[k]) : undefined);
  if (num('eps1') !== undefined) ppgn.eps1 = num('eps1');
  if (num('eps2') !== undefined) ppgn.eps2 = num('eps2');
  if (num('eps3') !== undefined) ppgn.eps3 = num('eps3');
  if (num('lr') !== undefined) ppgn.lr = num('lr');
  if (num('lr-end') !== undefined) ppgn.lrEnd = num('lr-end');
  if (typeof a.prior === 'string') ppgn.prior = a.prior as SamplerConfigInput['prior'];
  // the view shifts apply to every mode whose condition nets read G(h)
  const jitter = num('jitter');
  const config: NonNullable<Parameters<typeof evaluatePack>[0]['config']> = {};
  if (Object.keys(ppgn).length) config.ppgn = ppgn;
  if (jitter !== undefined) for (const m of ['ppgn', 'dgnam', 'context'] as const) config[m] = { ...config[m], jitter };
  // --config '{"fast": {"eps1": 8}, "context": {"eps2": 2}}': settings per mode (and 'context' for inpainting)
  if (typeof a.config === 'string') {
    let extra: unknown;
    try {
      extra = JSON.parse(a.config);
    } catch {
      throw new Error(`--config is not JSON: ${a.config}`);
    }
    if (!extra || typeof extra !== 'object' || Array.isArray(extra))
      throw new Error('--config must be a JSON object of mode → settings');
    for (const [m, v] of Object.entries(extra as Record<string, SamplerConfigInput>)) {
      if (!['ppgn', 'dgnam', 'fast', 'context'].includes(m))
        throw new Error(`--config: unknown mode "${m}" (ppgn, dgnam, fast or context)`);
      const k = m as keyof typeof config;
      config[k] = { ...config[k], ...v };
    }
  }
  const tuned = Object.keys(config).length > 0;
  const inpaintStart = inpaintStartArg(a['inpaint-start']) ?? INPAINT_START;
  const out = await evaluatePack({
    packDir,
    dataDir: ensureDataPackages(defaultDataDir(), log),
    chains: intArg(a.chains, 'chains') ?? 16,
    steps: intArg(a.steps, 'steps') ?? 200,
    seed: intArg(a.seed, 'seed'),
    classes: typeof a.classes === 'string' ? a.classes.split(',') : undefined,
    modes: typeof a.modes === 'string' ? (a.modes.split(',').filter(Boolean) as EvalMode[]) : undefined,
    inpaint: intArg(a.inpaint, 'inpaint'),
    inpaintStart,
    config: tuned ? config : undefined,
    reuse:
      typeof a.reuse === 'string' ? (JSON.parse(readFileSync(a.reuse, 'utf8')) as Record<string, unknown>) : undefined,
    // --no-write writes nothing into the repository: no card, and no contact sheets unless --img-dir names a folder
    imgDir:
      a['no-images'] || (a['no-write'] && typeof a['img-dir'] !== 'string')
        ? undefined
        : path.resolve(root, typeof a['img-dir'] === 'string' ? a['img-dir'] : 'docs/img'),
    // the card holds the standard protocol only: other settings, classes or inpainting starts print their numbers
    writeCard: !a['no-write'] && !tuned && !a.classes && inpaintStart === INPAINT_START,
    log,
  });
  console.log(JSON.stringify(out));
}

function inpaintStartArg(v: unknown): InpaintStart | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(INPAINT_STARTS as readonly string[]).includes(v))
    throw new Error(`--inpaint-start must be one of ${INPAINT_STARTS.join(', ')}`);
  return v as InpaintStart;
}

main().catch((e) => {
  process.stderr.write(`[eval] error: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
