// The studio in a browser on a cluster: the page reaches the engines through a balancer (a loopback
// TCP proxy); the engine running the room is killed (SIGKILL) and the balancer sends new connections
// to the other engine. The page shows the banner, then frames again from the adopted room, without a
// reload, with the same person and role. Real engines, Redis, Postgres, web app, Debian's Chromium.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser';
import { startTestCluster, type TestEngineProc } from '../support/cluster';
import { api } from '../support/engine';
import { ROOT, freePort, startProcess, type Proc } from '../support/procs';
import { TcpProxy } from '../support/proxy';
import { personContext, until, watchErrors } from '../support/studio';

let cluster: Awaited<ReturnType<typeof startTestCluster>>;
let lb: TcpProxy;
let lbUrl = '';
let web: Proc;
let webUrl = '';
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  cluster = await startTestCluster('cluster-e2e', { leaseS: 3 });
  await Promise.all([cluster.startEngine('A'), cluster.startEngine('B')]);
  lb = new TcpProxy(cluster.engines[0]!.port);
  lbUrl = await lb.listen();
  const build = spawnSync('npx', ['turbo', 'run', 'build', '--filter=@ppgn/web', '--output-logs=errors-only'], {
    cwd: ROOT,
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1' },
    stdio: 'ignore',
  });
  expect(build.status).toBe(0);
  const port = await freePort();
  web = startProcess(
    [path.join(ROOT, 'node_modules/next/dist/bin/next'), 'start', '-p', String(port)],
    { PORT: String(port), ENGINE_PUBLIC_URL: lbUrl },
    path.join(ROOT, 'apps/web'),
  );
  await web.waitFor(/Ready|started server|Local:/i, 120_000);
  webUrl = `http://localhost:${port}`;
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await web?.stop();
  await lb?.close();
  await cluster?.stop();
});

const drawn = (p: Page) =>
  p.getByTestId('frame-canvas').evaluate((c) => Number((c as HTMLCanvasElement).dataset.drawn ?? 0));

describe('the studio on a cluster', () => {
  it('keeps showing the room after the engine running it is killed: banner, then frames from the adopting engine, no reload', async () => {
    const created = await api<{ id: string; tokens: { owner: string; editor: string } }>(lbUrl, 'POST', '/rooms', {
      author: 'Olga',
      name: 'Failover',
      conditions: [{ target: { kind: 'class', condition: 'class', labels: ['cat'] } }],
      params: { fps: 10 },
    });
    expect(created.status).toBe(201);
    const ownerId = await cluster.owner(created.body.id);
    const owner = cluster.engines.find((e) => e.id === ownerId)!;
    const other = cluster.engines.find((e) => e.id !== ownerId) as TestEngineProc;
    // the page's connection lands on the engine that runs the room (the case that loses the socket)
    lb.targetPort = owner.port;

    const ctx = await personContext(browser, 'Eve');
    contexts.push(ctx);
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await page.goto(`${webUrl}/room/${created.body.id}?t=${created.body.tokens.editor}`);
    await expect(page.getByTestId('my-role').textContent({ timeout: 60_000 })).resolves.toBe('editor');
    await until(
      () => drawn(page),
      (n) => n >= 5,
      'frames before the kill',
      30_000,
    );
    await page.evaluate(() => ((window as unknown as { __sameDocument: number }).__sameDocument = 42));

    owner.proc.child.kill('SIGKILL');
    lb.targetPort = other.port;
    const before = await drawn(page);
    await page.getByTestId('reconnect-banner').waitFor({ timeout: 10_000 });
    // adopted from the checkpoint and shown again within the lease time plus a reconnect
    await until(
      () => drawn(page),
      (n) => n >= before + 5,
      'frames after the failover',
      30_000,
    );
    await page.getByTestId('reconnect-banner').waitFor({ state: 'detached', timeout: 10_000 });
    expect(await cluster.owner(created.body.id)).toBe(other.id);
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: number }).__sameDocument)).toBe(42);
    expect(await page.getByTestId('my-role').textContent()).toBe('editor');
    expect(await page.getByTestId('room-failed').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
