import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DOUBLE_CLICK_MS, SaveArea, saveKeyFor } from '../components/room/save-area';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const item = (id: string) => ({
  id,
  title: `Item ${id}`,
  packId: 'p',
  author: 'Ann',
  classLabel: null,
  keywords: [],
  seed: 1,
  step: 3,
  parentId: null,
  mixParentId: null,
  stars: 0,
  createdAt: '2026-01-01T00:00:00.000Z',
});
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** A fake engine that dedupes by key like the real one, recording every request body. */
function engine(failFirst = false) {
  const bodies: { idempotencyKey: string }[] = [];
  const byKey = new Map<string, string>();
  let fail = failFirst;
  const fetchMock = vi.fn(async (_url: string, init: RequestInit) => {
    const body = JSON.parse(String(init.body)) as { idempotencyKey: string };
    bodies.push(body);
    if (!byKey.has(body.idempotencyKey)) byKey.set(body.idempotencyKey, `g${byKey.size + 1}`);
    if (fail) {
      fail = false; // stored, but the answer is lost
      return json(503, { error: { code: 'unavailable', message: 'try again' } });
    }
    return json(201, item(byKey.get(body.idempotencyKey)!));
  });
  vi.stubGlobal('fetch', fetchMock);
  return { bodies, fetchMock };
}

describe('saveKeyFor', () => {
  it('keeps the key for a double click, an unfinished or failed save; a new one after a finished save', () => {
    const mk = () => 'new';
    expect(saveKeyFor({ key: null, at: 0, done: false }, 1000, mk)).toBe('new');
    expect(saveKeyFor({ key: 'k', at: 1000, done: false }, 99_000, mk)).toBe('k');
    expect(saveKeyFor({ key: 'k', at: 1000, done: true }, 1000 + DOUBLE_CLICK_MS - 1, mk)).toBe('k');
    expect(saveKeyFor({ key: 'k', at: 1000, done: true }, 1000 + DOUBLE_CLICK_MS, mk)).toBe('new');
  });
});

describe('SaveArea', () => {
  it('reserves the space of "View saved item" so the buttons do not move', async () => {
    engine();
    render(<SaveArea base="http://e" roomId="r1" token="t" author="Ann" canSave />);
    const actions = () =>
      Array.from(screen.getByTestId('save').parentElement!.children).map(
        (el) => el.getAttribute('data-testid') ?? el.textContent,
      );
    const before = actions();
    expect(before).toEqual(['save', 'Export GIF', 'saved-slot']);
    expect(screen.getByTestId('saved-slot').className).toBe('saved-slot');
    expect(screen.queryByTestId('saved-link')).toBeNull();
    fireEvent.click(screen.getByTestId('save'));
    await screen.findByTestId('saved-link');
    // same elements in the same order; the link went into the reserved slot
    expect(actions()).toEqual(before);
    expect(screen.getByTestId('saved-slot').contains(screen.getByTestId('saved-link'))).toBe(true);
    expect(screen.getByTestId('saved-link').getAttribute('href')).toBe('/gallery/g1');
  });

  it('a double click is one save with one key; a later click is a new save with a new key', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { bodies } = engine();
    render(<SaveArea base="http://e" roomId="r1" token="t" author="Ann" canSave />);
    const button = screen.getByTestId('save');
    fireEvent.click(button);
    await waitFor(() => expect((button as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(button); // second click of the double click, after the first answered
    await waitFor(() => expect(bodies).toHaveLength(2));
    await waitFor(() => expect((button as HTMLButtonElement).disabled).toBe(false));
    expect(bodies[1]!.idempotencyKey).toBe(bodies[0]!.idempotencyKey);
    expect(bodies[0]!.idempotencyKey).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    expect(screen.getByTestId('saved-link').getAttribute('href')).toBe('/gallery/g1');
    await act(async () => vi.setSystemTime(Date.now() + DOUBLE_CLICK_MS + 1));
    fireEvent.click(button);
    await waitFor(() => expect(bodies).toHaveLength(3));
    expect(bodies[2]!.idempotencyKey).not.toBe(bodies[0]!.idempotencyKey);
    await waitFor(() => expect(screen.getByTestId('saved-link').getAttribute('href')).toBe('/gallery/g2'));
  });

  it('a retry after a failed answer sends the same key, so the engine returns the stored item', async () => {
    const { bodies } = engine(true);
    render(<SaveArea base="http://e" roomId="r1" token="t" author="Ann" canSave />);
    const button = screen.getByTestId('save');
    fireEvent.click(button);
    await waitFor(() => expect(bodies).toHaveLength(1));
    await waitFor(() => expect((button as HTMLButtonElement).disabled).toBe(false));
    expect(screen.queryByTestId('saved-link')).toBeNull();
    fireEvent.click(button);
    await screen.findByTestId('saved-link');
    expect(bodies.map((b) => b.idempotencyKey)).toEqual([bodies[0]!.idempotencyKey, bodies[0]!.idempotencyKey]);
    expect(screen.getByTestId('saved-link').getAttribute('href')).toBe('/gallery/g1');
  });
});
