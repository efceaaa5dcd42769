import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Ack, IntentInput, RoomCondition, SamplerParams } from '@ppgn/shared';
import { ConditionPanel } from '../components/room/condition-panel';
import { ParamsPanel, fromSlider, PARAM_INFO } from '../components/room/params-panel';
import { packConditions } from '../lib/pack';

afterEach(cleanup);

const params: SamplerParams = {
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
};
const pack = packConditions([{ id: 'class', kind: 'classes', labels: ['cat', 'dog'] }]);
const cat: RoomCondition = {
  id: 'c1',
  target: { kind: 'class', condition: 'class', labels: ['cat'], variant: 'logsoftmax' },
  weight: 1,
  enabled: true,
  author: 'u1',
};
const ok = (): Promise<Ack> => Promise.resolve({ ok: true, version: 2 });
const flush = () => act(async () => {});

describe('sliders commit once per gesture', () => {
  it('dragging ε2 previews locally and sends one params.set on release', async () => {
    const send = vi.fn((_: IntentInput) => ok());
    render(<ParamsPanel params={params} canSteer send={send} />);
    const slider = screen.getByTestId('param-eps2');
    fireEvent.pointerDown(slider);
    for (const pos of [60, 65, 70, 75, 80]) fireEvent.change(slider, { target: { value: String(pos) } });
    await new Promise((r) => setTimeout(r, 400)); // longer than any debounce: still nothing sent mid-drag
    expect(send).not.toHaveBeenCalled();
    expect(screen.getByTestId('param-eps2').getAttribute('aria-valuetext')).toBe(
      String(fromSlider(80, PARAM_INFO.eps2.min, PARAM_INFO.eps2.max)),
    );
    fireEvent.pointerUp(slider);
    await flush();
    expect(send.mock.calls.map((c) => c[0])).toEqual([
      { type: 'params.set', params: { eps2: fromSlider(80, PARAM_INFO.eps2.min, PARAM_INFO.eps2.max) } },
    ]);
    fireEvent.blur(slider); // the end of the same gesture: nothing more
    await flush();
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('holding an arrow key sends one change on key up; focus and blur alone send nothing', async () => {
    const send = vi.fn((_: IntentInput) => ok());
    render(<ParamsPanel params={params} canSteer send={send} />);
    const fps = screen.getByRole('slider', { name: 'Speed' });
    fireEvent.focus(fps);
    fireEvent.blur(fps);
    fireEvent.keyUp(fps, { key: 'Tab' });
    expect(send).not.toHaveBeenCalled();
    for (const v of [11, 12, 13]) {
      fireEvent.keyDown(fps, { key: 'ArrowRight' });
      fireEvent.change(fps, { target: { value: String(v) } });
    }
    fireEvent.keyUp(fps, { key: 'ArrowRight' });
    await flush();
    expect(send.mock.calls.map((c) => c[0])).toEqual([{ type: 'params.set', params: { fps: 13 } }]);
  });

  it('a gesture that ends where it started sends nothing; blur ends a gesture too', async () => {
    const send = vi.fn((_: IntentInput) => ok());
    render(<ParamsPanel params={params} canSteer send={send} />);
    const fps = screen.getByRole('slider', { name: 'Speed' });
    fireEvent.change(fps, { target: { value: '14' } });
    fireEvent.change(fps, { target: { value: '10' } });
    fireEvent.pointerUp(fps);
    await flush();
    expect(send).not.toHaveBeenCalled();
    fireEvent.change(fps, { target: { value: '20' } });
    fireEvent.blur(fps);
    await flush();
    expect(send.mock.calls.map((c) => c[0])).toEqual([{ type: 'params.set', params: { fps: 20 } }]);
  });

  it('the condition weight slider sends one condition.update per drag, keeping the value while others change the room', async () => {
    const send = vi.fn((_: IntentInput) => ok());
    const { rerender } = render(<ConditionPanel conditions={[cat]} pack={pack} canSteer send={send} />);
    const slider = screen.getByRole('slider', { name: 'Weight of cat' });
    for (const w of ['1.5', '2', '2.5', '3']) fireEvent.change(slider, { target: { value: w } });
    // someone else changes the weight mid-drag: our drag is not yanked back
    rerender(<ConditionPanel conditions={[{ ...cat, weight: -1 }]} pack={pack} canSteer send={send} />);
    expect((screen.getByRole('slider', { name: 'Weight of cat' }) as HTMLInputElement).value).toBe('3');
    fireEvent.pointerUp(slider);
    await flush();
    expect(send.mock.calls.map((c) => c[0])).toEqual([{ type: 'condition.update', id: 'c1', weight: 3 }]);
    // the room confirms: the slider shows the room's value
    rerender(<ConditionPanel conditions={[{ ...cat, weight: 3 }]} pack={pack} canSteer send={send} />);
    expect((screen.getByRole('slider', { name: 'Weight of cat' }) as HTMLInputElement).value).toBe('3');
  });

  it('changing the mode commits at once', async () => {
    const send = vi.fn((_: IntentInput) => ok());
    render(<ParamsPanel params={params} canSteer send={send} />);
    fireEvent.change(screen.getByLabelText('Mode'), { target: { value: 'fast' } });
    await flush();
    expect(send.mock.calls.map((c) => c[0])).toEqual([{ type: 'params.set', params: { mode: 'fast' } }]);
  });
});

describe('the sampler panel shows the settings in effect', () => {
  // what the engine derived: the pack's inpainting tunings (ε3 0, ε4 0.7) although the stored values differ;
  // ε1 set in this room; DGN-AM ignores nothing here but the L2 decay is not shown as a slider anyway
  const effective = {
    values: {
      eps1: 0.05,
      eps2: 1,
      eps3: 0,
      eps4: 0.7,
      lr: 0.4,
      lrEnd: 0.1,
      lrSteps: 60,
      decay: 0,
      resetEvery: 0,
      stepSize: 0.01,
      leapfrog: 10,
      jitter: 3,
    },
    ignored: {
      eps4: 'fast mode steers by class only: no inpainting context',
      stepSize: 'exact samplers only',
      leapfrog: 'HMC only',
    },
  };

  it('slider values are the values in effect, overrides are marked, ignored settings are disabled with the reason', () => {
    render(
      <ParamsPanel params={{ ...params, eps3: 0.02 }} effective={effective} overrides={['eps1']} canSteer send={ok} />,
    );
    expect(screen.getByTestId('param-eps3-value').textContent).toBe('0');
    expect(screen.getByTestId('param-eps3').getAttribute('aria-valuetext')).toBe('0');
    expect(screen.getByTestId('param-lr-value').textContent).toBe('0.4');
    expect(screen.getByTestId('param-eps1').closest('.param-row')?.getAttribute('data-overridden')).toBe('true');
    expect(screen.getByTestId('param-eps3').closest('.param-row')?.getAttribute('data-overridden')).toBeNull();
    const eps4 = screen.getByTestId('param-eps4') as HTMLInputElement;
    expect(eps4.disabled).toBe(true);
    expect(eps4.getAttribute('aria-valuetext')).toMatch(/not used: fast mode steers by class only/);
    expect((screen.getByTestId('param-eps2') as HTMLInputElement).disabled).toBe(false);
  });

  it('view shifts (jitter): the value in effect, marked when set here; a drag sends one whole-pixel change', async () => {
    const send = vi.fn((_: IntentInput) => ok());
    render(<ParamsPanel params={params} effective={effective} overrides={['jitter']} canSteer send={send} />);
    const slider = screen.getByTestId('param-jitter') as HTMLInputElement;
    expect(slider.value).toBe('3');
    expect(slider.closest('.param-row')?.getAttribute('data-overridden')).toBe('true');
    expect(screen.getByTestId('param-jitter-value').textContent).toBe('±3 px');
    fireEvent.pointerDown(slider);
    for (const v of [4, 5, 0]) fireEvent.change(slider, { target: { value: String(v) } });
    expect(screen.getByTestId('param-jitter-value').textContent).toBe('off');
    fireEvent.pointerUp(slider);
    await flush();
    expect(send.mock.calls.map((c) => c[0])).toEqual([{ type: 'params.set', params: { jitter: 0 } }]);
  });

  it('a viewer sees the same values in effect', () => {
    render(
      <ParamsPanel
        params={{ ...params, eps3: 0.02 }}
        effective={effective}
        overrides={[]}
        canSteer={false}
        send={ok}
      />,
    );
    expect(screen.getByTestId('param-eps3-value').textContent).toBe('0');
    expect(screen.getByTestId('param-eps4-value').textContent).toBe('not used');
    expect(screen.getByTestId('param-jitter-value').textContent).toBe('±3 px');
  });
});

describe('exact samplers in the panel', () => {
  const exact = {
    values: {
      eps1: 0,
      eps2: 1,
      eps3: 0,
      eps4: 0,
      lr: 1,
      lrEnd: 1,
      lrSteps: 500,
      decay: 0,
      resetEvery: 0,
      stepSize: 0.05,
      leapfrog: 12,
      jitter: 0,
    },
    ignored: {
      jitter: 'a random shift of the picture would change the distribution they sample',
      eps1: 'the exact samplers draw from p(y|G(h))^ε2 · N(h; 0, I): no learned prior term',
      eps3: 'the noise is the proposal’s',
      lr: 'the step τ sets how far each proposal moves',
      decay: 'DGN-AM only',
    },
  };

  it('HMC shows its step τ and leapfrog steps, and disables what it does not use', () => {
    render(<ParamsPanel params={{ ...params, mode: 'hmc' }} effective={exact} overrides={[]} canSteer send={ok} />);
    expect(screen.getByTestId('param-stepSize-value').textContent).toBe('0.05');
    expect((screen.getByTestId('param-leapfrog') as HTMLInputElement).value).toBe('12');
    for (const k of ['eps1', 'eps3', 'lr'])
      expect((screen.getByTestId(`param-${k}`) as HTMLInputElement).disabled).toBe(true);
    expect((screen.getByTestId('param-eps2') as HTMLInputElement).disabled).toBe(false);
    expect(screen.queryByTestId('param-jitter')).toBeNull(); // the exact samplers do not shift the view
    const options = [...screen.getByRole('combobox', { name: 'Mode' }).querySelectorAll('option')].map((o) => o.value);
    expect(options).toEqual(['ppgn', 'hdae', 'dgnam', 'fast', 'mala', 'hmc']);
  });

  it('the Langevin modes have no τ or leapfrog sliders', () => {
    const ppgn = { ...exact, ignored: { stepSize: 'exact samplers only', leapfrog: 'exact samplers only' } };
    render(<ParamsPanel params={params} effective={ppgn} overrides={[]} canSteer send={ok} />);
    expect(screen.queryByTestId('param-stepSize')).toBeNull();
    expect(screen.queryByTestId('param-leapfrog')).toBeNull();
  });
});
