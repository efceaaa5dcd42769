// `npm test`: lint and format check, then every workspace's type check and tests through turbo, one workspace at a time (2-core machines),
// then one summary line: "N passed, N failed" and the total wall time.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const reports = path.join(root, '.cache', 'test-reports');
rmSync(reports, { recursive: true, force: true });
const t0 = Date.now();
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1' };
console.log('[test] lint (eslint .) and format (prettier --check .)');
const eslint = spawnSync('npx', ['eslint', '.'], { cwd: root, stdio: 'inherit', env });
const prettier = spawnSync('npx', ['prettier', '--check', '--log-level', 'warn', '.'], {
  cwd: root,
  stdio: 'inherit',
  env,
});
if (prettier.status !== 0) console.log('[test] files above do not match .prettierrc.json: run `npm run format`');
const lint = { status: eslint.status || prettier.status };
const r = spawnSync(
  'npx',
  ['turbo', 'run', 'typecheck', 'test', '--concurrency=1', '--continue', ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit', env },
);
let passed = 0;
let failed = 0;
let skipped = 0;
const perWorkspace = [];
if (existsSync(reports)) {
  for (const f of readdirSync(reports).filter((f) => f.endsWith('.json'))) {
    const j = JSON.parse(readFileSync(path.join(reports, f), 'utf8'));
    passed += j.numPassedTests ?? 0;
    failed += j.numFailedTests ?? 0;
    skipped += (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
    perWorkspace.push(`${f.replace(/\.json$/, '')}: ${j.numPassedTests}/${j.numTotalTests}`);
  }
}
const secs = ((Date.now() - t0) / 1000).toFixed(1);
console.log(`\n[test] ${perWorkspace.join(' · ')}`);
console.log(`[test] total time ${secs} s`);
if (lint.status !== 0) console.log('[test] lint failed (see above)');
if ((r.status !== 0 || lint.status !== 0) && failed === 0) failed = 1; // lint or a type check failed, or a workspace failed before reporting
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
// a failed test fails the run even if its runner exited 0 (it happened: see packages/db/src/embedded.ts)
process.exit(r.status || lint.status || (failed > 0 ? 1 : 0));
