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
  it('npm start restarts an engine killed with SIGKILL: the page stays up, shows the outage, and the room resumes at its step (issue 21, item 4)', async () => {
    const engine = `http://127.0.0.1:${enginePort}`;
    const created = (await (
      await fetch(`${engine}/rooms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ author: 'Sam', name: 'Outage room' }),
      })
    ).json()) as { id: string; tokens: { owner: string } };
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`http://localhost:${webPort}/room/${created.id}?t=${created.tokens.owner}`);
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Display name').fill('Sam');
    await dialog.getByRole('button', { name: 'Join the room' }).click();
    const badge = page.getByTestId('run-state');
    // let it run a little, then pause: the step it stopped at is what must come back
    await page.waitForFunction(
      () =>
        /live · step (\d+)/.test(document.querySelector('[data-testid=run-state]')?.textContent ?? '') &&
        Number(/step (\d+)/.exec(document.querySelector('[data-testid=run-state]')!.textContent!)![1]) >= 5,
      undefined,
      { timeout: 30_000 },
    );
    await page.getByTestId('play-pause').click();
    await page.waitForFunction(
      () => /^paused · step \d+$/.test(document.querySelector('[data-testid=run-state]')?.textContent ?? ''),
      undefined,
      { timeout: 10_000 },
    );
    // the step in flight at the pause still lands (and shows); a paused room's position is written when it
    // does, within the write-behind window (1 s)
    await page.waitForTimeout(1500);
    const step = Number(/paused · step (\d+)/.exec((await badge.textContent())!)![1]);

    const pid = Number(/engine running \(pid (\d+)\)/.exec(app.output())![1]);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    await app.waitFor(/the engine stopped unexpectedly \(SIGKILL\); starting it again in 1 s/, 20_000);
    // the web app is still up and the room says the engine is away, with the last step it saw
    expect((await fetch(`http://127.0.0.1:${webPort}/`)).status).toBe(200);
    await page.getByTestId('reconnect-banner').waitFor({ timeout: 10_000 });
    expect(await badge.textContent()).toBe(`offline · last step ${step}`);

    await app.waitFor(/the engine is running again \(pid \d+\)/, 180_000);
    const engineBackS = (Date.now() - killedAt) / 1000;
    expect((await fetch(`${engine}/health`)).status).toBe(200);
    // the same page reconnects by itself and shows the room where it stopped
    await page.getByTestId('reconnect-banner').waitFor({ state: 'detached', timeout: 30_000 });
    const pageBackS = (Date.now() - killedAt) / 1000;
    await page.waitForFunction(
      (s) => document.querySelector('[data-testid=run-state]')?.textContent === `paused · step ${s}`,
      step,
      { timeout: 10_000 },
    );
    // and it runs on from there
    await page.getByTestId('play-pause').click();
    await page.waitForFunction(
      (s) =>
        Number(
          /live · step (\d+)/.exec(document.querySelector('[data-testid=run-state]')?.textContent ?? '')?.[1] ?? -1,
        ) > s,
      step,
      { timeout: 30_000 },
    );
    console.log(
      `[supervisor] SIGKILL → engine answering in ${engineBackS.toFixed(1)} s, the open room page back in ${pageBackS.toFixed(1)} s (room resumed at step ${step})`,
    );
    expect(app.child.exitCode).toBeNull();
    await page.close();
  }, 300_000);
});
