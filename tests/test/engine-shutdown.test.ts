// Ctrl-C while the sampler workers are busy: the engine stops its workers at once (a step in flight is
// dropped), saves every room's last step and exits promptly; started again, the rooms are where they were.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../support/engine';
import { engineProcessEnv } from '../support/pack';
import { ENGINE_ENTRY, startProcess, tempDir, type Proc } from '../support/procs';

const tmp = tempDir('shutdown');
let env: Record<string, string>;
let proc: Proc | undefined;

beforeAll(async () => {
  // the default pack's architecture (random weights): every step costs real CPU time
  env = await engineProcessEnv(tmp.dir, 'emoji64', { PPGN_BACKEND: 'wasm', PPGN_SAMPLER_WORKERS: '1' });
});
afterAll(async () => {
  await proc?.stop();
  tmp.remove();
});

describe('engine shutdown', () => {
  it('exits promptly on SIGINT while rooms are sampling, and keeps their last step', async () => {
    proc = startProcess(ENGINE_ENTRY, env);
    await proc.waitFor(/ready on/);
    expect(proc.output()).toMatch(/sampler: 1 worker thread/);
    const base = `http://127.0.0.1:${env.ENGINE_PORT}`;
    const rooms: { id: string; tokens: { viewer: string } }[] = [];
    for (let i = 0; i < 4; i++)
      rooms.push(
        (
          await api<{ id: string; tokens: { viewer: string } }>(base, 'POST', '/rooms', {
            author: 'a',
            params: { fps: 30 },
          })
        ).body,
      );
    const step = async (r: (typeof rooms)[number]) =>
      (await api<{ step: number }>(base, 'GET', `/rooms/${r.id}?token=${r.tokens.viewer}`)).body.step;
    const t0 = Date.now();
    while ((await step(rooms[0]!)) < 3 && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 200));
    const before = await Promise.all(rooms.map(step));
    expect(before[0]).toBeGreaterThanOrEqual(3);

    const s0 = Date.now();
    proc.child.kill('SIGINT');
    await proc.exited();
    const ms = Date.now() - s0;
    expect(proc.output()).toMatch(/SIGINT: saving rooms and shutting down/);
    expect(proc.output()).not.toMatch(/sampling tick failed|unexpected error/);
    // generous for a shared 2-core machine; it takes about a second
    expect(ms).toBeLessThan(15_000);

    proc = startProcess(ENGINE_ENTRY, env);
    await proc.waitFor(/ready on/);
    expect(proc.output()).toMatch(/resumed 4 room\(s\)/);
    const after = await Promise.all(rooms.map(step));
    // every room resumed from at least the step it had reached when the signal came
    after.forEach((s, i) => expect(s).toBeGreaterThanOrEqual(before[i]!));
  });
});
