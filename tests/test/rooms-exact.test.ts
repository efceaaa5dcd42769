// Exact samplers as room modes (issue 21): a room switches to MALA or HMC like to any mode, its frames carry the
// Metropolis–Hastings acceptance rate, the panel's settings follow the mode (τ and leapfrog steps in effect, the
// Langevin settings marked unused), and a mode the conditions do not allow is refused with the reason the room's
// state announced beforehand. Real engine, real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestEngine, TestClient } from '../support/engine';

let t: Awaited<ReturnType<typeof startTestEngine>>;
const clients: TestClient[] = [];

beforeAll(async () => {
  t = await startTestEngine('exact');
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t?.close();
});

describe('exact samplers in a room', () => {
  it('MALA and HMC run with their acceptance rate in every frame; what a mode cannot do is said beforehand', async () => {
    const packs = await api<{ id: string; conditionSpecs: { id: string; kind: string; labels?: string[] }[] }[]>(
      t.base,
      'GET',
      '/packs',
    );
    const classes = packs.body[0]!.conditionSpecs.find((c) => c.kind === 'classes')!;
    const room = (
      await api<{ id: string; tokens: { owner: string } }>(t.base, 'POST', '/rooms', {
        author: 'a',
        conditions: [{ target: { kind: 'class', condition: classes.id, labels: [classes.labels![0]] } }],
      })
    ).body;
    const ed = new TestClient(t.base);
    clients.push(ed);
    await ed.join(room.id, room.tokens.owner, 'Ed');
    expect(ed.state!.effective?.ignored.stepSize).toMatch(/exact samplers/);
    expect(ed.state!.effective?.unavailable?.mala).toBeUndefined();

    for (const mode of ['mala', 'hmc'] as const) {
      expect(await ed.intent({ type: 'params.set', params: { mode } } as never)).toMatchObject({ ok: true });
      const from = ed.frames.length;
      await ed.waitFor(
        () => ed.frames.slice(from).filter((f) => f.acceptRate !== undefined).length >= 5,
        20_000,
        `${mode} frames`,
      );
      const rates = ed.frames.slice(from).flatMap((f) => (f.acceptRate === undefined ? [] : [f.acceptRate]));
      for (const r of rates) {
        expect(r).toBeGreaterThanOrEqual(0);
        expect(r).toBeLessThanOrEqual(1);
      }
      const eff = ed.state!.effective!;
      expect(eff.values.stepSize).toBeGreaterThan(0);
      expect(eff.ignored.eps1).toMatch(/no learned prior/);
      expect(eff.ignored.stepSize).toBeUndefined();
      expect(eff.ignored.leapfrog === undefined).toBe(mode === 'hmc');
    }
    // a smaller τ is an override, in effect in the room's state
    expect(await ed.intent({ type: 'params.set', params: { stepSize: 0.002 } } as never)).toMatchObject({ ok: true });
    await ed.waitFor(() => ed.state!.effective?.values.stepSize === 0.002, 5_000, 'τ in effect');
    expect(ed.state!.overrides).toContain('stepSize');

    // a logit class condition cannot be sampled exactly: announced, then refused with the same reason
    expect(await ed.intent({ type: 'params.set', params: { mode: 'ppgn' } } as never)).toMatchObject({ ok: true });
    const logit = { kind: 'class', condition: classes.id, labels: [classes.labels![1]], variant: 'logit' };
    expect(await ed.intent({ type: 'condition.add', id: 'lg', target: logit } as never)).toMatchObject({ ok: true });
    await ed.waitFor(() => ed.state!.effective?.unavailable?.mala !== undefined, 5_000, 'mala announced unavailable');
    const why = ed.state!.effective!.unavailable!.mala!;
    expect(why).toMatch(/log-probability/);
    const refused = await ed.intent({ type: 'params.set', params: { mode: 'mala' } } as never);
    expect(refused).toMatchObject({ ok: false });
    expect((refused as { error: string }).error).toContain(why);
  });
});
