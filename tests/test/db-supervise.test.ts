// The embedded Postgres is killed (kill -9) under a running engine: the engine starts it again on the same data,
// /health recovers, and a change acknowledged while it was down is in Postgres afterwards. Real processes.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestEngine, TestClient } from '../support/engine';
import { tempDir } from '../support/procs';

const tmp = tempDir('db-supervise');
let t: Awaited<ReturnType<typeof startTestEngine>>;
const clients: TestClient[] = [];

beforeAll(async () => {
  t = await startTestEngine('db-supervise', { dataDir: path.join(tmp.dir, 'pg') });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t?.close();
  tmp.remove();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('embedded Postgres supervision', () => {
  it('starts a killed Postgres again; /health recovers and what was acknowledged meanwhile is stored', async () => {
    const created = await api<{ id: string; tokens: { owner: string } }>(t.base, 'POST', '/rooms', {
      author: 'Ann',
      running: false,
    });
    const roomId = created.body.id;
    const a = new TestClient(t.base);
    clients.push(a);
    await a.join(roomId, created.body.tokens.owner, 'Ann');
    const pidFile = path.join(tmp.dir, 'pg', 'postmaster.pid');
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGKILL');
    // steering goes on while it is down
    const ack = (await a.intent({ type: 'room.rename', name: 'while Postgres was down' } as never)) as {
      ok: boolean;
      version: number;
    };
    expect(ack.ok).toBe(true);
    const t0 = Date.now();
    let health = 0;
    while (Date.now() - t0 < 60_000) {
      health = (await api(t.base, 'GET', '/health')).status;
      if (health === 200 && t.engine.manager.unsaved() === 0) break;
      await sleep(250);
    }
    expect(health).toBe(200);
    expect(Number(readFileSync(pidFile, 'utf8').split('\n')[0])).not.toBe(pid);
    await a.waitFor(() => t.engine.manager.unsaved() === 0, 30_000, 'the backlog written');
    const row = await t.engine.db.prisma.room.findUniqueOrThrow({
      where: { id: roomId },
      select: { name: true, version: true },
    });
    expect(row).toEqual({ name: 'while Postgres was down', version: ack.version });
    // and new work that needs the database works again
    expect((await api(t.base, 'POST', '/rooms', { author: 'Ann', running: false })).status).toBe(201);
  }, 90_000);
});
