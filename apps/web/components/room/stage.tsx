'use client';

import { useEffect, useRef, useState, type PointerEvent as ReactPointerEvent } from 'react';
import { LIMITS, type Ack, type IntentInput, type MaskStroke, type Member } from '@ppgn/shared';
import type { FrameView } from '../../lib/room-client';
import { shortId } from '../debounce';

export interface MaskToolState {
  /** null = pointer only (no painting) */
  mode: 'brush' | 'eraser' | null;
  /** normalised radius (fraction of the image width) */
  radius: number;
  showMask: boolean;
}

export interface StageProps {
  frame: FrameView | null;
  strokes: MaskStroke[];
  members: Member[];
  me: string | null;
  followId?: string | null;
  canPaint: boolean;
  tool: MaskToolState;
  send: (i: IntentInput) => Promise<Ack>;
  onCursor?: (cursor: [number, number] | null, painting?: boolean) => void;
  label?: string;
}

type Pt = [number, number];
const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
const round = (v: number) => Math.round(v * 10_000) / 10_000;

/** The live canvas: the frame upscaled without smoothing, the mask as an overlay, others' cursors, painting. */
export function Stage({
  frame,
  strokes,
  members,
  me,
  followId = null,
  canPaint,
  tool,
  send,
  onCursor,
  label = 'Live frame',
}: StageProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const layerRef = useRef<HTMLDivElement>(null);
  const drawn = useRef(0);
  const [live, setLive] = useState<Pt[] | null>(null);
  const liveRef = useRef<Pt[] | null>(null);
  const painting = canPaint && tool.mode !== null;

  // draw each frame: decode the PNG, blit at its native size, CSS scales it up crisply
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!frame || !canvas) return;
    let cancelled = false;
    const draw = (img: CanvasImageSource & { width: number; height: number }) => {
      if (cancelled) return;
      if (canvas.width !== img.width) canvas.width = img.width;
      if (canvas.height !== img.height) canvas.height = img.height;
      const ctx = canvas.getContext('2d');
      if (!ctx) return;
      ctx.imageSmoothingEnabled = false;
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(img, 0, 0);
      drawn.current += 1;
      canvas.dataset.drawn = String(drawn.current);
      canvas.dataset.step = frame.step === null ? '' : String(frame.step);
    };
    if (typeof createImageBitmap === 'function') {
      createImageBitmap(frame.blob)
        .then((bmp) => {
          draw(bmp);
          bmp.close();
        })
        .catch(() => {});
    }
    return () => {
      cancelled = true;
    };
  }, [frame]);

  const point = (e: ReactPointerEvent): Pt => {
    const r = layerRef.current!.getBoundingClientRect();
    return [
      round(clamp01((e.clientX - r.left) / (r.width || 1))),
      round(clamp01((e.clientY - r.top) / (r.height || 1))),
    ];
  };

  const onDown = (e: ReactPointerEvent<HTMLDivElement>) => {
    if (!painting || (e.button !== undefined && e.button !== 0)) return;
    e.preventDefault();
    layerRef.current?.setPointerCapture?.(e.pointerId);
    const p = point(e);
    liveRef.current = [p];
    setLive([p]);
    onCursor?.(p, true);
  };
  const onMove = (e: ReactPointerEvent<HTMLDivElement>) => {
    const p = point(e);
    onCursor?.(p);
    const pts = liveRef.current;
    if (!pts) return;
    const last = pts[pts.length - 1]!;
    // decimate: keep points at least a fraction of the brush apart, never more than the protocol allows
    if (Math.hypot(p[0] - last[0], p[1] - last[1]) < tool.radius * 0.25) return;
    if (pts.length >= LIMITS.pointsPerStroke) return;
    const next = [...pts, p];
    liveRef.current = next;
    setLive(next);
  };
  const finish = (e: ReactPointerEvent<HTMLDivElement>) => {
    const pts = liveRef.current;
    if (!pts) return;
    liveRef.current = null;
    const p = point(e);
    const last = pts[pts.length - 1]!;
    const points = (p[0] !== last[0] || p[1] !== last[1]) && pts.length < LIMITS.pointsPerStroke ? [...pts, p] : pts;
    onCursor?.(p, false);
    const stroke = { id: shortId('s'), erase: tool.mode === 'eraser', radius: tool.radius, points };
    void send({ type: 'mask.stroke', stroke }).finally(() => setLive(null));
  };

  const others = members.filter((m) => m.userId !== me && m.cursor);
  const pending = live
    ? [{ id: 'live', author: me ?? '', erase: tool.mode === 'eraser', radius: tool.radius, points: live }]
    : [];
  const allStrokes = [...strokes, ...pending];
  const showMask = tool.showMask && allStrokes.length > 0;

  return (
    <div className="stage" data-testid="stage">
      <canvas
        ref={canvasRef}
        className="frame"
        width={16}
        height={16}
        role="img"
        aria-label={label}
        data-testid="frame-canvas"
      />
      {!frame && <div className="stage-empty muted">Waiting for the first frame…</div>}
      <svg
        className="mask-overlay"
        viewBox="0 0 1 1"
        preserveAspectRatio="none"
        aria-hidden
        data-testid="mask-overlay"
        data-strokes={strokes.length}
      >
        {showMask && (
          <>
            <defs>
              <mask id="room-mask" maskUnits="userSpaceOnUse" x="0" y="0" width="1" height="1">
                <rect x="0" y="0" width="1" height="1" fill="black" />
                {allStrokes.map((s) => (
                  <StrokePath key={s.id} stroke={s} color={s.erase ? 'black' : 'white'} />
                ))}
              </mask>
            </defs>
            <rect className="mask-fill" x="0" y="0" width="1" height="1" mask="url(#room-mask)" />
          </>
        )}
      </svg>
      <div
        ref={layerRef}
        className={`stage-input ${painting ? `painting ${tool.mode}` : ''}`}
        data-testid="mask-layer"
        onPointerDown={onDown}
        onPointerMove={onMove}
        onPointerUp={finish}
        onPointerCancel={finish}
        onPointerLeave={() => onCursor?.(null)}
        style={painting ? ({ '--brush': `${tool.radius * 200}%` } as React.CSSProperties) : undefined}
      >
        {others.map((m) => (
          <div
            key={m.userId}
            className={`cursor ${m.userId === followId ? 'followed' : ''} ${m.painting ? 'is-painting' : ''}`}
            style={{ left: `${m.cursor![0] * 100}%`, top: `${m.cursor![1] * 100}%`, color: m.color }}
            data-testid="remote-cursor"
          >
            <svg width="16" height="16" viewBox="0 0 16 16" aria-hidden>
              <path d="M1 1 L14 6 L8 8 L6 14 Z" fill="currentColor" stroke="#0f1115" strokeWidth="1" />
            </svg>
            <span className="cursor-name" style={{ background: m.color }}>
              {m.name}
            </span>
          </div>
        ))}
      </div>
    </div>
  );
}

function StrokePath({ stroke, color }: { stroke: Pick<MaskStroke, 'points' | 'radius'>; color: string }) {
  const pts = stroke.points;
  if (pts.length === 1) return <circle cx={pts[0]![0]} cy={pts[0]![1]} r={stroke.radius} fill={color} />;
  return (
    <polyline
      points={pts.map((p) => `${p[0]},${p[1]}`).join(' ')}
      fill="none"
      stroke={color}
      strokeWidth={stroke.radius * 2}
      strokeLinecap="round"
      strokeLinejoin="round"
    />
  );
}

export function MaskToolbar({
  tool,
  setTool,
  canSteer,
  strokes,
  hasContext,
  send,
}: {
  tool: MaskToolState;
  setTool: (t: MaskToolState) => void;
  canSteer: boolean;
  strokes: number;
  hasContext: boolean;
  send: (i: IntentInput) => Promise<Ack>;
}) {
  return (
    <div className="toolbar mask-toolbar" role="toolbar" aria-label="Mask tool">
      {canSteer && (
        <>
          <div className="seg" role="group" aria-label="Mask tool">
            {(['brush', 'eraser'] as const).map((m) => (
              <button
                key={m}
                type="button"
                aria-pressed={tool.mode === m}
                className={tool.mode === m ? 'active' : ''}
                onClick={() => setTool({ ...tool, mode: tool.mode === m ? null : m })}
                title={
                  m === 'brush'
                    ? 'Paint context: painted pixels are kept from the context image'
                    : 'Erase: pixels become free to generate again'
                }
              >
                {m === 'brush' ? 'Brush' : 'Eraser'}
              </button>
            ))}
          </div>
          <label className="inline">
            <span className="small muted">Size</span>
            <input
              type="range"
              min={0.01}
              max={0.3}
              step={0.01}
              value={tool.radius}
              aria-label="Brush size"
              onChange={(e) => setTool({ ...tool, radius: Number(e.target.value) })}
            />
          </label>
          <button type="button" disabled={strokes === 0} onClick={() => void send({ type: 'mask.clear' })}>
            Clear mask
          </button>
          <button
            type="button"
            onClick={() => void send({ type: 'mask.context', useCurrentFrame: true })}
            title="Painted regions will be held to this frame (inpainting, weight ε4)"
          >
            Use frame as context
          </button>
          {hasContext && (
            <button type="button" onClick={() => void send({ type: 'mask.context', useCurrentFrame: false })}>
              Drop context
            </button>
          )}
        </>
      )}
      <label className="inline">
        <input
          type="checkbox"
          checked={tool.showMask}
          onChange={(e) => setTool({ ...tool, showMask: e.target.checked })}
        />
        <span className="small">Show mask ({strokes})</span>
      </label>
    </div>
  );
}
