'use client';

import { useId } from 'react';
import {
  LIMITS,
  SamplerMode,
  type Ack,
  type EffectiveSettings,
  type IntentInput,
  type SamplerParams,
  type Tunable,
} from '@ppgn/shared';
import { Tip } from '../tip';
import { useGestureValue } from '../gesture';
import { plural } from '../../lib/format';

type LogKey = 'eps1' | 'eps2' | 'eps3' | 'eps4' | 'lr' | 'stepSize';

export const PARAM_INFO: Record<LogKey, { label: string; min: number; max: number; tip: string }> = {
  eps1: {
    label: 'ε1 prior',
    min: 1e-5,
    max: 10,
    tip: 'ε1 weighs the prior term R(h) − h: the denoising autoencoder pulls the code h toward realistic codes (image realism).',
  },
  eps2: {
    label: 'ε2 condition',
    min: 1e-3,
    max: 100,
    tip: 'ε2 weighs the condition gradient: how hard the chain climbs toward the classes, keywords or units you picked.',
  },
  eps3: {
    label: 'ε3 noise',
    min: 1e-5,
    max: 10,
    tip: 'ε3 is the standard deviation of the noise added each step: more noise, more diversity and mixing between modes.',
  },
  eps4: {
    label: 'ε4 context',
    min: 1e-3,
    max: 100,
    tip: 'ε4 weighs the inpainting context: how strongly painted mask regions are held to the context image.',
  },
  lr: {
    label: 'learning rate',
    min: 1e-3,
    max: 100,
    tip: 'Step size of each update of h (decays to the end rate over the schedule).',
  },
  stepSize: {
    label: 'τ step',
    min: 1e-4,
    max: 1,
    tip: 'Exact samplers: how far each proposal moves h. Smaller τ: more proposals accepted, slower moves.',
  },
};

const MODE_INFO: Record<SamplerMode, string> = {
  ppgn: 'PPGN: full sampler with prior, condition and noise (paper eq. 11)',
  hdae: 'h-DAE prior only',
  dgnam: 'DGN-AM: no learned prior, L2 decay only',
  fast: 'Fast: small classifier for quick previews',
  mala: 'MALA: exact sampler (Langevin proposals, Metropolis–Hastings accept/reject)',
  hmc: 'HMC: exact sampler (Hamiltonian leapfrog proposals, Metropolis–Hastings accept/reject)',
};

export const JITTER_TIP =
  'PPGN and DGN-AM: each step the condition network sees the picture shifted by a random offset of up to this many pixels, so the chain steers toward pictures the network recognises wherever they sit, not toward pixel patterns that fool it. 0 = off.';
/** the slider's range (a pack caps it at a quarter of its picture's size; the engine says so if a value is too large) */
const JITTER_MAX = 8;

const STEPS = 100;
/** Slider position 0 = off (0); 1..STEPS spread log-uniformly over [min, max]. */
export function toSlider(v: number, min: number, max: number): number {
  if (v <= 0) return 0;
  const t = (Math.log10(Math.min(max, Math.max(min, v))) - Math.log10(min)) / (Math.log10(max) - Math.log10(min));
  return 1 + Math.round(t * (STEPS - 1));
}
export function fromSlider(pos: number, min: number, max: number): number {
  if (pos <= 0) return 0;
  const t = (pos - 1) / (STEPS - 1);
  const v = 10 ** (Math.log10(min) + t * (Math.log10(max) - Math.log10(min)));
  return Number(v.toPrecision(3));
}
export function fmt(v: number): string {
  if (v === 0) return '0';
  if (v >= 0.01 && v < 1000) return String(Number(v.toPrecision(3)));
  return v.toExponential(1);
}

export function ParamsPanel({
  params,
  effective,
  overrides = [],
  canSteer,
  send,
  modeProblems = {},
}: {
  params: SamplerParams;
  /** the settings the chain runs with (the engine's one resolution); absent from an old engine: `params` */
  effective?: EffectiveSettings;
  /** the settings people set themselves; the others follow the pack's tunings */
  overrides?: Tunable[];
  canSteer: boolean;
  send: (i: IntentInput) => Promise<Ack>;
  /** modes the room's conditions do not allow now, with the reason (shown beforehand, not as a refusal) */
  modeProblems?: Partial<Record<SamplerMode, string>>;
}) {
  // sliders commit once per gesture (see LogSlider / useGestureValue); the mode select at once
  const commit = (p: Partial<SamplerParams>) => send({ type: 'params.set', params: p });
  const mode = useGestureValue(params.mode, (m: SamplerMode) => commit({ mode: m }));
  const fps = useGestureValue(params.fps, (v: number) => commit({ fps: v }));
  const leapfrog = useGestureValue(effective?.values.leapfrog ?? params.leapfrog ?? 10, (v: number) =>
    commit({ leapfrog: v }),
  );
  const leapfrogId = useId();
  const jitter = useGestureValue(effective?.values.jitter ?? params.jitter ?? 0, (v: number) => commit({ jitter: v }));
  const jitterId = useId();
  const modeId = useId();
  const fpsId = useId();
  const shown = (k: LogKey) => effective?.values[k] ?? params[k] ?? 0.01;
  const origin = (k: LogKey) => (overrides.includes(k) ? 'set here' : 'pack tuning');

  if (!canSteer)
    return (
      <section className="panel" aria-labelledby="params-title" data-testid="params-panel">
        <header className="panel-head">
          <h2 id="params-title">Sampler</h2>
          <span className="muted small">seed {params.seed}</span>
        </header>
        <dl className="facts compact">
          <dt title={MODE_INFO[params.mode]}>Mode</dt>
          <dd>{params.mode}</dd>
          {(Object.keys(PARAM_INFO) as LogKey[]).map((k) => (
            <div key={k} className="contents">
              <dt title={PARAM_INFO[k].tip}>{PARAM_INFO[k].label}</dt>
              <dd className="num" data-testid={`param-${k}-value`} title={effective?.ignored[k] ?? origin(k)}>
                {effective?.ignored[k] ? 'not used' : fmt(shown(k))}
              </dd>
            </div>
          ))}
          <dt title={JITTER_TIP}>view shifts</dt>
          <dd className="num" data-testid="param-jitter-value" title={effective?.ignored.jitter}>
            {effective?.ignored.jitter ? 'not used' : `±${effective?.values.jitter ?? params.jitter ?? 0} px`}
          </dd>
          <dt>Speed</dt>
          <dd>{params.fps} fps</dd>
        </dl>
      </section>
    );

  return (
    <section className="panel" aria-labelledby="params-title" data-testid="params-panel">
      <header className="panel-head">
        <h2 id="params-title">Sampler</h2>
        <span className="muted small">seed {params.seed}</span>
      </header>
      <div className="param-row">
        <label htmlFor={modeId}>Mode</label>
        <select
          id={modeId}
          value={mode.value}
          disabled={!canSteer}
          onChange={(e) => {
            mode.move(e.target.value as SamplerMode);
            mode.end();
          }}
          title={MODE_INFO[mode.value]}
        >
          {SamplerMode.options.map((m) => (
            <option
              key={m}
              value={m}
              title={modeProblems[m] ?? MODE_INFO[m]}
              disabled={modeProblems[m] !== undefined && m !== mode.value}
            >
              {modeProblems[m] !== undefined && m !== mode.value ? `${m} (not with these conditions)` : m}
            </option>
          ))}
        </select>
        <Tip text={MODE_INFO[mode.value]} label="About the sampler mode" />
      </div>
      {(Object.keys(PARAM_INFO) as LogKey[])
        .filter((k) => k !== 'stepSize' || !effective?.ignored.stepSize)
        .map((k) => (
          <LogSlider
            key={k}
            k={k}
            value={shown(k)}
            overridden={overrides.includes(k)}
            ignored={effective?.ignored[k]}
            disabled={!canSteer}
            onCommit={(v) => commit({ [k]: v })}
          />
        ))}
      {effective && !effective.ignored.leapfrog && (
        <div className="param-row" data-overridden={overrides.includes('leapfrog') || undefined}>
          <label htmlFor={leapfrogId}>leapfrog steps</label>
          <input
            id={leapfrogId}
            type="range"
            min={1}
            max={50}
            step={1}
            value={leapfrog.value}
            disabled={!canSteer}
            data-testid="param-leapfrog"
            aria-valuetext={`${leapfrog.value} leapfrog steps per proposal`}
            onChange={(e) => leapfrog.move(Number(e.target.value))}
            {...leapfrog.endProps}
          />
          <output className="num">{leapfrog.value}</output>
          <Tip
            text="HMC: leapfrog steps per proposal (longer moves, more work per frame)."
            label="About leapfrog steps"
          />
        </div>
      )}
      {effective && !effective.ignored.jitter && (
        <div className="param-row" data-overridden={overrides.includes('jitter') || undefined}>
          <label htmlFor={jitterId}>
            view shifts
            {overrides.includes('jitter') && <SetBadge />}
          </label>
          <input
            id={jitterId}
            type="range"
            min={0}
            max={Math.max(JITTER_MAX, jitter.value)}
            step={1}
            value={jitter.value}
            disabled={!canSteer}
            data-testid="param-jitter"
            aria-valuetext={jitter.value ? `shifted by up to ${jitter.value} pixels each step` : 'off'}
            onChange={(e) => jitter.move(Number(e.target.value))}
            {...jitter.endProps}
          />
          <output className="num" data-testid="param-jitter-value">
            {jitter.value ? `±${jitter.value} px` : 'off'}
          </output>
          <Tip text={JITTER_TIP} label="About view shifts" />
        </div>
      )}
      <div className="param-row">
        <label htmlFor={fpsId}>Speed</label>
        <input
          id={fpsId}
          type="range"
          min={LIMITS.fps.min}
          max={LIMITS.fps.max}
          step={1}
          value={fps.value}
          disabled={!canSteer}
          aria-valuetext={`${plural(fps.value, 'step')} per second`}
          onChange={(e) => fps.move(Number(e.target.value))}
          {...fps.endProps}
        />
        <output className="num">{fps.value} fps</output>
      </div>
    </section>
  );
}

/** a setting someone set in this room (the others follow the pack's tuning) */
function SetBadge() {
  return (
    <span className="badge small" title="Set in this room (undo gives it back to the pack's tuning)">
      set
    </span>
  );
}

function LogSlider({
  k,
  value,
  overridden,
  ignored,
  disabled,
  onCommit,
}: {
  k: LogKey;
  /** the value in effect */
  value: number;
  /** someone set it in this room (else it follows the pack's tuning for the mode and conditions) */
  overridden: boolean;
  /** the mode does not use it: why (the slider is disabled) */
  ignored?: string;
  disabled: boolean;
  onCommit: (v: number) => unknown;
}) {
  const info = PARAM_INFO[k];
  const id = useId();
  const g = useGestureValue(value, onCommit);
  return (
    <div className="param-row" data-overridden={overridden || undefined} title={ignored}>
      <label htmlFor={id}>
        {info.label}
        {overridden && !ignored && <SetBadge />}
      </label>
      <input
        id={id}
        type="range"
        min={0}
        max={STEPS}
        step={1}
        value={toSlider(g.value, info.min, info.max)}
        disabled={disabled || ignored !== undefined}
        aria-valuetext={ignored ? `not used: ${ignored}` : fmt(g.value)}
        aria-describedby={ignored ? `${id}-why` : undefined}
        data-testid={`param-${k}`}
        onChange={(e) => g.move(fromSlider(Number(e.target.value), info.min, info.max))}
        {...g.endProps}
      />
      <output className="num" title={ignored ?? String(g.value)} data-testid={`param-${k}-value`}>
        {ignored ? 'off' : fmt(g.value)}
      </output>
      {ignored && (
        <span id={`${id}-why`} className="visually-hidden">
          {ignored}
        </span>
      )}
      <Tip text={info.tip} label={`About ${info.label}`} />
    </div>
  );
}
