import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Health } from '@ppgn/shared';
import { createEngineServer, type EngineDeps, type EngineServer } from '../src/http';
import { StartupError } from '../src/errors';

let server: EngineServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function deps(over: Partial<EngineDeps> = {}): EngineDeps {
  return {
    backend: { name: 'wasm', reason: 'default on CPU', gpu: false, runtime: 'TensorFlow.js 4.22.0 (wasm)' },
    packs: [{ id: 'p', name: 'p', version: '1', imageSize: [64, 64, 3], codeSize: 256, conditions: [] }],
    db: { ping: async () => true, embedded: true, countRooms: async () => 3, countGallery: async () => 7 },
    runningRooms: () => 1,
    ...over,
  };
}

describe('GET /health', () => {
  it('reports version, backend, packs, database and rooms', async () => {
    server = createEngineServer(deps());
    const port = await server.listen(0, '127.0.0.1');
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    expect(res.status).toBe(200);
    const h = Health.parse(await res.json());
    expect(h.backend).toEqual({
      name: 'wasm',
      reason: 'default on CPU',
      gpu: false,
      runtime: 'TensorFlow.js 4.22.0 (wasm)',
    });
    expect(h.rooms).toEqual({ running: 1, total: 3 });
    expect(h.gallery).toEqual({ items: 7 });
    expect(h.database).toEqual({ reachable: true, embedded: true });
  });

  it('answers 503 with reachable=false when the database is down', async () => {
    server = createEngineServer(
      deps({
        db: { ping: async () => false, embedded: false, countRooms: async () => 0, countGallery: async () => 0 },
      }),
    );
    const port = await server.listen(0, '127.0.0.1');
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    expect(res.status).toBe(503);
    const h = Health.parse(await res.json());
    expect(h.ok).toBe(false);
    expect(h.database.reachable).toBe(false);
  });

  it('rejects malformed JSON bodies with 400, not a crash', async () => {
    server = createEngineServer(deps());
    const port = await server.listen(0, '127.0.0.1');
    const res = await fetch(`http://127.0.0.1:${port}/health`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{bad json',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid', message: expect.any(String) } });
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    const missing = await fetch(`http://127.0.0.1:${port}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'not_found', message: 'not found' } });
  });
});

describe('listen', () => {
  it('turns a busy port into a StartupError with a hint', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    server = createEngineServer(deps());
    const err = await server.listen(port, '127.0.0.1').catch((e) => e);
    blocker.close();
    expect(err).toBeInstanceOf(StartupError);
    expect(err.line()).toBe(
      `port ${port} is already in use — stop the other process or set ENGINE_PORT to a free port`,
    );
    server = undefined;
  });
});
