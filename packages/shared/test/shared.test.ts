import { describe, expect, it } from 'vitest';
import { GalleryListQuery, Health, SamplerMode, TUNABLE, ignoredByMode, parsePort } from '../src';

describe('parsePort', () => {
  it('uses the fallback when unset', () => {
    expect(parsePort(undefined, 3000, 'PORT')).toBe(3000);
    expect(parsePort('', 4000, 'ENGINE_PORT')).toBe(4000);
  });
  it('accepts valid ports and rejects bad ones with the variable name', () => {
    expect(parsePort('8080', 1, 'PORT')).toBe(8080);
    expect(() => parsePort('abc', 1, 'PORT')).toThrow(/PORT must be a port number/);
    expect(() => parsePort('70000', 1, 'ENGINE_PORT')).toThrow(/ENGINE_PORT/);
    expect(() => parsePort('3.5', 1, 'PORT')).toThrow();
  });
});

describe('Health schema', () => {
  const ok = {
    ok: true,
    version: '0.1.0',
    backend: { name: 'wasm', reason: 'default on CPU', gpu: false },
    packs: [],
    database: { reachable: true, embedded: true },
    rooms: { running: 0, total: 0 },
    gallery: { items: 0 },
    uptimeS: 1.5,
  };
  it('accepts a well-formed payload', () => {
    expect(Health.parse(ok)).toEqual(ok);
  });
  it('rejects an unknown backend', () => {
    expect(Health.safeParse({ ...ok, backend: { ...ok.backend, name: 'cuda' } }).success).toBe(false);
  });
});

describe('GalleryListQuery', () => {
  it('reads starred as a yes/no flag: "false" is false', () => {
    expect(GalleryListQuery.parse({ starred: 'false' }).starred).toBe(false);
    expect(GalleryListQuery.parse({ starred: '0' }).starred).toBe(false);
    expect(GalleryListQuery.parse({ starred: 'true' }).starred).toBe(true);
    expect(GalleryListQuery.parse({ starred: 'Yes' }).starred).toBe(true);
    expect(GalleryListQuery.parse({}).starred).toBeUndefined();
    expect(GalleryListQuery.safeParse({ starred: 'maybe' }).success).toBe(false);
  });
});

describe('ignoredByMode (the engine panel and the gallery recipe read the same rule)', () => {
  const uses = (mode: SamplerMode, opts?: { hdae?: boolean }) =>
    TUNABLE.filter((k) => !(k in ignoredByMode(mode, opts)));
  it('lists per mode exactly the settings its sampler does not read, each with a reason', () => {
    expect(uses('ppgn')).toEqual(['eps1', 'eps2', 'eps3', 'eps4', 'lr', 'lrEnd', 'lrSteps', 'resetEvery', 'jitter']);
    expect(uses('hdae')).toEqual(uses('ppgn'));
    expect(uses('dgnam')).toEqual(['eps2', 'eps3', 'eps4', 'lr', 'lrEnd', 'lrSteps', 'decay', 'resetEvery', 'jitter']);
    expect(uses('fast')).toEqual(['eps1', 'eps2', 'eps3', 'lr', 'lrEnd', 'lrSteps', 'resetEvery']);
    expect(uses('mala')).toEqual(['eps2', 'eps4', 'resetEvery', 'stepSize']);
    expect(uses('hmc')).toEqual(['eps2', 'eps4', 'resetEvery', 'stepSize', 'leapfrog']);
    for (const mode of SamplerMode.options)
      for (const why of Object.values(ignoredByMode(mode))) expect(why).toMatch(/\w{3,}/);
  });
  it('fast mode without an h-DAE ignores ε1 too; a pack that has one (or an unknown pack) uses it', () => {
    expect(uses('fast', { hdae: false })).not.toContain('eps1');
    expect(uses('fast', { hdae: true })).toContain('eps1');
    expect(ignoredByMode('fast', { hdae: false }).eps1).toMatch(/h-DAE/);
  });
});
