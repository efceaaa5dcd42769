// Who is who in a room: the engine mints each person a credential and derives their id from it,
// so nobody can act as someone else by sending their id; kicks and grants bind to that id and
// survive a restart; a dropped connection resumes the same membership. Real engine, real Postgres.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Member } from '@ppgn/shared';
import { api, person, startTestEngine, TestClient } from '../support/engine';
import { tempDir } from '../support/procs';
import { TcpProxy } from '../support/proxy';

let t: Awaited<ReturnType<typeof startTestEngine>>;
const clients: TestClient[] = [];
const client = (opts: { credential?: string; reconnection?: boolean; base?: string } = {}) => {
  const c = new TestClient(opts.base ?? t.base, opts);
  clients.push(c);
  return c;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)),
  ]);

interface Created {
  id: string;
  tokens: { owner: string; editor: string; viewer: string };
}

async function createRoom(base = t.base, body: object = {}): Promise<Created> {
  const res = await api<Created>(base, 'POST', '/rooms', { author: 'tester', running: false, ...body });
  expect(res.status).toBe(201);
  return res.body;
}
const cond = (id: string, label = 'cat') => ({
  type: 'condition.add',
  id,
  target: { kind: 'class', condition: 'class', labels: [label] },
});
const admin = (c: TestClient, a: object) => c.socket.timeout(5000).emitWithAck('room:admin', a as never);

beforeAll(async () => {
  t = await startTestEngine('identity');
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t?.close();
});

describe('server-issued identity', () => {
  it('mints a credential on the first join, stores only its hash, and knows the person again by it', async () => {
    const room = await createRoom();
    const a = client();
    const first = await a.join(room.id, room.tokens.editor, 'Ann');
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(first.credential).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rows = await t.engine.db.prisma.person.findMany({ where: { id: first.userId } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.secretHash).not.toContain(first.credential!);
    expect(JSON.stringify(await t.engine.db.prisma.person.findMany())).not.toContain(first.credential!);
    // the same credential on a new connection is the same person, and gets no new credential
    const again = client({ credential: first.credential });
    const second = await again.join(room.id, room.tokens.editor, 'Ann again');
    expect(second).toMatchObject({ ok: true, userId: first.userId });
    expect(second.ok && second.credential).toBeUndefined();
    // one member for the person, however many connections
    expect(
      t.engine.manager
        .get(room.id)
        .presence.list()
        .filter((m) => m.userId === first.userId),
    ).toHaveLength(1);
    // a made-up credential is a new person
    const forged = client({ credential: 'x'.repeat(43) });
    const third = await forged.join(room.id, room.tokens.editor, 'Ann');
    expect(third.ok && third.userId).not.toBe(first.userId);
    expect(third.ok && third.credential).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("an editor who sends the owner's id (or replays their join payload) cannot steer as them, undo their changes, or kick", async () => {
    const room = await createRoom();
    const owner = client();
    await owner.join(room.id, room.tokens.owner, 'Olga');
    expect(await owner.intent(cond('mine'))).toMatchObject({ ok: true });
    const mallory = client();
    // the owner's join payload with the editor link, plus the owner's id where the old protocol took it
    const joined = await mallory.join(room.id, room.tokens.editor, 'Olga', { userId: owner.userId, sinceVersion: 0 });
    expect(joined).toMatchObject({ ok: true, role: 'editor' });
    expect(mallory.userId).not.toBe(owner.userId);
    // the owner's person id used as a credential proves nothing either
    const mallory2 = client({ credential: owner.userId });
    await mallory2.join(room.id, room.tokens.editor, 'Olga', { userId: owner.userId });
    expect(mallory2.userId).not.toBe(owner.userId);
    for (const m of [mallory, mallory2]) {
      expect(await m.intent({ type: 'undo' })).toEqual({ ok: false, error: 'nothing of yours to undo' });
      expect(await admin(m, { type: 'kick', userId: owner.userId })).toEqual({
        ok: false,
        error: 'only the owner can manage people',
      });
      expect(await admin(m, { type: 'role', userId: m.userId, role: 'editor' })).toEqual({
        ok: false,
        error: 'only the owner can manage people',
      });
    }
    // what mallory adds is hers, not the owner's
    expect(await mallory.intent(cond('hers', 'dog'))).toMatchObject({ ok: true });
    await owner.waitFor(() => owner.state!.conditions.length === 2, 5000, 'both conditions');
    expect(owner.state!.conditions.map((c) => [c.id, c.author])).toEqual([
      ['mine', owner.userId],
      ['hers', mallory.userId],
    ]);
    expect(owner.socket.connected).toBe(true);
    // the owner's undo still undoes the owner's change
    expect(await owner.intent({ type: 'undo' })).toMatchObject({ ok: true });
    await owner.waitFor(() => owner.state!.conditions.length === 1, 5000, 'the undo');
    expect(owner.state!.conditions[0]!.id).toBe('hers');
  });

  it("a viewer sending the owner's id, or a promoted viewer's id, stays a viewer", async () => {
    const room = await createRoom();
    const owner = client();
    await owner.join(room.id, room.tokens.owner, 'Olga');
    const vic = client();
    await vic.join(room.id, room.tokens.viewer, 'Vic');
    expect(await admin(owner, { type: 'role', userId: vic.userId, role: 'editor' })).toMatchObject({ ok: true });
    await vic.waitFor(() => vic.role === 'editor', 5000, 'the grant');
    for (const claimed of [owner.userId, vic.userId]) {
      const w = client();
      const res = await w.join(room.id, room.tokens.viewer, 'Olga', { userId: claimed });
      expect(res).toMatchObject({ ok: true, role: 'viewer' });
      expect(w.userId).not.toBe(claimed);
      expect(await w.intent({ type: 'run.set', running: true })).toEqual({
        ok: false,
        error: 'viewers cannot steer this room',
      });
    }
    expect(t.engine.manager.get(room.id).model.state.running).toBe(false);
    // the grant is Vic's, on any connection that proves to be Vic
    const vic2 = client({ credential: vic.credential });
    expect(await vic2.join(room.id, room.tokens.viewer, 'Vic')).toMatchObject({
      ok: true,
      role: 'editor',
      userId: vic.userId,
    });
  });

  it('HTTP writes use the same credential: grants and kicks apply, a bad credential is refused', async () => {
    const room = await createRoom(t.base, { running: true, params: { fps: 30 } });
    const owner = client();
    await owner.join(room.id, room.tokens.owner, 'Olga');
    await owner.waitFor(() => owner.frames.length >= 1, 20_000, 'a frame');
    const vic = client();
    await vic.join(room.id, room.tokens.viewer, 'Vic');
    const ed = client();
    await ed.join(room.id, room.tokens.editor, 'Ed');
    const save = (token: string, credential?: string) =>
      api<{ id?: string; error?: { code: string; message: string } }>(
        t.base,
        'POST',
        '/gallery',
        { roomId: room.id, token, author: 'Vic' },
        credential,
      );
    expect((await save(room.tokens.viewer, vic.credential)).status).toBe(403);
    expect(await admin(owner, { type: 'role', userId: vic.userId, role: 'editor' })).toMatchObject({ ok: true });
    expect((await save(room.tokens.viewer, vic.credential)).status).toBe(201);
    // a link alone (no credential, or someone else's id in the body) writes nothing: every write needs a person
    expect(await save(room.tokens.viewer)).toMatchObject({ status: 401, body: { error: { code: 'unauthenticated' } } });
    expect(
      (
        await api(t.base, 'POST', '/gallery', {
          roomId: room.id,
          token: room.tokens.editor,
          author: 'Vic',
          userId: vic.userId,
        })
      ).status,
    ).toBe(401);
    // a kicked editor cannot save or fork with their credential, even with the editor link
    expect((await save(room.tokens.editor, ed.credential)).status).toBe(201);
    expect(await admin(owner, { type: 'kick', userId: ed.userId })).toMatchObject({ ok: true });
    const refused = await save(room.tokens.editor, ed.credential);
    expect(refused).toMatchObject({
      status: 403,
      body: { error: { code: 'forbidden', reason: 'removed', message: 'you were removed from this room' } },
    });
    const fork = await api<{ error: { message: string } }>(
      t.base,
      'POST',
      `/rooms/${room.id}/fork`,
      { token: room.tokens.editor, author: 'Ed' },
      ed.credential,
    );
    expect(fork.status).toBe(403);
    const forged = await save(room.tokens.editor, 'y'.repeat(43));
    expect(forged).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
  });

  it('a removed editor cannot write over HTTP without a credential, and once the owner replaces the links their old one admits no one new', async () => {
    const room = await createRoom(t.base, { running: false });
    const owner = client();
    await owner.join(room.id, room.tokens.owner, 'Olga');
    const ed = client();
    await ed.join(room.id, room.tokens.editor, 'Ed');
    const stays = client();
    await stays.join(room.id, room.tokens.editor, 'Stan');
    expect(await admin(owner, { type: 'kick', userId: ed.userId })).toMatchObject({ ok: true });
    const png = (await api<ArrayBuffer>(t.base, 'GET', `/rooms/${room.id}/frame.png?token=${room.tokens.viewer}`)).body;
    const imagePng = Buffer.from(png).toString('base64');
    // every HTTP write needs a credential: leaving the header out is no way around the removal
    const noCredential = [
      await api<{ error: { code: string } }>(t.base, 'POST', `/rooms/${room.id}/image`, {
        token: room.tokens.editor,
        author: 'Ed',
        imagePng,
      }),
      await api<{ error: { code: string } }>(t.base, 'POST', '/gallery', {
        roomId: room.id,
        token: room.tokens.editor,
        author: 'Olga',
      }),
      await api<{ error: { code: string } }>(t.base, 'POST', `/rooms/${room.id}/fork`, {
        token: room.tokens.editor,
        author: 'Olga',
      }),
    ];
    for (const r of noCredential)
      expect(r).toMatchObject({ status: 401, body: { error: { code: 'unauthenticated' } } });
    const withTheirs = await api(
      t.base,
      'POST',
      `/rooms/${room.id}/image`,
      { token: room.tokens.editor, imagePng },
      ed.credential,
    );
    expect(withTheirs.status).toBe(403);
    // as a new person the old link still lets them in (a link is the invitation) — until the owner replaces it
    const again = client();
    expect(await again.join(room.id, room.tokens.editor, 'Ed again')).toMatchObject({ ok: true, role: 'editor' });
    again.close();
    const notOwner = await api(
      t.base,
      'POST',
      `/rooms/${room.id}/links`,
      { token: room.tokens.editor },
      stays.credential,
    );
    expect(notOwner.status).toBe(403);
    const replaced = await api<{
      tokens: { owner: string; editor: string; viewer: string };
      links: { editor: string };
    }>(t.base, 'POST', `/rooms/${room.id}/links`, { token: room.tokens.owner }, owner.credential);
    expect(replaced.status).toBe(200);
    expect(replaced.body.tokens.owner).toBe(room.tokens.owner);
    expect(replaced.body.tokens.editor).not.toBe(room.tokens.editor);
    expect(replaced.body.tokens.viewer).not.toBe(room.tokens.viewer);
    expect(replaced.body.links.editor).toBe(`/room/${room.id}?t=${replaced.body.tokens.editor}`);
    const locked = client();
    expect(await locked.join(room.id, room.tokens.editor, 'Ed 3')).toMatchObject({
      ok: false,
      code: 'forbidden',
      reason: 'link_invalid',
      error: 'this link is not valid for the room',
    });
    expect(await locked.join(room.id, room.tokens.viewer, 'Ed 3')).toMatchObject({ ok: false, code: 'forbidden' });
    // who was in the room keeps their place: steering now, and again after a reload with the old link
    expect(await stays.intent(cond('still-here'))).toMatchObject({ ok: true });
    stays.close();
    const reloaded = client({ credential: stays.credential });
    expect(await reloaded.join(room.id, room.tokens.editor, 'Stan')).toMatchObject({
      ok: true,
      role: 'editor',
      userId: stays.userId,
    });
    expect(
      (await api(t.base, 'POST', '/gallery', { roomId: room.id, token: room.tokens.editor }, stays.credential)).status,
    ).toBe(201);
    // the new link works for someone new; the replacement survives in the database
    const fresh = client();
    expect(await fresh.join(room.id, replaced.body.tokens.editor, 'Nia')).toMatchObject({ ok: true, role: 'editor' });
    const row = await t.engine.db.prisma.room.findUnique({
      where: { id: room.id },
      select: { editorToken: true, viewerToken: true },
    });
    expect(row).toEqual({ editorToken: replaced.body.tokens.editor, viewerToken: replaced.body.tokens.viewer });
  });

  it('publishing binds the author to the credential: mixes need one, and the name shown is the person’s, not the one sent', async () => {
    const room = await createRoom(t.base, { running: false });
    const owner = client();
    await owner.join(room.id, room.tokens.owner, 'Olga');
    const save = await api<{ id: string; author: string }>(
      t.base,
      'POST',
      '/gallery',
      { roomId: room.id, token: room.tokens.owner, author: 'alice' },
      owner.credential,
    );
    expect(save.body.author).toBe('Olga');
    const mixBody = { a: save.body.id, b: save.body.id, t: 0.5, author: 'alice', title: 'OFFICIAL: studio closes' };
    const anonymous = await api<{ error: { code: string; message: string } }>(t.base, 'POST', '/gallery/mix', mixBody);
    expect(anonymous).toMatchObject({ status: 401, body: { error: { code: 'unauthenticated' } } });
    expect((await api(t.base, 'POST', '/gallery/mix', mixBody, 'z'.repeat(43))).status).toBe(403);
    const mia = await person(t.base, 'Mia');
    const mixed = await api<{ id: string; author: string }>(t.base, 'POST', '/gallery/mix', mixBody, mia);
    expect(mixed.status).toBe(201);
    expect(mixed.body.author).toBe('Mia');
    const rows = await t.engine.db.prisma.galleryItem.findMany({
      where: { id: { in: [save.body.id, mixed.body.id] } },
      select: { id: true, authorId: true },
    });
    expect(Object.fromEntries(rows.map((r) => [r.id, r.authorId]))).toEqual({
      [save.body.id]: owner.userId,
      [mixed.body.id]: expect.stringMatching(/^p/),
    });
    // a name given later (joining a room as someone else) is what their next item shows
    const miaInRoom = client({ credential: mia });
    await miaInRoom.join(room.id, room.tokens.editor, 'Mia B');
    for (let i = 0; i < 50 && (await t.engine.db.prisma.person.count({ where: { name: 'Mia B' } })) === 0; i++)
      await sleep(100);
    const later = await api<{ author: string }>(t.base, 'POST', '/gallery/mix', mixBody, mia);
    expect(later.body.author).toBe('Mia B');
    // only the person who published an item renames it; the page knows whether it is theirs
    const item = (credential?: string) =>
      api<{ title: string; mine: boolean }>(t.base, 'GET', `/gallery/${save.body.id}`, undefined, credential);
    expect((await item(owner.credential)).body.mine).toBe(true);
    expect((await item(mia)).body.mine).toBe(false);
    expect((await item()).body.mine).toBe(false);
    const rename = (title: string, credential?: string) =>
      api<{ title?: string; error?: { code: string } }>(
        t.base,
        'PATCH',
        `/gallery/${save.body.id}`,
        { title },
        credential,
      );
    expect((await rename('Mine now', mia)).status).toBe(403);
    expect((await rename('Mine now')).status).toBe(401);
    expect((await rename('   ', owner.credential)).status).toBe(400);
    expect(await rename('Sunset over the sea', owner.credential)).toMatchObject({
      status: 200,
      body: { title: 'Sunset over the sea' },
    });
    expect((await item()).body.title).toBe('Sunset over the sea');
  });

  it('names items by what they draw: the conditions, not the room', async () => {
    const room = await createRoom(t.base, {
      name: 'Walk room',
      running: false,
      conditions: [
        { target: { kind: 'class', condition: 'class', labels: ['dog'] } },
        { target: { kind: 'text', condition: 'keywords', text: 'happy red' } },
      ],
    });
    const owner = client();
    await owner.join(room.id, room.tokens.owner, 'Olga');
    const a = await api<{ id: string; title: string }>(
      t.base,
      'POST',
      '/gallery',
      { roomId: room.id, token: room.tokens.owner },
      owner.credential,
    );
    expect(a.body.title).toBe('dog + “happy red” · step 0');
    const mix = await api<{ title: string }>(
      t.base,
      'POST',
      '/gallery/mix',
      { a: a.body.id, b: a.body.id },
      owner.credential,
    );
    expect(mix.body.title).toBe('dog + “happy red” · step 0 × dog + “happy red” · step 0');
  });

  it('a person replaces their credential: the old one proves no one any more, the new one is the same person', async () => {
    const room = await createRoom(t.base, { running: false });
    const owner = client();
    await owner.join(room.id, room.tokens.owner, 'Olga');
    const old = owner.credential!;
    expect((await api(t.base, 'POST', '/people/me/credential', {})).status).toBe(401);
    const rotated = await api<{ personId: string; credential: string }>(
      t.base,
      'POST',
      '/people/me/credential',
      {},
      old,
    );
    expect(rotated.status).toBe(200);
    expect(rotated.body.personId).toBe(owner.userId);
    expect(rotated.body.credential).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rotated.body.credential).not.toBe(old);
    // the old credential: refused over HTTP, and a join with it is somebody new
    const save = (credential: string) =>
      api(t.base, 'POST', '/gallery', { roomId: room.id, token: room.tokens.owner }, credential);
    expect((await save(old)).status).toBe(403);
    const stale = client({ credential: old });
    const staleJoin = await stale.join(room.id, room.tokens.editor, 'Olga?');
    expect(staleJoin.ok && staleJoin.userId).not.toBe(owner.userId);
    // the new one: the same person everywhere
    const again = client({ credential: rotated.body.credential });
    expect(await again.join(room.id, room.tokens.owner, 'Olga')).toMatchObject({ ok: true, userId: owner.userId });
    expect((await save(rotated.body.credential)).status).toBe(201);
    const stored = await t.engine.db.prisma.person.findUniqueOrThrow({ where: { id: owner.userId } });
    expect(JSON.stringify(stored)).not.toContain(rotated.body.credential);
  });

  it('join errors carry codes: not_found, forbidden, invalid', async () => {
    const room = await createRoom();
    const c = client();
    expect(await c.join('no-such-room', room.tokens.owner, 'X')).toEqual({
      ok: false,
      code: 'not_found',
      error: 'no room "no-such-room"',
    });
    expect(await c.join(room.id, 'not-a-token', 'X')).toEqual({
      ok: false,
      code: 'forbidden',
      reason: 'link_invalid',
      error: 'this link is not valid for the room',
    });
    expect(await c.join(room.id, room.tokens.owner, '')).toMatchObject({ ok: false, code: 'invalid' });
  });
});

describe('bans and grants survive an engine restart', () => {
  it('a kicked person stays out and a promoted one keeps the role after the engine restarts (and new people are rate limited)', async () => {
    const tmp = tempDir('identity-restart');
    const dataDir = path.join(tmp.dir, 'pg');
    // this engine mints at most 3 people a minute per address
    let e = await startTestEngine('identity-a', { dataDir, httpLimits: { identities: 3 } });
    const local: TestClient[] = [];
    try {
      const room = await createRoom(e.base);
      const [owner, ed, vic] = [new TestClient(e.base), new TestClient(e.base), new TestClient(e.base)];
      local.push(owner, ed, vic);
      await owner.join(room.id, room.tokens.owner, 'Olga');
      await ed.join(room.id, room.tokens.editor, 'Ed');
      await vic.join(room.id, room.tokens.viewer, 'Vic');
      const fourth = new TestClient(e.base);
      local.push(fourth);
      expect(await fourth.join(room.id, room.tokens.viewer, 'Flood')).toEqual({
        ok: false,
        code: 'rate_limited',
        error: 'too many new people from this address (at most 3 per 60 s); try again shortly',
      });
      const known = new TestClient(e.base, { credential: vic.credential });
      local.push(known);
      expect(await known.join(room.id, room.tokens.viewer, 'Vic')).toMatchObject({ ok: true, userId: vic.userId });
      expect(await admin(owner, { type: 'kick', userId: ed.userId })).toMatchObject({ ok: true });
      expect(await admin(owner, { type: 'role', userId: vic.userId, role: 'editor' })).toMatchObject({ ok: true });
      for (const c of local) c.close();
      await e.close();

      e = await startTestEngine('identity-b', { dataDir });
      const ed2 = new TestClient(e.base, { credential: ed.credential });
      const vic2 = new TestClient(e.base, { credential: vic.credential });
      local.push(ed2, vic2);
      expect(await ed2.join(room.id, room.tokens.editor, 'Not Ed')).toEqual({
        ok: false,
        code: 'forbidden',
        reason: 'removed',
        error: 'you were removed from this room',
      });
      expect(await vic2.join(room.id, room.tokens.viewer, 'Vic')).toMatchObject({
        ok: true,
        role: 'editor',
        userId: vic.userId,
      });
      expect(await vic2.intent(cond('after-restart'))).toMatchObject({ ok: true });
    } finally {
      for (const c of local) c.close();
      await e.close();
      tmp.remove();
    }
  });
});

describe('a dropped connection', () => {
  let proxy: TcpProxy;
  let via = '';
  beforeAll(async () => {
    proxy = new TcpProxy(t.engine.port);
    via = await proxy.listen();
  });
  afterAll(() => proxy?.close());

  it('resumes within 5 s with the same membership, presence and undo stack, without a second join', async () => {
    const room = await createRoom();
    const owner = client();
    await owner.join(room.id, room.tokens.owner, 'Olga');
    const lists: Member[][] = [];
    owner.socket.on('room:members', (m) => lists.push(m));
    const p = client({ base: via, reconnection: true });
    expect(await p.join(room.id, room.tokens.editor, 'Pat')).toMatchObject({ ok: true });
    expect(await p.intent(cond('pats'))).toMatchObject({ ok: true });
    p.socket.emit('room:presence', { cursor: [0.25, 0.5] });
    await owner.waitFor(
      () => lists.at(-1)?.some((m) => m.userId === p.userId && m.cursor?.[0] === 0.25) ?? false,
      5000,
      'presence',
    );
    const connects: boolean[] = [];
    p.socket.on('connect', () => connects.push(p.socket.recovered));
    const before = lists.length;

    // the network drops and stays down for a moment: the engine keeps Pat, shown as away
    proxy.refuse = true;
    proxy.cut();
    const t0 = Date.now();
    await owner.waitFor(
      () => lists.slice(before).some((l) => l.some((m) => m.userId === p.userId && m.away)),
      5000,
      'Pat shown as away',
    );
    await sleep(800);
    proxy.refuse = false;
    await p.waitFor(() => connects.length > 0 && p.socket.connected, 5000, 'the reconnect');
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(connects).toEqual([true]); // connection state recovered
    await owner.waitFor(() => lists.at(-1)!.some((m) => m.userId === p.userId && !m.away), 5000, 'Pat back');

    expect(p.joinsSent).toBe(1);
    for (const l of lists.slice(before))
      expect(
        l.filter((m) => m.userId === p.userId),
        'Pat in every members list, once',
      ).toHaveLength(1);
    const members = t.engine.manager.get(room.id).presence.list();
    expect(members.map((m) => m.userId).sort()).toEqual([owner.userId, p.userId].sort());
    // the same person, role and undo stack: Pat's undo removes Pat's condition
    expect(await p.intent({ type: 'undo' })).toMatchObject({ ok: true });
    await owner.waitFor(() => owner.state!.conditions.length === 0, 5000, "Pat's undo");
    expect(p.errors).toEqual([]);
  });

  it('if recovery fails, a join with the credential and sinceVersion is the same person, with no duplicate member', async () => {
    const room = await createRoom();
    const owner = client();
    await owner.join(room.id, room.tokens.owner, 'Olga');
    const q = client({ base: via });
    await q.join(room.id, room.tokens.editor, 'Quinn');
    expect(await q.intent(cond('quinns'))).toMatchObject({ ok: true });
    const seen = q.state!.version;
    await owner.intent({ type: 'params.set', params: { eps1: 0.2 } });
    proxy.cut();
    await owner.waitFor(
      () =>
        t.engine.manager
          .get(room.id)
          .presence.list()
          .some((m) => m.userId === q.userId && m.away),
      5000,
      'Quinn away',
    );
    // a fresh connection (no session to recover) with Quinn's credential
    const q2 = client({ base: via, credential: q.credential });
    q2.state = structuredClone(q.state);
    const res = await q2.join(room.id, room.tokens.editor, 'Quinn', { sinceVersion: seen });
    expect(res).toMatchObject({ ok: true, userId: q.userId, role: 'editor', state: null });
    expect(res.ok && res.credential).toBeUndefined();
    expect(res.ok && res.patches.map((x) => x.version)).toEqual([seen + 1]);
    expect(res.ok && res.members.filter((m) => m.userId === q.userId)).toEqual([
      expect.objectContaining({ userId: q.userId, name: 'Quinn' }),
    ]);
    expect(res.ok && res.members.find((m) => m.userId === q.userId)!.away).toBeUndefined();
    expect(t.engine.manager.get(room.id).presence.list()).toHaveLength(2);
    expect(await q2.intent({ type: 'undo' })).toMatchObject({ ok: true });
    await owner.waitFor(() => owner.state!.conditions.length === 0, 5000, "Quinn's undo");
  });

  it('a session is only given back to the person it belongs to: another credential in the new handshake is refused', async () => {
    const room = await createRoom();
    const owner = client();
    await owner.join(room.id, room.tokens.owner, 'Olga');
    const s = client({ base: via, reconnection: true });
    await s.join(room.id, room.tokens.editor, 'Sam');
    const samId = s.userId;
    const refused = new Promise<{ message: string; data?: { code?: string } }>((res) =>
      s.socket.once('connect_error', res as never),
    );
    // the same session id and offset, but the handshake now proves someone else
    s.credential = owner.credential;
    proxy.cut();
    const err = await within(refused, 10_000, 'the refusal');
    expect(err.message).toBe('this session belongs to someone else; join again');
    expect(err.data).toEqual({ code: 'forbidden' });
    s.socket.io.reconnection(false);
    s.close();
    // Sam's place was not taken over: still Sam's (away), not the owner's
    const members = t.engine.manager.get(room.id).presence.list();
    expect(members.find((m) => m.userId === samId)).toMatchObject({ name: 'Sam', away: true });
    expect(members.filter((m) => m.userId === owner.userId)).toHaveLength(1);
  });

  it('someone kicked while their connection was down is told so when it comes back', async () => {
    const room = await createRoom();
    const owner = client();
    await owner.join(room.id, room.tokens.owner, 'Olga');
    const r = client({ base: via, reconnection: true });
    await r.join(room.id, room.tokens.editor, 'Rae');
    const kicked = new Promise<{ reason: string }>((res) => r.socket.once('room:kicked', res));
    proxy.refuse = true;
    proxy.cut();
    await owner.waitFor(
      () =>
        t.engine.manager
          .get(room.id)
          .presence.list()
          .some((m) => m.userId === r.userId && m.away),
      5000,
      'Rae away',
    );
    expect(await admin(owner, { type: 'kick', userId: r.userId })).toMatchObject({ ok: true });
    proxy.refuse = false;
    expect((await within(kicked, 10_000, 'the kick notice')).reason).toMatch(/removed/);
    await r.waitFor(() => !r.socket.connected, 5000, 'the disconnect');
    r.socket.io.reconnection(false);
    expect(
      t.engine.manager
        .get(room.id)
        .presence.list()
        .map((m) => m.userId),
    ).toEqual([owner.userId]);
  });
});
