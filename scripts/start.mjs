// `npm start`: build the web app if needed (turbo caches it), start the engine (embedded
// Postgres when DATABASE_URL is unset), then the web app; print the URL to open.
// Any startup problem is one line on stderr and a non-zero exit; Ctrl-C stops everything.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1' };
const webPort = portFrom('PORT', 3000);
const enginePort = portFrom('ENGINE_PORT', 4000);
env.PORT = String(webPort);
env.ENGINE_PORT = String(enginePort);
const children = [];

function portFrom(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`${name} must be a port number between 1 and 65535 (got "${v}")`);
  return n;
}

function fail(line) {
  console.error(`[start] error: ${line}`);
  for (const c of children) c.kill('SIGTERM');
  process.exit(1);
}

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
  });
}

function startChild(name, cmd, args, opts, readyPattern) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    children.push(child);
    let ready = false;
    const onData = (stream) => (chunk) => {
      const text = chunk.toString();
      stream.write(text.replace(/^(?=.)/gm, `[${name}] `).replace(/\[\w+\] \[\w+\] /g, (m) => m.slice(m.indexOf(']') + 2)));
      if (!ready && readyPattern.test(text)) {
        ready = true;
        resolve(child);
      }
    };
    child.stdout.on('data', onData(process.stdout));
    child.stderr.on('data', onData(process.stderr));
    child.on('exit', (code, signal) => {
      if (!ready) reject(new Error(`${name} exited before it was ready (code ${code ?? signal})`));
      else if (!shuttingDown) fail(`${name} stopped unexpectedly (code ${code ?? signal})`);
    });
  });
}

let shuttingDown = false;
function shutdown() {
  if (shuttingDown) return;
  shuttingDown = true;
  for (const c of children) c.kill('SIGTERM');
  setTimeout(() => process.exit(0), 5000).unref();
  Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r() : c.on('exit', r))))).then(() =>
    process.exit(0),
  );
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

if (!(await portFree(webPort))) fail(`port ${webPort} is already in use — stop the other process or set PORT to a free port`);
if (!(await portFree(enginePort)))
  fail(`port ${enginePort} is already in use — stop the other process or set ENGINE_PORT to a free port`);

console.log('[start] building the web app (cached after the first run)…');
const build = spawnSync('npx', ['turbo', 'run', 'build', '--filter=@ppgn/web', '--output-logs=errors-only'], {
  cwd: root,
  env,
  stdio: 'inherit',
});
if (build.status !== 0) fail('building the web app failed (see above)');

try {
  await startChild('engine', process.execPath, ['--import', 'tsx', 'apps/engine/src/main.ts'], {}, /\[engine\] ready on/);
} catch {
  // the engine already printed its one-line reason
  fail('the engine did not start (see the line above)');
}
const nextBin = path.join(root, 'node_modules', 'next', 'dist', 'bin', 'next');
try {
  await startChild('web', process.execPath, [nextBin, 'start', '-p', String(webPort)], { cwd: path.join(root, 'apps/web') }, /Ready in|started server|Local:/);
} catch (err) {
  fail(`the web app did not start: ${err.message}`);
}
console.log(`\n  PPGN Studio is running:  http://localhost:${webPort}\n  Engine API:              http://localhost:${enginePort}/health\n  Press Ctrl-C to stop.\n`);
