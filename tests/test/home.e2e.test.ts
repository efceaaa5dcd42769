// The quick start as a person sees it: `npm start`'s script, Debian's Chromium, the home page.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../support/browser';
import { makeModelsDir } from '../support/pack';
import { ROOT, freePort, startProcess, tempDir, type Proc } from '../support/procs';

const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');
const tmp = tempDir('e2e-home');
let app: Proc;
let browser: Browser;
let webPort: number;

let enginePort = 0;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  webPort = await freePort();
  app = startProcess(['scripts/start.mjs'], {
    PORT: String(webPort),
    ENGINE_PORT: String((enginePort = await freePort())),
    DATABASE_URL: '',
    PPGN_DATA_DIR: path.join(tmp.dir, 'pg'),
    PPGN_MODELS_DIR: await makeModelsDir(path.join(tmp.dir, 'models')),
    PPGN_BACKEND: 'onnx',
  });
  await app.waitFor(/PPGN Studio is running: +http:\/\/localhost:\d+/, 240_000);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  tmp.remove();
});

describe('home page', () => {
  it('shows the engine status fetched live from the engine', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await page.goto(`http://localhost:${webPort}/`);
    await expect(page.getByRole('heading', { name: /Plug & Play Generative Networks/ }).isVisible()).resolves.toBe(
      true,
    );
    const ok = page.getByTestId('engine-ok');
    await ok.waitFor({ timeout: 30_000 });
    expect(await ok.textContent()).toMatch(/ready/);
    expect(await page.getByTestId('engine-backend').textContent()).toMatch(
      /^ONNX Runtime [\d.]+ \(cpu, 1 thread per worker\) \(CPU\)/,
    );
    expect(await page.getByTestId('engine-packs').textContent()).toMatch(/testpack/);
    expect(await page.getByTestId('engine-db').textContent()).toMatch(/reachable \(embedded Postgres\)/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'home.png'), fullPage: true });
  });

  it('may not be framed by another site: frame-ancestors none on every page', async () => {
    for (const p of ['/', '/gallery', '/room/some-room?t=token']) {
      const res = await fetch(`http://localhost:${webPort}${p}`);
      expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    // a page of another origin that frames the studio gets nothing in the frame
    const page = await browser.newPage();
    await page.setContent(`<iframe id="f" src="http://localhost:${webPort}/"></iframe>`);
    await page.waitForTimeout(1500);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    const framed = frame ? await frame.evaluate(() => document.body?.innerText ?? '').catch(() => '') : '';
    expect(framed).not.toMatch(/Plug & Play Generative Networks/);
    await page.close();
  });

  // last: it takes the engine down
  it('npm start restarts an engine that stops unexpectedly while the web app stays up (issue 21, item 4)', async () => {
    const pid = Number(/engine running \(pid (\d+)\)/.exec(app.output())![1]);
    process.kill(pid, 'SIGKILL');
    await app.waitFor(/the engine stopped unexpectedly \(SIGKILL\); starting it again in 1 s/, 20_000);
    expect((await fetch(`http://127.0.0.1:${webPort}/`)).status).toBe(200);
    await app.waitFor(/the engine is running again \(pid \d+\)/, 180_000);
    expect((await fetch(`http://127.0.0.1:${enginePort}/health`)).status).toBe(200);
    expect(app.child.exitCode).toBeNull();
  }, 240_000);
});
