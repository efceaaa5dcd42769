// The one way to run an engine in a process of its own: `node --import tsx apps/engine/src/main.ts` with its
// environment (the engine reads its whole configuration from it, config.ts). The cluster launcher, the load test,
// the soak test and the tests' process helpers start engines through this; `npm start` (scripts/start.mjs, plain
// JavaScript) runs the same entry with the same arguments.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../config';

export const ENGINE_MAIN = path.join(REPO_ROOT, 'apps/engine/src/main.ts');
/** node's arguments that run the engine */
export const ENGINE_ARGS = ['--import', 'tsx', ENGINE_MAIN];
/** the line an engine prints once it serves (`[engine] ready on http://localhost:PORT — packs: …`) */
export const ENGINE_READY = /ready on http:\/\/localhost:\d+/;

/**
 * An engine process with `env` (merged over this process's environment), its output piped. `detached`: in a
 * process group of its own (a Ctrl-C in the terminal then reaches the caller only, which stops the engine).
 */
export function spawnEngine(env: NodeJS.ProcessEnv, opts: { detached?: boolean } = {}): ChildProcess {
  return spawn(process.execPath, ENGINE_ARGS, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.detached ? { detached: true } : {}),
  });
}
