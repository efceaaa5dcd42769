import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Ack, IntentInput } from '@ppgn/shared';
import { ScoreChart, assignColors } from '../components/room/score-chart';
import { Timeline } from '../components/room/timeline';
import { ConditionPanel } from '../components/room/condition-panel';
import { packConditions } from '../lib/pack';
import { plural } from '../lib/format';

vi.mock('../lib/image', () => ({
  fileToPngBase64: vi.fn(async () => ({ data: 'iVBORw0KGgo=', url: 'data:image/png;base64,iVBORw0KGgo=' })),
}));

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const colorOf = (name: string) =>
  Array.from(document.querySelectorAll('path[data-series]'))
    .find((p) => p.getAttribute('data-series') === name)
    ?.getAttribute('stroke');

describe('score chart', () => {
  it('keeps a series colour when other series come and go', () => {
    const two = [
      { step: 1, scores: { 'p(cat)': 0.1, 'p(dog)': 0.2 } },
      { step: 2, scores: { 'p(cat)': 0.2, 'p(dog)': 0.3 } },
    ];
    const { rerender } = render(<ScoreChart points={two} conditions={2} />);
    const dog = colorOf('p(dog)');
    expect(dog).toBeTruthy();
    expect(dog).not.toBe(colorOf('p(cat)'));
    // cat's condition removed: dog is now the first series but keeps its colour
    rerender(
      <ScoreChart
        points={[
          { step: 3, scores: { 'p(dog)': 0.4 } },
          { step: 4, scores: { 'p(dog)': 0.5 } },
        ]}
        conditions={1}
      />,
    );
    expect(colorOf('p(dog)')).toBe(dog);
  });

  it('assignColors is by name: the same names get the same colours in any order, never two alike', () => {
    const a = assignColors(['p(cat)', 'p(dog)', 'kw(red)']);
    const b = assignColors(['kw(red)', 'p(dog)', 'p(cat)']);
    expect(a.get('p(dog)')).toBe(assignColors(['p(dog)']).get('p(dog)'));
    expect(new Set(a.values()).size).toBe(3);
    expect(b.get('kw(red)')).toBe(a.get('kw(red)'));
  });

  it('a paused room with conditions does not ask to add a condition', () => {
    const { rerender } = render(<ScoreChart points={[]} conditions={2} running={false} />);
    expect(screen.getByTestId('score-empty').textContent).not.toMatch(/Add a condition/);
    expect(screen.getByTestId('score-empty').textContent).toMatch(/Paused/);
    rerender(<ScoreChart points={[]} conditions={0} running={false} />);
    expect(screen.getByTestId('score-empty').textContent).toMatch(/Add a condition/);
  });
});

describe('pluralisation', () => {
  it('says "1 kept step" and "2 kept steps"', async () => {
    expect([plural(0, 'class', 'classes'), plural(1, 'kept step'), plural(2, 'kept step')]).toEqual([
      '0 classes',
      '1 kept step',
      '2 kept steps',
    ]);
    vi.stubGlobal(
      'fetch',
      vi.fn(
        async () =>
          new Response(JSON.stringify({ steps: [5], current: 7 }), { headers: { 'content-type': 'application/json' } }),
      ),
    );
    render(<Timeline base="http://e" roomId="r" token="t" canFork onFork={() => {}} onError={() => {}} />);
    expect((await screen.findByText(/kept step/)).textContent).toMatch(/^1 kept step · now at 7/);
  });
});

describe('image reference', () => {
  it('clears the file input after the image condition is added', async () => {
    const send = vi.fn((_: IntentInput): Promise<Ack> => Promise.resolve({ ok: true, version: 2 }));
    render(
      <ConditionPanel
        conditions={[]}
        pack={packConditions([{ id: 'class', kind: 'classes', labels: ['cat'] }])}
        canSteer
        send={send}
      />,
    );
    fireEvent.click(screen.getByRole('tab', { name: 'Image' }));
    const input = screen.getByTestId('reference-file') as HTMLInputElement;
    // jsdom cannot pick files: model the chosen file name the browser shows in `value`
    let shown = '';
    Object.defineProperty(input, 'value', {
      configurable: true,
      get: () => shown,
      set: (v: string) => void (shown = v),
    });
    const file = new File([new Uint8Array([1])], 'apple.png', { type: 'image/png' });
    Object.defineProperty(input, 'files', { configurable: true, value: [file] });
    shown = 'C:\\fakepath\\apple.png';
    fireEvent.change(input);
    await screen.findByAltText('Reference apple.png');
    fireEvent.click(screen.getByRole('button', { name: 'Add image reference' }));
    await waitFor(() => expect(send).toHaveBeenCalledTimes(1));
    await act(async () => {});
    expect(send.mock.calls[0]![0]).toMatchObject({
      type: 'condition.add',
      target: { kind: 'image', name: 'apple.png' },
    });
    expect(shown).toBe('');
    expect(screen.queryByAltText('Reference apple.png')).toBeNull();
  });
});

describe('scores on one scale', () => {
  it('a reference picture, a keyword, a hidden unit and a class share one 0–1 axis, with readable names', () => {
    const points = [
      { step: 1, scores: { 'p(cat)': 0.4, 'kw(round)': 0.3, 'refDist(code)': 8.98, 'unit(conv3:7)': 2 } },
      { step: 2, scores: { 'p(cat)': 0.5, 'kw(round)': 0.35, 'refDist(code)': 3, 'unit(conv3:7)': 1 } },
    ];
    render(<ScoreChart points={points} conditions={4} />);
    const legend = (series: string) => document.querySelector(`li[data-series="${series}"]`)!;
    expect(legend('refDist(code)').textContent).toBe('reference picture0.25');
    expect(legend('kw(round)').textContent).toBe('“round”0.35');
    expect(legend('unit(conv3:7)').textContent).toBe('unit conv3:70.50');
    expect(legend('p(cat)').textContent).toBe('p(cat)0.50');
    expect(legend('refDist(code)').getAttribute('title')).toMatch(/raw value 3\.00/);
    // every value drawn inside the chart (the axis is 0–1)
    for (const s of ['refDist(code)', 'unit(conv3:7)']) expect(colorOf(s)).toBeTruthy();
  });
});
