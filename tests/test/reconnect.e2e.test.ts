// Connection trouble as people see it: the browser reaches the engine through a loopback TCP proxy
// (ENGINE_PUBLIC_URL) that the test cuts. A drop shows the reconnect banner until the engine is
// back, then the room goes on with the same person in it; a bad room link shows the bad-link page,
// never the banner, and is not retried. Real engine + web app, Debian's Chromium.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Member } from '@ppgn/shared';
import { launchBrowser } from '../support/browser';
import { freePort } from '../support/procs';
import { TcpProxy } from '../support/proxy';
import { ARTIFACTS, personContext, startStudio, until, watchErrors, type StudioApp } from '../support/studio';

let app: StudioApp;
let browser: Browser;
let proxy: TcpProxy;
const contexts: BrowserContext[] = [];
const pageErrors: string[][] = [];
let room: { id: string; tokens: { owner: string; editor: string; viewer: string } };

async function newPerson(name: string | null): Promise<Page> {
  const ctx = await personContext(browser, name);
  contexts.push(ctx);
  const page = await ctx.newPage();
  pageErrors.push(watchErrors(page));
  return page;
}

/** room:join messages the page sends over its WebSockets */
function countJoins(page: Page): { n: number } {
  const count = { n: 0 };
  page.on('websocket', (ws) =>
    ws.on('framesent', (f) => void (typeof f.payload === 'string' && f.payload.includes('"room:join"') && count.n++)),
  );
  return count;
}

const drawn = (p: Page) =>
  p.getByTestId('frame-canvas').evaluate((c) => Number((c as HTMLCanvasElement).dataset.drawn ?? 0));
const members = async (): Promise<Member[]> =>
  ((await (await fetch(`${app.engine}/rooms/${room.id}?token=${room.tokens.viewer}`)).json()) as { members: Member[] })
    .members;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const enginePort = await freePort();
  proxy = new TcpProxy(enginePort);
  const via = await proxy.listen();
  app = await startStudio('e2e-reconnect', { enginePort, env: { ENGINE_PUBLIC_URL: via } });
  browser = await launchBrowser();
  const res = await fetch(`${app.engine}/rooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      author: 'Olga',
      name: 'Flaky network',
      conditions: [{ target: { kind: 'class', condition: 'class', labels: ['cat'] } }],
      params: { fps: 10 },
    }),
  });
  expect(res.status).toBe(201);
  room = (await res.json()) as typeof room;
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await app?.stop();
  await proxy?.close();
});

describe('connection trouble', () => {
  it('a dropped connection shows the reconnect banner, which goes away when the engine is back; same person, no duplicate', async () => {
    const page = await newPerson('Pat');
    const joins = countJoins(page);
    await page.goto(`${app.web}/room/${room.id}?t=${room.tokens.editor}`);
    await expect(page.getByTestId('my-role').textContent({ timeout: 30_000 })).resolves.toBe('editor');
    await until(
      () => drawn(page),
      (n) => n >= 2,
      'frames',
    );
    const [me] = await members();
    expect(me).toMatchObject({ name: 'Pat' });
    expect(await page.getByTestId('reconnect-banner').count()).toBe(0);

    // the network goes away
    proxy.refuse = true;
    proxy.cut();
    await page.getByTestId('reconnect-banner').waitFor({ timeout: 5000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'reconnect-banner.png') });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await page.getByTestId('reconnect-banner').count()).toBe(1);
    expect(await page.getByTestId('room-failed').count()).toBe(0);
    // the room no longer says it is live (issue 21, item 4), and no raw "unreachable" toast appears
    await expect(page.getByTestId('run-state').textContent()).resolves.toMatch(/^offline · last step \d+$/);
    expect(await page.getByTestId('toast').count()).toBe(0);
    // meanwhile the engine keeps Pat's place, shown as reconnecting
    expect(await members()).toEqual([expect.objectContaining({ userId: me!.userId, away: true })]);

    // and comes back: the banner goes within a few seconds, the room goes on, Pat is Pat once
    proxy.refuse = false;
    const t0 = Date.now();
    await page.getByTestId('reconnect-banner').waitFor({ state: 'detached', timeout: 8000 });
    expect(Date.now() - t0).toBeLessThan(8000);
    const before = await drawn(page);
    await until(
      () => drawn(page),
      (n) => n >= before + 2,
      'frames after the reconnect',
    );
    expect(await page.getByTestId('my-role').textContent()).toBe('editor');
    await until(members, (m) => m.length === 1 && m[0]!.userId === me!.userId && !m[0]!.away, 'Pat back, once');
    expect(joins.n).toBe(1); // connection state recovery: no second join
  });

  it('a bad room link shows the bad-link page, not the banner, and is not retried', async () => {
    const page = await newPerson('Pat');
    const joins = countJoins(page);
    await page.goto(`${app.web}/room/${room.id}?t=not-the-token`);
    await expect(page.getByTestId('bad-link').textContent({ timeout: 30_000 })).resolves.toBe(
      'This room link is not valid',
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'bad-link.png') });
    await new Promise((r) => setTimeout(r, 3000));
    expect(await page.getByTestId('reconnect-banner').count()).toBe(0);
    expect(await page.getByTestId('toast').count()).toBe(0); // nothing else of the room was asked for
    expect(joins.n).toBe(1);
    await page.getByTestId('go-home').click();
    await page.waitForURL(`${app.web}/`);

    const gone = await newPerson('Pat');
    await gone.goto(`${app.web}/room/NoSuchRoom1?t=${room.tokens.editor}`);
    await expect(gone.getByTestId('bad-link').textContent({ timeout: 30_000 })).resolves.toBe(
      'This room does not exist',
    );
    expect(await gone.getByTestId('reconnect-banner').count()).toBe(0);

    // a first visit (no name yet) checks the link before asking for a name (issue 21, item 8)
    const first = await newPerson(null);
    await first.goto(`${app.web}/room/NoSuchRoom2?t=${room.tokens.editor}`);
    await expect(first.getByTestId('bad-link').textContent({ timeout: 30_000 })).resolves.toBe(
      'This room does not exist',
    );
    expect(await first.getByRole('dialog').count()).toBe(0);
    const firstBad = await newPerson(null);
    await firstBad.goto(`${app.web}/room/${room.id}?t=not-the-token`);
    await expect(firstBad.getByTestId('bad-link').textContent({ timeout: 30_000 })).resolves.toBe(
      'This room link is not valid',
    );
  });

  it('an unreachable engine shows the banner (not the bad-link page) and joins once it is reachable', async () => {
    proxy.refuse = true;
    const page = await newPerson('Una');
    await page.goto(`${app.web}/room/${room.id}?t=${room.tokens.viewer}`);
    await page.getByTestId('reconnect-banner').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('room-failed').count()).toBe(0);
    proxy.refuse = false;
    await expect(page.getByTestId('my-role').textContent({ timeout: 20_000 })).resolves.toBe('viewer');
    await page.getByTestId('reconnect-banner').waitFor({ state: 'detached', timeout: 10_000 });
  });

  it('had no uncaught errors in any page', () => {
    expect(pageErrors.flat()).toEqual([]);
  });
});
