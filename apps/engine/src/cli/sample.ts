/**
 * Sample images from a model pack.
 *   npm run sample -- --pack emoji64 --class cat --steps 200 --seed 1 --batch 4 --out out/cat.png
 *   npm run sample -- --pack emoji64 --list
 */
import { parseArgs } from 'node:util';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  initBackend,
  createChain,
  stepBatch,
  renderChains,
  encodePng,
  contactSheet,
  cond,
  add,
  Condition,
  PpgnInputError,
  PpgnPackError,
  MODES,
  tf,
  type Mode,
  type ChainResult,
  type SamplerConfigInput,
} from '@ppgn/core';
import { CliError, openPack } from './common';

const USAGE = `usage: sample --pack <name> (--class <label> | --text "..." | --unit layer:channel)... [--steps N] [--seed S] [--batch B]
              [--mode ${MODES.join('|')}] [--eps1 x] [--eps2 x] [--eps3 x] [--eps4 x] [--lr x] [--lr-end x] [--step-size τ] [--leapfrog n] [--backend b]
              [--progress] --out <file.png | dir>
       sample --pack <name> --list`;

function num(v: string | undefined, name: string, opts: { int?: boolean; min?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min))
    throw new CliError(
      `--${name} must be ${opts.int ? 'an integer' : 'a number'}${opts.min !== undefined ? ` >= ${opts.min}` : ''} (got "${v}")`,
    );
  return n;
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        pack: { type: 'string' },
        class: { type: 'string', multiple: true },
        text: { type: 'string' },
        unit: { type: 'string', multiple: true },
        steps: { type: 'string' },
        seed: { type: 'string' },
        batch: { type: 'string' },
        mode: { type: 'string' },
        out: { type: 'string' },
        list: { type: 'boolean' },
        progress: { type: 'boolean' },
        backend: { type: 'string' },
        eps1: { type: 'string' },
        eps2: { type: 'string' },
        eps3: { type: 'string' },
        eps4: { type: 'string' },
        lr: { type: 'string' },
        'lr-end': { type: 'string' },
        'step-size': { type: 'string' },
        leapfrog: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new CliError(`${(e as Error).message.split('\n')[0]}\n${USAGE}`);
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  if (!args.pack) throw new CliError(`--pack is required\n${USAGE}`);
  const steps = num(args.steps, 'steps', { int: true, min: 1 });
  const seed = num(args.seed, 'seed', { int: true }) ?? 1;
  const batch = num(args.batch, 'batch', { int: true, min: 1 }) ?? 1;
  if (args.mode && !MODES.includes(args.mode as Mode))
    throw new CliError(`--mode must be one of ${MODES.join(', ')} (got "${args.mode}")`);
  if (!args.list && !args.out) throw new CliError(`--out is required\n${USAGE}`);
  if (!args.list && !args.class && !args.text && !args.unit)
    throw new CliError(`give at least one of --class, --text, --unit\n${USAGE}`);

  const info = await initBackend((args.backend as never) ?? undefined, { log: () => {} });
  const pack = await openPack(args.pack);
  if (args.list) {
    const c = pack.manifest.conditions.find((x) => x.kind === 'classes');
    if (!c || c.kind !== 'classes') throw new CliError(`pack ${pack.manifest.name} has no class labels`, 1);
    process.stdout.write(c.labels.join('\n') + '\n');
    return;
  }
  const terms: Condition[] = [];
  for (const l of args.class ?? []) terms.push(cond.class(l));
  if (args.text) terms.push(cond.text(args.text));
  for (const u of args.unit ?? []) {
    const m = /^([^:]+):(\d+)$/.exec(u);
    if (!m) throw new CliError(`--unit must be layer:channel (got "${u}")`);
    terms.push(cond.unit(m[1], Number(m[2])));
  }
  const condition = add(...terms);
  const config: SamplerConfigInput = {
    mode: (args.mode as Mode | undefined) ?? 'ppgn',
    eps1: num(args.eps1, 'eps1'),
    eps2: num(args.eps2, 'eps2'),
    eps3: num(args.eps3, 'eps3'),
    eps4: num(args.eps4, 'eps4'),
    lr: num(args.lr, 'lr'),
    lrEnd: num(args['lr-end'], 'lr-end'),
    stepSize: num(args['step-size'], 'step-size'),
    leapfrog: num(args.leapfrog, 'leapfrog'),
    steps,
  };
  const chains = [];
  for (let i = 0; i < batch; i++)
    chains.push(await createChain(pack, { id: `s${i}`, seed: seed + i, condition, config }));
  const total = steps ?? chains[0].config.steps;
  let results: ChainResult[] = [];
  const t0 = Date.now();
  for (let s = 0; s < total; s++) {
    results = await stepBatch(pack, chains);
    if (args.progress) {
      const w = 30;
      const k = Math.round(((s + 1) / total) * w);
      const p = results[0].pTarget;
      process.stderr.write(
        `\r[${'#'.repeat(k)}${'.'.repeat(w - k)}] ${s + 1}/${total}${p !== null ? ` p=${p.toFixed(3)}` : ''} ${((Date.now() - t0) / 1000).toFixed(1)}s`,
      );
    }
  }
  if (args.progress) process.stderr.write('\n');
  const images = await renderChains(pack, chains);
  const [H, W, C] = pack.imageShape;
  const range = pack.manifest.image.range;
  const out = path.resolve(args.out!);
  const files: string[] = [];
  let sidecar: string;
  if (out.toLowerCase().endsWith('.png')) {
    await fs.mkdir(path.dirname(out), { recursive: true });
    const img =
      batch === 1
        ? { shape: [H, W, C], data: images[0] }
        : contactSheet(
            images.map((d) => ({ shape: [H, W, C], data: d })),
            { background: range === '[0,1]' ? 1 : 1 },
          );
    await fs.writeFile(out, encodePng(img, range));
    files.push(out);
    sidecar = out.replace(/\.png$/i, '.json');
  } else {
    await fs.mkdir(out, { recursive: true });
    for (let i = 0; i < batch; i++) {
      const f = path.join(out, `sample_${String(i).padStart(3, '0')}.png`);
      await fs.writeFile(f, encodePng({ shape: [H, W, C], data: images[i] }, range));
      files.push(f);
    }
    sidecar = path.join(out, 'samples.json');
  }
  const labels = pack.manifest.conditions.find((x) => x.kind === 'classes');
  const meta = {
    pack: pack.manifest.name,
    packVersion: pack.manifest.version,
    backend: info.backend,
    mode: chains[0].config.mode,
    condition: condition.toJSON(),
    config: chains[0].config,
    seed,
    steps: total,
    batch,
    files: files.map((f) => path.relative(path.dirname(sidecar), f)),
    chains: chains.map((c, i) => ({
      seed: c.seed,
      pTarget: results[i]?.pTarget ?? null,
      scores: results[i]?.scores ?? {},
      classProbs:
        results[i]?.classProbs && labels?.kind === 'classes'
          ? Object.fromEntries(labels.labels.map((l, k) => [l, +results[i].classProbs![k].toFixed(6)]))
          : undefined,
      acceptRate: results[i]?.acceptRate,
      warnings: results[i]?.warnings,
    })),
    seconds: (Date.now() - t0) / 1000,
    reproduce: `npm run sample -- ${process.argv.slice(2).join(' ')}`,
  };
  await fs.writeFile(sidecar, JSON.stringify(meta, null, 2) + '\n');
  for (const w of new Set(results.flatMap((r) => r.warnings ?? []))) process.stderr.write(`warning: ${w}\n`);
  process.stderr.write(
    `wrote ${files.length} image${files.length > 1 ? 's' : ''} (${path.relative(process.cwd(), files[0])}) and ${path.relative(process.cwd(), sidecar)}\n`,
  );
  pack.dispose();
  void tf;
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? e.message : String(e);
  const code = e instanceof CliError ? e.code : e instanceof PpgnInputError ? 2 : e instanceof PpgnPackError ? 1 : 1;
  process.stderr.write(`error: ${e instanceof CliError ? msg : msg.split('\n')[0]}\n`);
  if (e instanceof CliError && msg.includes('\n')) process.stderr.write('');
  process.exit(code);
});
