import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Ack, IntentInput, Member } from '@ppgn/shared';
import { MaskToolbar, Stage, type MaskToolState } from '../components/room/stage';

afterEach(cleanup);

const ok = (): Promise<Ack> => Promise.resolve({ ok: true, version: 2 });
const brush: MaskToolState = { mode: 'brush', radius: 0.05, showMask: true };

function layout(el: HTMLElement, width = 200, height = 200) {
  el.getBoundingClientRect = () => ({
    left: 10,
    top: 20,
    width,
    height,
    right: 10 + width,
    bottom: 20 + height,
    x: 10,
    y: 20,
    toJSON: () => ({}),
  });
}

describe('mask tool', () => {
  it('a pointer drag sends one mask.stroke intent with normalised coordinates', async () => {
    const send = vi.fn((_: IntentInput) => ok());
    const onCursor = vi.fn();
    render(
      <Stage frame={null} strokes={[]} members={[]} me="me" canPaint tool={brush} send={send} onCursor={onCursor} />,
    );
    const layer = screen.getByTestId('mask-layer');
    layout(layer);
    fireEvent.pointerDown(layer, { clientX: 30, clientY: 60, pointerId: 1, button: 0 });
    fireEvent.pointerMove(layer, { clientX: 110, clientY: 120, pointerId: 1 });
    fireEvent.pointerMove(layer, { clientX: 111, clientY: 120, pointerId: 1 }); // too close: decimated
    fireEvent.pointerMove(layer, { clientX: 250, clientY: 500, pointerId: 1 }); // outside: clamped
    fireEvent.pointerUp(layer, { clientX: 250, clientY: 500, pointerId: 1 });
    expect(send).toHaveBeenCalledTimes(1);
    const intent = send.mock.calls[0]![0] as Extract<IntentInput, { type: 'mask.stroke' }>;
    expect(intent.type).toBe('mask.stroke');
    expect(intent.stroke).toEqual({
      id: expect.stringMatching(/^s/),
      erase: false,
      radius: 0.05,
      points: [
        [0.1, 0.2],
        [0.5, 0.5],
        [1, 1],
      ],
    });
    expect(onCursor).toHaveBeenCalledWith([0.1, 0.2], true);
    expect(onCursor).toHaveBeenLastCalledWith([1, 1], false);
  });

  it('the eraser marks strokes as erase; no painting without a tool or for viewers', () => {
    const send = vi.fn((_: IntentInput) => ok());
    const { rerender } = render(
      <Stage
        frame={null}
        strokes={[]}
        members={[]}
        me="me"
        canPaint
        tool={{ ...brush, mode: 'eraser', radius: 0.1 }}
        send={send}
      />,
    );
    let layer = screen.getByTestId('mask-layer');
    layout(layer);
    fireEvent.pointerDown(layer, { clientX: 110, clientY: 120, pointerId: 1, button: 0 });
    fireEvent.pointerUp(layer, { clientX: 110, clientY: 120, pointerId: 1 });
    expect(send.mock.calls[0]![0]).toMatchObject({
      type: 'mask.stroke',
      stroke: { erase: true, radius: 0.1, points: [[0.5, 0.5]] },
    });

    rerender(<Stage frame={null} strokes={[]} members={[]} me="me" canPaint={false} tool={brush} send={send} />);
    layer = screen.getByTestId('mask-layer');
    layout(layer);
    fireEvent.pointerDown(layer, { clientX: 30, clientY: 60, pointerId: 1, button: 0 });
    fireEvent.pointerUp(layer, { clientX: 90, clientY: 60, pointerId: 1 });
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('draws the room strokes as an overlay and shows other people\u2019s cursors', () => {
    const members: Member[] = [
      {
        userId: 'me',
        name: 'Me',
        color: '#fff',
        role: 'editor',
        cursor: [0.2, 0.2],
        painting: false,
        following: null,
        viewing: null,
      },
      {
        userId: 'u2',
        name: 'Ada',
        color: '#f0a',
        role: 'editor',
        cursor: [0.5, 0.25],
        painting: true,
        following: null,
        viewing: null,
      },
    ];
    const strokes = [
      {
        id: 's1',
        author: 'u2',
        erase: false,
        radius: 0.05,
        points: [
          [0.1, 0.1],
          [0.4, 0.4],
        ] as [number, number][],
      },
    ];
    render(<Stage frame={null} strokes={strokes} members={members} me="me" canPaint={false} tool={brush} send={ok} />);
    const overlay = screen.getByTestId('mask-overlay');
    expect(overlay.getAttribute('data-strokes')).toBe('1');
    expect(overlay.querySelector('polyline')?.getAttribute('points')).toBe('0.1,0.1 0.4,0.4');
    const cursors = screen.getAllByTestId('remote-cursor');
    expect(cursors).toHaveLength(1);
    expect(cursors[0]!.textContent).toBe('Ada');
    expect(cursors[0]!.style.left).toBe('50%');
  });

  it('the toolbar clears the mask and uses the current frame as context', () => {
    const send = vi.fn((_: IntentInput) => ok());
    const setTool = vi.fn();
    render(
      <MaskToolbar
        tool={{ ...brush, mode: null }}
        setTool={setTool}
        canSteer
        strokes={3}
        hasContext={false}
        send={send}
      />,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Brush' }));
    expect(setTool).toHaveBeenCalledWith({ ...brush, mode: 'brush' });
    fireEvent.click(screen.getByRole('button', { name: 'Clear mask' }));
    fireEvent.click(screen.getByRole('button', { name: 'Use frame as context' }));
    expect(send.mock.calls.map((c) => c[0])).toEqual([
      { type: 'mask.clear' },
      { type: 'mask.context', useCurrentFrame: true },
    ]);
  });
});
