import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Ack, IntentInput, RoomCondition } from '@ppgn/shared';
import { ConditionPanel } from '../components/room/condition-panel';
import { packConditions } from '../lib/pack';

const pack = packConditions([
  { id: 'class', kind: 'classes', labels: ['cat', 'dog', 'tree', 'star'] },
  { id: 'keywords', kind: 'keywords', vocabulary: ['red', 'round', 'happy'] },
  {
    id: 'units',
    kind: 'units',
    layers: [
      { name: 'conv1', channels: 8 },
      { name: 'code', channels: 16 },
    ],
  },
]);
const cat: RoomCondition = {
  id: 'c1',
  target: { kind: 'class', condition: 'class', labels: ['cat'], variant: 'logsoftmax' },
  weight: 1,
  enabled: true,
  author: 'u1',
};

const ok = (): Promise<Ack> => Promise.resolve({ ok: true, version: 1 });

afterEach(cleanup);

describe('ConditionPanel', () => {
  it('knows which pack conditions are classes, keywords and units', () => {
    expect(pack.classes?.id).toBe('class');
    expect(pack.keywords?.vocabulary).toEqual(['red', 'round', 'happy']);
    expect(pack.units?.layers).toEqual([
      { name: 'conv1', channels: 8 },
      { name: 'code', channels: 16 },
    ]);
  });

  it('adding a class condition emits a condition.add intent with the pack condition id and label', async () => {
    const send = vi.fn((_: IntentInput) => ok());
    render(<ConditionPanel conditions={[]} pack={pack} canSteer send={send} />);
    fireEvent.change(screen.getByLabelText('Search classes'), { target: { value: 'do' } });
    const chips = within(screen.getByRole('group', { name: 'Classes' })).getAllByRole('button');
    expect(chips.map((c) => c.textContent)).toEqual(['dog']);
    fireEvent.click(chips[0]!);
    fireEvent.click(screen.getByRole('button', { name: 'Add class dog' }));
    await waitFor(() => expect(send).toHaveBeenCalledTimes(1));
    expect(send.mock.calls[0]![0]).toEqual({
      type: 'condition.add',
      id: expect.stringMatching(/^c[a-z0-9]{8}$/),
      target: { kind: 'class', condition: 'class', labels: ['dog'] },
      weight: 1,
    });
  });

  it('offers every class condition the pack declares (plug-ins such as style and colour) as its own tab, with its own labels', async () => {
    const withPlugins = packConditions([
      { id: 'class', kind: 'classes', labels: ['cat', 'dog'] },
      { id: 'keywords', kind: 'keywords', vocabulary: ['red'] },
      { id: 'style', kind: 'classes', labels: ['noto', 'twemoji', 'openmoji'] },
      { id: 'colour', kind: 'classes', labels: ['red', 'blue'] },
    ]);
    const send = vi.fn((_: IntentInput) => ok());
    const noto: RoomCondition = {
      id: 's1',
      target: { kind: 'class', condition: 'style', labels: ['noto'], variant: 'logsoftmax' },
      weight: 1,
      enabled: true,
      author: 'u1',
    };
    render(<ConditionPanel conditions={[noto]} pack={withPlugins} canSteer send={send} />);
    expect(screen.getAllByRole('tab').map((t) => t.textContent)).toEqual([
      'Class',
      'Style',
      'Colour',
      'Keywords',
      'Image',
    ]);
    fireEvent.click(screen.getByRole('tab', { name: 'Colour' }));
    const chips = within(screen.getByRole('group', { name: 'Classes' })).getAllByRole('button');
    expect(chips.map((c) => c.textContent)).toEqual(['red', 'blue']);
    fireEvent.click(chips[1]!);
    fireEvent.click(screen.getByRole('button', { name: 'Add colour blue' }));
    await waitFor(() => expect(send).toHaveBeenCalledTimes(1));
    expect(send.mock.calls[0]![0]).toMatchObject({
      type: 'condition.add',
      target: { kind: 'class', condition: 'colour', labels: ['blue'] },
    });
    // a style condition in the list is labelled as one, and its picker lists styles, not classes
    const item = screen.getByTestId('condition-s1');
    expect(within(item).getByText('Style')).toBeTruthy();
    const select = within(item).getByLabelText('Class of condition noto') as HTMLSelectElement;
    expect([...select.options].map((o) => o.value)).toEqual(['noto', 'twemoji', 'openmoji']);
  });

  it('the weight slider sends condition.update with the new weight', async () => {
    const send = vi.fn((_: IntentInput) => ok());
    render(<ConditionPanel conditions={[cat]} pack={pack} canSteer send={send} />);
    const slider = screen.getByRole('slider', { name: 'Weight of cat' });
    fireEvent.change(slider, { target: { value: '2.5' } });
    fireEvent.pointerUp(slider);
    await waitFor(() => expect(send).toHaveBeenCalledWith({ type: 'condition.update', id: 'c1', weight: 2.5 }));
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('changing the class of a condition, toggling and removing it send the right intents', async () => {
    const send = vi.fn((_: IntentInput) => ok());
    render(<ConditionPanel conditions={[cat]} pack={pack} canSteer send={send} />);
    fireEvent.change(screen.getByLabelText('Class of condition cat'), { target: { value: 'tree' } });
    fireEvent.click(screen.getByRole('checkbox', { name: 'Enable cat' }));
    fireEvent.click(screen.getByRole('button', { name: 'Remove cat' }));
    expect(send.mock.calls.map((c) => c[0])).toEqual([
      { type: 'condition.update', id: 'c1', target: { ...cat.target, labels: ['tree'] } },
      { type: 'condition.update', id: 'c1', enabled: false },
      { type: 'condition.remove', id: 'c1' },
    ]);
  });

  it('shows which keywords match and the server error with its hints', async () => {
    const send = vi.fn((_: IntentInput): Promise<Ack> =>
      Promise.resolve({
        ok: false,
        error: 'no word of "blu" is in the vocabulary of keywords; "blu" → did you mean red / round?',
      }),
    );
    render(<ConditionPanel conditions={[]} pack={pack} canSteer send={send} />);
    fireEvent.click(screen.getByRole('tab', { name: 'Keywords' }));
    fireEvent.change(screen.getByLabelText('Describe with keywords'), { target: { value: 'a red blu' } });
    const matches = screen.getByTestId('keyword-matches');
    expect(matches.textContent).toContain('✓ red');
    expect(matches.textContent).toContain('? blu');
    fireEvent.click(screen.getByRole('button', { name: 'Add keywords' }));
    await waitFor(() => expect(screen.getByTestId('keyword-error').textContent).toMatch(/did you mean red \/ round\?/));
    expect(send.mock.calls[0]![0]).toMatchObject({
      type: 'condition.add',
      target: { kind: 'text', condition: 'keywords', text: 'a red blu' },
    });
  });

  it('a keyword text over the limit is not cut silently: it says the limit, shows the first words, and sends nothing', () => {
    const send = vi.fn((_: IntentInput) => ok());
    render(<ConditionPanel conditions={[]} pack={pack} canSteer send={send} />);
    fireEvent.click(screen.getByRole('tab', { name: 'Keywords' }));
    const long = 'zzz red '.repeat(1313); // 10 504 characters
    fireEvent.change(screen.getByLabelText('Describe with keywords'), { target: { value: long } });
    expect(screen.getByTestId('keyword-error').textContent).toBe(
      'Keywords are at most 200 characters (this is 10,504): shorten it to a few words.',
    );
    const chips = [...screen.getByTestId('keyword-matches').querySelectorAll('.chip')].map((c) => c.textContent);
    expect(chips).toHaveLength(24); // the first words, not ten thousand chips
    expect(chips.slice(0, 3)).toEqual(['? zzz', '✓ red', '? zzz']);
    const add = screen.getByRole('button', { name: 'Add keywords' }) as HTMLButtonElement;
    expect(add.disabled).toBe(true);
    fireEvent.click(add);
    expect(send).not.toHaveBeenCalled();
  });

  it('adds a hidden-unit condition from the layer and channel pickers', () => {
    const send = vi.fn((_: IntentInput) => ok());
    render(<ConditionPanel conditions={[]} pack={pack} canSteer send={send} />);
    fireEvent.click(screen.getByRole('tab', { name: 'Hidden unit' }));
    fireEvent.change(screen.getByLabelText('Layer'), { target: { value: 'code' } });
    fireEvent.change(screen.getByLabelText(/Channel/), { target: { value: '12' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add unit' }));
    expect(send.mock.calls[0]![0]).toMatchObject({
      type: 'condition.add',
      target: { kind: 'unit', condition: 'units', layer: 'code', channel: 12 },
      weight: 1,
    });
  });

  it("shows each condition's score as the engine lists it for the condition id, and nothing where it lists none", () => {
    const cond = (id: string, target: RoomCondition['target']): RoomCondition => ({
      id,
      target,
      weight: 1,
      enabled: true,
      author: 'u1',
    });
    const conditions = [
      cond('c1', { kind: 'class', condition: 'class', labels: ['cat', 'dog'], variant: 'logsoftmax' }),
      // the engine's keyword matcher decides which words score (here "round" for "rounder"): the web does not re-match
      cond('k1', { kind: 'text', condition: 'keywords', text: 'a rounder thing' }),
      cond('u1', { kind: 'unit', condition: 'units', layer: 'conv1', channel: 3 }),
      cond('i1', { kind: 'image', png: 'AAAA', name: 'ref' }),
      cond('off', { kind: 'class', condition: 'class', labels: ['tree'], variant: 'logsoftmax' }),
    ];
    const frame = {
      scores: {
        'p(cat)': 0.25,
        'p(dog)': 0.5,
        'kw(round)': 0.75,
        'unit(conv1:3)': 1.5,
        'p(tree)': 0.9,
        contextError: -2,
      },
      conditionScores: { c1: ['p(cat)', 'p(dog)'], k1: ['kw(round)'], u1: ['unit(conv1:3)'] },
    };
    const { rerender } = render(
      <ConditionPanel
        conditions={conditions}
        pack={pack}
        canSteer={false}
        send={vi.fn((_: IntentInput) => ok())}
        scores={frame}
      />,
    );
    const score = (id: string) => within(screen.getByTestId(`condition-${id}`)).queryByTestId('condition-score');
    expect(score('c1')?.textContent).toBe('0.25');
    expect(score('c1')?.getAttribute('title')).toBe('p(cat) at the latest frame');
    expect(score('k1')?.textContent).toBe('0.75');
    expect(score('k1')?.getAttribute('title')).toBe('kw(round) at the latest frame');
    // on the chart's 0–1 scale: an activation a is drawn as a / (1 + |a|)
    expect(score('u1')?.textContent).toBe('0.60');
    // no score listed for the condition: nothing, even when a score of that name exists
    expect(score('i1')).toBeNull();
    expect(score('off')).toBeNull();
    // a listed name without a value falls through to the next one
    rerender(
      <ConditionPanel
        conditions={conditions}
        pack={pack}
        canSteer={false}
        send={vi.fn((_: IntentInput) => ok())}
        scores={{ ...frame, scores: { 'p(dog)': 0.5 } }}
      />,
    );
    expect(score('c1')?.getAttribute('title')).toBe('p(dog) at the latest frame');
    expect(score('k1')).toBeNull();
    rerender(
      <ConditionPanel
        conditions={conditions}
        pack={pack}
        canSteer={false}
        send={vi.fn((_: IntentInput) => ok())}
        scores={null}
      />,
    );
    expect(screen.queryAllByTestId('condition-score')).toHaveLength(0);
  });

  it('a viewer sees the conditions but no steering controls', () => {
    const send = vi.fn((_: IntentInput) => ok());
    render(<ConditionPanel conditions={[cat]} pack={pack} canSteer={false} send={send} />);
    expect(screen.getByTestId('condition-desc').textContent).toBe('cat');
    expect(screen.queryAllByRole('slider')).toHaveLength(0);
    expect(screen.queryAllByRole('button')).toHaveLength(0);
    expect(screen.queryAllByRole('checkbox')).toHaveLength(0);
    expect(screen.queryAllByRole('combobox')).toHaveLength(0);
    expect(screen.queryByRole('tablist')).toBeNull();
  });

  it('keyword chips: emoji named, markup dropped, repeated words without ghost chips, suggestions near in spelling only', () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      render(<ConditionPanel conditions={[]} pack={pack} canSteer send={vi.fn((_: IntentInput) => ok())} />);
      fireEvent.click(screen.getByRole('tab', { name: 'Keywords' }));
      const input = screen.getByLabelText('Describe with keywords');
      const chips = () =>
        Array.from(screen.getByTestId('keyword-matches').querySelectorAll('.chip')).map((c) => c.textContent);
      fireEvent.change(input, { target: { value: 'zzqx ♥ 🍎 <script>alert(1)</script> red red rond' } });
      expect(chips()).toEqual(['? zzqx', '? heart', '? suit', '✓ red', '? apple', '✓ red', '✓ red', '? rond']);
      expect(screen.getByTestId('keyword-suggestions').textContent).toBe('“rond”: did you mean round?');
      fireEvent.change(input, { target: { value: 'red' } });
      expect(chips()).toEqual(['✓ red']);
      fireEvent.change(input, { target: { value: 'zzqx <script>…' } });
      expect(chips()).toEqual(['? zzqx']);
      expect(screen.queryByTestId('keyword-suggestions')).toBeNull();
      expect(errors.mock.calls.filter((c) => /same key/.test(String(c[0])))).toEqual([]);
    } finally {
      errors.mockRestore();
    }
  });

  it('a rejected keyword condition is shown once, inline, without a toast', async () => {
    const send = vi.fn((_: IntentInput, _o?: { quiet?: boolean }): Promise<Ack> =>
      Promise.resolve({
        ok: false,
        error: 'no word of "zzqx" is in the vocabulary of keywords; "zzqx" is not a known word',
      }),
    );
    render(<ConditionPanel conditions={[]} pack={pack} canSteer send={send} />);
    fireEvent.click(screen.getByRole('tab', { name: 'Keywords' }));
    fireEvent.change(screen.getByLabelText('Describe with keywords'), { target: { value: 'zzqx' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add keywords' }));
    await waitFor(() => expect(screen.getAllByRole('alert')).toHaveLength(1));
    expect(screen.getByTestId('keyword-error').textContent).toBe(
      'no word of "zzqx" is in the vocabulary of keywords; "zzqx" is not a known word',
    );
    expect(send.mock.calls[0]![1]).toEqual({ quiet: true });
  });
});

describe('modes the conditions allow', () => {
  it('fast mode is offered only with the main class conditions and no inpainting, with the reason beforehand', async () => {
    const { modeProblems } = await import('../lib/pack');
    const withPlugins = packConditions([
      { id: 'class', kind: 'classes', labels: ['cat', 'dog'] },
      { id: 'style', kind: 'classes', labels: ['noto'] },
    ]);
    const cond = (id: string, target: RoomCondition['target'], enabled = true): RoomCondition => ({
      id,
      target,
      weight: 1,
      enabled,
      author: 'u',
    });
    const catC = cond('a', { kind: 'class', condition: 'class', labels: ['cat'], variant: 'logsoftmax' });
    const style = cond('b', { kind: 'class', condition: 'style', labels: ['noto'], variant: 'logsoftmax' });
    const text = cond('c', { kind: 'text', condition: 'keywords', text: 'red' });
    const room = (conditions: RoomCondition[], strokes = 0) => ({
      conditions,
      strokes: Array.from({ length: strokes }, (_, i) => ({
        id: `s${i}`,
        author: 'u',
        erase: false,
        radius: 0.1,
        points: [[0.5, 0.5]] as [number, number][],
      })),
      context: strokes ? { step: 1, setBy: 'u', hash: 'x' } : null,
    });
    expect(modeProblems(room([catC]), withPlugins)).toEqual({});
    expect(modeProblems(room([catC, style]), withPlugins).fast).toMatch(/fast mode steers by class conditions only/);
    expect(modeProblems(room([catC, text]), withPlugins).fast).toMatch(/only/);
    expect(modeProblems(room([catC, { ...text, enabled: false }]), withPlugins)).toEqual({});
    expect(modeProblems(room([catC], 2), withPlugins).fast).toMatch(/cannot inpaint/);
  });
});
