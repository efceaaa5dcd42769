// Rooms end to end: real engine, real Postgres, socket.io clients, CPU.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngBomb } from '../../packages/ppgn/test/png-bomb';
import { encodePng } from '../../packages/ppgn/src/image';
import { PROTOCOL_VERSION } from '@ppgn/shared';
import { api, person, startTestEngine, TestClient } from '../support/engine';
import { TEST_LABELS, TEST_LEXICON } from '../support/pack';

let t: Awaited<ReturnType<typeof startTestEngine>>;
const clients: TestClient[] = [];
const client = () => {
  const c = new TestClient(t.base);
  clients.push(c);
  return c;
};

interface Created {
  id: string;
  tokens: { owner: string; editor: string; viewer: string };
}

async function createRoom(body: object = {}): Promise<Created> {
  const res = await api<Created>(t.base, 'POST', '/rooms', { author: 'tester', ...body });
  expect(res.status).toBe(201);
  return res.body;
}

beforeAll(async () => {
  t = await startTestEngine('rooms');
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t?.close();
});

const sha = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

describe('co-steering', () => {
  it('three clients steer one room and converge on the same state and frames', async () => {
    const room = await createRoom({
      conditions: [{ target: { kind: 'class', condition: 'class', labels: ['cat'] } }],
      params: { fps: 20 },
    });
    const [a, b, c] = [client(), client(), client()];
    await a.join(room.id, room.tokens.owner, 'Ann');
    await b.join(room.id, room.tokens.editor, 'Ben');
    await c.join(room.id, room.tokens.editor, 'Cy');
    const acks = await Promise.all([
      a.intent({ type: 'condition.update', id: 'c1', weight: 2 }),
      b.intent({ type: 'condition.add', id: 'dog', target: { kind: 'class', condition: 'class', labels: ['dog'] } }),
      c.intent({ type: 'params.set', params: { eps3: 0.01 } }),
      b.intent({
        type: 'mask.stroke',
        stroke: {
          id: 's1',
          erase: false,
          radius: 0.2,
          points: [
            [0.3, 0.3],
            [0.6, 0.6],
          ],
        },
      }),
    ]);
    expect(acks.every((x) => x.ok)).toBe(true);
    const finalVersion = Math.max(...acks.map((x) => (x.ok ? x.version : 0)));
    for (const x of [a, b, c]) await x.waitFor(() => x.state?.version === finalVersion, 10_000, 'patches');
    expect(b.state).toEqual(a.state);
    expect(c.state).toEqual(a.state);
    expect(a.state!.conditions.map((k) => [k.id, k.weight])).toEqual([
      ['c1', 2],
      ['dog', 1],
    ]);
    // frames: every client sees the same image for the same step
    const target = Math.max(...a.frames.map((f) => f.step), 0) + 5;
    for (const x of [a, b, c]) await x.waitFor(() => x.frames.some((f) => f.step >= target), 20_000, 'frames');
    const byStep = (x: TestClient) => new Map(x.frames.map((f) => [f.step, sha(new Uint8Array(f.image))]));
    const [fa, fb, fc] = [byStep(a), byStep(b), byStep(c)];
    const common = [...fa.keys()].filter((s) => fb.has(s) && fc.has(s));
    expect(common.length).toBeGreaterThan(3);
    for (const s of common) {
      expect(fb.get(s)).toBe(fa.get(s));
      expect(fc.get(s)).toBe(fa.get(s));
    }
    // steps strictly increase for each client
    for (const x of [a, b, c]) {
      const steps = x.frames.map((f) => f.step);
      expect(steps).toEqual([...steps].sort((p, q) => p - q));
    }
  });

  it("refuses a viewer's steering on the server and leaves the room unchanged", async () => {
    const room = await createRoom();
    const owner = client();
    const viewer = client();
    await owner.join(room.id, room.tokens.owner, 'Olga');
    const joined = await viewer.join(room.id, room.tokens.viewer, 'Vera');
    expect(joined.ok && joined.role).toBe('viewer');
    const before = owner.state!.version;
    const res = await viewer.intent({ type: 'params.set', params: { eps1: 0.5 } });
    expect(res).toEqual({ ok: false, error: 'viewers cannot steer this room' });
    expect(viewer.errors).toContain('viewers cannot steer this room');
    const state = await api<{ state: { version: number; params: { eps1: number } } }>(
      t.base,
      'GET',
      `/rooms/${room.id}?token=${room.tokens.viewer}`,
    );
    expect(state.body.state.version).toBe(before);
    // bad tokens are refused
    const intruder = client();
    expect(await intruder.join(room.id, 'not-a-token', 'X')).toEqual({
      ok: false,
      code: 'forbidden',
      reason: 'link_invalid',
      error: 'this link is not valid for the room',
    });
    // a page of another protocol version is told to reload, by reason; the current version joins
    const stale = client();
    expect(await stale.join(room.id, room.tokens.viewer, 'Old page', { protocol: PROTOCOL_VERSION - 1 })).toMatchObject(
      {
        ok: false,
        code: 'invalid',
        reason: 'protocol',
      },
    );
    expect(await client().join(room.id, room.tokens.viewer, 'New page', { protocol: PROTOCOL_VERSION })).toMatchObject({
      ok: true,
      protocol: PROTOCOL_VERSION,
    });
  });

  it('owner can promote a viewer and kick an editor', async () => {
    const room = await createRoom();
    const owner = client();
    const v = client();
    const e = client();
    await owner.join(room.id, room.tokens.owner, 'Own');
    await v.join(room.id, room.tokens.viewer, 'View');
    await e.join(room.id, room.tokens.editor, 'Edit');
    expect(
      await owner.socket.timeout(5000).emitWithAck('room:admin', { type: 'role', userId: v.userId, role: 'editor' }),
    ).toMatchObject({ ok: true });
    await v.waitFor(() => v.role === 'editor', 5000, 'the new role');
    expect(await v.intent({ type: 'params.set', params: { eps1: 0.25 } })).toMatchObject({ ok: true });
    expect(await e.socket.timeout(5000).emitWithAck('room:admin', { type: 'kick', userId: owner.userId })).toEqual({
      ok: false,
      error: 'only the owner can manage people',
    });
    const kicked = new Promise((r) => e.socket.once('room:kicked', r));
    await owner.socket.timeout(5000).emitWithAck('room:admin', { type: 'kick', userId: e.userId });
    await kicked;
    // with their credential, under another name: still removed
    const again = new TestClient(t.base, { credential: e.credential });
    clients.push(again);
    expect(await again.join(room.id, room.tokens.editor, 'Someone else')).toEqual({
      ok: false,
      code: 'forbidden',
      reason: 'removed',
      error: 'you were removed from this room',
    });
  });

  it('shares presence: cursors, painting, following and the step someone looks at', async () => {
    const room = await createRoom({ running: false });
    const a = client();
    const b = client();
    await a.join(room.id, room.tokens.owner, 'Ann');
    await b.join(room.id, room.tokens.editor, 'Ben');
    let members: {
      userId: string;
      cursor: unknown;
      following: string | null;
      viewing: number | null;
      painting: boolean;
    }[] = [];
    a.socket.on('room:members', (m) => (members = m));
    b.socket.emit('room:presence', { cursor: [0.25, 0.75], painting: true, following: a.userId, viewing: 10 });
    await a.waitFor(() => members.some((m) => m.userId === b.userId && m.viewing === 10), 5000, 'presence');
    expect(members.find((m) => m.userId === b.userId)).toMatchObject({
      cursor: [0.25, 0.75],
      painting: true,
      following: a.userId,
      viewing: 10,
    });
    b.socket.emit('room:presence', { cursor: [2, 0] });
    await a.waitFor(() => b.errors.length > 0, 5000, 'presence error');
    expect(b.errors.at(-1)).toMatch(/cursor/);
  });

  it("undo over the socket only touches one's own ops", async () => {
    const room = await createRoom();
    const a = client();
    const b = client();
    await a.join(room.id, room.tokens.owner, 'A');
    await b.join(room.id, room.tokens.editor, 'B');
    await a.intent({
      type: 'condition.add',
      id: 'mine',
      target: { kind: 'class', condition: 'class', labels: ['tree'] },
    });
    await b.intent({
      type: 'condition.add',
      id: 'theirs',
      target: { kind: 'class', condition: 'class', labels: ['star'] },
    });
    const undo = await a.intent({ type: 'undo' });
    expect(undo.ok).toBe(true);
    await a.waitFor(() => a.state!.conditions.length === 1);
    expect(a.state!.conditions.map((c) => c.id)).toEqual(['theirs']);
    expect(await b.intent({ type: 'redo' })).toEqual({ ok: false, error: 'nothing of yours to redo' });
  });

  it('a reconnecting client resyncs from its last version with patches, not a snapshot', async () => {
    const room = await createRoom({ running: false });
    const a = client();
    await a.join(room.id, room.tokens.owner, 'A');
    const seen = a.state!.version;
    a.close();
    const b = client();
    await b.join(room.id, room.tokens.editor, 'B');
    await b.intent({ type: 'params.set', params: { eps1: 0.1 } });
    await b.intent({ type: 'room.rename', name: 'nope' }).then((r) => expect(r.ok).toBe(false));
    await b.intent({ type: 'params.set', params: { eps3: 0.2 } });
    const a2 = new TestClient(t.base, { credential: a.credential });
    clients.push(a2);
    a2.state = structuredClone(a.state);
    const res = await a2.join(room.id, room.tokens.owner, 'A', { sinceVersion: seen });
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.userId).toBe(a.userId);
    expect(res.credential).toBeUndefined();
    expect(res.state).toBeNull();
    expect(res.patches.map((p) => p.version)).toEqual([seen + 1, seen + 2]);
    expect(a2.state).toEqual(b.state);
  });

  it('rejects bad payloads with clear errors', async () => {
    const room = await createRoom();
    const a = client();
    await a.join(room.id, room.tokens.owner, 'A');
    expect(await a.intent({ type: 'params.set', params: { eps1: 'NaN' } })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/params\.eps1/),
    });
    expect(await a.intent({ type: 'chain.step', steps: -3 })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/steps/),
    });
    expect(
      await a.intent({
        type: 'condition.add',
        id: 'x',
        target: { kind: 'class', condition: 'class', labels: ['unicorn'] },
      }),
    ).toMatchObject({
      ok: false,
      error: expect.stringMatching(/unicorn/),
    });
    expect(
      await a.intent({
        type: 'condition.add',
        id: 'k',
        target: { kind: 'text', condition: 'keywords', text: 'rond zzz' },
      }),
    ).toMatchObject({
      ok: false,
      error: expect.stringMatching(/"rond" → did you mean round\?; "zzz" is not a known word/),
    });
    const ok = await a.intent({
      type: 'condition.add',
      id: 'k',
      target: { kind: 'text', condition: 'keywords', text: 'a happy red thing' },
    });
    expect(ok.ok).toBe(true);
    const bad = await api<{ error: { code: string; message: string } }>(t.base, 'POST', '/rooms', {
      packId: 'nope',
      author: 'x',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/unknown pack "nope"/);
  });
});

describe('join contract', () => {
  it("the join reply types the pack's conditions (the web never guesses kinds from ids or label shapes)", async () => {
    const room = await createRoom({ running: false });
    const a = client();
    const res = await a.join(room.id, room.tokens.viewer, 'Ann');
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    // (the first condition of each kind; the pack's plug-in "style" is a second class condition)
    const kinds = Object.fromEntries([...res.pack.conditions].reverse().map((c) => [c.kind, c]));
    expect(kinds.classes).toMatchObject({ kind: 'classes', labels: expect.arrayContaining(['dog']) });
    expect(res.pack.conditions.map((c) => c.id)).toEqual(['class', 'keywords', 'units', 'style']);
    expect(kinds.keywords?.kind === 'keywords' && kinds.keywords.vocabulary.length).toBeGreaterThan(0);
    expect(
      kinds.units?.kind === 'units' && kinds.units.layers.every((l) => typeof l.name === 'string' && l.channels > 0),
    ).toBe(true);
    a.close();
  });
});

describe('text in other languages (the pack lexicon)', () => {
  it('the join reply announces the lexicon; words of other languages steer the keywords they mean, scored live', async () => {
    const room = await createRoom({ running: false });
    const a = client();
    const res = await a.join(room.id, room.tokens.owner, 'Ana');
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const kw = res.pack.conditions.find((c) => c.kind === 'keywords');
    expect(kw).toMatchObject({
      lexicon: { words: Object.keys(TEST_LEXICON.words).length, languages: ['es', 'fr', 'ja'] },
    });
    expect(
      await a.intent({
        type: 'condition.add',
        id: 'es',
        target: { kind: 'text', condition: 'keywords', text: 'algo rojo y feliz' },
      }),
    ).toMatchObject({ ok: true });
    // Japanese without spaces: 幸せ (happy) is found inside the run
    expect(
      await a.intent({
        type: 'condition.add',
        id: 'ja',
        target: { kind: 'text', condition: 'keywords', text: 'とても幸せ' },
      }),
    ).toMatchObject({ ok: true });
    // still refused when no word means a keyword, with the words named once
    expect(
      await a.intent({
        type: 'condition.add',
        id: 'no',
        target: { kind: 'text', condition: 'keywords', text: 'gato gato' },
      }),
    ).toMatchObject({
      ok: false,
      error: expect.stringMatching(
        /^no word of "gato gato" is in the vocabulary of keywords; "gato" is not a known word$/,
      ),
    });
    await a.intent({ type: 'chain.step', steps: 2 });
    await a.waitFor(() => a.frames.some((f) => f.conditionScores?.es && f.conditionScores?.ja), 10_000, 'scored frame');
    const f = a.frames.find((x) => x.conditionScores?.es)!;
    // each condition is scored by the keywords its words mean
    expect(f.conditionScores.es!.join(' ')).toMatch(/red/);
    expect(f.conditionScores.es!.join(' ')).toMatch(/happy/);
    expect(f.conditionScores.ja!.join(' ')).toMatch(/happy/);
    expect(f.conditionScores.ja!.join(' ')).not.toMatch(/red/);
    a.close();
  });

  it('serves the lexicon for the web (gzipped when asked), and 404 for a condition without one', async () => {
    const plain = await fetch(`${t.base}/packs/testpack/lexicon/keywords.json`, {
      headers: { 'accept-encoding': 'identity' },
    });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-encoding')).toBeNull();
    const body = (await plain.json()) as { words: Record<string, string>; languages: string[] };
    expect(body.words).toEqual(TEST_LEXICON.words);
    expect(body.languages).toEqual(TEST_LEXICON.languages);
    // fetch decodes gzip itself: the same words arrive
    const zipped = await fetch(`${t.base}/packs/testpack/lexicon/keywords.json`);
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(((await zipped.json()) as { words: unknown }).words).toEqual(TEST_LEXICON.words);
    const none = await api<{ error: { code: string; message: string } }>(
      t.base,
      'GET',
      '/packs/testpack/lexicon/class.json',
    );
    expect(none.status).toBe(404);
    expect(none.body.error.message).toBe('pack "testpack" has no lexicon for condition "class"');
  });
});

describe('gallery', () => {
  it('an item carries the full recipe (strokes, context pixels, pack version) and a remix reproduces it', async () => {
    const room = await createRoom({
      conditions: [{ target: { kind: 'class', condition: 'class', labels: ['cat'] } }],
      params: { fps: 30, eps1: 0.7 },
    });
    const a = client();
    await a.join(room.id, room.tokens.owner, 'Ann');
    await a.waitFor(() => a.frames.length >= 2, 20_000, 'frames');
    const stroke = {
      id: 's-recipe',
      erase: false,
      radius: 0.1,
      points: [
        [0.1, 0.2],
        [0.5, 0.5],
        [0.9, 0.3],
      ],
    };
    expect(await a.intent({ type: 'mask.stroke', stroke })).toMatchObject({ ok: true });
    expect(await a.intent({ type: 'mask.context', useCurrentFrame: true })).toMatchObject({ ok: true });
    await a.waitFor(() => a.state?.context !== null && a.state!.strokes.length === 1, 10_000, 'mask and context');
    const saved = await api<{ id: string }>(
      t.base,
      'POST',
      '/gallery',
      { roomId: room.id, token: room.tokens.editor, author: 'Ann' },
      a.credential,
    );
    expect(saved.status).toBe(201);
    const item = await api<{
      recipe: {
        strokes: { id: string; points: number[][] }[];
        context: { step: number } | null;
        packVersion: string | null;
        params: { eps1: number };
        settings?: { values: Record<string, number>; ignored: string[] };
      };
      seen: { label: string; p: number }[] | null;
    }>(t.base, 'GET', `/gallery/${saved.body.id}`);
    // what the picture looks like to the pack's classifier, measured at save: three labels, most probable first
    const seen = item.body.seen!;
    expect(seen).toHaveLength(3);
    expect(seen.every((x) => TEST_LABELS.includes(x.label) && x.p >= 0 && x.p <= 1)).toBe(true);
    expect(seen.map((x) => x.p)).toEqual([...seen.map((x) => x.p)].sort((x, y) => y - x));
    expect(seen.reduce((acc, x) => acc + x.p, 0)).toBeLessThanOrEqual(1.001);
    expect(item.body.recipe.strokes).toMatchObject([
      { id: 's-recipe', erase: false, radius: 0.1, points: stroke.points, author: a.userId },
    ]);
    expect(item.body.recipe.context?.step).toBe(a.state!.context!.step);
    expect(item.body.recipe.packVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(item.body.recipe.params.eps1).toBe(0.7);
    // and the settings in effect, as the panel showed them (the pack's tunings with the room's overrides)
    const effective = a.state!.effective!;
    expect(item.body.recipe.settings).toEqual({ values: effective.values, ignored: Object.keys(effective.ignored) });
    expect(item.body.recipe.settings!.values.eps1).toBe(0.7);
    expect(item.body.recipe.settings!.ignored).toContain('decay'); // a PPGN room: the decay is DGN-AM's
    const contextPng = await api<ArrayBuffer>(t.base, 'GET', `/gallery/${saved.body.id}/context.png`);
    expect(contextPng.status).toBe(200);

    const remix = await api<Created>(t.base, 'POST', `/gallery/${saved.body.id}/remix`, { author: 'Ben' });
    expect(remix.status).toBe(201);
    const b = client();
    await b.join(remix.body.id, remix.body.tokens.owner, 'Ben');
    // the remix has the recipe's mask, context, conditions and every setting, and opens on the saved frame
    expect(b.state!.strokes).toEqual(item.body.recipe.strokes);
    expect(b.state!.context).toEqual(item.body.recipe.context);
    expect(b.state!.conditions.map((c) => c.target)).toEqual(a.state!.conditions.map((c) => c.target));
    expect(b.state!.params).toEqual(a.state!.params);
    expect(b.state!.running).toBe(false);
    await b.waitFor(() => b.frames.length >= 1, 10_000, 'first frame');
    const itemPng = new Uint8Array((await api<ArrayBuffer>(t.base, 'GET', `/gallery/${saved.body.id}/image.png`)).body);
    expect(sha(new Uint8Array(b.frames[0]!.image))).toBe(sha(itemPng));
    // its context pixels are the saved ones: a save from the remix carries the same context image, and
    // files itself under the original without the browser saying so (lineage is kept on the room)
    const child = await api<{ id: string; parentId: string | null }>(
      t.base,
      'POST',
      '/gallery',
      { roomId: remix.body.id, token: remix.body.tokens.owner },
      await person(t.base, 'Ben'),
    );
    expect(child.body.parentId).toBe(saved.body.id);
    const childContext = await api<ArrayBuffer>(t.base, 'GET', `/gallery/${child.body.id}/context.png`);
    expect(sha(new Uint8Array(childContext.body))).toBe(sha(new Uint8Array(contextPng.body)));
    a.close();
    b.close();
  });

  it('undo and redo of "use frame as context" bring back those pixels; undoing a seed change restarts the chain', async () => {
    const room = await createRoom({ params: { fps: 30 } });
    const a = client();
    await a.join(room.id, room.tokens.owner, 'Ann');
    await a.waitFor(() => a.frames.length >= 2, 20_000, 'frames');
    const contextNow = async () => {
      const saved = await api<{ id: string }>(
        t.base,
        'POST',
        '/gallery',
        { roomId: room.id, token: room.tokens.owner },
        a.credential,
      );
      expect(saved.status).toBe(201);
      return sha(new Uint8Array((await api<ArrayBuffer>(t.base, 'GET', `/gallery/${saved.body.id}/context.png`)).body));
    };
    expect(await a.intent({ type: 'mask.context', useCurrentFrame: true })).toMatchObject({ ok: true });
    const first = await contextNow();
    const n = a.frames.length;
    await a.waitFor(() => a.frames.length >= n + 5, 20_000, 'the chain moves on');
    expect(await a.intent({ type: 'mask.context', useCurrentFrame: true })).toMatchObject({ ok: true });
    const second = await contextNow();
    expect(second).not.toBe(first);
    expect(await a.intent({ type: 'undo' })).toMatchObject({ ok: true });
    expect(await contextNow()).toBe(first);
    expect(await a.intent({ type: 'redo' })).toMatchObject({ ok: true });
    expect(await contextNow()).toBe(second);

    await a.waitFor(() => a.frames.at(-1)!.step >= 10, 20_000, 'ten steps');
    expect(await a.intent({ type: 'params.set', params: { seed: 4242 } })).toMatchObject({ ok: true });
    const v1 = a.state!.version;
    await a.waitFor(
      () => a.frames.some((f) => f.version >= v1 && f.step <= 2),
      20_000,
      'a fresh chain after the seed change',
    );
    await a.waitFor(() => a.frames.at(-1)!.step >= 10, 20_000, 'ten more steps');
    expect(await a.intent({ type: 'undo' })).toMatchObject({ ok: true });
    const v2 = a.state!.version;
    await a.waitFor(
      () => a.frames.some((f) => f.version >= v2 && f.step <= 2),
      20_000,
      'a fresh chain after undoing the seed change',
    );
    a.close();
  });

  it('an item saved without a mask has no context image (a clear 404)', async () => {
    const room = await createRoom({ params: { fps: 30 } });
    const a = client();
    await a.join(room.id, room.tokens.owner, 'Ann');
    await a.waitFor(() => a.frames.length >= 1, 20_000, 'frames');
    const saved = await api<{ id: string }>(
      t.base,
      'POST',
      '/gallery',
      { roomId: room.id, token: room.tokens.owner },
      a.credential,
    );
    const res = await api<{ error: { code: string } }>(t.base, 'GET', `/gallery/${saved.body.id}/context.png`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    a.close();
  });

  it('a new seed or a reset in a paused room shows the new start at once (issue 21, item 5)', async () => {
    const room = await createRoom({ params: { fps: 30 }, running: false });
    const a = client();
    await a.join(room.id, room.tokens.owner, 'Ann');
    const before = a.frames.length;
    const seed = (await a.intent({ type: 'params.set', params: { seed: 4242 } })) as { ok: boolean; version: number };
    expect(seed.ok).toBe(true);
    await a.waitFor(() => a.frames.length > before, 10_000, 'a frame of the new seed');
    expect(a.frames.at(-1)).toMatchObject({ step: 0, version: seed.version });
    const shown = a.frames.at(-1)!;
    const reset = (await a.intent({ type: 'chain.reset', seed: 7 })) as { ok: boolean; version: number };
    expect(reset.ok).toBe(true);
    await a.waitFor(() => a.frames.at(-1)!.version === reset.version, 10_000, 'a frame of the reset');
    expect(sha(new Uint8Array(a.frames.at(-1)!.image))).not.toBe(sha(new Uint8Array(shown.image)));
    expect(a.state!.running).toBe(false);
    a.close();
  });

  it('a start image is a change like any other: undo takes the chain back to where it was, redo forward again (issue 21, item 3)', async () => {
    const room = await createRoom({ params: { fps: 30 }, running: false });
    const a = client();
    await a.join(room.id, room.tokens.owner, 'Ann');
    expect(await a.intent({ type: 'params.set', params: { eps1: 0.7 } })).toMatchObject({ ok: true });
    const framePng = async () =>
      sha(
        new Uint8Array(
          (await api<ArrayBuffer>(t.base, 'GET', `/rooms/${room.id}/frame.png?token=${room.tokens.owner}`)).body,
        ),
      );
    const before = await framePng();
    const { encodePng } = await import('@ppgn/core');
    const N = 16;
    const data = new Float32Array(N * N * 3).fill(0.1);
    const up = await api<{ version: number }>(
      t.base,
      'POST',
      `/rooms/${room.id}/image`,
      { token: room.tokens.owner, imagePng: Buffer.from(encodePng({ shape: [N, N, 3], data })).toString('base64') },
      a.credential,
    );
    expect(up.status).toBe(200);
    await a.waitFor(() => a.state?.version === up.body.version, 10_000, 'the start patch');
    expect(a.state!.start).toMatchObject({ label: 'an uploaded image', setBy: a.userId });
    const started = await framePng();
    expect(started).not.toBe(before);
    // undo: the start image, not the older ε1 change
    const undo = (await a.intent({ type: 'undo' })) as { ok: boolean; version: number };
    expect(undo.ok).toBe(true);
    await a.waitFor(() => a.frames.some((f) => f.version === undo.version), 10_000, 'the frame of the undo');
    expect(a.state!.params.eps1).toBe(0.7);
    expect(a.state!.start).toMatchObject({ label: 'the chain before the upload' });
    expect(await framePng()).toBe(before);
    expect(a.activity.find((x) => x.version === undo.version)?.summary).toBe('undid: the start from an uploaded image');
    const redo = (await a.intent({ type: 'redo' })) as { ok: boolean; version: number };
    expect(redo.ok).toBe(true);
    await a.waitFor(() => a.frames.some((f) => f.version === redo.version), 10_000, 'the frame of the redo');
    expect(await framePng()).toBe(started);
    a.close();
  });

  it('starting from an image in a paused room shows the new picture at once', async () => {
    const room = await createRoom({ params: { fps: 30 }, running: false });
    const a = client();
    await a.join(room.id, room.tokens.owner, 'Ann');
    const { encodePng } = await import('@ppgn/core');
    const N = 32;
    const data = new Float32Array(N * N * 3).fill(1);
    for (let i = 0; i < N * N; i++) if (i % N < N / 2) data[i * 3 + 2] = 0;
    const before = a.frames.length;
    const res = await api<{ version: number }>(
      t.base,
      'POST',
      `/rooms/${room.id}/image`,
      { token: room.tokens.owner, imagePng: Buffer.from(encodePng({ shape: [N, N, 3], data })).toString('base64') },
      a.credential,
    );
    expect(res.status).toBe(200);
    await a.waitFor(() => a.frames.length > before, 10_000, 'a frame of the new start');
    const f = a.frames.at(-1)!;
    expect(f.version).toBe(res.body.version);
    expect(a.state!.running).toBe(false);
    const shown = new Uint8Array(
      (await api<ArrayBuffer>(t.base, 'GET', `/rooms/${room.id}/frame.png?token=${room.tokens.owner}`)).body,
    );
    expect(sha(shown)).toBe(sha(new Uint8Array(f.image)));
    a.close();
  });

  it("counts a save's idempotency key per person: the same person gets their item back, someone else replaying it does not", async () => {
    const room = await createRoom({ params: { fps: 30 } });
    const a = client();
    await a.join(room.id, room.tokens.owner, 'Ann');
    await a.waitFor(() => a.frames.length >= 1, 20_000, 'frames');
    const annKey = await api<{ id: string }>(
      t.base,
      'POST',
      '/gallery',
      { roomId: room.id, token: room.tokens.owner, author: 'Ann', idempotencyKey: 'save-click-0002' },
      a.credential,
    );
    expect(annKey.status).toBe(201);
    expect(
      (
        await api<{ id: string }>(
          t.base,
          'POST',
          '/gallery',
          { roomId: room.id, token: room.tokens.owner, author: 'Ann', idempotencyKey: 'save-click-0002' },
          a.credential,
        )
      ).body.id,
    ).toBe(annKey.body.id);
    const other = client();
    await other.join(room.id, room.tokens.editor, 'Ann');
    const replay = await api<{ id: string }>(
      t.base,
      'POST',
      '/gallery',
      { roomId: room.id, token: room.tokens.editor, author: 'Ann', idempotencyKey: 'save-click-0002' },
      other.credential,
    );
    expect(replay.status).toBe(201);
    expect(replay.body.id).not.toBe(annKey.body.id);
  });

  it('save → remix → lineage round-trips, and the remixed room starts at the item', async () => {
    const room = await createRoom({
      conditions: [{ target: { kind: 'class', condition: 'class', labels: ['dog'] } }],
      params: { fps: 30 },
    });
    const a = client();
    await a.join(room.id, room.tokens.owner, 'Ann');
    await a.waitFor(() => a.frames.length >= 3, 20_000, 'frames');
    const saved = await api<{ id: string; classLabel: string; author: string; step: number }>(
      t.base,
      'POST',
      '/gallery',
      { roomId: room.id, token: room.tokens.editor, title: 'Good dog', idempotencyKey: 'save-click-0001' },
      a.credential,
    );
    expect(saved.status).toBe(201);
    expect(saved.body).toMatchObject({ classLabel: 'dog', author: 'Ann' });
    // a double click sends the same key: the same item comes back, no duplicate
    const again = await api<{ id: string }>(
      t.base,
      'POST',
      '/gallery',
      { roomId: room.id, token: room.tokens.editor, title: 'Good dog', idempotencyKey: 'save-click-0001' },
      a.credential,
    );
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(saved.body.id);
    const remix = await api<{ id: string; tokens: { owner: string } }>(
      t.base,
      'POST',
      `/gallery/${saved.body.id}/remix`,
      { author: 'Ben' },
    );
    expect(remix.status).toBe(201);
    // the remixed room starts paused at the item's code: its first frame is the item's image
    const itemPng = new Uint8Array((await api<ArrayBuffer>(t.base, 'GET', `/gallery/${saved.body.id}/image.png`)).body);
    const roomPng = new Uint8Array(
      (await api<ArrayBuffer>(t.base, 'GET', `/rooms/${remix.body.id}/frame.png?token=${remix.body.tokens.owner}`))
        .body,
    );
    expect(sha(roomPng)).toBe(sha(itemPng));
    // paused on the saved picture, at the item's step (not "step 0", which reads as a reset): Play goes on from there
    const opened = await api<{ step: number; state: { running: boolean } }>(
      t.base,
      'GET',
      `/rooms/${remix.body.id}?token=${remix.body.tokens.owner}`,
    );
    expect(saved.body.step).toBeGreaterThan(0);
    expect(opened.body).toMatchObject({ step: saved.body.step, state: { running: false } });
    const child = await api<{ id: string }>(
      t.base,
      'POST',
      '/gallery',
      { roomId: remix.body.id, token: remix.body.tokens.owner, parentId: saved.body.id },
      await person(t.base, 'Ben'),
    );
    const mix = await api<{ id: string; parentId: string; mixParentId: string; author: string }>(
      t.base,
      'POST',
      '/gallery/mix',
      { a: child.body.id, b: saved.body.id, t: 0.3 },
      await person(t.base, 'Cy'),
    );
    expect(mix.status).toBe(201);
    expect(mix.body.author).toBe('Cy');
    const lineage = await api<{ ancestors: { id: string }[]; children: { id: string }[] }>(
      t.base,
      'GET',
      `/gallery/${mix.body.id}/lineage`,
    );
    expect(lineage.body.ancestors.map((x) => x.id).sort()).toEqual([child.body.id, saved.body.id].sort());
    const root = await api<{ children: { id: string }[]; ancestors: unknown[] }>(
      t.base,
      'GET',
      `/gallery/${saved.body.id}/lineage`,
    );
    expect(root.body.ancestors).toEqual([]);
    expect(root.body.children.map((x) => x.id).sort()).toEqual([child.body.id, mix.body.id].sort());
    // star + filters + pagination
    const first = await api<{ stars: number; starred: boolean; credential: string }>(
      t.base,
      'POST',
      `/gallery/${saved.body.id}/star`,
      {},
    );
    expect(first.body).toMatchObject({ stars: 1, starred: true });
    // stars are per person: the same person pressing again does not add one, and only they take theirs back
    const as = async (credential: string, method: string, body?: object) => {
      const res = await fetch(`${t.base}/gallery/${saved.body.id}/star`, {
        method,
        headers: { authorization: `Bearer ${credential}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return (await res.json()) as { stars: number; starred: boolean };
    };
    expect(await as(first.body.credential, 'POST', { starred: true })).toEqual({ stars: 1, starred: true });
    const second = await api<{ stars: number; credential: string }>(t.base, 'POST', `/gallery/${saved.body.id}/star`, {
      starred: true,
    });
    expect(second.body.stars).toBe(2);
    expect(await as(first.body.credential, 'GET')).toEqual({ stars: 2, starred: true });
    expect(await as(first.body.credential, 'POST', { starred: false })).toEqual({ stars: 1, starred: false });
    expect(await as(first.body.credential, 'POST', { starred: false })).toEqual({ stars: 1, starred: false });
    expect(await as(second.body.credential, 'GET')).toEqual({ stars: 1, starred: true });
    expect((await api<{ starred: boolean }>(t.base, 'GET', `/gallery/${saved.body.id}/star`)).body.starred).toBe(false);
    // a class finds what was steered to it and what looks like it most
    const byClass = await api<{ items: { id: string; classLabel: string | null; seen: { label: string }[] | null }[] }>(
      t.base,
      'GET',
      '/gallery?class=dog&author=Ann',
    );
    expect(byClass.body.items.map((x) => x.id)).toContain(saved.body.id);
    expect(byClass.body.items.every((x) => x.classLabel === 'dog' || x.seen?.[0]?.label === 'dog')).toBe(true);
    const all = await api<{ items: { id: string; classLabel: string | null; seen: { label: string }[] | null }[] }>(
      t.base,
      'GET',
      '/gallery?author=Ann&limit=100',
    );
    expect(byClass.body.items.length).toBe(
      all.body.items.filter((x) => x.classLabel === 'dog' || x.seen?.[0]?.label === 'dog').length,
    );
    // ?starred=true narrows to starred items; ?starred=false does not (it read as true before)
    const ids = async (q: string) =>
      (await api<{ items: { id: string }[] }>(t.base, 'GET', `/gallery?limit=100${q}`)).body.items.map((x) => x.id);
    expect(await ids('&starred=true')).toContain(saved.body.id);
    expect(await ids('&starred=true')).not.toContain(child.body.id);
    expect((await ids('&starred=false')).sort()).toEqual((await ids('')).sort());
    expect((await api<{ error: { message: string } }>(t.base, 'GET', '/gallery?starred=maybe')).status).toBe(400);
    const page1 = await api<{ items: { id: string }[]; nextCursor: string | null }>(t.base, 'GET', '/gallery?limit=2');
    expect(page1.body.items).toHaveLength(2);
    const page2 = await api<{ items: { id: string }[]; nextCursor: string | null }>(
      t.base,
      'GET',
      `/gallery?limit=2&cursor=${page1.body.nextCursor}`,
    );
    expect(page2.body.items.map((x) => x.id)).not.toContain(page1.body.items[0]!.id);
    expect((await api(t.base, 'GET', '/gallery/nope/lineage')).status).toBe(404);
  });

  it('keeps chain history, forks from a kept step and exports a GIF', async () => {
    const room = await createRoom({ params: { fps: 30 } });
    const a = client();
    await a.join(room.id, room.tokens.owner, 'A');
    await a.waitFor(() => a.frames.some((f) => f.step >= 12), 20_000, 'frames');
    const hist = await api<{ steps: number[] }>(t.base, 'GET', `/rooms/${room.id}/history?token=${room.tokens.viewer}`);
    expect(hist.body.steps).toEqual(expect.arrayContaining([5, 10]));
    const fork = await api<{ id: string }>(
      t.base,
      'POST',
      `/rooms/${room.id}/fork`,
      { token: room.tokens.editor, step: 5 },
      a.credential,
    );
    expect(fork.status).toBe(201);
    // a viewer may fork too (it reads the room, never steers it): the copy is theirs, the original unchanged
    const v = client();
    await v.join(room.id, room.tokens.viewer, 'V');
    const before = (
      await api<{ state: { version: number } }>(t.base, 'GET', `/rooms/${room.id}?token=${room.tokens.viewer}`)
    ).body.state.version;
    const viewerFork = await api<{ id: string; tokens: { owner: string } }>(
      t.base,
      'POST',
      `/rooms/${room.id}/fork`,
      { token: room.tokens.viewer, step: 5 },
      v.credential,
    );
    expect(viewerFork.status).toBe(201);
    const mine = new TestClient(t.base, { credential: v.credential });
    clients.push(mine);
    expect(await mine.join(viewerFork.body.id, viewerFork.body.tokens.owner, 'V')).toMatchObject({
      ok: true,
      role: 'owner',
    });
    expect(
      (await api<{ state: { version: number } }>(t.base, 'GET', `/rooms/${room.id}?token=${room.tokens.viewer}`)).body
        .state.version,
    ).toBe(before);
    const gif = await api<ArrayBuffer>(t.base, 'GET', `/rooms/${room.id}/export.gif?token=${room.tokens.viewer}`);
    expect(gif.status).toBe(200);
    expect(Buffer.from(gif.body).subarray(0, 6).toString()).toBe('GIF89a');
    expect(
      (await api(t.base, 'POST', `/rooms/${room.id}/fork`, { token: room.tokens.editor, step: 3 }, a.credential))
        .status,
    ).toBe(400);
  });
});

describe('start from an image', () => {
  it('creates a room whose chain starts at E(x) of an uploaded PNG, and rejects garbage', async () => {
    const { encodePng } = await import('@ppgn/core');
    // a 40×40 red disc; the engine resizes it to the pack's 16×16
    const N = 40;
    const data = new Float32Array(N * N * 3).fill(1);
    for (let y = 0; y < N; y++)
      for (let x = 0; x < N; x++)
        if ((x - 20) ** 2 + (y - 20) ** 2 < 150) {
          data[(y * N + x) * 3 + 1] = 0;
          data[(y * N + x) * 3 + 2] = 0;
        }
    const png = encodePng({ shape: [N, N, 3], data }).toString('base64');
    const a = await api<{ id: string; tokens: { owner: string; viewer: string } }>(t.base, 'POST', '/rooms', {
      author: 'u',
      imagePng: png,
      running: false,
    });
    expect(a.status).toBe(201);
    const b = await api<{ id: string; tokens: { owner: string } }>(t.base, 'POST', '/rooms', {
      author: 'u',
      running: false,
      params: { seed: 99 },
    });
    const frameA = new Uint8Array(
      (await api<ArrayBuffer>(t.base, 'GET', `/rooms/${a.body.id}/frame.png?token=${a.body.tokens.viewer}`)).body,
    );
    const frameB0 = new Uint8Array(
      (await api<ArrayBuffer>(t.base, 'GET', `/rooms/${b.body.id}/frame.png?token=${b.body.tokens.owner}`)).body,
    );
    expect(sha(frameA)).not.toBe(sha(frameB0));
    // the same upload into room b puts its chain at the same code: same frame as room a
    const up = await api<{ ok: boolean }>(
      t.base,
      'POST',
      `/rooms/${b.body.id}/image`,
      { token: b.body.tokens.owner, imagePng: png },
      await person(t.base, 'u'),
    );
    expect(up.status).toBe(200);
    const frameB1 = new Uint8Array(
      (await api<ArrayBuffer>(t.base, 'GET', `/rooms/${b.body.id}/frame.png?token=${b.body.tokens.owner}`)).body,
    );
    expect(sha(frameB1)).toBe(sha(frameA));
    // the same picture as an image-reference condition (match E-features)
    const owner = client();
    await owner.join(b.body.id, b.body.tokens.owner, 'u');
    expect(
      await owner.intent({ type: 'condition.add', id: 'ref', target: { kind: 'image', png, name: 'red disc' } }),
    ).toMatchObject({ ok: true });
    expect(
      await owner.intent({ type: 'condition.add', id: 'ref2', target: { kind: 'image', png: 'bm90IGEgcG5n' } }),
    ).toMatchObject({
      ok: false,
      error: expect.stringMatching(/not a valid PNG/),
    });
    await owner.intent({ type: 'chain.step', steps: 3 });
    await owner.waitFor(() => owner.frames.some((f) => Object.keys(f.scores).length > 0), 10_000, 'scored frame');
    // the frame says which score measures the image condition (by its id), and has its value
    const scored = owner.frames.find((f) => Object.keys(f.scores).length > 0)!;
    expect(scored.conditionScores).toEqual({ ref: [expect.stringMatching(/^refDist\(/)] });
    expect(scored.scores[scored.conditionScores.ref![0]!]).toEqual(expect.any(Number));
    const bad = await api<{ error: { code: string; message: string } }>(t.base, 'POST', '/rooms', {
      author: 'u',
      imagePng: 'bm90IGEgcG5n',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/not a valid PNG/);
    const viewerUpload = await api<{ error: { code: string; message: string } }>(
      t.base,
      'POST',
      `/rooms/${a.body.id}/image`,
      { token: a.body.tokens.viewer, imagePng: png },
      await person(t.base, 'v'),
    );
    expect(viewerUpload.status).toBe(403);
    expect(viewerUpload.body.error.message).toBe('viewers cannot steer this room');
  });

  it('refuses decompression bombs from the PNG header, fast, with 413 (uploads) or an error (reference images)', async () => {
    const bomb = pngBomb(20000, 20000).toString('base64'); // 400 megapixels, ≈ 65 KB of base64
    expect(bomb.length).toBeLessThan(100_000);
    let t0 = performance.now();
    const created = await api<{ error: { code: string; message: string } }>(t.base, 'POST', '/rooms', {
      author: 'u',
      imagePng: bomb,
    });
    const createMs = performance.now() - t0;
    expect(created.status).toBe(413);
    // pictures for a 16×16 pack may declare up to 512 pixels a side (8× the pack, at least 512)
    expect(created.body.error.message).toBe(
      'image is 20000×20000 pixels; the limit is 512 pixels a side and 0.3 megapixels',
    );
    const room = await createRoom({ running: false });
    t0 = performance.now();
    const up = await api<{ error: { code: string; message: string } }>(
      t.base,
      'POST',
      `/rooms/${room.id}/image`,
      { token: room.tokens.owner, imagePng: bomb },
      await person(t.base, 'u'),
    );
    const uploadMs = performance.now() - t0;
    expect(up.status).toBe(413);
    expect(up.body.error.message).toMatch(/^image is 20000×20000 pixels/);
    // ≈ 50 ms on an idle machine; generous for 2 starved cores (inflating 400 megapixels takes far longer and gigabytes)
    expect(createMs).toBeLessThan(5000);
    expect(uploadMs).toBeLessThan(5000);
    // as a reference-image condition over the socket (10000×10000 fits its 64 KB limit)
    const owner = client();
    await owner.join(room.id, room.tokens.owner, 'u');
    const small = pngBomb(10000, 10000).toString('base64');
    expect(await owner.intent({ type: 'condition.add', id: 'bomb', target: { kind: 'image', png: small } })).toEqual({
      ok: false,
      error: 'image is 10000×10000 pixels; the limit is 512 pixels a side and 0.3 megapixels',
    });
    // a 2.8 KB reference declaring 4096×4096 was accepted, decoded and resized on the engine's main thread
    // (seconds, hundreds of MB): now the header is refused before anything is inflated
    const tiny = pngBomb(4096, 4096);
    expect(tiny.byteLength).toBeLessThan(5000);
    expect(
      await owner.intent({
        type: 'condition.add',
        id: 'bomb2',
        target: { kind: 'image', png: tiny.toString('base64') },
      }),
    ).toEqual({ ok: false, error: 'image is 4096×4096 pixels; the limit is 512 pixels a side and 0.3 megapixels' });
    // a picture within the limit still becomes a condition
    const fine = encodePng({ shape: [300, 200, 3], data: new Float32Array(300 * 200 * 3).fill(0.5) }).toString(
      'base64',
    );
    expect((await owner.intent({ type: 'condition.add', id: 'ok', target: { kind: 'image', png: fine } })).ok).toBe(
      true,
    );
    const view = await api<{ state: { conditions: unknown[] } }>(
      t.base,
      'GET',
      `/rooms/${room.id}?token=${room.tokens.owner}`,
    );
    expect(view.body.state.conditions.map((c) => (c as { id: string }).id)).toEqual(['ok']);
  });
});

describe('roles over HTTP come from the token', () => {
  it('a viewer link cannot save to the gallery (403), an editor link can (201), whatever name is sent', async () => {
    const room = await createRoom({ params: { fps: 30 } });
    const owner = client();
    await owner.join(room.id, room.tokens.owner, 'Olga');
    await owner.waitFor(() => owner.frames.length >= 1, 20_000, 'a frame');
    // the viewer claims the owner's display name and user id: still a viewer
    const viewer = client();
    await viewer.join(room.id, room.tokens.viewer, 'Olga', { userId: owner.userId });
    expect(viewer.userId).not.toBe(owner.userId);
    const refused = await api<{ error: { code: string; message: string } }>(
      t.base,
      'POST',
      '/gallery',
      { roomId: room.id, token: room.tokens.viewer, author: 'Olga' },
      viewer.credential,
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe('viewers cannot save to the gallery; ask the owner for an editor link');
    const mine = await api<{ items: { id: string }[] }>(t.base, 'GET', '/gallery?author=Olga');
    expect(mine.body.items).toEqual([]);
    // the author is the person the credential proves (their name), whatever name is sent
    const saved = await api<{ id: string; author: string }>(
      t.base,
      'POST',
      '/gallery',
      { roomId: room.id, token: room.tokens.editor, author: 'Olga' },
      await person(t.base, 'Ed'),
    );
    expect(saved.status).toBe(201);
    expect(saved.body.author).toBe('Ed');
    const bad = await api<{ error: { code: string; message: string } }>(
      t.base,
      'POST',
      '/gallery',
      { roomId: room.id, token: 'nope', author: 'Olga' },
      owner.credential,
    );
    expect(bad.status).toBe(403);
    expect(bad.body.error.message).toBe('this link is not valid for the room');
  });
});

describe('previews', () => {
  it('serves class thumbnails and hidden-unit previews, with clear 4xx errors', async () => {
    const thumb = await fetch(`${t.base}/packs/testpack/thumbs/class/dog.png`);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/png');
    const other = await fetch(`${t.base}/packs/testpack/thumbs/class/cat.png`);
    expect(sha(new Uint8Array(await other.arrayBuffer()))).not.toBe(sha(new Uint8Array(await thumb.arrayBuffer())));
    const unit = await fetch(`${t.base}/packs/testpack/units/units/conv1/3.png`);
    expect(unit.status).toBe(200);
    const badLabel = await api<{ error: { code: string; message: string } }>(
      t.base,
      'GET',
      '/packs/testpack/thumbs/class/unicorn.png',
    );
    expect(badLabel.status).toBe(404);
    expect(badLabel.body.error).toMatchObject({
      code: 'not_found',
      message: expect.stringMatching(/no label "unicorn"/),
    });
    const badChannel = await api<{ error: { code: string; message: string } }>(
      t.base,
      'GET',
      '/packs/testpack/units/units/conv1/999.png',
    );
    expect(badChannel.body.error.message).toMatch(/channel must be 0…7/);
    expect((await fetch(`${t.base}/packs/nope/thumbs/class/dog.png`)).status).toBe(404);
  });
});
