// Helpers for the studio browser tests: the whole app on free ports, pages with a display name.
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { makeModelsDir } from './pack';
import { ROOT, freePort, startProcess, tempDir, type Proc } from './procs';

export const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');

export interface StudioApp {
  web: string;
  engine: string;
  proc: Proc;
  stop(): Promise<void>;
}

/** `npm start`'s script with its own ports, data dir and the small test pack (`env`: more settings, e.g. ENGINE_PUBLIC_URL). */
export async function startStudio(
  name: string,
  opts: { enginePort?: number; env?: Record<string, string> } = {},
): Promise<StudioApp> {
  const tmp = tempDir(name);
  const webPort = await freePort();
  const enginePort = opts.enginePort ?? (await freePort());
  const proc = startProcess(['scripts/start.mjs'], {
    PORT: String(webPort),
    ENGINE_PORT: String(enginePort),
    DATABASE_URL: '',
    PPGN_DATA_DIR: path.join(tmp.dir, 'pg'),
    PPGN_MODELS_DIR: await makeModelsDir(path.join(tmp.dir, 'models')),
    PPGN_BACKEND: 'onnx',
    ...opts.env,
  });
  await proc.waitFor(/PPGN Studio is running: +http:\/\/localhost:\d+/, 240_000);
  return {
    web: `http://localhost:${webPort}`,
    engine: `http://127.0.0.1:${enginePort}`,
    proc,
    async stop() {
      await proc.stop();
      tmp.remove();
    },
  };
}

/** A browser context whose localStorage already holds a display name (skips the name dialog). */
export async function personContext(
  browser: Browser,
  displayName: string | null,
  viewport = { width: 1400, height: 940 },
): Promise<BrowserContext> {
  const ctx = await browser.newContext({ viewport });
  if (displayName) await ctx.addInitScript((n) => window.localStorage.setItem('ppgn:name', n), displayName);
  return ctx;
}

/** Collects page errors so a test can assert none happened. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|WebSocket connection/.test(m.text()))
      errors.push(`console: ${m.text()}`);
  });
  return errors;
}

export async function until<T>(fn: () => Promise<T> | T, ok: (v: T) => boolean, what: string, ms = 20_000): Promise<T> {
  const t0 = Date.now();
  let last: T | undefined;
  while (Date.now() - t0 < ms) {
    last = await fn();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}
