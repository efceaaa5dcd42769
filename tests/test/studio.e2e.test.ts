// The studio as people use it: two browsers co-steer one room, a viewer watches, a saved frame
// goes to the gallery and is remixed into a new room. Real engine + web app, Debian's Chromium.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { io } from 'socket.io-client';
import type { Ack, ClientToServerEvents, JoinResult, ServerToClientEvents } from '@ppgn/shared';
import type { Socket } from 'socket.io-client';
import { launchBrowser } from '../support/browser';
import { ARTIFACTS, personContext, startStudio, until, watchErrors, type StudioApp } from '../support/studio';

let app: StudioApp;
let browser: Browser;
const contexts: BrowserContext[] = [];
let owner: Page;
let roomUrl = '';
let editorLink = '';
let viewerLink = '';
let savedItemId = '';
const pageErrors: string[][] = [];

async function newPerson(name: string | null, viewport?: { width: number; height: number }): Promise<Page> {
  const ctx = await personContext(browser, name, viewport);
  contexts.push(ctx);
  const page = await ctx.newPage();
  pageErrors.push(watchErrors(page));
  return page;
}

const drawn = (p: Page) =>
  p.getByTestId('frame-canvas').evaluate((c) => Number((c as HTMLCanvasElement).dataset.drawn ?? 0));
/** the tooltip of the first condition's score: which score the engine says measures it */
const scoreTitle = (p: Page) =>
  p
    .getByTestId('condition-score')
    .first()
    .getAttribute('title', { timeout: 1000 })
    .catch(() => null);
const strokeCount = (p: Page) => p.getByTestId('mask-overlay').evaluate((s) => Number(s.getAttribute('data-strokes')));

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  app = await startStudio('e2e-studio');
  browser = await launchBrowser();
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await app?.stop();
});

describe('studio', () => {
  it("creates a room from the home page with a pack, a start class and the owner's name", async () => {
    owner = await newPerson(null);
    await owner.goto(`${app.web}/`);
    const create = owner.getByTestId('create-room');
    await until(
      () => create.getByLabel('Model pack').inputValue(),
      (v) => v === 'testpack',
      'packs loaded',
    );
    await owner.getByTestId('engine-ok').waitFor({ timeout: 20_000 });
    await owner.screenshot({ path: path.join(ARTIFACTS, 'studio-home.png'), fullPage: true });
    await create.getByLabel('Your name').fill('Alice');
    await create.getByLabel('Search start classes').fill('ca');
    await create.getByRole('radio', { name: 'cat' }).click();
    await create.getByRole('button', { name: 'Create room' }).click();
    await owner.waitForURL(/\/room\/[\w-]+\?t=/, { timeout: 30_000 });
    roomUrl = owner.url();
    await expect(owner.getByTestId('my-role').textContent({ timeout: 20_000 })).resolves.toBe('owner');
    // the start class is the first condition; frames are streaming
    await expect(owner.getByLabel('Class of condition cat').inputValue()).resolves.toBe('cat');
    await until(
      () => drawn(owner),
      (n) => n >= 2,
      'owner frames',
    );
    // the condition's score as the engine names it for this condition id, next to the condition
    await until(
      () => scoreTitle(owner),
      (t) => t === 'p(cat) at the latest frame',
      'score of the cat condition',
    );
    await expect(owner.getByTestId('condition-score').first().textContent()).resolves.toMatch(/^\d\.\d\d$/);
    editorLink = await owner.getByTestId('share-editor').inputValue();
    viewerLink = await owner.getByTestId('share-viewer').inputValue();
    expect(editorLink).toMatch(/\/room\/[\w-]+\?t=/);
    expect(viewerLink).not.toBe(editorLink);
  });

  it('two people co-steer: one changes the class and paints, the other sees it live', async () => {
    const bob = await newPerson(null);
    await bob.goto(editorLink);
    // asked once for a display name
    const dialog = bob.getByRole('dialog');
    await expect(dialog.getByLabel('Display name').inputValue()).resolves.toMatch(/^Guest \d+$/);
    await dialog.getByLabel('Display name').fill('Bob');
    await dialog.getByRole('button', { name: 'Join the room' }).click();
    await expect(bob.getByTestId('my-role').textContent({ timeout: 20_000 })).resolves.toBe('editor');
    await bob.getByLabel('Class of condition cat').selectOption('dog');

    // keywords in another language: the chips say what each word means, and the engine steers by it
    await bob.getByRole('tab', { name: 'Keywords' }).click();
    await bob.getByLabel('Describe with keywords').fill('algo rojo y feliz');
    const chips = bob.getByTestId('keyword-matches');
    await until(
      () => chips.textContent(),
      (t) => t === '? algo✓ rojo → red✓ feliz → happy',
      'translated keyword chips (the lexicon loads from the engine)',
    );
    await bob.getByRole('button', { name: 'Add keywords' }).click();
    await until(
      () => owner.getByTestId('condition-panel').textContent(),
      (t) => (t ?? '').includes('“algo rojo y feliz”'),
      'the keyword condition on the other page',
    );

    // paint a diagonal stroke with the brush
    await bob.getByRole('button', { name: 'Brush' }).click();
    await bob.getByTestId('stage').scrollIntoViewIfNeeded();
    const box = (await bob.getByTestId('mask-layer').boundingBox())!;
    await bob.mouse.move(box.x + box.width * 0.25, box.y + box.height * 0.25);
    await bob.mouse.down();
    for (let i = 1; i <= 10; i++)
      await bob.mouse.move(box.x + box.width * (0.25 + i * 0.05), box.y + box.height * (0.25 + i * 0.04));
    await bob.mouse.up();
    await bob.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.3);

    // Alice sees the new condition, the stroke, Bob's cursor, and frames keep changing
    await until(
      () => owner.getByLabel(/Class of condition/).inputValue(),
      (v) => v === 'dog',
      'class change on the other page',
    );
    await until(
      () => strokeCount(owner),
      (n) => n === 1,
      'stroke on the other page',
    );
    await owner.getByTestId('remote-cursor').filter({ hasText: 'Bob' }).waitFor({ timeout: 10_000 });
    await expect(owner.getByTestId('presence').textContent()).resolves.toMatch(/Bob.*editor/);
    const before = await drawn(owner);
    const stepBefore = await owner.getByTestId('frame-canvas').getAttribute('data-step');
    await until(
      () => drawn(owner),
      (n) => n >= before + 3,
      'more frames',
    );
    expect(await owner.getByTestId('frame-canvas').getAttribute('data-step')).not.toBe(stepBefore);
    await expect(owner.getByTestId('activity').textContent()).resolves.toMatch(/Bob.*painted on the mask/);

    // the mask overlay really covers part of the canvas
    const paths = await owner
      .getByTestId('mask-overlay')
      .evaluate((s) => s.querySelectorAll('mask polyline, mask circle').length);
    expect(paths).toBe(1);

    // Bob's undo (Ctrl-Z) removes only his stroke; redo brings it back
    await bob.keyboard.press('Control+z');
    await until(
      () => strokeCount(owner),
      (n) => n === 0,
      'undo on the other page',
    );
    await bob.keyboard.press('Control+Shift+z');
    await until(
      () => strokeCount(owner),
      (n) => n === 1,
      'redo on the other page',
    );

    await owner.mouse.move(10, 10);
    await owner.screenshot({ path: path.join(ARTIFACTS, 'studio-room.png') });
    await bob.screenshot({ path: path.join(ARTIFACTS, 'studio-room-editor.png') });
  });

  it('a viewer sees the room but no steering controls, and the server refuses its intents', async () => {
    const viewer = await newPerson('Vera', { width: 420, height: 900 }); // a phone: the layout stacks
    await viewer.goto(viewerLink);
    await expect(viewer.getByTestId('my-role').textContent({ timeout: 20_000 })).resolves.toBe('viewer');
    await until(
      () => viewer.getByTestId('condition-desc').first().textContent(),
      (t) => t === 'dog',
      'viewer sees the condition',
    );
    // after Bob's change the condition is scored as p(dog)
    await until(
      () => scoreTitle(viewer),
      (t) => t === 'p(dog) at the latest frame',
      'viewer sees the score of the dog condition',
    );
    await until(
      () => strokeCount(viewer),
      (n) => n === 1,
      'viewer sees the mask',
    );
    await until(
      () => drawn(viewer),
      (n) => n >= 2,
      'viewer frames',
    );
    expect(await viewer.getByTestId('transport').count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Brush' }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: /^Add/ }).count()).toBe(0);
    for (const panel of ['condition-panel', 'params-panel']) {
      const controls = await viewer.getByTestId(panel).locator('input, select, button').count();
      expect(controls, `${panel} controls for a viewer`).toBe(0);
    }
    await viewer.screenshot({ path: path.join(ARTIFACTS, 'studio-room-viewer-phone.png'), fullPage: true });

    // and the server says no even if a viewer sends intents by hand
    const [, id, token] = viewerLink.match(/\/room\/([\w-]+)\?t=([\w-]+)/)!;
    const sock: Socket<ServerToClientEvents, ClientToServerEvents> = io(app.engine, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
    try {
      const joined: JoinResult = await sock
        .timeout(10_000)
        .emitWithAck('room:join', { roomId: id!, token: token!, name: 'Sneaky viewer' });
      expect(joined.ok && joined.role).toBe('viewer');
      const ack: Ack = await sock.timeout(10_000).emitWithAck('room:intent', { type: 'run.set', running: false });
      expect(ack).toEqual({ ok: false, error: 'viewers cannot steer this room' });
      const ack2: Ack = await sock.timeout(10_000).emitWithAck('room:intent', { type: 'mask.clear' });
      expect(ack2.ok).toBe(false);
    } finally {
      sock.close();
    }
    expect(await strokeCount(owner)).toBe(1);
  });

  it('save → the item is in the gallery → remix opens a room whose first frame is the item', async () => {
    await owner.getByTestId('save').click();
    const saved = owner.getByTestId('saved-link');
    await saved.waitFor({ timeout: 20_000 });
    const itemId = (await saved.getAttribute('href'))!.split('/').pop()!;
    savedItemId = itemId;

    await owner.goto(`${app.web}/gallery`);
    const tile = owner.locator(`[data-testid="gallery-item"][data-id="${itemId}"]`);
    await tile.waitFor({ timeout: 20_000 });
    await until(
      () => tile.locator('img').evaluate((i) => (i as HTMLImageElement).naturalWidth),
      (w) => w > 0,
      'thumbnail loaded',
    );
    await owner.screenshot({ path: path.join(ARTIFACTS, 'studio-gallery.png') });
    // the tile says what the picture looks like (the pack's classifier at save), not only what it was steered to
    const seenOnTile = await tile.getByTestId('tile-seen').textContent();
    expect(seenOnTile).toMatch(/^ · looks like (cat|dog|tree|star)$/);
    // the filters narrow the grid (a class the item neither was steered to nor looks like)
    const looksLike = seenOnTile!.split(' ').pop()!;
    await owner.getByLabel('Class').fill(['tree', 'star', 'cat'].find((l) => l !== looksLike)!);
    await owner.getByRole('button', { name: 'Filter' }).click();
    await owner.getByText('No items match these filters yet.').waitFor({ timeout: 10_000 });
    await owner.getByLabel('Class').fill('dog');
    await owner.getByRole('button', { name: 'Filter' }).click();
    await tile.waitFor({ timeout: 10_000 });
    // the class filter also finds an item by what its picture looks like
    await owner.getByLabel('Class').fill(looksLike);
    await owner.getByRole('button', { name: 'Filter' }).click();
    await tile.waitFor({ timeout: 10_000 });
    await owner.getByLabel('Class').fill('dog');
    await owner.getByRole('button', { name: 'Filter' }).click();
    await tile.waitFor({ timeout: 10_000 });

    await tile.click();
    await owner.waitForURL(new RegExp(`/gallery/${itemId}$`));
    await expect(owner.getByTestId('recipe').textContent({ timeout: 20_000 })).resolves.toMatch(/class dog · weight 1/);
    // the item page lists the three labels with their probabilities, the tile's first
    const seenOnPage = (await owner.getByTestId('recipe-seen').textContent())!;
    expect(seenOnPage).toMatch(/^(cat|dog|tree|star) \d+ % · (cat|dog|tree|star) \d+ % · (cat|dog|tree|star) \d+ %$/);
    expect(seenOnPage.split(' ')[0]).toBe(seenOnTile!.split(' ').pop());
    await owner.screenshot({ path: path.join(ARTIFACTS, 'studio-gallery-item.png'), fullPage: true });
    // the recipe keeps the painted stroke itself, not just a count
    await expect(owner.getByTestId('recipe-mask').textContent()).resolves.toMatch(/^1 stroke/);
    await owner.getByTestId('remix').click();
    await owner.waitForURL(/\/room\/[\w-]+\?t=/, { timeout: 30_000 });
    const [, newId, newToken] = owner.url().match(/\/room\/([\w-]+)\?t=([\w-]+)/)!;
    expect(owner.url()).not.toBe(roomUrl);
    await expect(owner.getByTestId('my-role').textContent({ timeout: 20_000 })).resolves.toBe('owner');
    await until(
      () => drawn(owner),
      (n) => n >= 1,
      'remix frame on the page',
    );

    // the new room's first frame is the saved image, byte for byte
    const [frame, image] = await Promise.all([
      fetch(`${app.engine}/rooms/${newId}/frame.png?token=${newToken}`).then((r) => r.arrayBuffer()),
      fetch(`${app.engine}/gallery/${itemId}/image.png`).then((r) => r.arrayBuffer()),
    ]);
    expect(Buffer.from(frame).equals(Buffer.from(image))).toBe(true);

    // and the page shows exactly that image on its canvas
    const diff = await owner.evaluate(async (url) => {
      const img = new Image();
      img.crossOrigin = 'anonymous';
      img.src = url;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const want = ctx.getImageData(0, 0, c.width, c.height).data;
      const shown = document.querySelector<HTMLCanvasElement>('[data-testid="frame-canvas"]')!;
      if (shown.width !== c.width || shown.height !== c.height)
        return `size ${shown.width}x${shown.height} vs ${c.width}x${c.height}`;
      const got = shown.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let max = 0;
      for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(want[i]! - got[i]!));
      return max;
    }, `${app.engine}/gallery/${itemId}/image.png`);
    expect(diff).toBe(0);
    // and it starts with the saved room's mask
    expect(await strokeCount(owner)).toBe(1);
    await owner.screenshot({ path: path.join(ARTIFACTS, 'studio-remix.png') });

    // saving from the remix files the new item under the original: the lineage shows both, joined by a line
    await owner.getByTestId('save').click();
    const child = owner.getByTestId('saved-link');
    await child.waitFor({ timeout: 20_000 });
    const childId = (await child.getAttribute('href'))!.split('/').pop()!;
    await owner.goto(`${app.web}/gallery/${childId}`);
    const lineage = owner.getByTestId('lineage');
    await lineage.locator(`[data-node="${itemId}"]`).waitFor({ timeout: 20_000 });
    await until(
      () => lineage.locator('svg path').count(),
      (n) => n === 1,
      'a lineage line',
    );

    // mixing the two makes a third item with both as ancestors
    await owner
      .getByRole('button', { name: /^Mix with / })
      .first()
      .click();
    await owner.getByRole('button', { name: 'Mix codes' }).click();
    await owner.waitForURL((u) => /\/gallery\/[\w-]+$/.test(u.pathname) && !u.pathname.endsWith(childId), {
      timeout: 20_000,
    });
    await until(
      () => owner.getByTestId('lineage').locator('svg path').count(),
      (n) => n >= 2,
      'mix lineage lines',
    );
    await owner.getByTestId('lineage').scrollIntoViewIfNeeded();
    await owner.screenshot({ path: path.join(ARTIFACTS, 'studio-lineage.png'), fullPage: true });
  });

  it('starts the chain from an uploaded picture, and a paused room shows it at once', async () => {
    const { encodePng } = await import('@ppgn/core');
    const N = 48;
    const data = new Float32Array(N * N * 3).fill(1);
    for (let i = 0; i < N * N; i++) if (i % N < N / 2) data[i * 3 + 2] = 0; // half yellow, half white
    await owner.goto(roomUrl);
    await owner.getByTestId('transport').waitFor({ timeout: 20_000 });
    await owner.getByTestId('play-pause').click();
    await until(
      () => owner.getByTestId('play-pause').textContent(),
      (t) => /play/i.test(t ?? ''),
      'paused',
    );
    await until(
      () => drawn(owner),
      (n) => n >= 1,
      'a frame on the page',
    );
    // frames already on their way when Pause was pressed have landed: the canvas is still
    let last = -1;
    await until(
      async () => {
        const n = await drawn(owner);
        const still = n === last;
        last = n;
        await owner.waitForTimeout(700);
        return still;
      },
      (x) => x,
      'no more frames',
    );
    const canvasPixels = () => owner.getByTestId('frame-canvas').evaluate((c) => (c as HTMLCanvasElement).toDataURL());
    const before = await canvasPixels();
    await owner
      .getByTestId('start-image')
      .setInputFiles({ name: 'sun.png', mimeType: 'image/png', buffer: encodePng({ shape: [N, N, 3], data }) });
    await owner
      .getByTestId('toast')
      .filter({ hasText: 'The chain now starts from your picture' })
      .waitFor({ timeout: 20_000 });
    await owner
      .getByTestId('activity')
      .getByText(/started the chain from an uploaded image/)
      .waitFor({ timeout: 20_000 });
    // still paused, and the canvas already shows the new start
    await expect(owner.getByTestId('play-pause').textContent()).resolves.toMatch(/play/i);
    await until(canvasPixels, (now) => now !== before, 'the new starting picture on the canvas');
    const uploaded = await canvasPixels();
    // the start picture is a change like any other (issue 21, item 3): Undo takes the chain back to where it
    // was, shown at once while paused, and Redo brings the picture back
    await owner.getByRole('button', { name: 'Undo', exact: true }).click();
    await owner
      .getByTestId('activity')
      .getByText(/undid: the start from an uploaded image/)
      .waitFor({ timeout: 20_000 });
    await until(canvasPixels, (now) => now !== uploaded, 'the earlier picture back on the canvas');
    await owner.getByRole('button', { name: 'Redo', exact: true }).click();
    await until(canvasPixels, (now) => now === uploaded, 'the uploaded picture again');
  });

  it('offers every condition of the pack, says beforehand what cannot be done (fast mode with keywords, an over-long keyword paste), shows real class thumbnails, and the publisher renames an item (issue 21, items 1, 2, 6, 7, 9)', async () => {
    const res = await fetch(`${app.engine}/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        author: 'Kim',
        name: 'Checks room',
        running: false,
        conditions: [{ target: { kind: 'text', condition: 'keywords', text: 'red round' } }],
      }),
    });
    const room = (await res.json()) as { id: string; tokens: { owner: string } };
    const kim = await newPerson('Kim');
    await kim.goto(`${app.web}/room/${room.id}?t=${room.tokens.owner}`);
    await expect(kim.getByTestId('my-role').textContent({ timeout: 20_000 })).resolves.toBe('owner');

    // item 1: every condition the pack declares has its tab, the plug-in (a classifier of its own) included
    expect(await kim.getByRole('tablist', { name: 'Add a condition' }).getByRole('tab').allTextContents()).toEqual([
      'Class',
      'Style',
      'Keywords',
      'Hidden unit',
      'Image',
    ]);
    await kim.getByRole('tab', { name: 'Style' }).click();
    expect(await kim.getByRole('group', { name: 'Classes' }).getByRole('button').allTextContents()).toEqual([
      'flat',
      'outline',
      'glossy',
    ]);

    // item 2: with a keyword condition fast mode is greyed out, with the reason, before anyone picks it
    const fast = kim.getByLabel('Mode').locator('option[value="fast"]');
    expect(await fast.isDisabled()).toBe(true);
    expect(await fast.textContent()).toBe('fast (not with these conditions)');
    expect(await fast.getAttribute('title')).toMatch(/^fast mode supports class conditions only/);

    // item 7: a 10 500-character paste is refused with the limit (nothing sent), each near miss named once
    await kim.getByRole('tab', { name: 'Keywords' }).click();
    await kim.getByLabel('Describe with keywords').fill('rond '.repeat(2100));
    expect(await kim.getByTestId('keyword-error').textContent()).toBe(
      'Keywords are at most 200 characters (this is 10,500): shorten it to a few words.',
    );
    expect(await kim.getByTestId('keyword-suggestions').textContent()).toBe('“rond”: did you mean round?');
    expect(await kim.getByRole('button', { name: 'Add keywords' }).isDisabled()).toBe(true);

    // item 6: every class thumbnail is a real picture once the engine has made them
    await kim.getByRole('tab', { name: 'Class' }).click();
    await until(
      () =>
        kim
          .getByRole('group', { name: 'Classes' })
          .locator('img')
          .evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth)),
      (ws) => ws.length === 4 && ws.every((w) => w > 0),
      'class thumbnails loaded',
    );

    // item 9: the person who published an item may rename it; the new title is stored
    await owner.goto(`${app.web}/gallery/${savedItemId}`);
    owner.once('dialog', (d) => void d.accept('Evening dog'));
    await owner.getByTestId('rename-item').click();
    await until(
      () => owner.getByTestId('item-title').textContent(),
      (t) => (t ?? '').startsWith('Evening dog'),
      'renamed title',
    );
    const stored = (await (await fetch(`${app.engine}/gallery/${savedItemId}`)).json()) as { title: string };
    expect(stored.title).toBe('Evening dog');
    // someone else sees no rename button
    await kim.goto(`${app.web}/gallery/${savedItemId}`);
    await kim.getByTestId('item-title').waitFor({ timeout: 20_000 });
    expect(await kim.getByTestId('rename-item').count()).toBe(0);
  });

  it('room, gallery and item page at 1440 and 390 px wide: nothing overflows sideways (screenshots in tests/artifacts)', async () => {
    expect(savedItemId).not.toBe('');
    for (const [width, height] of [
      [1440, 900],
      [390, 844],
    ] as const) {
      const page = await newPerson('Shot', { width, height });
      const pages: [string, string, () => Promise<unknown>][] = [
        [
          'room',
          roomUrl,
          () =>
            until(
              () => drawn(page),
              (n) => n >= 1,
              'a frame',
            ),
        ],
        [
          'gallery',
          `${app.web}/gallery`,
          () => page.locator('[data-testid="gallery-item"] img').first().waitFor({ timeout: 20_000 }),
        ],
        ['item', `${app.web}/gallery/${savedItemId}`, () => page.getByTestId('recipe').waitFor({ timeout: 20_000 })],
      ];
      for (const [name, url, ready] of pages) {
        await page.goto(url);
        await ready();
        // no horizontal scrolling: the page fits the viewport (a phone must not pan sideways)
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow, `${name} at ${width} px overflows by ${overflow} px`).toBeLessThanOrEqual(0);
        await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
      }
    }
  });

  it('had no uncaught errors in any page', () => {
    expect(pageErrors.flat()).toEqual([]);
  });
});
