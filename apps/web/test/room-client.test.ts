import { afterEach, describe, expect, it, vi } from 'vitest';
import { PROTOCOL_VERSION, type JoinResult, type RoomPatch, type RoomState } from '@ppgn/shared';
import { RoomClient, type RoomSocket } from '../lib/room-client';

type Handler = (...args: unknown[]) => void;

/** Just enough of a socket.io client: records emits, lets the test play the server. */
class FakeSocket {
  connected = false;
  recovered = false;
  /** the options the client made the socket with (its handshake auth) */
  opts: { auth?: (cb: (d: object) => void) => void } = {};
  handlers = new Map<string, Handler[]>();
  emitted: { event: string; payload: unknown }[] = [];
  joinReplies: JoinResult[] = [];
  /** the server's side of an intent: may fire events before it acks */
  onIntent: (payload: unknown) => unknown = () => ({ ok: true, version: 1 });
  on(event: string, fn: Handler) {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), fn]);
    return this;
  }
  fire(event: string, ...args: unknown[]) {
    for (const h of this.handlers.get(event) ?? []) h(...args);
  }
  connect() {
    this.connected = true;
    this.fire('connect');
    return this;
  }
  disconnect() {
    this.connected = false;
    return this;
  }
  drop() {
    this.connected = false;
    this.fire('disconnect', 'transport close');
  }
  /** what the handshake would carry now */
  auth(): object {
    let out: object = {};
    this.opts.auth?.((d) => (out = d));
    return out;
  }
  removeAllListeners() {
    this.handlers.clear();
    return this;
  }
  emit(event: string, payload: unknown) {
    this.emitted.push({ event, payload });
    return this;
  }
  timeout() {
    return {
      emitWithAck: async (event: string, payload: unknown) => {
        this.emitted.push({ event, payload });
        if (event === 'room:join') return this.joinReplies.shift();
        if (event === 'room:intent') return this.onIntent(payload);
        return { ok: true, version: 1 };
      },
    };
  }
}

const state = (version: number): RoomState => ({
  id: 'r1',
  name: 'Room',
  packId: 'p',
  version,
  running: true,
  locked: false,
  conditions: [],
  params: {
    mode: 'ppgn',
    eps1: 1e-3,
    eps2: 1,
    eps3: 1e-3,
    eps4: 0,
    lr: 1,
    lrEnd: 1,
    lrSteps: 200,
    decay: 0.01,
    resetEvery: 0,
    seed: 1,
    fps: 10,
  },
  strokes: [],
  context: null,
});
const joined = (over: Partial<Extract<JoinResult, { ok: true }>> = {}): JoinResult => ({
  ok: true,
  protocol: PROTOCOL_VERSION,
  userId: 'user_123',
  role: 'editor',
  state: state(3),
  patches: [],
  members: [],
  activity: [],
  pack: { id: 'p', conditions: [{ id: 'class', kind: 'classes', labels: ['cat'] }] },
  ...over,
});
const patch = (version: number, set: RoomPatch['set']): RoomPatch => ({ version, author: 'x', set });
const tick = () => new Promise((r) => setTimeout(r, 0));

function setup(stored: string | null = 'c'.repeat(43)) {
  const sock = new FakeSocket();
  const notices: string[] = [];
  const identity = { value: stored, get: () => identity.value, set: (c: string) => void (identity.value = c) };
  const fetchImpl = vi.fn(async (url: string | URL | Request) => {
    const u = String(url);
    if (u.includes('frame.png')) return new Response(new Blob([new Uint8Array([137, 80])]), { status: 200 });
    return new Response(JSON.stringify({ state: { ...state(10), running: false } }), {
      headers: { 'content-type': 'application/json' },
    });
  });
  const client = new RoomClient({
    base: 'http://engine',
    roomId: 'r1',
    token: 'tok',
    name: 'Ada',
    identity,
    socketFactory: (_base, opts) => {
      sock.opts = opts as FakeSocket['opts'];
      return sock as unknown as RoomSocket;
    },
    fetchImpl: fetchImpl as unknown as typeof fetch,
    onNotice: (n) => notices.push(n.message),
  });
  return { sock, client, notices, fetchImpl, identity };
}

let current: RoomClient | null = null;
afterEach(() => current?.stop());

describe('RoomClient', () => {
  it('joins, applies patches in order, keeps frames and score history', async () => {
    const { sock, client } = setup();
    current = client;
    sock.joinReplies.push(joined());
    client.start();
    await tick();
    expect(sock.emitted[0]).toEqual({
      event: 'room:join',
      payload: { protocol: PROTOCOL_VERSION, roomId: 'r1', token: 'tok', name: 'Ada' },
    });
    expect(sock.auth()).toEqual({ credential: 'c'.repeat(43) });
    expect(client.getSnapshot()).toMatchObject({
      status: 'joined',
      role: 'editor',
      userId: 'user_123',
      conditions: [{ id: 'class', kind: 'classes', labels: ['cat'] }],
    });
    sock.fire('room:patch', patch(4, { running: false }));
    sock.fire('room:patch', patch(4, { running: true })); // duplicate: ignored
    expect(client.getSnapshot().state).toMatchObject({ version: 4, running: false });
    sock.fire('room:frame', {
      roomId: 'r1',
      step: 5,
      version: 4,
      image: new Uint8Array([1, 2]),
      scores: { 'p(cat)': 0.5 },
      conditionScores: { c1: ['p(cat)'] },
      hNorm: 1,
      at: 1,
    });
    sock.fire('room:frame', {
      roomId: 'r1',
      step: 6,
      version: 4,
      image: new Uint8Array([1, 2]),
      scores: { 'p(cat)': 0.6 },
      conditionScores: { c1: ['p(cat)'] },
      hNorm: 1,
      at: 2,
    });
    expect(client.getSnapshot().frame).toMatchObject({
      step: 6,
      scores: { 'p(cat)': 0.6 },
      conditionScores: { c1: ['p(cat)'] },
    });
    expect(client.getSnapshot().scores.map((s) => s.scores['p(cat)'])).toEqual([0.5, 0.6]);
    sock.fire('room:frame', {
      roomId: 'r1',
      step: 1,
      version: 4,
      image: new Uint8Array([1]),
      scores: {},
      conditionScores: {},
      hNorm: 1,
      at: 3,
    });
    expect(client.getSnapshot().scores).toHaveLength(1); // reset chain: history restarts
  });

  it('on a version gap takes an HTTP snapshot and applies what came after', async () => {
    const { sock, client, fetchImpl } = setup();
    current = client;
    sock.joinReplies.push(joined());
    client.start();
    await tick();
    sock.fire('room:patch', patch(9, { locked: true })); // missed 4..8
    sock.fire('room:patch', patch(11, { name: 'Renamed' }));
    await vi.waitFor(() => expect(client.getSnapshot().state?.version).toBe(11));
    expect(fetchImpl).toHaveBeenCalledWith('http://engine/rooms/r1?token=tok', { cache: 'no-store' });
    expect(client.getSnapshot().state).toMatchObject({ name: 'Renamed', running: false });
  });

  it('keeps the credential the engine mints at the first join and sends it in later handshakes', async () => {
    const { sock, client, identity } = setup(null);
    current = client;
    expect(sock.auth()).toEqual({});
    sock.joinReplies.push(joined({ credential: 'n'.repeat(43) }));
    client.start();
    await tick();
    expect(identity.value).toBe('n'.repeat(43));
    expect(sock.auth()).toEqual({ credential: 'n'.repeat(43) });
  });

  it('after a recovered connection goes back to joined without joining again', async () => {
    const { sock, client } = setup();
    current = client;
    sock.joinReplies.push(joined());
    client.start();
    await tick();
    sock.drop();
    expect(client.getSnapshot().status).toBe('reconnecting');
    sock.recovered = true;
    sock.connect();
    await tick();
    expect(sock.emitted.filter((e) => e.event === 'room:join')).toHaveLength(1);
    expect(client.getSnapshot()).toMatchObject({ status: 'joined', joins: 1, state: { version: 3 } });
  });

  it('a join refused for a passing reason (unavailable) keeps the banner and asks again', async () => {
    vi.useFakeTimers();
    try {
      const { sock, client } = setup();
      current = client;
      sock.joinReplies.push({
        ok: false,
        code: 'unavailable',
        error: 'the engine cannot check who you are right now; try again in a moment',
      });
      sock.joinReplies.push(joined());
      client.start();
      await vi.advanceTimersByTimeAsync(1);
      expect(client.getSnapshot().status).toBe('reconnecting');
      await vi.advanceTimersByTimeAsync(2500);
      expect(sock.emitted.filter((e) => e.event === 'room:join')).toHaveLength(2);
      expect(client.getSnapshot().status).toBe('joined');
    } finally {
      vi.useRealTimers();
    }
  });

  it('after a dropped connection shows reconnecting, re-joins with sinceVersion and the same credential', async () => {
    const { sock, client } = setup();
    current = client;
    sock.joinReplies.push(joined());
    client.start();
    await tick();
    sock.drop();
    expect(client.getSnapshot().status).toBe('reconnecting');
    sock.joinReplies.push(joined({ state: null, patches: [patch(4, { running: false }), patch(5, { locked: true })] }));
    sock.connect();
    await tick();
    expect(sock.emitted.filter((e) => e.event === 'room:join').pop()!.payload).toEqual({
      protocol: PROTOCOL_VERSION,
      roomId: 'r1',
      token: 'tok',
      name: 'Ada',
      sinceVersion: 3,
    });
    expect(sock.auth()).toEqual({ credential: 'c'.repeat(43) });
    expect(client.getSnapshot()).toMatchObject({
      status: 'joined',
      joins: 2,
      state: { version: 5, running: false, locked: true },
    });
  });

  it('when the room moves to another engine, joins again on the same connection and resyncs from its version', async () => {
    const { sock, client } = setup();
    current = client;
    sock.joinReplies.push(joined());
    client.start();
    await tick();
    // the new owner lost nothing: patches since our version
    sock.joinReplies.push(joined({ state: null, patches: [patch(4, { running: false })] }));
    sock.fire('room:moved', { roomId: 'r1' });
    await tick();
    expect(sock.emitted.filter((e) => e.event === 'room:join').pop()!.payload).toEqual({
      protocol: PROTOCOL_VERSION,
      roomId: 'r1',
      token: 'tok',
      name: 'Ada',
      sinceVersion: 3,
    });
    expect(client.getSnapshot()).toMatchObject({ status: 'joined', joins: 2, state: { version: 4, running: false } });
    // the new owner is behind us (changes it never got): its full state wins
    sock.joinReplies.push(joined({ state: { ...state(2), name: 'Back' } }));
    sock.fire('room:moved', { roomId: 'r1' });
    await tick();
    expect(client.getSnapshot()).toMatchObject({ status: 'joined', joins: 3, state: { version: 2, name: 'Back' } });
  });

  it('reports engine errors, failed joins and kicks', async () => {
    const { sock, client, notices } = setup();
    current = client;
    sock.joinReplies.push({ ok: false, code: 'forbidden', error: 'this link is not valid for the room' });
    client.start();
    await tick();
    expect(client.getSnapshot()).toMatchObject({
      status: 'failed',
      errorCode: 'forbidden',
      error: 'this link is not valid for the room',
    });
    expect(sock.connected).toBe(false);
    sock.fire('room:error', { error: 'viewers cannot steer this room', intent: 'run.set' });
    expect(notices).toEqual(['viewers cannot steer this room']);
    sock.fire('room:kicked', { reason: 'removed by Ada' });
    expect(client.getSnapshot()).toMatchObject({ status: 'kicked', errorReason: 'removed' });
  });

  it('keeps the reason of a refused join (the page branches on it, not on the text) and sends its protocol version', async () => {
    const { sock, client } = setup();
    current = client;
    sock.joinReplies.push({ ok: false, code: 'forbidden', reason: 'removed', error: 'any wording' });
    client.start();
    await tick();
    expect(client.getSnapshot()).toMatchObject({ status: 'failed', errorCode: 'forbidden', errorReason: 'removed' });
    expect(sock.emitted.find((e) => e.event === 'room:join')!.payload).toMatchObject({ protocol: PROTOCOL_VERSION });
  });

  it('a failed intent is reported once, without the intent-type prefix, and not at all when the caller is quiet', async () => {
    const { sock, client, notices } = setup();
    current = client;
    sock.joinReplies.push(joined());
    client.start();
    await tick();
    const error = 'no word of "zzqx" is in the vocabulary of keywords; "zzqx" is not a known word';
    // like the engine: room:error first, then the ack
    sock.onIntent = (p) => {
      sock.fire('room:error', { error, intent: (p as { type: string }).type });
      return { ok: false, error };
    };
    const add = {
      type: 'condition.add',
      id: 'k1',
      target: { kind: 'text', condition: 'keywords', text: 'zzqx' },
      weight: 1,
    } as const;
    expect(await client.send(add)).toEqual({ ok: false, error });
    expect(notices).toEqual([error]);
    expect(await client.send(add, { quiet: true })).toEqual({ ok: false, error });
    expect(notices).toEqual([error]);
    // an error about someone else's (or no) pending intent is still shown
    sock.fire('room:error', { error: 'too many changes per second; slow down', intent: 'params.set' });
    expect(notices).toEqual([error, 'too many changes per second; slow down']);
  });

  it('throttles presence to about 15 Hz and merges updates', async () => {
    vi.useFakeTimers();
    try {
      const { sock, client } = setup();
      current = client;
      sock.joinReplies.push(joined());
      client.start();
      await vi.advanceTimersByTimeAsync(1);
      for (let i = 0; i < 20; i++) {
        client.presence({ cursor: [i / 20, 0.5] });
        await vi.advanceTimersByTimeAsync(10);
      }
      client.presence({ painting: true });
      await vi.advanceTimersByTimeAsync(200);
      const sent = sock.emitted.filter((e) => e.event === 'room:presence');
      expect(sent.length).toBeGreaterThanOrEqual(3);
      expect(sent.length).toBeLessThanOrEqual(5);
      // the latest cursor always gets through; later fields are merged into the next message
      expect(sent.some((e) => JSON.stringify(e.payload) === JSON.stringify({ cursor: [19 / 20, 0.5] }))).toBe(true);
      expect(sent.at(-1)!.payload).toMatchObject({ painting: true });
    } finally {
      vi.useRealTimers();
    }
  });
});
