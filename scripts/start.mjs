// `npm start`: build the web app if needed (turbo caches it), start the engine (embedded
// Postgres when DATABASE_URL is unset), then the web app; print the URL to open.
// Any startup problem is one line on stderr and a non-zero exit; Ctrl-C stops everything.
// Once running, a supervisor restarts the engine (or the web app) if it stops unexpectedly, with back-off
// (1 s, 2 s, 4 s … 30 s; back to 1 s after a minute up): the web app stays up meanwhile and rooms show their
// reconnect banner until the engine is back.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1' };
const webPort = portFrom('PORT', 3000);
// the engine's default port is DEFAULT_ENGINE_PORT of @ppgn/shared (TypeScript, not importable here; a test checks)
const enginePort = portFrom('ENGINE_PORT', 4000);
env.PORT = String(webPort);
env.ENGINE_PORT = String(enginePort);
const children = [];

function portFrom(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    fail(`${name} must be a port number between 1 and 65535 (got "${v}")`);
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
    child.once('exit', () => children.splice(children.indexOf(child), 1));
    let ready = false;
    const onData = (stream) => (chunk) => {
      const text = chunk.toString();
      stream.write(
        text.replace(/^(?=.)/gm, `[${name}] `).replace(/\[\w+\] \[\w+\] /g, (m) => m.slice(m.indexOf(']') + 2)),
      );
      if (!ready && readyPattern.test(text)) {
        ready = true;
        resolve(child);
      }
    };
    child.stdout.on('data', onData(process.stdout));
    child.stderr.on('data', onData(process.stderr));
    child.on('exit', (code, signal) => {
      if (!ready) reject(new Error(`${name} exited before it was ready (code ${code ?? signal})`));
      else if (!shuttingDown) supervisor[name]?.(`${code ?? signal}`);
    });
  });
}

/** name → what to do when it stops after it was ready: start it again with back-off */
const supervisor = {};
function supervise(name, start) {
  let attempt = 0;
  let upSince = Date.now();
  const again = (why) => {
    if (shuttingDown) return;
    if (Date.now() - upSince > 60_000) attempt = 0;
    const delay = Math.min(30_000, 1000 * 2 ** attempt++);
    console.error(`[start] the ${name} stopped unexpectedly (${why}); starting it again in ${delay / 1000} s`);
    setTimeout(() => {
      if (shuttingDown) return;
      start().then(
        (child) => {
          upSince = Date.now();
          console.log(`[start] the ${name} is running again (pid ${child.pid})`);
        },
        (err) => again(err.message),
      );
    }, delay);
  };
  supervisor[name] = again;
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

if (!(await portFree(webPort)))
  fail(`port ${webPort} is already in use — stop the other process or set PORT to a free port`);
if (!(await portFree(enginePort)))
  fail(`port ${enginePort} is already in use — stop the other process or set ENGINE_PORT to a free port`);

console.log('[start] building the web app (cached after the first run)…');
const build = spawnSync('npx', ['turbo', 'run', 'build', '--filter=@ppgn/web', '--output-logs=errors-only'], {
  cwd: root,
  env,
  stdio: 'inherit',
});
if (build.status !== 0) fail('building the web app failed (see above)');

const startEngine = () =>
  startChild('engine', process.execPath, ['--import', 'tsx', 'apps/engine/src/main.ts'], {}, /\[engine\] ready on/);
try {
  const engine = await startEngine();
  console.log(`[start] engine running (pid ${engine.pid})`);
  supervise('engine', startEngine);
} catch {
  // the engine already printed its one-line reason
  fail('the engine did not start (see the line above)');
}
const nextBin = path.join(root, 'node_modules', 'next', 'dist', 'bin', 'next');
const startWeb = () =>
  startChild(
    'web',
    process.execPath,
    [nextBin, 'start', '-p', String(webPort)],
    { cwd: path.join(root, 'apps/web') },
    /Ready in|started server|Local:/,
  );
try {
  await startWeb();
  supervise('web', startWeb);
} catch (err) {
  fail(`the web app did not start: ${err.message}`);
}
console.log(
  `\n  PPGN Studio is running:  http://localhost:${webPort}\n  Engine API:              http://localhost:${enginePort}/health\n  Press Ctrl-C to stop.\n`,
);
