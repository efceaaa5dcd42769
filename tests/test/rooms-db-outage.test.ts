// The database goes away for 10 s in the middle of a session: rooms keep sampling and steering
// (and the owner managing people), saves answer a clear 503, nothing is half-written, and once Postgres is back every change people
// were told about is in it. Real engine, real Postgres behind a TCP proxy the test cuts.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../packages/db/src/embedded';
import { api, startTestEngine, TestClient } from '../support/engine';
import { tempDir } from '../support/procs';
import { TcpProxy } from '../support/proxy';

let t: Awaited<ReturnType<typeof startTestEngine>>;
let pgDb: Awaited<ReturnType<typeof startEmbeddedPostgres>>;
let proxy: TcpProxy;
let realUrl = '';
let proxiedUrl = '';
const tmp = tempDir('db-outage');
const clients: TestClient[] = [];

beforeAll(async () => {
  pgDb = await startEmbeddedPostgres({ dataDir: path.join(tmp.dir, 'pg'), ephemeral: true });
  realUrl = pgDb.url;
  const u = new URL(realUrl);
  proxy = new TcpProxy(Number(u.port));
  await proxy.listen();
  u.port = String(proxy.port);
  proxiedUrl = u.toString();
  t = await startTestEngine('db-outage', { databaseUrl: proxiedUrl });
});

afterAll(async () => {
  for (const c of clients) c.close();
  if (proxy) proxy.refuse = false;
  await t?.close();
  await proxy?.close();
  await pgDb?.stop();
  tmp.remove();
});

async function query<T>(sql: string, args: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: realUrl });
  await c.connect();
  try {
    return (await c.query(sql, args)).rows as T[];
  } finally {
    await c.end();
  }
}

describe('database outage', () => {
  it('rooms keep running, saves answer 503, and every acknowledged change is in Postgres afterwards', async () => {
    const created = await api<{ id: string; tokens: { owner: string; editor: string } }>(t.base, 'POST', '/rooms', {
      author: 'Ann',
      conditions: [{ target: { kind: 'class', condition: 'class', labels: ['dog'] } }],
      params: { fps: 20 },
    });
    expect(created.status).toBe(201);
    const roomId = created.body.id;
    const a = new TestClient(t.base);
    clients.push(a);
    await a.join(roomId, created.body.tokens.owner, 'Ann');
    const b = new TestClient(t.base);
    const c = new TestClient(t.base);
    clients.push(b, c);
    expect((await b.join(roomId, created.body.tokens.editor, 'Bob')).ok).toBe(true);
    expect((await c.join(roomId, created.body.tokens.editor, 'Cy')).ok).toBe(true);
    await a.waitFor(() => a.frames.length >= 2, 20_000, 'frames');

    // Postgres is gone: every connection drops and new ones are refused
    proxy.refuse = true;
    proxy.cut();
    const cutAt = Date.now();
    const framesAtCut = a.frames.length;
    // steering goes on: every intent is applied and acknowledged
    const acked: number[] = [];
    for (let i = 0; i < 6; i++) {
      const ack = (await a.intent({ type: 'params.set', params: { eps1: 0.1 + i * 0.1 } })) as {
        ok: boolean;
        version: number;
      };
      expect(ack.ok).toBe(true);
      acked.push(ack.version);
    }
    const stroke = (await a.intent({
      type: 'mask.stroke',
      stroke: {
        id: 'outage-1',
        erase: false,
        radius: 0.05,
        points: [
          [0.2, 0.2],
          [0.4, 0.6],
        ],
      },
    })) as { ok: boolean; version: number };
    expect(stroke.ok).toBe(true);
    acked.push(stroke.version);
    // the owner removes Bob and makes Cy a viewer: in effect at once, stored once the database is back
    const kick = (await a.socket.timeout(10_000).emitWithAck('room:admin', { type: 'kick', userId: b.userId })) as {
      ok: boolean;
    };
    expect(kick.ok).toBe(true);
    const demote = (await a.socket
      .timeout(10_000)
      .emitWithAck('room:admin', { type: 'role', userId: c.userId, role: 'viewer' })) as { ok: boolean };
    expect(demote.ok).toBe(true);
    // saving and creating rooms need the database: a clear 503, not a 500 or a hang
    const save = await api<{ error: { code: string; message: string } }>(
      t.base,
      'POST',
      '/gallery',
      { roomId, token: created.body.tokens.editor },
      a.credential,
    );
    expect(save.status).toBe(503);
    expect(save.body.error.code).toBe('unavailable');
    expect(save.body.error.message).toMatch(/database/);
    const room2 = await api<{ error: { code: string } }>(t.base, 'POST', '/rooms', { author: 'Ann' });
    expect(room2.status).toBe(503);
    const health = await api<{ database: { reachable: boolean } }>(t.base, 'GET', '/health');
    expect(health.status).toBe(503);
    expect(health.body.database.reachable).toBe(false);
    expect(t.engine.manager.unsaved()).toBeGreaterThan(0);
    // the room keeps sampling through the outage
    await a.waitFor(() => a.frames.length >= framesAtCut + 20, 20_000, 'frames during the outage');
    await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - cutAt))));

    proxy.refuse = false;
    await a.waitFor(() => t.engine.manager.unsaved() === 0, 30_000, 'the backlog written');
    const [row] = await query<{ version: number; state: { params: { eps1: number }; strokes: { id: string }[] } }>(
      'SELECT version, state FROM "Room" WHERE id = $1',
      [roomId],
    );
    expect(row!.version).toBe(a.state!.version);
    expect(row!.state.params.eps1).toBeCloseTo(0.6, 6);
    expect(row!.state.strokes.map((s) => s.id)).toEqual(['outage-1']);
    const [access] = await query<{ banned: string[]; roles: Record<string, string> }>(
      'SELECT banned, roles FROM "Room" WHERE id = $1',
      [roomId],
    );
    expect(access!.banned).toEqual([b.userId]);
    expect(access!.roles).toEqual({ [c.userId]: 'viewer' });
    const logged = await query<{ version: number }>('SELECT version FROM "ActivityEntry" WHERE "roomId" = $1', [
      roomId,
    ]);
    const versions = new Set(logged.map((r) => r.version));
    for (const v of acked) expect(versions.has(v), `activity of version ${v}`).toBe(true);
    // the refused save left nothing behind; a save now works
    expect((await query<{ n: string }>('SELECT count(*)::text AS n FROM "GalleryItem"'))[0]!.n).toBe('0');
    const ok = await api(t.base, 'POST', '/gallery', { roomId, token: created.body.tokens.editor }, a.credential);
    expect(ok.status).toBe(201);
  }, 90_000);

  it('bounds what piles up: past the limit steering is refused as unavailable until Postgres takes the backlog', async () => {
    const created = await api<{ id: string; tokens: { owner: string } }>(t.base, 'POST', '/rooms', {
      author: 'Ann',
      running: false,
    });
    const roomId = created.body.id;
    const a = new TestClient(t.base);
    clients.push(a);
    await a.join(roomId, created.body.tokens.owner, 'Ann');
    t.engine.manager.maxUnsaved = 5;
    try {
      proxy.refuse = true;
      proxy.cut();
      const acks: { ok: boolean; version?: number; error?: string }[] = [];
      for (let i = 0; i < 10; i++)
        acks.push((await a.intent({ type: 'params.set', params: { eps1: 0.1 + i * 0.05 } })) as (typeof acks)[number]);
      const accepted = acks.filter((x) => x.ok);
      expect(accepted.length).toBeGreaterThanOrEqual(5);
      expect(accepted.length).toBeLessThanOrEqual(7);
      const refused = acks.find((x) => !x.ok)!;
      expect(refused.error).toMatch(/^the database has not taken this room's last \d+ changes yet; steering is paused/);
      expect(t.engine.manager.unsaved()).toBeLessThanOrEqual(8);
      proxy.refuse = false;
      await a.waitFor(() => t.engine.manager.unsaved() === 0, 30_000, 'the backlog written');
      expect(await a.intent({ type: 'params.set', params: { eps1: 0.9 } })).toMatchObject({ ok: true });
      await a.waitFor(() => t.engine.manager.unsaved() === 0, 30_000, 'the last change written');
      // every accepted change is in Postgres, none of the refused ones
      const logged = await query<{ version: number }>(
        'SELECT version FROM "ActivityEntry" WHERE "roomId" = $1 ORDER BY version',
        [roomId],
      );
      expect(logged.map((r) => r.version)).toEqual([...accepted.map((x) => x.version!), accepted.at(-1)!.version! + 1]);
    } finally {
      t.engine.manager.maxUnsaved = 1000;
      proxy.refuse = false;
    }
  }, 60_000);

  it('a stop during an outage keeps the unwritten changes on disk; the next start writes them into Postgres', async () => {
    // an engine of its own: this test stops it while the database is away
    const own = await startTestEngine('db-outage-stop', {
      databaseUrl: proxiedUrl,
      dataDir: path.join(tmp.dir, 'stop-pg'),
    });
    const spillDir = path.join(tmp.dir, 'unsaved');
    const created = await api<{ id: string; tokens: { owner: string } }>(own.base, 'POST', '/rooms', {
      author: 'Ann',
      running: false,
    });
    const roomId = created.body.id;
    const a = new TestClient(own.base);
    clients.push(a);
    await a.join(roomId, created.body.tokens.owner, 'Ann');
    let last = 0;
    try {
      proxy.refuse = true;
      proxy.cut();
      for (const name of ['Outage one', 'Outage two', 'Outage three']) {
        const ack = (await a.intent({ type: 'room.rename', name })) as { ok: boolean; version: number };
        expect(ack.ok).toBe(true);
        last = ack.version;
      }
      a.close();
      // the database is still away when the engine stops: its writes cannot drain (5 s), they are kept on disk
      await own.engine.close();
      // (with every other room this engine had open: their checkpoints at stop did not drain either)
      expect(readdirSync(spillDir)).toContain(`${roomId}.json`);
    } finally {
      proxy.refuse = false;
    }
    const [before] = await query<{ name: string }>('SELECT name FROM "Room" WHERE id = $1', [roomId]);
    expect(before!.name).not.toBe('Outage three');

    const next = await startTestEngine('db-outage-next', {
      databaseUrl: proxiedUrl,
      dataDir: path.join(tmp.dir, 'stop-pg'),
    });
    try {
      const [row] = await query<{ name: string; version: number }>('SELECT name, version FROM "Room" WHERE id = $1', [
        roomId,
      ]);
      expect(row).toEqual({ name: 'Outage three', version: last });
      const logged = await query<{ version: number }>(
        'SELECT version FROM "ActivityEntry" WHERE "roomId" = $1 AND version >= $2 ORDER BY version',
        [roomId, last - 2],
      );
      expect(logged.map((r) => r.version)).toEqual([last - 2, last - 1, last]);
      expect(readdirSync(spillDir)).toEqual([]);
      // and the room opens where it was
      const b = new TestClient(next.base);
      clients.push(b);
      const res = await b.join(roomId, created.body.tokens.owner, 'Ann');
      expect(res.ok && b.state?.name).toBe('Outage three');
    } finally {
      await next.engine.close();
    }
  }, 90_000);
});
