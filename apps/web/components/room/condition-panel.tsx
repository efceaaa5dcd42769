'use client';

import { useId, useMemo, useRef, useState } from 'react';
import { fileToPngBase64 } from '../../lib/image';
import { LIMITS, type Ack, type Frame, type IntentInput, type Member, type RoomCondition } from '@ppgn/shared';
import { classSetOf, conditionTitle, matchWords, type PackConditions } from '../../lib/pack';
import { useLexicon } from '../../lib/lexicon';
import type { SendOptions } from '../../lib/room-client';
import { shortId } from '../debounce';
import { useGestureValue } from '../gesture';
import { plural } from '../../lib/format';
import { scoreMeaning } from '../../lib/scores';

export interface ConditionPanelProps {
  conditions: RoomCondition[];
  pack: PackConditions;
  canSteer: boolean;
  /** `quiet`: the caller shows a failure inline, so no toast */
  send: (intent: IntentInput, opts?: SendOptions) => Promise<Ack>;
  /** the latest frame's scores, e.g. { "p(cat)": 0.4 }, and which of them measure each condition (both from the engine) */
  scores?: FrameScores | null;
  members?: Member[];
  /** URLs of the engine's pack resources: preview images (class thumbnails, unit visualisations), keyword lexicons */
  previews?: {
    classThumb(condition: string, label: string): string;
    unit(condition: string, layer: string, channel: number): string;
    lexicon?(condition: string): string;
  } | null;
}

export function describeCondition(c: RoomCondition): string {
  const t = c.target;
  if (t.kind === 'class') return t.labels.join(' + ');
  if (t.kind === 'text') return `“${t.text}”`;
  if (t.kind === 'image') return `image “${t.name}”`;
  return `${t.layer} #${t.channel}`;
}

export type FrameScores = Pick<Frame, 'scores' | 'conditionScores'>;

/** The first score the engine lists for a condition at this frame, or null (no frame, or the condition has none). */
export function conditionScore(
  frame: FrameScores | null | undefined,
  conditionId: string,
): { name: string; value: number } | null {
  for (const name of frame?.conditionScores?.[conditionId] ?? []) {
    const value = frame!.scores[name];
    if (value !== undefined) return { name, value };
  }
  return null;
}

const KIND_LABEL = { class: 'Class', text: 'Keywords', unit: 'Unit', image: 'Image' } as const;

export function ConditionPanel({
  conditions,
  pack,
  canSteer,
  send,
  scores = null,
  members = [],
  previews = null,
}: ConditionPanelProps) {
  const full = conditions.length >= LIMITS.conditions;
  return (
    <section className="panel" aria-labelledby="cond-title" data-testid="condition-panel">
      <header className="panel-head">
        <h2 id="cond-title">Conditions</h2>
        <span className="muted small">
          {conditions.length}/{LIMITS.conditions}
        </span>
      </header>
      {conditions.length === 0 ? (
        <p className="muted small">No conditions: the chain samples freely from the prior.</p>
      ) : (
        <ul className="cond-list">
          {conditions.map((c) => (
            <ConditionRow
              key={c.id}
              c={c}
              pack={pack}
              canSteer={canSteer}
              send={send}
              scores={scores}
              authorName={members.find((m) => m.userId === c.author)?.name}
            />
          ))}
        </ul>
      )}
      {canSteer && !full && <AddCondition pack={pack} send={send} previews={previews} />}
      {canSteer && full && <p className="muted small">This room has the maximum of {LIMITS.conditions} conditions.</p>}
    </section>
  );
}

function ConditionRow({
  c,
  pack,
  canSteer,
  send,
  scores,
  authorName,
}: {
  c: RoomCondition;
  pack: PackConditions;
  canSteer: boolean;
  send: ConditionPanelProps['send'];
  scores: FrameScores | null;
  authorName?: string;
}) {
  // one condition.update per drag or key press-and-release, not one per debounce tick
  const weightGesture = useGestureValue(c.weight, (w: number) =>
    send({ type: 'condition.update', id: c.id, weight: w }),
  );
  const weight = weightGesture.value;
  const desc = describeCondition(c);
  const score = conditionScore(scores, c.id);
  const wid = useId();
  return (
    <li className={`cond ${c.enabled ? '' : 'off'}`} data-testid={`condition-${c.id}`} data-kind={c.target.kind}>
      <div className="cond-top">
        <span className={`kind kind-${c.target.kind}`}>
          {c.target.kind === 'class' && c.target.condition && c.target.condition !== pack.classes?.id
            ? conditionTitle(c.target.condition)
            : KIND_LABEL[c.target.kind]}
        </span>
        {canSteer && c.target.kind === 'class' && classSetOf(pack, c.target.condition) ? (
          <select
            aria-label={`Class of condition ${desc}`}
            className="cond-class"
            value={c.target.labels[0]}
            onChange={(e) => {
              if (c.target.kind !== 'class') return;
              void send({
                type: 'condition.update',
                id: c.id,
                target: {
                  ...c.target,
                  labels: [e.target.value, ...c.target.labels.slice(1).filter((l) => l !== e.target.value)],
                },
              });
            }}
          >
            {classSetOf(pack, c.target.kind === 'class' ? c.target.condition : undefined)!.labels.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        ) : (
          <span className="cond-desc" data-testid="condition-desc">
            {desc}
          </span>
        )}
        {score && (
          <span
            className="score"
            data-testid="condition-score"
            title={`${score.name} at the latest frame`}
            aria-description={scoreMeaning(score.name).tip}
          >
            {scoreMeaning(score.name).unit(score.value).toFixed(2)}
          </span>
        )}
      </div>
      {canSteer ? (
        <div className="cond-controls">
          <label htmlFor={wid} className="small muted">
            Weight
          </label>
          <input
            id={wid}
            type="range"
            min={-10}
            max={10}
            step={0.1}
            value={weight}
            aria-label={`Weight of ${desc}`}
            aria-valuetext={weight.toFixed(1)}
            onChange={(e) => weightGesture.move(Number(e.target.value))}
            {...weightGesture.endProps}
          />
          <output className="num">{weight.toFixed(1)}</output>
          <label className="switch" title={c.enabled ? 'Disable this condition' : 'Enable this condition'}>
            <input
              type="checkbox"
              checked={c.enabled}
              aria-label={`Enable ${desc}`}
              onChange={(e) => void send({ type: 'condition.update', id: c.id, enabled: e.target.checked })}
            />
            <span aria-hidden className="track" />
          </label>
          <button
            type="button"
            className="icon danger"
            aria-label={`Remove ${desc}`}
            title="Remove"
            onClick={() => void send({ type: 'condition.remove', id: c.id })}
          >
            ×
          </button>
        </div>
      ) : (
        <div className="small muted">
          weight {c.weight.toFixed(1)} · {c.enabled ? 'on' : 'off'}
        </div>
      )}
      {authorName && <div className="small muted">by {authorName}</div>}
    </li>
  );
}

/** one tab per class condition the pack declares (`classes:<id>`: E's classes, and plug-ins such as art style or colour), then keywords, units, image */
type Tab = `classes:${string}` | 'text' | 'unit' | 'image';
const TAB_LABEL: Record<'text' | 'unit' | 'image', string> = { text: 'Keywords', unit: 'Hidden unit', image: 'Image' };

function AddCondition({
  pack,
  send,
  previews,
}: {
  pack: PackConditions;
  send: ConditionPanelProps['send'];
  previews: ConditionPanelProps['previews'];
}) {
  const tabs: Tab[] = [
    ...pack.classSets.map((c): Tab => `classes:${c.id}`),
    ...(['text', 'unit', 'image'] as const).filter((t) =>
      t === 'text' ? pack.keywords : t === 'unit' ? pack.units : true,
    ),
  ];
  const [tab, setTab] = useState<Tab>(tabs[0] ?? 'image');
  const classSet = tab.startsWith('classes:') ? pack.classSets.find((c) => `classes:${c.id}` === tab) : undefined;
  const tabLabel = (t: Tab) =>
    t.startsWith('classes:') ? conditionTitle(t.slice('classes:'.length)) : TAB_LABEL[t as keyof typeof TAB_LABEL];
  const tabKey = (t: Tab) => t.replace(':', '-');
  if (tabs.length === 0) return null;
  return (
    <div className="add-cond">
      <div role="tablist" aria-label="Add a condition" className="tabs">
        {tabs.map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            id={`tab-${tabKey(t)}`}
            aria-selected={tab === t}
            aria-controls={`tabpanel-${tabKey(t)}`}
            className={tab === t ? 'tab active' : 'tab'}
            onClick={() => setTab(t)}
          >
            {tabLabel(t)}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`tabpanel-${tabKey(tab)}`} aria-labelledby={`tab-${tabKey(tab)}`}>
        {classSet && <ClassPicker key={classSet.id} cond={classSet} send={send} thumb={previews?.classThumb} />}
        {tab === 'text' && pack.keywords && (
          <KeywordBox
            cond={pack.keywords}
            send={send}
            lexiconUrl={pack.keywords.lexicon && previews?.lexicon ? previews.lexicon(pack.keywords.id) : null}
          />
        )}
        {tab === 'unit' && pack.units && <UnitPicker cond={pack.units} send={send} preview={previews?.unit} />}
        {tab === 'image' && <ImageReference send={send} />}
      </div>
    </div>
  );
}

function ClassPicker({
  cond,
  send,
  thumb,
}: {
  cond: NonNullable<PackConditions['classes']>;
  send: ConditionPanelProps['send'];
  thumb?: (condition: string, label: string) => string;
}) {
  const [q, setQ] = useState('');
  const [picked, setPicked] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const shown = useMemo(() => {
    const s = q.trim().toLowerCase();
    return cond.labels.filter((l) => !s || l.toLowerCase().includes(s)).slice(0, 200);
  }, [q, cond.labels]);
  const add = async (labels: string[]) => {
    if (labels.length === 0) return;
    setBusy(true);
    const res = await send({
      type: 'condition.add',
      id: shortId('c'),
      target: { kind: 'class', condition: cond.id, labels },
      weight: 1,
    });
    setBusy(false);
    if (res.ok) {
      setPicked([]);
      setQ('');
    }
  };
  const toggle = (l: string) =>
    setPicked((p) =>
      p.includes(l) ? p.filter((x) => x !== l) : p.length >= LIMITS.labelsPerCondition ? p : [...p, l],
    );
  // "class" for the pack's classes; a plug-in's own name ("style", "colour") for the others
  const noun = conditionTitle(cond.id).toLowerCase();
  return (
    <div className="picker">
      <input
        type="search"
        placeholder={`Search ${plural(cond.labels.length, noun, noun === 'class' ? 'classes' : `${noun}s`)}…`}
        aria-label="Search classes"
        value={q}
        onChange={(e) => setQ(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            void add(picked.length ? picked : shown.slice(0, 1));
          }
        }}
      />
      <div className="chips" role="group" aria-label="Classes">
        {shown.map((l) => (
          <button
            key={l}
            type="button"
            className={thumb ? 'chip with-thumb' : 'chip'}
            aria-pressed={picked.includes(l)}
            onClick={() => toggle(l)}
          >
            {thumb && (
              <img
                className="pixel"
                src={thumb(cond.id, l)}
                alt=""
                title={`a sample of “${l}” (the engine makes these as it starts; a moving dot is one still on its way)`}
                width={20}
                height={20}
                loading="lazy"
              />
            )}
            {l}
          </button>
        ))}
        {shown.length === 0 && <span className="muted small">No class matches “{q}”.</span>}
      </div>
      <button type="button" className="primary" disabled={busy || picked.length === 0} onClick={() => void add(picked)}>
        {picked.length ? `Add ${noun} ${picked.join(' + ')}` : `Pick a ${noun} to add`}
      </button>
    </div>
  );
}

function KeywordBox({
  cond,
  send,
  lexiconUrl,
}: {
  cond: NonNullable<PackConditions['keywords']>;
  send: ConditionPanelProps['send'];
  /** where the pack's lexicon for this condition is (null: none) */
  lexiconUrl: string | null;
}) {
  const [text, setText] = useState('');
  const lexicon = useLexicon(lexiconUrl, cond.vocabulary);
  // locales (es, es-mx) counted as languages
  const languages = new Set(cond.lexicon?.languages.map((l) => l.split('-')[0]) ?? []).size;
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // a long paste is not cut silently: it is refused with the limit, and each word is listed once
  const tooLong = text.length > LIMITS.textLength;
  const words = useMemo(
    () =>
      matchWords(
        text.slice(0, LIMITS.textLength * 4),
        cond.vocabulary,
        lexicon.status === 'ready' ? lexicon.lexicon : undefined,
      ),
    [text, cond.vocabulary, lexicon],
  );
  const suggestions = useMemo(() => {
    const seen = new Set<string>();
    return words.filter((w) => !w.match && w.nearest.length > 0 && !seen.has(w.word) && seen.add(w.word)).slice(0, 8);
  }, [words]);
  const errId = useId();
  const add = async () => {
    const t = text.trim();
    if (!t || tooLong) return;
    setBusy(true);
    // the error is shown inline below the field, once (no toast as well)
    const res = await send(
      {
        type: 'condition.add',
        id: shortId('k'),
        target: { kind: 'text', condition: cond.id, text: t },
        weight: 1,
      },
      { quiet: true },
    );
    setBusy(false);
    if (res.ok) {
      setText('');
      setError(null);
    } else setError(res.error);
  };
  return (
    <form
      className="picker"
      onSubmit={(e) => {
        e.preventDefault();
        void add();
      }}
    >
      <input
        type="text"
        aria-label="Describe with keywords"
        placeholder={languages ? 'e.g. red round — or gato feliz, chat avec des cœurs' : 'e.g. red round'}
        value={text}
        aria-invalid={error || tooLong ? true : undefined}
        aria-describedby={error || tooLong ? errId : undefined}
        onChange={(e) => {
          setText(e.target.value);
          setError(null);
        }}
      />
      <div className="chips" aria-live="polite" data-testid="keyword-matches">
        {words.slice(0, 24).map((w, i) => (
          // a word can occur twice ("red red"): keyed by position, never by the word alone
          <span
            key={`${i}:${w.word}`}
            className={w.match ? 'chip match' : 'chip unknown'}
            title={
              w.translated
                ? `“${w.word}” means “${w.match}” (the pack's word list in ${languages} languages)`
                : w.match
                  ? `matches “${w.match}”`
                  : w.nearest.length
                    ? `not in the vocabulary; did you mean ${w.nearest.join(' / ')}?`
                    : 'not in the vocabulary'
            }
          >
            {w.match ? '✓ ' : '? '}
            {w.word}
            {w.translated && <span className="chip-meaning"> → {w.match}</span>}
          </span>
        ))}
        {words.length === 0 && (
          <span className="muted small">
            Vocabulary: {cond.vocabulary.slice(0, 12).join(', ')}
            {cond.vocabulary.length > 12 ? '…' : ''}
            {languages > 0 &&
              (lexicon.status === 'failed'
                ? ` · other languages unavailable: ${lexicon.message}`
                : lexicon.status === 'loading'
                  ? ` · loading words in ${languages} languages…`
                  : ` · or write in any of ${languages} languages`)}
          </span>
        )}
      </div>
      {!error && suggestions.length > 0 && (
        <p className="muted small" data-testid="keyword-suggestions">
          {suggestions.map((w) => `“${w.word}”: did you mean ${w.nearest.join(' / ')}?`).join(' ')}
        </p>
      )}
      {(error || tooLong) && (
        <p id={errId} className="error small" role="alert" data-testid="keyword-error">
          {tooLong
            ? `Keywords are at most ${LIMITS.textLength} characters (this is ${text.length.toLocaleString('en')}): shorten it to a few words.`
            : error}
        </p>
      )}
      <button type="submit" className="primary" disabled={busy || !text.trim() || tooLong}>
        Add keywords
      </button>
    </form>
  );
}

function UnitPicker({
  cond,
  send,
  preview,
}: {
  cond: NonNullable<PackConditions['units']>;
  send: ConditionPanelProps['send'];
  preview?: (condition: string, layer: string, channel: number) => string;
}) {
  const [layer, setLayer] = useState(cond.layers[0]?.name ?? '');
  const [channel, setChannel] = useState(0);
  const max = (cond.layers.find((l) => l.name === layer)?.channels ?? 1) - 1;
  const ch = Math.max(0, Math.min(max, channel));
  return (
    <form
      className="picker unit-picker"
      onSubmit={(e) => {
        e.preventDefault();
        void send({
          type: 'condition.add',
          id: shortId('u'),
          target: { kind: 'unit', condition: cond.id, layer, channel: ch },
          weight: 1,
        });
      }}
    >
      <label>
        <span className="small muted">Layer</span>
        <select value={layer} onChange={(e) => setLayer(e.target.value)}>
          {cond.layers.map((l) => (
            <option key={l.name} value={l.name}>
              {l.name} ({l.channels} channels)
            </option>
          ))}
        </select>
      </label>
      <label>
        <span className="small muted">Channel (0–{max})</span>
        <input type="number" min={0} max={max} value={ch} onChange={(e) => setChannel(Number(e.target.value) || 0)} />
      </label>
      {preview && (
        <img
          className="pixel unit-preview"
          src={preview(cond.id, layer, ch)}
          alt={`What ${layer} #${ch} responds to`}
          width={48}
          height={48}
        />
      )}
      <button type="submit" className="primary">
        Add unit
      </button>
    </form>
  );
}

/** A small picture whose encoder features the chain should match; resized in the browser, sent as base64 PNG. */
function ImageReference({ send }: { send: ConditionPanelProps['send'] }) {
  const [png, setPng] = useState<{ data: string; name: string; url: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const load = async (file: File) => {
    setError(null);
    try {
      const { data, url } = await fileToPngBase64(file, 64);
      setPng({ data, name: file.name.slice(0, 80) || 'reference', url });
    } catch {
      setError('That file is not an image this browser can read.');
    }
  };
  return (
    <form
      className="picker"
      onSubmit={(e) => {
        e.preventDefault();
        if (!png) return;
        void send({
          type: 'condition.add',
          id: shortId('i'),
          target: { kind: 'image', png: png.data, name: png.name },
          weight: 1,
        }).then((r) => {
          if (!r.ok) return;
          setPng(null);
          // clear the picker too, so it does not show a file that was already added (and picking it again works)
          if (fileRef.current) fileRef.current.value = '';
        });
      }}
    >
      <label>
        <span className="small muted">Reference picture (resized to 64 px)</span>
        <input
          ref={fileRef}
          type="file"
          accept="image/*"
          data-testid="reference-file"
          onChange={(e) => e.target.files?.[0] && void load(e.target.files[0])}
        />
      </label>
      {png && <img className="pixel unit-preview" src={png.url} alt={`Reference ${png.name}`} width={48} height={48} />}
      {error && (
        <p className="error small" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="primary" disabled={!png}>
        Add image reference
      </button>
    </form>
  );
}
